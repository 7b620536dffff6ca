//! Test controls, outside Stripe's protocol: fault switches, the webhook endpoint, snapshots,
//! and the shopper's steps without a browser. Served under `{origin}/__sim/` and mirrored by
//! `RunningStripe` methods.
//!
//! - `GET|POST|DELETE /__sim/faults`: read, merge in (a JSON object of [`Faults`] fields), reset.
//! - `GET|POST /__sim/webhook_endpoint`: read or set `{"url": "http://..." | null}`.
//! - `GET /__sim/sessions/{id}`: the session as the API shows it, PaymentIntent and its charge
//!   expanded.
//! - `POST /__sim/sessions/{id}/expires_at`: `{"expires_at": unix_seconds}` moves an open
//!   session's expiry (any time, so tests need not wait 30 minutes); it expires when due, with
//!   `checkout.session.expired`.
//! - `POST /__sim/sessions/{id}/pay`: a [`PayRequest`]; answers `{"outcome": "completed" |
//!   "declined" | "challenge" | "invalid" (the form's checks refused it), "redirect"?,
//!   "error"?}`, or 409 `{"error"}` when the session cannot be paid (expired, complete).
//! - `GET /__sim/payment_intents/{id}`: the PaymentIntent, plus `captures` (captures that took
//!   effect) and `attempts` (`[last4, result]`).
//! - `POST /__sim/payment_intents/{id}/settle`: `{"succeeded": bool}` for a `processing` one.
//! - `POST /__sim/payment_intents/{id}/expire_authorization`: Stripe's automatic cancellation of
//!   an uncaptured authorization (`cancellation_reason: "automatic"`).
//! - `GET /__sim/events`: every event created; `POST /__sim/events/release`: deliver withheld
//!   ones; `POST /__sim/events/{id}/resend`: deliver one again.
//! - `GET /__sim/deliveries`: every delivery attempt ([`DeliverySnapshot`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::cards;
use super::state::{Attempt, PayError, PiStatus};
use super::{now_s, publish, webhook, wire, Shared};
use crate::common::control::{self, error};
use crate::http::{Request, Response};
use crate::util::Civil;

/// Fault switches, per simulator instance. Counters count down as they fire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added before every API answer.
    pub latency_ms: u64,
    /// The next N API calls answer 500 `api_error` without doing anything.
    pub fail_next_requests: u32,
    /// The next N API calls answer 429 `rate_limit`.
    pub rate_limit_next_requests: u32,
    /// The next N captures take effect, then their answer is lost.
    pub lose_capture_answers: u32,
    /// The next N refunds are created, then their answer is lost.
    pub lose_refund_answers: u32,
    /// A lost answer is a 500 `api_error` instead of a connection closed without a byte.
    pub lost_answer_as_500: bool,
    /// Every webhook delivery is sent twice, byte for byte the same.
    pub duplicate_events: bool,
    /// Events are held until 150 ms pass with no new one, then sent newest first.
    pub out_of_order_events: bool,
    /// Events are created but not sent until released (`POST /__sim/events/release`).
    pub withhold_events: bool,
    /// Wait before an event's first delivery attempt.
    pub delay_events_ms: u64,
    /// Webhooks are signed with a wrong secret.
    pub bad_signature: bool,
    /// The signature header carries a second, non-matching `v1` before the real one.
    pub extra_v1_signature: bool,
    /// Webhooks are signed with `t` this many seconds from now (negative: in the past), over
    /// that same `t`, so only the age is wrong.
    pub signature_offset_s: i64,
    /// The body is changed (its `livemode` set to true) after it was signed.
    pub tamper_body: bool,
}

/// One webhook delivery attempt (each copy of a duplicated one is its own entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliverySnapshot {
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    /// 1 for the first attempt; retries count up.
    pub attempt: u32,
    /// 1, or 2 for the second copy under `duplicate_events`.
    pub copy: u32,
    /// The `Stripe-Signature` header sent.
    pub signature: String,
    /// The endpoint's HTTP status, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// A 2xx: no more retries.
    pub acknowledged: bool,
    pub sent_at_ms: u64,
}

