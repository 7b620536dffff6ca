//! HTTP plumbing shared by the handlers: JSON bodies in and out, bearer credentials, origins, CORS
//! and the security headers on every answer.

use checkout_core::error::ErrorDetail;
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

/// The `Origin` a token request must carry: browsers send it on every POST (Fetch Standard,
/// "append a request `Origin` header"), so a request without one is no page's, and a client
/// secret replayed from a plain HTTP client gets no token. Refused as `invalid_header`.
pub fn required_origin(req: &Request) -> Result<String> {
    match req.headers().get("Origin")? {
        Some(origin) if !origin.is_empty() => Ok(origin),
        _ => {
            let mut detail = ErrorDetail::new(ErrorCode::InvalidHeader);
            detail.param = Some("Origin".into());
            detail.message =
                "A widget token is granted only to a web page: the request has no Origin header."
                    .into();
            Err(detail.into())
        }
    }
}

/// The origin of the page that made a request with a token (bound to an origin at its grant).
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
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::api_with(ErrorCode::MalformedJson, malformed_json_message(&e)))
}

/// What a client is told about a body that does not parse as `T`: where, and which field by name
/// when serde names one, never a submitted value. serde's own message cannot be passed on: an
/// invalid-type or invalid-value message quotes the value (`invalid type: integer `123456``),
/// which may be a pay password (docs.rs/serde, `de::Unexpected`).
pub fn malformed_json_message(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let place = format!("line {}, column {}", error.line(), error.column());
    match error.classify() {
        Category::Io => "The request body could not be read.".to_owned(),
        Category::Syntax => format!("The request body is not valid JSON ({place})."),
        Category::Eof => format!("The request body ends before its JSON does ({place})."),
        Category::Data => {
            let text = error.to_string();
            if let Some(field) = quoted_field(&text, "unknown field `") {
                format!("The request body has an unknown field `{field}` ({place}).")
            } else if let Some(field) = quoted_field(&text, "missing field `") {
                format!("The request body lacks the field `{field}` ({place}).")
            } else if text.starts_with("unknown variant") {
                format!("A field's value is not one of those it accepts ({place}).")
            } else {
                format!("A field has a value of the wrong type or form ({place}).")
            }
        }
    }
}

/// The field name serde quotes after `prefix`, if it is a plain identifier (a field name is a
/// key, not a value; anything else is not repeated).
fn quoted_field<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let name = text.strip_prefix(prefix)?.split('`').next()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_';
    (!name.is_empty() && name.len() <= 64 && name.chars().all(plain)).then_some(name)
}

/// The raw body, at most [`MAX_BODY_BYTES`]. A declared length over the limit is refused
/// unread. A body whose length was declared (and so is within the limit) is read whole with one
/// `arrayBuffer()` (workers-rs `Request::bytes`): HTTP/1.1 frames such a body by its
/// `Content-Length` (RFC 9112 §6.2), so the runtime hands over exactly the declared bytes, and
/// what follows them is never this request's body. The stream reader, chunk by chunk, was 11-12%
/// of a token grant's CPU (docs/benchmarks.md). A body without a declared length (chunked) is
/// read as a stream (`Request::stream`, a `ByteStream` over the request's `ReadableStream`) that
/// stops at the limit, so it is never held beyond [`MAX_BODY_BYTES`] plus one chunk. Either way
/// a body over the limit is refused.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>> {
    let declared = req.headers().get("Content-Length")?;
    check_declared_length(declared.as_deref())?;
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let body = if declared.is_some() {
        req.bytes().await?
    } else {
        read_stream(req).await?
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::api(ErrorCode::BodyTooLarge));
    }
    Ok(body)
}

