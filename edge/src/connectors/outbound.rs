//! Outbound HTTP to payment providers: JSON (or, for Stripe, form) requests over `fetch`, with a
//! timeout that aborts the request.
//!
//! A timeout is not a failure: the provider may have acted. Callers decide, per call, whether a
//! timeout may be retried (a query) or must be resolved by asking again (an execute).

use std::time::Duration;

use futures_util::future::{select, Either};
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// What came back, whatever the status.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: String,
    /// Response headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

impl HttpAnswer {
    /// The value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("transport: {0}")]
    Transport(String),
}

/// POSTs `body` as JSON to `url` with `headers`, giving up after `timeout`.
pub async fn post_json(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Result<HttpAnswer, OutboundError> {
    send(Method::Post, url, headers, Some(body), timeout).await
}

/// POSTs `body` as a form (`application/x-www-form-urlencoded`, Stripe's request format) to
/// `url` with `headers`, giving up after `timeout`. The answer is still read as JSON.
pub async fn post_form(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Result<HttpAnswer, OutboundError> {
    let body = Some((body, "application/x-www-form-urlencoded"));
    send_typed(Method::Post, url, headers, body, timeout).await
}

/// Sends a request that accepts JSON (with `body` as JSON, if any), giving up after `timeout`.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Duration,
) -> Result<HttpAnswer, OutboundError> {
    let body = body.map(|body| (body, "application/json"));
    send_typed(method, url, headers, body, timeout).await
}

/// Sends a request that accepts JSON, with `body` of its content type, if any.
async fn send_typed(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<HttpAnswer, OutboundError> {
    let request_headers = Headers::new();
    let transport = |e: worker::Error| OutboundError::Transport(e.to_string());
    if let Some((_, content_type)) = body {
        request_headers
            .set("Content-Type", content_type)
            .map_err(transport)?;
    }
    request_headers
        .set("Accept", "application/json")
        .map_err(transport)?;
    for (name, value) in headers {
        request_headers.set(name, value).map_err(transport)?;
    }
    let mut init = RequestInit::new();
    init.with_method(method)
        .with_headers(request_headers)
        .with_body(body.map(|(body, _)| JsValue::from_str(body)));
    let request = Request::new_with_init(url, &init).map_err(transport)?;

    let controller = AbortController::default();
    let fetch = Fetch::Request(request);
    let signal = controller.signal();
    let send = std::pin::pin!(fetch.send_with_signal(&signal));
    let timer = std::pin::pin!(Delay::from(timeout));
    match select(send, timer).await {
        Either::Left((Ok(mut response), _)) => {
            let status = response.status_code();
            let headers = response
                .headers()
                .entries()
                .map(|(name, value)| (name.to_ascii_lowercase(), value))
                .collect();
            let body = response.text().await.map_err(transport)?;
            Ok(HttpAnswer {
                status,
                body,
                headers,
            })
        }
        Either::Left((Err(e), _)) => Err(transport(e)),
        Either::Right(_) => {
            controller.abort();
            Err(OutboundError::Timeout(timeout.as_millis() as u64))
        }
    }
}

/// Sleeps for `duration` (a retry back-off).
pub async fn sleep(duration: Duration) {
    Delay::from(duration).await;
}

/// Attempts for a call that is safe to repeat.
pub const SAFE_ATTEMPTS: u32 = 3;
/// The first back-off between attempts; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Runs `call` up to `attempts` times while `unknown` says its error left the outcome unknown
/// (a timeout, a 5xx), backing off 200 ms, 400 ms, ... Only for calls that are safe to repeat.
pub async fn with_retries<R, E, F, Fut>(
    provider: &str,
    attempts: u32,
    unknown: impl Fn(&E) -> Option<String>,
    mut call: F,
) -> Result<R, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R, E>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let result = call().await;
        let retry = match &result {
            Err(error) if attempt < attempts => unknown(error),
            _ => None,
        };
        let Some(reason) = retry else {
            return result;
        };
        crate::log::event(
            crate::log::Level::Warn,
            serde_json::json!({"provider": provider, "retry": attempt, "reason": reason}),
        );
        sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}