/// The shopper's card on the hosted page, for tests that skip the browser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayRequest {
    /// The card number (spaces allowed); 4242 4242 4242 4242 when empty.
    pub card: String,
    /// `MM/YY`; a date in 2034 when empty.
    pub exp: String,
    /// Three digits (four for American Express); `123` when empty.
    pub cvc: String,
    pub name: String,
    /// For a 3-D Secure card: `"pass"` or `"fail"` the challenge at once; `None` leaves it
    /// pending (`requires_action`).
    pub three_d_secure: Option<String>,
    /// The payment stays `processing` until settled (`/settle`).
    #[serde(rename = "async")]
    pub pay_async: bool,
}

/// Checks and pays as the hosted page would; `Ok` is the control answer.
pub(crate) fn pay(
    shared: &Arc<Shared>,
    session_id: &str,
    request: &PayRequest,
) -> Result<Value, String> {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_owned()
        } else {
            s.to_owned()
        }
    };
    let number = or(&request.card, cards::SUCCESS_CARD);
    let (exp, cvc) = (or(&request.exp, "12/34"), or(&request.cvc, "123"));
    let today = Civil::from_unix_millis(crate::util::unix_millis(), 0);
    let (digits, card) = match cards::check(&number, &exp, &cvc, today.year as u32, today.month) {
        Ok(checked) => checked,
        Err(message) => return Ok(json!({"outcome": "invalid", "error": {"message": message}})),
    };
    let mut result = attempt(shared, session_id, &digits, card, request);
    if let (Ok(Attempt::Challenge), Some(choice)) = (&result, &request.three_d_secure) {
        result = challenge(shared, session_id, choice == "pass");
    }
    match result {
        Ok(attempt) => Ok(describe(&attempt)),
        Err(e) => Err(e.to_string()),
    }
}

fn attempt(
    shared: &Arc<Shared>,
    session_id: &str,
    digits: &str,
    card: super::state::Card,
    request: &PayRequest,
) -> Result<Attempt, PayError> {
    let (attempt, emits) = {
        let mut state = shared.lock();
        if let Some(s) = state.sessions.get_mut(session_id) {
            if !request.name.is_empty() {
                s.customer_name = Some(request.name.clone());
            }
        }
        state.attempt(
            session_id,
            card,
            cards::outcome(digits),
            request.pay_async,
            now_s(),
        )?
    };
    publish(shared, emits, None);
    Ok(attempt)
}

/// The shopper completes or fails a pending 3-D Secure challenge.
pub(crate) fn challenge(
    shared: &Arc<Shared>,
    session_id: &str,
    passed: bool,
) -> Result<Attempt, PayError> {
    let (attempt, emits) = shared.lock().challenge(session_id, passed, now_s())?;
    publish(shared, emits, None);
    Ok(attempt)
}

fn describe(attempt: &Attempt) -> Value {
    match attempt {
        Attempt::Completed(redirect) => json!({"outcome": "completed", "redirect": redirect}),
        Attempt::Challenge => json!({"outcome": "challenge"}),
        Attempt::Declined(e) => json!({"outcome": "declined", "error": e}),
    }
}

pub(crate) fn expire_authorization(shared: &Arc<Shared>, pi_id: &str) -> Result<(), PayError> {
    let emits = {
        let mut state = shared.lock();
        let pi = state.intents.get(pi_id).ok_or(PayError::UnknownSession)?;
        if pi.status != PiStatus::RequiresCapture {
            return Err(PayError::NotPayable);
        }
        state.cancel(pi_id, "automatic", now_s())
    };
    publish(shared, emits, None);
    Ok(())
}