/// A body of undeclared length, read chunk by chunk up to [`MAX_BODY_BYTES`].
async fn read_stream(req: &mut Request) -> Result<Vec<u8>> {
    use futures_util::StreamExt as _;
    let mut stream = req.stream()?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Error::api(ErrorCode::BodyTooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A `Content-Length` is decimal digits (RFC 9110 §8.6); anything else is a 400, and a length
/// over [`MAX_BODY_BYTES`] a 413, both before the body is read.
pub fn check_declared_length(declared: Option<&str>) -> Result<()> {
    let Some(text) = declared else {
        return Ok(());
    };
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<usize>() {
        Ok(length) if digits && length <= MAX_BODY_BYTES => Ok(()),
        // Digits beyond the limit, or beyond `usize`: too large either way.
        _ if digits => Err(Error::api(ErrorCode::BodyTooLarge)),
        _ => {
            let mut detail = ErrorDetail::new(ErrorCode::InvalidHeader);
            detail.param = Some("Content-Length".into());
            detail.message = "The Content-Length header is not a number of bytes.".into();
            Err(detail.into())
        }
    }
}

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response> {
    Ok(Response::from_json(value)?.with_status(status))
}

/// A JSON answer whose body is already JSON text (an object's answer passed through).
pub fn json_text(status: u16, json: String) -> Result<Response> {
    let headers = worker::Headers::new();
    headers.set("Content-Type", "application/json")?;
    Ok(Response::ok(json)?
        .with_status(status)
        .with_headers(headers))
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

#[cfg(test)]
mod tests {
    use super::malformed_json_message;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pay {
        method: String,
        pay_password: Option<String>,
        count: Option<u32>,
    }

    fn message(body: &str) -> String {
        malformed_json_message(&serde_json::from_str::<Pay>(body).unwrap_err())
    }

    #[test]
    fn malformed_json_messages_never_repeat_values() {
        let long = "s3cr3t".repeat(40);
        let cases = [
            r#"{"method":"balance","pay_password":135790}"#.to_owned(),
            r#"{"method":"balance","pay_password":135790.5}"#.to_owned(),
            format!(r#"{{"method":"balance","count":"{long}"}}"#),
            format!(r#"{{"method":"balance","pay_password":["{long}"]}}"#),
            r#"{"method":"balance","count":-135790}"#.to_owned(),
            format!(r#"{{"method":"balance","{long}":1}}"#),
            format!(r#"{{"method":"balance","pay_password":"{long}"#),
            format!(r#"{{"method":{long}}}"#),
        ];
        for body in &cases {
            let text = message(body);
            assert!(!text.contains("135790"), "{text}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.len() < 120, "{text}");
            assert!(text.contains("line 1, column"), "{text}");
        }
    }

    #[test]
    fn declared_lengths_are_digits_within_the_limit() {
        use super::{check_declared_length, MAX_BODY_BYTES};
        let code = |declared: Option<&str>| {
            check_declared_length(declared)
                .err()
                .map(|e| e.detail().code.as_str())
        };
        assert_eq!(code(None), None);
        assert_eq!(code(Some("0")), None);
        assert_eq!(code(Some(&MAX_BODY_BYTES.to_string())), None);
        assert_eq!(
            code(Some(&(MAX_BODY_BYTES + 1).to_string())),
            Some("body_too_large")
        );
        assert_eq!(
            code(Some("99999999999999999999999")),
            Some("body_too_large")
        );
        for bad in ["", "abc", "+5", "-1", "1e3", " 12", "12, 12", "0x10"] {
            assert_eq!(code(Some(bad)), Some("invalid_header"), "{bad:?}");
        }
    }

    #[test]
    fn malformed_json_messages_name_the_field_and_place() {
        assert_eq!(
            message(r#"{"method":"balance","ammount":1}"#),
            "The request body has an unknown field `ammount` (line 1, column 29)."
        );
        assert!(message(r#"{"pay_password":"1"}"#).contains("lacks the field `method`"));
        assert!(message("{not json").starts_with("The request body is not valid JSON"));
        assert!(message(r#"{"method":"#).starts_with("The request body ends before"));
        assert!(message(r#"{"method":1}"#).contains("wrong type"));
    }
}
