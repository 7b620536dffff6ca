//! Webhooks: events signed with the endpoint secret and POSTed to the configured endpoint,
//! retried with exponential back-off until a 2xx, under the fault switches.
//!
//! `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(whsec secret, "<t>.<body>")>,v0=<...>`, as
//! "Check the webhook signatures" describes (the `v0` test-mode signature uses another secret and
//! must be ignored). Each attempt is signed afresh with its own `t`; the body (and the event `id`)
//! stays the same. The body is `application/json; charset=utf-8`.
//!
//! Faults ([`super::Faults`]): `duplicate_events` sends every attempt twice; `out_of_order_events`
//! holds events until 150 ms pass with no new one, then sends them newest first;
//! `withhold_events` keeps them until released (`POST /__sim/events/release`);
//! `delay_events_ms` waits before the first attempt; `bad_signature` signs with a wrong secret;
//! `extra_v1_signature` puts a second, non-matching `v1` first (as during a secret roll);
//! `signature_offset_s` signs with a stale or future `t`; `tamper_body` changes the body after
//! signing.
//!
//! The POST itself and the waiting between retries are the common `common::delivery`;
//! the signing, the headers, the doubling gaps and what counts as acknowledged are Stripe's and
//! stay here.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::control::DeliverySnapshot;
use super::{now_s, Shared};
use crate::common::delivery;
use crate::util::unix_millis;

/// The secret behind the test-mode `v0` signature and the `bad_signature` fault.
const OTHER_SECRET: &str = "whsec_not_the_endpoint_secret";
/// Held-back events go out once none has arrived for this long.
const REORDER_QUIET_MS: u64 = 150;