/// Moves an open session's `expires_at`; the ticker expires it when due.
pub(crate) fn set_expires_at(shared: &Shared, session_id: &str, at: i64) -> Result<(), PayError> {
    let mut state = shared.lock();
    let session = state
        .sessions
        .get_mut(session_id)
        .ok_or(PayError::UnknownSession)?;
    match session.status {
        super::state::SessionStatus::Open => {
            session.expires_at = at;
            Ok(())
        }
        super::state::SessionStatus::Expired => Err(PayError::Expired),
        super::state::SessionStatus::Complete => Err(PayError::Complete),
    }
}

pub(crate) fn intent_snapshot(shared: &Shared, id: &str) -> Option<Value> {
    let state = shared.lock();
    let pi = state.intents.get(id)?;
    let mut value = wire::payment_intent(&state, pi, true);
    value["captures"] = json!(pi.captures);
    value["attempts"] = json!(pi.attempts);
    Some(value)
}

/// Serves `/__sim/...`.
pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Response {
    let body = control::body(request);
    match (
        request.method.as_str(),
        control::segments(request).as_slice(),
    ) {
        (_, ["faults"]) => control::faults(request, &mut shared.lock().faults),
        ("GET", ["webhook_endpoint"]) => {
            Response::json(200, &json!({"url": shared.lock().webhook_endpoint}))
        }
        ("POST", ["webhook_endpoint"]) => {
            let url = body["url"].as_str().map(str::to_owned);
            shared.lock().webhook_endpoint = url.clone();
            Response::json(200, &json!({ "url": url }))
        }
        ("GET", ["sessions", id]) => {
            let state = shared.lock();
            match state.sessions.get(*id) {
                Some(s) => Response::json(
                    200,
                    &wire::session(&state, s, &wire::expand_all(), &shared.origin),
                ),
                None => error(404, "unknown session"),
            }
        }
        ("POST", ["sessions", id, "expires_at"]) => match body["expires_at"].as_i64() {
            Some(at) => match set_expires_at(shared, id, at) {
                Ok(()) => Response::json(200, &json!({ "expires_at": at })),
                Err(e) => error(409, &e.to_string()),
            },
            None => error(400, "send {\"expires_at\": unix_seconds}"),
        },
        ("POST", ["sessions", id, "pay"]) => {
            let request: PayRequest = serde_json::from_value(body).unwrap_or_default();
            match pay(shared, id, &request) {
                Ok(answer) => Response::json(200, &answer),
                Err(e) => error(409, &e),
            }
        }
        ("GET", ["payment_intents", id]) => match intent_snapshot(shared, id) {
            Some(v) => Response::json(200, &v),
            None => error(404, "unknown payment intent"),
        },
        ("POST", ["payment_intents", id, "settle"]) => {
            let succeeded = body["succeeded"].as_bool().unwrap_or(true);
            let result = shared.lock().settle_async(id, succeeded);
            match result {
                Ok(emits) => {
                    publish(shared, emits, None);
                    Response::json(200, &json!(intent_snapshot(shared, id)))
                }
                Err(e) => error(409, &e.to_string()),
            }
        }
        ("POST", ["payment_intents", id, "expire_authorization"]) => {
            match expire_authorization(shared, id) {
                Ok(()) => Response::json(200, &json!(intent_snapshot(shared, id))),
                Err(e) => error(409, &e.to_string()),
            }
        }
        ("GET", ["events"]) => Response::json(200, &json!(shared.lock().events)),
        ("POST", ["events", "release"]) => {
            let released = webhook::release(shared);
            Response::json(200, &json!({ "released": released }))
        }
        ("POST", ["events", id, "resend"]) => {
            let event = shared
                .lock()
                .events
                .iter()
                .find(|e| e["id"] == *id)
                .cloned();
            match event {
                Some(event) => {
                    webhook::resend(shared, event);
                    Response::json(200, &json!({ "resent": id }))
                }
                None => error(404, "unknown event"),
            }
        }
        ("GET", ["deliveries"]) => Response::json(200, &json!(shared.lock().deliveries)),
        _ => error(404, "no such control"),
    }
}
