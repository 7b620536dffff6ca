//! The internal protocol between the Worker and its Durable Objects: a command, as JSON text, is
//! sent to the object's `command` method over the runtime's JS RPC, and the object answers
//! `{"ok": value}` or `{"err": ErrorDetail}` as JSON text. A rejected call means the object failed
//! internally and the outcome is unknown to the caller.
//!
//! Why RPC and not `fetch`: a `fetch` to an object builds a `Request` (a URL, headers, a body
//! stream) on the caller and a `Response` on the object, and each end reads a body; an RPC call
//! passes two strings and returns one, with no HTTP objects on either side. workers-rs 0.8 has no
//! RPC for `#[durable_object]` classes of its own, so this module supplies both ends:
//! - the caller's binding, [`Stub`] (`worker::Stub::into_rpc`, workers-rs README, "RPC Support":
//!   RPC clients are hand-written `wasm-bindgen` bindings);
//! - the object's method, [`serve_commands!`], an exported `wasm-bindgen` method beside the ones
//!   `#[durable_object]` generates;
//! - the runtime exposes a class's public methods as RPC methods only when it "inherits from the
//!   built-in type `DurableObject`" (Cloudflare, Durable Objects, "Invoke methods"), which
//!   wasm-bindgen's classes cannot declare: `edge/entry.mjs`, the Worker's entry module, sets
//!   their prototypes, as worker-build itself does for its emscripten output. RPC calls
//!   "propagate exceptions to the caller without a stack trace" (same page): an internal error
//!   is logged by the object and reaches the caller as a rejection that says only that.
//!
//! The status socket's upgrade (`upgrade`) still goes by `fetch`: a WebSocket is an HTTP upgrade.
//! Measured gain: `docs/benchmarks.md`, "fourth session: the objects' commands over JS RPC".

use checkout_core::error::ErrorDetail;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Method, Request, RequestInit};

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply<T> {
    Ok(T),
    Err(ErrorDetail),
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's stub of one object, with the methods this protocol calls on it.
    #[wasm_bindgen(extends = js_sys::Object)]
    #[derive(Debug, Clone)]
    type ObjectStub;

    /// The object's [`serve_commands!`] method: a command's JSON and the Worker request it
    /// serves; the promise of the reply's JSON.
    #[wasm_bindgen(method, catch, js_name = command)]
    fn command(
        this: &ObjectStub,
        body: &str,
        request_id: Option<&str>,
    ) -> std::result::Result<js_sys::Promise, JsValue>;

    /// The object's `fetch` (only the status socket's upgrade uses it).
    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch(
        this: &ObjectStub,
        request: &web_sys::Request,
    ) -> std::result::Result<js_sys::Promise, JsValue>;
}

/// A Durable Object to send commands to.
#[derive(Debug, Clone)]
pub struct Stub(ObjectStub);

impl From<worker::Stub> for Stub {
    fn from(stub: worker::Stub) -> Self {
        Stub(stub.into_rpc())
    }
}

/// Sends `command` to the object behind `stub` and returns its answer.
pub async fn call<C: Serialize, R: DeserializeOwned>(stub: &Stub, command: &C) -> Result<R> {
    call_for(stub, command, None).await
}

/// As [`call`], on behalf of the Worker request `request_id` (for the object's audit trail).
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

/// The object's answer to `command`, as JSON text; an error when the call was rejected.
async fn answer<C: Serialize>(
    stub: &Stub,
    command: &C,
    request_id: Option<&str>,
) -> Result<String> {
    let body = serde_json::to_string(command)?;
    let promise = stub.0.command(&body, request_id).map_err(rejected)?;
    let text = JsFuture::from(promise).await.map_err(rejected)?;
    text.as_string()
        .ok_or_else(|| Error::Invariant("an object's reply was not text".to_owned()))
}

