//! HTTP plumbing shared by the handlers: JSON bodies in and out, bearer credentials, origins, CORS
//! and the security headers on every answer.

use checkout_core::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Env, Headers, Request, Response};

use crate::config::Config;
use crate::error::{Error, Result};

/// The largest request body any route accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The credential after `Authorization: Bearer `.
pub fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("Authorization").ok().flatten()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// The origin of the page that made the request.
///
/// Browsers send `Origin` on every cross-origin request and on same-origin POSTs; a same-origin GET
/// carries none, and then the caller's origin is this Worker's own.
pub fn caller_origin(req: &Request) -> Result<String> {
    if let Some(origin) = req.headers().get("Origin")? {
        return Ok(origin);
    }
    own_origin(req)
}

/// Reads and parses a JSON body: `application/json`, at most [`MAX_BODY_BYTES`], of type `T`.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<T> {
    let content_type = req.headers().get("Content-Type")?.unwrap_or_default();
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(Error::api(ErrorCode::UnsupportedMediaType));
    }
    let bytes = read_body(req).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde's message names the field and the expected type; it never echoes values.
        Error::api_with(
            ErrorCode::MalformedJson,
            format!("The request body is not valid: {e}."),
        )
    })
}

/// The raw body, at most [`MAX_BODY_BYTES`].
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>> {
    let declared = req.headers().get("Content-Length")?;
    if declared.and_then(|n| n.parse::<usize>().ok()).unwrap_or(0) > MAX_BODY_BYTES {
        return Err(Error::api(ErrorCode::BodyTooLarge));
    }
    let bytes = req.bytes().await?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::api(ErrorCode::BodyTooLarge));
    }
    Ok(bytes)
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// The error as the client sees it. Internal details were logged by the caller.
pub fn error_response(error: &Error) -> Result<Response> {
    let detail = error.detail();
    let mut response = json(detail.code.http_status(), &error.body())?;
    if let Some(seconds) = detail.retry_after_s {
        response
            .headers_mut()
            .set("Retry-After", &seconds.to_string())?;
    }
    Ok(response)
}

/// The security headers on every answer of the Worker itself: nothing it sends is a page, so the
/// policy allows nothing and no framing. The static files get theirs from `www/_headers`.
pub fn add_security_headers(headers: &Headers) -> Result<()> {
    for (name, value) in API_SECURITY_HEADERS {
        headers.set(name, value)?;
    }
    Ok(())
}

pub const API_SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        "Strict-Transport-Security",
        "max-age=63072000; includeSubDomains",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
];

/// This Worker's own origin, e.g. `https://checkout.example.com`.
pub fn own_origin(req: &Request) -> Result<String> {
    Ok(req.url()?.origin().ascii_serialization())
}

/// The `Origin` to echo in the widget API's CORS headers: the Worker's own, or one that some
/// merchant allows. Which merchant is checked when the token is granted, and the token is bound
/// to its origin, so a page allowed for one merchant cannot act on another's sessions.
pub fn widget_cors_origin(req: &Request, env: &Env) -> Option<String> {
    let origin = req.headers().get("Origin").ok().flatten()?;
    if own_origin(req).is_ok_and(|own| own == origin) {
        return Some(origin);
    }
    let config = Config::from_env(env).ok()?;
    config.any_merchant_allows(&origin).then_some(origin)
}

/// CORS for the widget API: `allowed` (from [`widget_cors_origin`]) is echoed; any other page
/// gets no CORS headers, so its browser refuses to send or read.
pub fn add_widget_cors(headers: &Headers, allowed: Option<&str>) -> Result<()> {
    headers.append("Vary", "Origin")?;
    if let Some(origin) = allowed {
        headers.set("Access-Control-Allow-Origin", origin)?;
    }
    Ok(())
}

/// The answer to a widget API preflight; [`add_widget_cors`] adds the origin.
pub fn widget_preflight() -> Result<Response> {
    let response = Response::empty()?.with_status(204);
    let headers = response.headers();
    headers.set("Access-Control-Allow-Methods", "GET, POST")?;
    headers.set(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Idempotency-Key",
    )?;
    headers.set("Access-Control-Max-Age", "600")?;
    Ok(response)
}
