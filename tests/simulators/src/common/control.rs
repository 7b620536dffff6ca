//! The plumbing of the test controls under `{origin}/__sim/` (outside every provider's
//! protocol): path segments, the fault switches' read, merge and reset, and the control API's
//! own error body `{"error": message}`. Each simulator's `control` module routes the rest.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::http::{Request, Response};

/// The path's segments after `/__sim/`, a trailing `/` ignored.
pub(crate) fn segments(request: &Request) -> Vec<&str> {
    request
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(2)
        .collect()
}

/// The request body as JSON (`Null` when it is not JSON).
pub(crate) fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

/// A control's refusal.
pub(crate) fn error(status: u16, message: &str) -> Response {
    Response::json(status, &json!({ "error": message }))
}

/// `GET|POST|DELETE /__sim/faults` over plain `switches`: read, merge in, or reset them.
pub(crate) fn faults<F>(request: &Request, switches: &mut F) -> Response
where
    F: Serialize + DeserializeOwned + Default + Clone,
{
    let current = switches.clone();
    faults_with(request, current, |new| {
        *switches = new;
        switches.clone()
    })
}

/// `GET|POST|DELETE /__sim/faults`: read `current`, merge in a JSON object of fault fields, or
/// reset to the defaults. `store` keeps the new switches (acting on any one-shot ones) and
/// returns what they now read back as.
pub(crate) fn faults_with<F>(request: &Request, current: F, store: impl FnOnce(F) -> F) -> Response
where
    F: Serialize + DeserializeOwned + Default,
{
    match request.method.as_str() {
        "GET" => Response::json(200, &json!(current)),
        "DELETE" => Response::json(200, &json!(store(F::default()))),
        "POST" => match merge(&current, &request.body) {
            Ok(faults) => Response::json(200, &json!(store(faults))),
            Err(refusal) => refusal,
        },
        _ => error(404, "no such control"),
    }
}

/// `current` with the fields of the JSON object in `patch` over it.
fn merge<F: Serialize + DeserializeOwned>(current: &F, patch: &[u8]) -> Result<F, Response> {
    let Ok(Value::Object(patch)) = serde_json::from_slice(patch) else {
        return Err(error(400, "send a JSON object of fault fields"));
    };
    let mut merged = serde_json::to_value(current).unwrap_or_default();
    if let Some(merged) = merged.as_object_mut() {
        merged.extend(patch);
    }
    serde_json::from_value(merged).map_err(|e| error(400, &format!("bad fault fields: {e}")))
}
