//! The internal protocol between the Worker and its Durable Objects: a JSON command is POSTed to
//! the object, which answers `{"ok": value}` or `{"err": ErrorDetail}` with status 200. Any other
//! status means the object failed internally and the outcome is unknown to the caller.
//!
//! Both ends read a body with one `text()` on the runtime's own `Request`/`Response` (one promise,
//! one string across the wasm boundary) rather than workers-rs' `text()`/`bytes()`, which pull a
//! `ReadableStream` chunk by chunk through `wasm-streams` (14% of the widget poll's CPU in the
//! profile issue 17 quotes).

use checkout_core::error::ErrorDetail;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use worker::{Method, Request, RequestInit, Response, Stub};

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply<T> {
    Ok(T),
    Err(ErrorDetail),
}

/// Sends `command` to the object behind `stub` and returns its answer.
pub async fn call<C: Serialize, R: DeserializeOwned>(stub: &Stub, command: &C) -> Result<R> {
    call_for(stub, command, None).await
}

/// The header that carries the id of the request a command serves, for the object's audit trail.
pub const REQUEST_ID_HEADER: &str = "Checkout-Request-Id";

/// As [`call`], on behalf of the Worker request `request_id`.
pub async fn call_for<C: Serialize, R: DeserializeOwned>(
    stub: &Stub,
    command: &C,
    request_id: Option<&str>,
) -> Result<R> {
    match serde_json::from_str::<Reply<R>>(&answer(stub, command, request_id).await?)? {
        Reply::Ok(value) => Ok(value),
        Reply::Err(detail) => Err(detail.into()),
    }
}

/// As [`call_for`], with the answer's value as the JSON text the object wrote, unparsed: for a
/// Worker that passes it on as it is (the widget's view), so it is not parsed and serialised
/// again.
pub async fn call_raw<C: Serialize>(
    stub: &Stub,
    command: &C,
    request_id: Option<&str>,
) -> Result<String> {
    let text = answer(stub, command, request_id).await?;
    match serde_json::from_str::<Reply<&serde_json::value::RawValue>>(&text)? {
        Reply::Ok(value) => Ok(value.get().to_owned()),
        Reply::Err(detail) => Err(detail.into()),
    }
}

/// The object's answer to `command`, as text; an error unless it answered 200.
async fn answer<C: Serialize>(
    stub: &Stub,
    command: &C,
    request_id: Option<&str>,
) -> Result<String> {
    let mut init = RequestInit::new();
    let headers = worker::Headers::new();
    if let Some(id) = request_id {
        headers.set(REQUEST_ID_HEADER, id)?;
    }
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(&serde_json::to_string(command)?)));
    let request = Request::new_with_init("https://object.internal/rpc", &init)?;
    let response = stub.fetch_with_request(request).await?;
    let status = response.status_code();
    let text = whole_text(web_sys::Response::from(response).text()).await?;
    if status != 200 {
        return Err(Error::Invariant(format!(
            "object answered {status}: {text}"
        )));
    }
    Ok(text)
}

/// Forwards a WebSocket upgrade to the object behind `stub` at `path`, with `headers`, and
/// returns the client end of the socket it accepted; the object's refusal (an `{"err": ...}`
/// answer) as that error.
pub async fn upgrade(
    stub: &Stub,
    path: &str,
    headers: worker::Headers,
) -> Result<worker::WebSocket> {
    headers.set("Upgrade", "websocket")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(&format!("https://object.internal{path}"), &init)?;
    let response = stub.fetch_with_request(request).await?;
    let status = response.status_code();
    if status == 101 {
        return response
            .websocket()
            .ok_or_else(|| Error::Invariant("an object answered 101 without a socket".into()));
    }
    let text = whole_text(web_sys::Response::from(response).text()).await?;
    match (status, serde_json::from_str::<Reply<()>>(&text)) {
        (200, Ok(Reply::Err(detail))) => Err(detail.into()),
        _ => Err(Error::Invariant(format!(
            "object answered {status} to an upgrade: {text}"
        ))),
    }
}

/// Parses the command an object received.
pub async fn command<C: DeserializeOwned>(req: Request) -> Result<C> {
    Ok(serde_json::from_str(
        &whole_text(req.inner().text()).await?,
    )?)
}

/// Awaits a body's `text()` promise as one string.
async fn whole_text(promise: std::result::Result<js_sys::Promise, JsValue>) -> Result<String> {
    let text = JsFuture::from(promise.map_err(worker::Error::from)?)
        .await
        .map_err(worker::Error::from)?;
    text.as_string()
        .ok_or_else(|| Error::Invariant("a body's text() gave no string".to_owned()))
}

/// Encodes an object's result for [`call`]. Internal errors are logged here, by the object.
pub fn reply<T: Serialize>(object: &str, result: Result<T>) -> worker::Result<Response> {
    let reply = match result {
        Ok(value) => Reply::Ok(value),
        Err(Error::Api(detail)) => Reply::Err(*detail),
        Err(internal) => {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"object": object, "error": internal.to_string()}),
            );
            return Response::error("internal error", 500);
        }
    };
    Response::from_json(&reply)
}
