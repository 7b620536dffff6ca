//! `GET /v1/widget/sessions/{id}/status` with `Upgrade: websocket`: the widget's pushed status.
//!
//! A browser cannot set `Authorization` on a WebSocket (the WHATWG WebSocket constructor takes
//! only a URL and subprotocols), and a token in the URL would land in logs, so the widget token
//! travels in the handshake's `Sec-WebSocket-Protocol`: the page offers
//! [`STATUS_SOCKET_PROTOCOL`] and `bearer.<token>`, and the answer names
//! [`STATUS_SOCKET_PROTOCOL`] only (RFC 6455, 4.2.2: the server picks one of the offered values).
//! The browser sets the handshake's `Origin` itself, so the token's origin binding holds as for
//! every widget call. Everything is checked here, without an object call (the token is an HMAC,
//! `core::token`), and refused with the usual error answers before any upgrade: no upgrade
//! `426 upgrade_required`, no status protocol `400 invalid_header`, no or a bad token
//! `401 invalid_token` / `token_expired`, another origin or session `403 token_scope_mismatch`.
//! Then the upgrade goes to the session object, which accepts the socket or refuses it
//! (`429 too_many_status_sockets`; `objects/session/push.rs`).

use checkout_core::api::{STATUS_SOCKET_BEARER_PREFIX, STATUS_SOCKET_PROTOCOL};
use checkout_core::error::ErrorDetail;
use checkout_core::token;
use checkout_core::ErrorCode;
use worker::{Env, Request, Response};

use crate::clock::now_s;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::session::{STATUS_SOCKET_PATH, STATUS_TOKEN_EXP_HEADER};
use crate::objects::{self, rpc};

/// Checks the handshake, then hands the upgrade to the session and answers with its socket.
pub async fn status(req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let upgrade = req.headers().get("Upgrade")?;
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(Error::api(ErrorCode::UpgradeRequired));
    }
    let offered = req.headers().get("Sec-WebSocket-Protocol")?;
    let bearer = offered_token(offered.as_deref())?;
    let config = Config::from_env(env)?;
    let origin = http::caller_origin(&req)?;
    let key = config.token_signing_key.expose().as_bytes();
    let claims = token::verify(bearer, key, now_s(), session_id, &origin)
        .map_err(|e| Error::api(e.code()))?;
    let stub = objects::session_by_id(env, session_id)?;
    let headers = worker::Headers::new();
    headers.set(STATUS_TOKEN_EXP_HEADER, &claims.exp.to_string())?;
    let socket = rpc::upgrade(&stub, STATUS_SOCKET_PATH, headers).await?;
    let mut response = Response::from_websocket(socket)?;
    response
        .headers_mut()
        .set("Sec-WebSocket-Protocol", STATUS_SOCKET_PROTOCOL)?;
    Ok(response)
}

/// The token among the offered subprotocols (`Sec-WebSocket-Protocol`, comma-separated), which
/// must include [`STATUS_SOCKET_PROTOCOL`].
fn offered_token(header: Option<&str>) -> Result<&str> {
    let offered: Vec<&str> = header
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if !offered.contains(&STATUS_SOCKET_PROTOCOL) {
        let mut detail = ErrorDetail::new(ErrorCode::InvalidHeader);
        detail.param = Some("Sec-WebSocket-Protocol".into());
        detail.message = format!(
            "Offer the subprotocol `{STATUS_SOCKET_PROTOCOL}`, and the widget token as \
             `{STATUS_SOCKET_BEARER_PREFIX}<token>`."
        );
        return Err(detail.into());
    }
    let mut tokens = offered
        .iter()
        .filter_map(|p| p.strip_prefix(STATUS_SOCKET_BEARER_PREFIX));
    match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => Ok(token),
        _ => Err(Error::api(ErrorCode::InvalidToken)),
    }
}

#[cfg(test)]
mod tests {
    use super::offered_token;
    use checkout_core::ErrorCode;

    fn code(header: Option<&str>) -> ErrorCode {
        offered_token(header).unwrap_err().detail().code
    }

    #[test]
    fn the_token_comes_from_the_offered_subprotocols() {
        let header = "checkout.status.v1, bearer.wt1.abc.def";
        assert_eq!(offered_token(Some(header)).unwrap(), "wt1.abc.def");
        let reversed = "bearer.wt1.abc.def,checkout.status.v1";
        assert_eq!(offered_token(Some(reversed)).unwrap(), "wt1.abc.def");
    }

    #[test]
    fn without_the_status_protocol_the_handshake_is_refused() {
        assert_eq!(code(None), ErrorCode::InvalidHeader);
        assert_eq!(code(Some("bearer.wt1.abc.def")), ErrorCode::InvalidHeader);
        assert_eq!(
            code(Some("checkout.status.v2, bearer.x")),
            ErrorCode::InvalidHeader
        );
    }

    #[test]
    fn no_token_an_empty_one_or_two_are_refused() {
        assert_eq!(code(Some("checkout.status.v1")), ErrorCode::InvalidToken);
        assert_eq!(
            code(Some("checkout.status.v1, bearer.")),
            ErrorCode::InvalidToken
        );
        let two = "checkout.status.v1, bearer.a, bearer.b";
        assert_eq!(code(Some(two)), ErrorCode::InvalidToken);
    }
}
