//! Every network call the widget makes: the widget API of the edge, over the browser's `fetch`.
//!
//! The calls mirror `docs/api.md`: trade the client secret for a token, read the session, pay,
//! cancel. Bodies are the `checkout_core::api` types, so the widget and the edge cannot drift apart.

use checkout_core::api::{PayRequest, TokenRequest, TokenResponse, WidgetSession};
use checkout_core::error::{ErrorBody, ErrorDetail};
use checkout_core::ErrorCode;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, RequestMode, Response};

/// The widget API at one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    base: String,
}

impl Api {
    /// `base` is an origin such as `https://checkout.example`; a trailing `/` is ignored.
    pub fn new(base: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// `POST /v1/widget/token`. The browser adds the page's `Origin`, which the token is bound to.
    pub async fn token(&self, client_secret: &str) -> Result<TokenResponse, ErrorDetail> {
        let body = TokenRequest {
            client_secret: client_secret.to_owned(),
        };
        self.call("POST", "/v1/widget/token", &[], Some(json(&body)?))
            .await
    }

    /// `GET /v1/widget/sessions/{id}`.
    pub async fn session(
        &self,
        session_id: &str,
        token: &str,
    ) -> Result<WidgetSession, ErrorDetail> {
        let path = format!("/v1/widget/sessions/{session_id}");
        let bearer = format!("Bearer {token}");
        self.call("GET", &path, &[("Authorization", &bearer)], None)
            .await
    }

    /// `POST /v1/widget/sessions/{id}/pay`. The same `idempotency_key` never charges twice.
    pub async fn pay(
        &self,
        session_id: &str,
        token: &str,
        idempotency_key: &str,
        request: &PayRequest,
    ) -> Result<WidgetSession, ErrorDetail> {
        let path = format!("/v1/widget/sessions/{session_id}/pay");
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Idempotency-Key", idempotency_key),
        ];
        self.call("POST", &path, &headers, Some(json(request)?))
            .await
    }

    /// `POST /v1/widget/sessions/{id}/cancel`: gives up on the payment under way.
    pub async fn cancel(
        &self,
        session_id: &str,
        token: &str,
    ) -> Result<WidgetSession, ErrorDetail> {
        let path = format!("/v1/widget/sessions/{session_id}/cancel");
        let bearer = format!("Bearer {token}");
        self.call(
            "POST",
            &path,
            &[("Authorization", &bearer)],
            Some("{}".into()),
        )
        .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<T, ErrorDetail> {
        let request = build_request(&format!("{}{path}", self.base), method, headers, body)
            .ok_or_else(unreachable)?;
        let window = web_sys::window().ok_or_else(unreachable)?;
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .ok()
            .and_then(|value| value.dyn_into().ok())
            .ok_or_else(unreachable)?;
        // A body that cannot be read means the connection dropped after the status line: the
        // outcome is as unknown as if no answer had come at all.
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok(),
            Err(_) => None,
        }
        .and_then(|value| value.as_string())
        .ok_or_else(unreachable)?;
        if !response.ok() {
            return Err(error_from_body(&text));
        }
        serde_json::from_str(&text).map_err(|_| ErrorDetail::new(ErrorCode::InternalError))
    }
}

/// No answer (offline, connection dropped): reported as `internal_error`, whose outcome is
/// unknown, so a payment retry keeps its idempotency key.
fn unreachable() -> ErrorDetail {
    let mut detail = ErrorDetail::new(ErrorCode::InternalError);
    detail.message =
        "We could not reach the checkout. Check your connection and try again.".to_owned();
    detail
}

/// An error response; a body this build cannot read still yields the server's message.
fn error_from_body(text: &str) -> ErrorDetail {
    if let Ok(body) = serde_json::from_str::<ErrorBody>(text) {
        return body.error;
    }
    let mut detail = ErrorDetail::new(ErrorCode::InternalError);
    if let Some(message) = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
    {
        detail.message = message;
    }
    detail
}

fn build_request(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Option<Request> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_mode(RequestMode::Cors);
    // The widget authenticates with its token; cookies of the checkout origin have no business here.
    init.set_credentials(RequestCredentials::Omit);
    let all = Headers::new().ok()?;
    for (name, value) in headers {
        all.append(name, value).ok()?;
    }
    if let Some(body) = body {
        all.append("Content-Type", "application/json").ok()?;
        init.set_body_opt_str(Some(&body));
    }
    init.set_headers_headers(&all);
    Request::new_with_str_and_init(url, &init).ok()
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, ErrorDetail> {
    serde_json::to_string(value).map_err(|_| ErrorDetail::new(ErrorCode::InternalError))
}

/// A fresh idempotency key: 32 characters of `[A-Za-z0-9_-]` from the browser's CSPRNG.
pub fn new_idempotency_key() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 32];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        // Only uniqueness matters for a key, not secrecy, so a weaker source is acceptable here.
        for byte in bytes.iter_mut() {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect()
}
