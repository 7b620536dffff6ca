//! The `/v1` API: authentication, the fault switches in front of it, idempotency, and the
//! endpoints (see the module list in `stripe/mod.rs`).
//!
//! Every answer carries `Request-Id: req_...` and `Stripe-Version` (the request's, else the
//! configured one). A POST with `Idempotency-Key` (at most 255 characters) is answered once and
//! replayed for `idempotency_ttl` with `Idempotent-Replayed: true` and `Original-Request` (a
//! success or a state refusal; a parameter error is not kept, see `stripe/mod.rs`); the
//! same key on another endpoint or with other parameters is 400 `idempotency_error`, and while
//! the first request still runs, 409 `idempotency_error`.

mod payments;
mod sessions;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{Map, Value};

use super::form::{self, Params};
use super::state::{new_id, Saved};
use super::wire::ApiError;
use super::{publish, Shared};
use crate::http::{Reply, Request, Response};
use crate::util::unix_millis;

/// What an endpoint did: its answer, events to publish, and whether the answer is lost.
pub(super) struct Outcome {
    pub result: Result<Value, ApiError>,
    pub emits: Vec<super::state::Emit>,
    pub lose_answer: bool,
}

impl From<Result<Value, ApiError>> for Outcome {
    fn from(result: Result<Value, ApiError>) -> Outcome {
        Outcome {
            result,
            emits: Vec::new(),
            lose_answer: false,
        }
    }
}

impl Outcome {
    /// An answer with the events it caused, and whether the answer is then lost.
    pub(super) fn with_events(
        result: Result<(Value, Vec<super::state::Emit>, bool), ApiError>,
    ) -> Outcome {
        match result {
            Ok((value, emits, lose_answer)) => Outcome {
                result: Ok(value),
                emits,
                lose_answer,
            },
            Err(e) => Err(e).into(),
        }
    }
}

/// What serving a request came to.
enum Served {
    /// Status, body and extra headers.
    Answer(u16, Value, Vec<(String, String)>),
    /// The effect happened; the connection is closed with no answer.
    Dropped,
}

pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Reply {
    let request_id = new_id("req_");
    let version = request
        .header("Stripe-Version")
        .unwrap_or(&shared.config.api_version)
        .to_owned();
    let (status, body, extra) = match serve(shared, request, &request_id) {
        Ok(Served::Answer(status, body, extra)) => (status, body, extra),
        Ok(Served::Dropped) => return Reply::Close,
        Err(e) => (e.status, e.body(), Vec::new()),
    };
    let mut response = Response::json(status, &body);
    response.headers.push(("Request-Id".into(), request_id));
    response.headers.push(("Stripe-Version".into(), version));
    response.headers.extend(extra);
    Reply::Respond(response)
}

/// Authentication, injected faults, idempotency, then the endpoint.
fn serve(shared: &Arc<Shared>, request: &Request, request_id: &str) -> Result<Served, ApiError> {
    authenticate(shared, request)?;
    if let Some(e) = injected_fault(shared) {
        return Err(e);
    }
    let key = idempotency_key(request)?;
    let text = if request.method == "GET" {
        request.query.clone()
    } else {
        request.body_text()
    };
    let params = form::decode(&text)?;
    let endpoint = format!("{} {}", request.method, request.path);
    if let Some(key) = &key {
        if let Some(saved) = check_idempotency(shared, key, &endpoint, &params)? {
            let body = serde_json::from_str(&saved.body).unwrap_or(Value::Null);
            let extra = vec![
                ("Idempotency-Key".to_owned(), key.clone()),
                ("Idempotent-Replayed".to_owned(), "true".to_owned()),
                ("Original-Request".to_owned(), saved.request_id),
            ];
            return Ok(Served::Answer(saved.status, body, extra));
        }
    }
    // The latency falls while the request is in flight, so a concurrent retry with the same key
    // meets the 409 Stripe answers then.
    let latency_ms = shared.lock().faults.latency_ms;
    thread::sleep(Duration::from_millis(latency_ms));
    let outcome = route(shared, request, &params);
    let (status, body, keep) = match &outcome.result {
        Ok(value) => (200, value.clone(), true),
        Err(e) => (e.status, e.body(), e.executed),
    };
    if let Some(key) = &key {
        let mut state = shared.lock();
        state.in_flight.retain(|k| k != key);
        if keep {
            let saved = Saved {
                endpoint,
                params: Value::Object(params),
                status,
                body: body.to_string(),
                request_id: request_id.to_owned(),
                saved_ms: unix_millis(),
            };
            state.idempotency.insert(key.clone(), saved);
        }
    }
    publish(shared, outcome.emits, Some((request_id, key.as_deref())));
    if outcome.lose_answer {
        if shared.lock().faults.lost_answer_as_500 {
            return Err(api_error());
        }
        return Ok(Served::Dropped);
    }
    let extra = key
        .map(|k| vec![("Idempotency-Key".to_owned(), k)])
        .unwrap_or_default();
    Ok(Served::Answer(status, body, extra))
}