/// A rejected call: the object failed (its own error is in its log line) or could not be reached.
fn rejected(error: JsValue) -> Error {
    let message = error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"));
    Error::Invariant(format!("object call failed: {message}"))
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
    let promise = stub.0.fetch(request.inner()).map_err(rejected)?;
    let response: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(rejected)?
        .dyn_into()
        .map_err(|_| Error::Invariant("an object's upgrade answer was no Response".into()))?;
    let response = worker::Response::from(response);
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

/// An object's `fetch` answer to an upgrade it refuses or fails: `{"err": ...}` with 200, read by
/// [`upgrade`]; an internal error answers 500.
pub fn upgrade_refused(object: &str, error: Error) -> worker::Result<worker::Response> {
    match reply_of::<()>(object, Err(error)) {
        Some(reply) => worker::Response::from_json(&reply),
        None => worker::Response::error("internal error", 500),
    }
}

/// The reply an object's `result` is sent as; `None` for an internal error, which is logged here,
/// by the object, and reaches the caller with no detail.
fn reply_of<T>(object: &str, result: Result<T>) -> Option<Reply<T>> {
    match result {
        Ok(value) => Some(Reply::Ok(value)),
        Err(Error::Api(detail)) => Some(Reply::Err(*detail)),
        Err(internal) => {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"object": object, "error": internal.to_string()}),
            );
            None
        }
    }
}

/// The `fetch` answer of an object that takes no upgrades: its commands come by RPC.
pub fn fetch_refused() -> worker::Result<worker::Response> {
    worker::Response::error(
        "this object takes its commands over RPC (objects/rpc.rs)",
        404,
    )
}

/// Awaits a body's `text()` promise as one string.
async fn whole_text(promise: std::result::Result<js_sys::Promise, JsValue>) -> Result<String> {
    let text = JsFuture::from(promise.map_err(worker::Error::from)?)
        .await
        .map_err(worker::Error::from)?;
    text.as_string()
        .ok_or_else(|| Error::Invariant("a body's text() gave no string".to_owned()))
}

/// What an object does with the commands [`serve_commands!`] hands it.
// The objects run on one thread (a Worker isolate), so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Commands {
    /// The object's name in log lines.
    const NAME: &'static str;
    type Command: DeserializeOwned;
    type Answer: Serialize;
    /// Runs `command` for the Worker request `source` (`None` for the Worker's own calls).
    async fn run(&self, command: Self::Command, source: Option<&str>) -> Result<Self::Answer>;
}

/// One command's JSON `body`, run by `object`, as the reply's JSON text; an internal error
/// ([`reply_of`]) rejects the call.
pub async fn serve<O: Commands>(
    object: &O,
    body: &str,
    source: Option<&str>,
) -> std::result::Result<String, JsValue> {
    let result = match serde_json::from_str::<O::Command>(body) {
        Ok(command) => object.run(command, source).await,
        Err(e) => Err(e.into()),
    };
    let reply = reply_of(O::NAME, result)
        .ok_or_else(|| JsValue::from(js_sys::Error::new("internal error")))?;
    serde_json::to_string(&reply).map_err(|e| js_sys::Error::new(&e.to_string()).into())
}

/// Exports an object's `command` method (what [`Stub`] calls), run by its [`Commands`].
#[macro_export]
macro_rules! serve_commands {
    ($object:ty) => {
        const _: () = {
            use ::worker::wasm_bindgen::prelude::wasm_bindgen;
            #[wasm_bindgen(wasm_bindgen = ::worker::wasm_bindgen)]
            impl $object {
                /// The Worker's commands over JS RPC (`objects/rpc.rs`).
                #[wasm_bindgen(js_name = command)]
                pub async fn rpc_command(
                    &self,
                    body: String,
                    request_id: Option<String>,
                ) -> ::std::result::Result<
                    ::worker::wasm_bindgen::JsValue,
                    ::worker::wasm_bindgen::JsValue,
                > {
                    $crate::objects::rpc::serve(self, &body, request_id.as_deref())
                        .await
                        .map(|text| ::worker::wasm_bindgen::JsValue::from_str(&text))
                }
            }
        };
    };
}
