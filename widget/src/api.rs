//! Every network call the widget makes: the widget API of the edge, over the browser's `fetch`.
//!
//! The calls mirror `docs/api.md`: trade the client secret for a token, read the session, pay,
//! cancel. Bodies are the `checkout_core::api` types, so the widget and the edge cannot drift apart.
//! A failure is a [`Problem`]: the edge's error answer, or no answer at all.

use checkout_core::api::{PayRequest, TokenRequest, TokenResponse, WidgetSession};
use checkout_core::error::ErrorBody;
use checkout_core::ErrorCode;

use checkout_core::json::Json;
use checkout_core::wire::{FromJson, ToJson};

mod status_socket;

pub use status_socket::{SocketEvent, StatusSocket};

use crate::password_frame;
use crate::state::Problem;
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
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

    /// The checkout's origin (the base the widget was given).
    pub fn origin(&self) -> &str {
        &self.base
    }

    /// `POST /v1/widget/token`. The browser adds the page's `Origin`, which the token is bound to.
    /// `sent`: the same request, already sent by the loader ([`Sent`]).
    pub async fn token(
        &self,
        client_secret: &str,
        sent: Option<Promise>,
    ) -> Result<TokenResponse, Problem> {
        if let Some(sent) = sent {
            return parse(read_sent(sent).await?);
        }
        let body = TokenRequest {
            client_secret: client_secret.to_owned(),
        };
        self.call("POST", "/v1/widget/token", &[], Some(body.to_json()))
            .await
    }

    /// `GET /v1/widget/sessions/{id}`; with `omit_wallet`, `?wallet=omit`: the status without
    /// the wallet's balance and points (one object call at the edge instead of two), for the
    /// polls while a payment waits at a provider. `sent`: the same request, already sent by the
    /// loader ([`Sent`]).
    pub async fn session(
        &self,
        session_id: &str,
        token: &str,
        omit_wallet: bool,
        sent: Option<Promise>,
    ) -> Result<WidgetSession, Problem> {
        if let Some(sent) = sent {
            return parse(read_sent(sent).await?);
        }
        let query = if omit_wallet { "?wallet=omit" } else { "" };
        let path = format!("/v1/widget/sessions/{session_id}{query}");
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
    ) -> Result<WidgetSession, Problem> {
        let path = format!("/v1/widget/sessions/{session_id}/pay");
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Idempotency-Key", idempotency_key),
        ];
        self.call("POST", &path, &headers, Some(request.to_json()))
            .await
    }

    /// The pay-password frame's address (`GET /v1/widget/frames/pay_password`): the frame lives
    /// on the checkout's origin, framed by the page at `parent`, and speaks `locale`.
    pub fn password_frame_url(
        &self,
        session_id: &str,
        parent: &str,
        locale: &str,
        locked: bool,
    ) -> String {
        let encode = |s: &str| String::from(js_sys::encode_uri_component(s));
        format!(
            "{}/v1/widget/frames/pay_password?session={}&parent={}&locale={}&locked={}",
            self.base,
            encode(session_id),
            encode(parent),
            encode(locale),
            u8::from(locked),
        )
    }

    /// `POST /v1/widget/sessions/{id}/pay` through the pay-password frame: the request (without
    /// a password) and the token go to `frame`, which adds the password the shopper typed into it
    /// and pays itself; only its answer comes back. The password never exists in this page.
    pub async fn pay_in_frame(
        &self,
        frame: &web_sys::HtmlIFrameElement,
        token: &str,
        idempotency_key: &str,
        request: &PayRequest,
    ) -> Result<WidgetSession, Problem> {
        let answer = password_frame::ask(frame, &self.base, token, idempotency_key, request)
            .await
            .ok_or(Problem::Unreachable)?;
        match answer {
            password_frame::Answer::NotSixDigits => Err(Problem::PasswordFormat),
            password_frame::Answer::Http { status, body } => {
                if status == 0 {
                    return Err(Problem::Unreachable);
                }
                if !(200..300).contains(&status) {
                    return Err(problem_from_body(&body));
                }
                WidgetSession::from_json_text(&body)
                    .ok_or(Problem::from_code(ErrorCode::InternalError))
            }
        }
    }

    /// The session's pushed status (`GET /v1/widget/sessions/{id}/status`, a WebSocket): its
    /// view at once and after every change, until the wait is over ([`StatusSocket`]).
    pub fn status_socket(&self, session_id: &str, token: &str) -> Option<StatusSocket> {
        StatusSocket::open(&self.base, session_id, token)
    }

    /// `POST /v1/widget/sessions/{id}/cancel`: gives up on the payment under way.
    pub async fn cancel(&self, session_id: &str, token: &str) -> Result<WidgetSession, Problem> {
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

    async fn call<T: FromJson>(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<T, Problem> {
        parse(self.fetch(method, path, headers, body).await?)
    }

    /// The body of a successful answer. Not generic, so the shopper downloads it once, not once
    /// per type of answer.
    async fn fetch(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<String, Problem> {
        let request = build_request(&format!("{}{path}", self.base), method, headers, body)
            .ok_or(Problem::Unreachable)?;
        let window = web_sys::window().ok_or(Problem::Unreachable)?;
        answer(window.fetch_with_request(&request)).await
    }
}

/// The widget's first two calls, when the loader (`www/checkout.js`) sent them itself while the
/// widget's code was still loading (`options.sent = {token, session}`: promises of the answers to
/// exactly the requests [`Api::token`] and [`Api::session`] make, the session's made with the
/// token's answer, each read to its end: the body of a successful answer, or a rejection with the
/// body of an error answer). They would otherwise wait for the
/// WebAssembly, one after the other; sent early they travel while it loads. Read by the loader,
/// their bodies are here in the task that mounts the widget, not a task later each.
pub struct Sent {
    pub token: Promise,
    pub session: Promise,
}

impl Sent {
    /// From the mount options, if the loader put them there.
    pub fn from_options(options: &JsValue) -> Option<Sent> {
        let sent = js_sys::Reflect::get(options, &JsValue::from_str("sent")).ok()?;
        let field = |name: &str| {
            js_sys::Reflect::get(&sent, &JsValue::from_str(name))
                .ok()?
                .dyn_into::<Promise>()
                .ok()
        };
        Some(Sent {
            token: field("token")?,
            session: field("session")?,
        })
    }
}

/// The body of a successful answer the loader sent and read (see [`Sent`]): the promise resolves
/// with it; an error answer rejects with its body, a request that failed with an error object.
async fn read_sent(sent: Promise) -> Result<String, Problem> {
    match JsFuture::from(sent).await {
        Ok(text) => text.as_string().ok_or(Problem::Unreachable),
        Err(error) => Err(error
            .as_string()
            .map_or(Problem::Unreachable, |body| problem_from_body(&body))),
    }
}

/// The body of a successful answer to `response` (a promise of a `fetch` response). Not
/// generic, so the shopper downloads it once.
async fn answer(response: Promise) -> Result<String, Problem> {
    let response: Response = JsFuture::from(response)
        .await
        .ok()
        .and_then(|value| value.dyn_into().ok())
        .ok_or(Problem::Unreachable)?;
    // A body that cannot be read means the connection dropped after the status line: the
    // outcome is as unknown as if no answer had come at all.
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok(),
        Err(_) => None,
    }
    .and_then(|value| value.as_string())
    .ok_or(Problem::Unreachable)?;
    if !response.ok() {
        return Err(problem_from_body(&text));
    }
    Ok(text)
}

fn parse<T: FromJson>(text: String) -> Result<T, Problem> {
    T::from_json_text(&text).ok_or(Problem::from_code(ErrorCode::InternalError))
}

/// An error response. A code this build does not know keeps the server's code and message.
fn problem_from_body(text: &str) -> Problem {
    if let Some(body) = ErrorBody::from_json_text(text) {
        return Problem::Api(body.error);
    }
    let value = Json::parse(text);
    let error = value.as_ref().and_then(|value| value.get("error"));
    let field = |name: &str| error?.get(name)?.as_str().map(str::to_owned);
    match (field("code"), field("message")) {
        (Some(code), Some(message)) => Problem::Unknown { code, message },
        _ => Problem::from_code(ErrorCode::InternalError),
    }
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