/// Lower-case hex of HMAC-SHA256(`secret`, "`timestamp`.`body`").
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Stripe-Signature` value for `body` at `timestamp`, as Stripe sends it in test mode.
pub fn signature_header(secret: &str, timestamp: i64, body: &str) -> String {
    format!(
        "t={timestamp},v1={},v0={}",
        sign(secret, timestamp, body),
        sign(OTHER_SECRET, timestamp, body)
    )
}

/// Starts delivering events (those one change caused, in order) under the current faults.
pub(crate) fn dispatch(shared: &Arc<Shared>, events: Vec<Value>) {
    let mut state = shared.lock();
    let faults = state.faults.clone();
    if faults.withhold_events {
        state.withheld.extend(events);
        return;
    }
    if faults.out_of_order_events {
        state.reorder.extend(events);
        state.reorder_last_ms = unix_millis();
        return;
    }
    drop(state);
    spawn(
        shared,
        events,
        Duration::from_millis(faults.delay_events_ms),
    );
}

/// Sends events held for reordering, newest first, once they have been quiet (or `now`).
pub(crate) fn flush_reordered(shared: &Arc<Shared>, now: bool) {
    let held = {
        let mut state = shared.lock();
        let quiet = unix_millis().saturating_sub(state.reorder_last_ms) >= REORDER_QUIET_MS;
        if state.reorder.is_empty() || !(now || quiet) {
            return;
        }
        std::mem::take(&mut state.reorder)
    };
    // One thread sends them in turn, so the order on the wire is the reversed one.
    let shared = shared.clone();
    let _ = thread::Builder::new()
        .name("stripe-reorder".into())
        .spawn(move || {
            for event in held.into_iter().rev() {
                if !attempt_once_then_retry(&shared, event) {
                    return;
                }
            }
        });
}

/// Delivers withheld events (and held reordered ones); returns how many were withheld.
pub(crate) fn release(shared: &Arc<Shared>) -> usize {
    let withheld = std::mem::take(&mut shared.lock().withheld);
    let count = withheld.len();
    spawn(shared, withheld, Duration::ZERO);
    flush_reordered(shared, true);
    count
}

/// Sends `event` again from the start (a resend of an already delivered event).
pub(crate) fn resend(shared: &Arc<Shared>, event: Value) {
    spawn(shared, vec![event], Duration::ZERO);
}

/// One thread makes the first attempts in order (so one change's events arrive in the order
/// they happened unless a fault says otherwise); retries go on in the background.
fn spawn(shared: &Arc<Shared>, events: Vec<Value>, delay: Duration) {
    if events.is_empty() {
        return;
    }
    let shared = shared.clone();
    shared.stop.clone().after("stripe-webhook", delay, move || {
        for event in events {
            if !attempt_once_then_retry(&shared, event) {
                return;
            }
        }
    });
}

/// The first attempt now, then retries in the background; false if the simulator stopped.
fn attempt_once_then_retry(shared: &Arc<Shared>, event: Value) -> bool {
    if shared.stop.stopped() {
        return false;
    }
    if attempt(shared, &event, 1) {
        return true;
    }
    let shared = shared.clone();
    let _ = thread::Builder::new()
        .name("stripe-webhook-retry".into())
        .spawn(move || {
            let (base, max_attempts) = (shared.config.retry_base, shared.config.max_attempts);
            delivery::retry(
                &shared.stop,
                1,
                |done| gap_after(base, max_attempts, done),
                |number| attempt(&shared, &event, number),
            );
        });
    true
}

/// The gap after attempt `done` (1 or more) of a delivery that went unacknowledged: the base,
/// doubling per attempt, while attempts are left.
fn gap_after(base: Duration, max_attempts: u32, done: u32) -> Option<Duration> {
    (done < max_attempts).then(|| base.saturating_mul(2u32.saturating_pow(done - 1)))
}

/// One delivery attempt (twice under `duplicate_events`); true once a copy got a 2xx, or when
/// there is no endpoint to deliver to.
fn attempt(shared: &Shared, event: &Value, number: u32) -> bool {
    let (faults, endpoint) = {
        let state = shared.lock();
        (state.faults.clone(), state.webhook_endpoint.clone())
    };
    let Some(url) = endpoint else {
        return true;
    };
    let signed_body = event.to_string();
    let body = if faults.tamper_body {
        let mut changed = event.clone();
        changed["livemode"] = Value::Bool(true);
        changed.to_string()
    } else {
        signed_body.clone()
    };
    let copies = if faults.duplicate_events { 2 } else { 1 };
    let mut acknowledged = false;
    for copy in 1..=copies {
        let t = now_s() + faults.signature_offset_s;
        let secret = if faults.bad_signature {
            OTHER_SECRET
        } else {
            shared.config.webhook_secret.as_str()
        };
        let mut signature = signature_header(secret, t, &signed_body);
        if faults.extra_v1_signature {
            signature = format!(
                "t={t},v1={},{}",
                sign("whsec_previous_secret", t, &signed_body),
                &signature[signature.find(",v1=").map_or(0, |i| i + 1)..]
            );
        }
        let headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Stripe-Signature", signature.as_str()),
            (
                "User-Agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            ),
            ("Cache-Control", "no-cache"),
        ];
        let sent_at_ms = unix_millis();
        let headers = delivery::Headers {
            lead: &[],
            rest: &headers,
        };
        let outcome = delivery::post(&url, headers, &body, shared.config.delivery_timeout);
        let ok = matches!(outcome, Ok(200..=299));
        acknowledged |= ok;
        shared.lock().deliveries.push(DeliverySnapshot {
            event_id: event["id"].as_str().unwrap_or_default().to_owned(),
            event_type: event["type"].as_str().unwrap_or_default().to_owned(),
            url: url.clone(),
            attempt: number,
            copy,
            signature,
            status: outcome.as_ref().ok().copied(),
            error: outcome.err(),
            acknowledged: ok,
            sent_at_ms,
        });
    }
    acknowledged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_the_gap_until_the_attempts_run_out() {
        let base = Duration::from_millis(40);
        let gaps: Vec<_> = (1..=4).map(|done| gap_after(base, 4, done)).collect();
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(gaps, [ms(40), ms(80), ms(160), None]);
        assert_eq!(gap_after(base, 1, 1), None);
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_t_dot_body() {
        // Computed independently with Python's hmac module.
        assert_eq!(
            sign("whsec_x", 1_700_000_000, r#"{"id":"evt_1"}"#),
            "366e40c480fe3a9e6a03609dca079cea86d77ae82d5a56b5348208247317a8d1"
        );
        let header = signature_header("whsec_x", 1_700_000_000, r#"{"id":"evt_1"}"#);
        assert!(header.starts_with(
            "t=1700000000,v1=366e40c480fe3a9e6a03609dca079cea86d77ae82d5a56b5348208247317a8d1,v0="
        ));
    }
}