/// The `Idempotency-Key` of a POST (GETs are idempotent already): at most 255 characters.
fn idempotency_key(request: &Request) -> Result<Option<String>, ApiError> {
    match request.header("Idempotency-Key") {
        Some(k) if request.method == "POST" && k.len() > 255 => Err(ApiError::invalid(
            "Idempotency keys can be at most 255 characters long.",
            None,
        )),
        Some(k) if request.method == "POST" => Ok(Some(k.to_owned())),
        _ => Ok(None),
    }
}

/// `Authorization: Bearer sk_...` (or HTTP Basic with the key as user name, as curl's `-u`).
fn authenticate(shared: &Shared, request: &Request) -> Result<(), ApiError> {
    let unauthorized = |message: String| {
        ApiError::invalid(&message, None).with_status(401, "invalid_request_error")
    };
    let Some(header) = request.header("Authorization") else {
        return Err(unauthorized(
            "You did not provide an API key. You need to provide your API key in the \
             Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                .into(),
        ));
    };
    let key = if let Some(key) = header.strip_prefix("Bearer ") {
        key.trim().to_owned()
    } else if let Some(basic) = header.strip_prefix("Basic ") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).into_owned();
        text.split(':').next().unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    if key == shared.config.secret_key {
        return Ok(());
    }
    // Like Stripe, show the key's prefix and last four characters only.
    let chars: Vec<char> = key.chars().collect();
    let shown = if chars.len() > 4 {
        let head: String = chars.iter().take(8.min(chars.len() - 4)).collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}********{tail}")
    } else {
        "****".into()
    };
    Err(unauthorized(format!("Invalid API Key provided: {shown}")))
}

/// A 429 or a 500 if the switches say so, before anything is done.
fn injected_fault(shared: &Shared) -> Option<ApiError> {
    let mut state = shared.lock();
    if state.faults.rate_limit_next_requests > 0 {
        state.faults.rate_limit_next_requests -= 1;
        return Some(
            ApiError {
                code: Some("rate_limit".into()),
                ..ApiError::invalid(
                    "Request rate limit exceeded. Learn more about rate limits here \
                     https://stripe.com/docs/rate-limits.",
                    None,
                )
            }
            .with_status(429, "invalid_request_error"),
        );
    }
    if state.faults.fail_next_requests > 0 {
        state.faults.fail_next_requests -= 1;
        return Some(api_error());
    }
    None
}

fn api_error() -> ApiError {
    ApiError::invalid(
        "An unknown error occurred while processing your request. Please try again.",
        None,
    )
    .with_status(500, "api_error")
}

/// A saved answer to replay, nothing (go on, now marked in flight), or an idempotency error.
fn check_idempotency(
    shared: &Shared,
    key: &str,
    endpoint: &str,
    params: &Map<String, Value>,
) -> Result<Option<Saved>, ApiError> {
    let mut state = shared.lock();
    let ttl_ms = shared.config.idempotency_ttl.as_millis() as u64;
    let now = unix_millis();
    state
        .idempotency
        .retain(|_, saved| now.saturating_sub(saved.saved_ms) < ttl_ms);
    if state.in_flight.iter().any(|k| k == key) {
        return Err(ApiError::invalid(
            "There is currently another in-progress request using this Idempotent Key (that \
             probably means you submitted twice, and the other request is still going through). \
             Please retry this request later.",
            None,
        )
        .with_status(409, "idempotency_error"));
    }
    if let Some(saved) = state.idempotency.get(key) {
        if saved.endpoint != endpoint || saved.params != Value::Object(params.clone()) {
            return Err(ApiError::invalid(
                &format!(
                    "Keys for idempotent requests can only be used with the same parameters they \
                     were first used with. Try using a key other than '{key}' if you meant to \
                     execute a different request."
                ),
                None,
            )
            .with_status(400, "idempotency_error"));
        }
        return Ok(Some(saved.clone()));
    }
    state.in_flight.push(key.to_owned());
    Ok(None)
}

fn route(shared: &Arc<Shared>, request: &Request, params: &Map<String, Value>) -> Outcome {
    let segments: Vec<&str> = request
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(2)
        .collect();
    let p = Params::new(params);
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["checkout", "sessions"]) => sessions::create_session(shared, &p).into(),
        ("GET", ["checkout", "sessions", id]) => sessions::retrieve_session(shared, id, &p).into(),
        ("POST", ["checkout", "sessions", id, "expire"]) => {
            sessions::expire_session(shared, id, &p)
        }
        ("GET", ["payment_intents", id]) => payments::retrieve_intent(shared, id, &p).into(),
        ("POST", ["payment_intents", id, "capture"]) => payments::capture(shared, id, &p),
        ("POST", ["payment_intents", id, "cancel"]) => payments::cancel(shared, id, &p),
        ("POST", ["refunds"]) => payments::create_refund(shared, &p),
        ("GET", ["refunds", id]) => payments::retrieve_refund(shared, id, &p).into(),
        ("GET", ["refunds"]) => payments::list_refunds(shared, &p).into(),
        ("GET", ["events", id]) => retrieve_event(shared, id).into(),
        _ => Err(ApiError::invalid(
            &format!(
                "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can \
                 help at https://support.stripe.com/.",
                request.method, request.path
            ),
            None,
        )
        .with_status(404, "invalid_request_error"))
        .into(),
    }
}

fn retrieve_event(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    shared
        .lock()
        .events
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .ok_or_else(|| ApiError::missing("event", id, "id"))
}
