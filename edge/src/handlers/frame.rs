//! The pay-password frame: `GET /v1/widget/frames/pay_password?session=cs_..&parent=<origin>`.
//!
//! The shopper's pay password must never exist in the merchant's page, where any script the page
//! runs (third-party tags, an XSS) could read it. So the password field is a tiny page on the
//! Worker's own origin (`www/frames/pay_password.{js,css}` plus the HTML below), framed by the
//! widget. The browser's same-origin policy keeps the merchant's scripts out of it; the frame
//! pays itself (same-origin `POST /v1/widget/sessions/{id}/pay`) and tells its parent only the
//! answer. The parent page is named in the URL and checked here against the session merchant's
//! allowed origins; `Content-Security-Policy: frame-ancestors` then lets only that page (and the
//! Worker's own pages) frame it, so the origin the frame answers to is the page around it.
//!
//! References: CSP Level 3 `frame-ancestors`
//! (<https://www.w3.org/TR/CSP3/#directive-frame-ancestors>), which supersedes
//! `X-Frame-Options` (<https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Frame-Options>),
//! and `postMessage`'s `targetOrigin` and `MessageEvent.origin`
//! (<https://html.spec.whatwg.org/multipage/web-messaging.html#posting-messages>).

use checkout_core::ErrorCode;
use worker::{Env, Headers, Request, Response};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::session::SessionCommand;
use crate::objects::{self, rpc};

/// Where the frames live; [`keep_framing`] gives answers under it their own policy.
pub const PATH_PREFIX: &str = "/v1/widget/frames/";

/// The frame's page. Its words, in the shopper's language, come from its script.
const PAGE: &str = include_str!("frame/pay_password.html");

/// `GET /v1/widget/frames/pay_password`: the page, framable only by `parent`, which must be the
/// Worker's own origin or on the list of the session's merchant.
pub async fn pay_password(req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let own = http::own_origin(&req)?;
    let (session_id, parent) = frame_query(&req.url()?)?;
    if parent != own {
        // An unknown session is the same answer as an origin not allowed.
        let stub = objects::session_by_id(env, &session_id)
            .map_err(|_| Error::api(ErrorCode::OriginNotAllowed))?;
        let merchant_id: String = rpc::call(&stub, &SessionCommand::MerchantId)
            .await
            .map_err(|e| match e.detail().code {
                ErrorCode::NotFound => Error::api(ErrorCode::OriginNotAllowed),
                _ => e,
            })?;
        let merchant = config.merchant(&merchant_id);
        if !merchant.is_some_and(|m| m.allows_origin(&parent)) {
            return Err(Error::api(ErrorCode::OriginNotAllowed));
        }
    }
    let mut response = Response::from_html(PAGE)?;
    response
        .headers_mut()
        .set("Content-Security-Policy", &frame_policy(&parent))?;
    Ok(response)
}

/// The session id and the parent page's origin from the frame's query.
fn frame_query(url: &worker::Url) -> Result<(String, String)> {
    let mut session = None;
    let mut parent = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "session" => session = Some(value.into_owned()),
            "parent" => parent = Some(value.into_owned()),
            _ => {}
        }
    }
    match (session, parent) {
        (Some(session), Some(parent)) if !session.is_empty() && !parent.is_empty() => {
            Ok((session, parent))
        }
        _ => Err(Error::api_with(
            ErrorCode::InvalidParameter,
            "The frame needs its session and its parent page's origin.",
        )),
    }
}

/// The frame's own policy: its script and stylesheet from this origin only, requests to this
/// origin only, nothing else; framed only by `parent` (an origin the caller checked exactly) and
/// by the Worker's own pages.
pub fn frame_policy(parent: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'self' {parent}"
    )
}

/// The policy a frame's answer set for itself, taken before `respond` puts the API's headers
/// (which forbid framing) on every answer.
pub fn own_policy(path: &str, headers: &Headers) -> Option<String> {
    if !path.starts_with(PATH_PREFIX) {
        return None;
    }
    headers.get("Content-Security-Policy").ok().flatten()
}

/// Puts a frame's own policy back over the API's, and drops `X-Frame-Options: DENY` (which has
/// no way to name an origin; `frame-ancestors` replaces it).
pub fn keep_framing(headers: &Headers, policy: &str) -> Result<()> {
    headers.set("Content-Security-Policy", policy)?;
    headers.delete("X-Frame-Options")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> Result<(String, String)> {
        frame_query(&worker::Url::parse(url).unwrap())
    }

    #[test]
    fn the_query_names_the_session_and_the_parent() {
        let (session, parent) =
            query("https://c.example/v1/widget/frames/pay_password?session=cs_a&parent=https%3A%2F%2Fshop.example&locale=bn")
                .unwrap();
        assert_eq!(session, "cs_a");
        assert_eq!(parent, "https://shop.example");
    }

    #[test]
    fn a_frame_without_its_session_or_parent_is_refused() {
        for url in [
            "https://c.example/f?session=cs_a",
            "https://c.example/f?parent=https%3A%2F%2Fshop.example",
            "https://c.example/f?session=&parent=",
        ] {
            assert!(query(url).is_err(), "{url}");
        }
    }

    #[test]
    fn only_the_parent_and_the_worker_may_frame_it() {
        let policy = frame_policy("https://shop.example");
        assert!(policy.ends_with("frame-ancestors 'self' https://shop.example"));
        assert!(policy.starts_with("default-src 'none'; script-src 'self';"));
        assert!(!policy.contains("unsafe"));
    }
}
