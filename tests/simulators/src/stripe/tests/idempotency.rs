//! `Idempotency-Key`: the first answer replayed, other parameters refused, keys pruned.

use std::time::Duration;

use super::{rig, rig_with, session_form, StripeError};

#[test]
fn a_retried_post_replays_the_first_answer() {
    let rig = rig();
    let form = session_form(500, "");
    let key = [("Idempotency-Key", "pay_1-create")];
    let first = rig.call_with("POST", "/v1/checkout/sessions", &form, &key);
    let second = rig.call_with("POST", "/v1/checkout/sessions", &form, &key);
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(first.body["id"], second.body["id"], "one session, not two");
    assert_eq!(first.header("Idempotent-Replayed"), None);
    assert_eq!(second.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(
        second.header("Original-Request"),
        first.header("Request-Id")
    );
    assert_eq!(rig.sim.shared.lock().sessions.len(), 1);
}

#[test]
fn the_same_key_with_other_parameters_is_an_idempotency_error() {
    let rig = rig();
    let key = [("Idempotency-Key", "k1")];
    rig.call_with(
        "POST",
        "/v1/checkout/sessions",
        &session_form(500, ""),
        &key,
    );
    let other = rig.call_with(
        "POST",
        "/v1/checkout/sessions",
        &session_form(501, ""),
        &key,
    );
    assert_eq!(
        (other.status, other.error_type()),
        (400, "idempotency_error")
    );
    assert!(other.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'k1'"));
    let id = rig.session(500, "");
    let elsewhere = rig.call_with(
        "POST",
        &format!("/v1/checkout/sessions/{id}/expire"),
        "",
        &key,
    );
    assert_eq!(
        elsewhere.error_type(),
        "idempotency_error",
        "a key belongs to one endpoint"
    );
}

#[test]
fn a_refused_request_saves_nothing_and_keys_expire() {
    let rig = rig_with(super::super::StripeSimConfig {
        idempotency_ttl: Duration::from_millis(300),
        ..super::config()
    });
    let key = [("Idempotency-Key", "k2")];
    let bad = rig.call_with("POST", "/v1/checkout/sessions", "mode=payment", &key);
    assert_eq!(bad.status, 400);
    let good = rig.call_with(
        "POST",
        "/v1/checkout/sessions",
        &session_form(500, ""),
        &key,
    );
    assert_eq!(good.status, 200, "a validation failure is not saved");
    std::thread::sleep(Duration::from_millis(400));
    let later = rig.call_with(
        "POST",
        "/v1/checkout/sessions",
        &session_form(500, ""),
        &key,
    );
    assert_eq!(later.status, 200);
    assert_ne!(
        later.body["id"], good.body["id"],
        "after the key's lifetime it is a new request"
    );
    assert_eq!(later.header("Idempotent-Replayed"), None);
}

#[test]
fn a_retry_while_the_first_request_runs_is_a_409() {
    let rig = std::sync::Arc::new(rig());
    rig.sim.set_faults(crate::stripe::Faults {
        latency_ms: 400,
        ..Default::default()
    });
    let key = [("Idempotency-Key", "k-concurrent")];
    let first = {
        let rig = rig.clone();
        std::thread::spawn(move || {
            rig.call_with(
                "POST",
                "/v1/checkout/sessions",
                &session_form(500, ""),
                &key,
            )
        })
    };
    std::thread::sleep(Duration::from_millis(150));
    let second = rig.call_with(
        "POST",
        "/v1/checkout/sessions",
        &session_form(500, ""),
        &key,
    );
    assert_eq!(
        (second.status, second.error_type()),
        (409, "idempotency_error")
    );
    assert_eq!(first.join().unwrap().status, 200);
    let third = rig.call_with(
        "POST",
        "/v1/checkout/sessions",
        &session_form(500, ""),
        &key,
    );
    assert_eq!(third.header("Idempotent-Replayed"), Some("true"));
}

#[test]
fn a_state_refusal_is_replayed_like_a_success() {
    let rig = rig();
    let id = rig.session(900, "payment_intent_data[capture_method]=manual");
    rig.post_card(&id, crate::stripe::cards::GENERIC_DECLINE_CARD);
    let pi = rig.retrieve(&id)["payment_intent"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = [("Idempotency-Key", "capture-early")];
    let path = format!("/v1/payment_intents/{pi}/capture");
    let early = rig.call_with("POST", &path, "", &key);
    assert_eq!(early.error_code(), "payment_intent_unexpected_state");
    assert_eq!(
        rig.post_card(&id, crate::stripe::cards::SUCCESS_CARD)
            .status,
        303
    );
    let replayed = rig.call_with("POST", &path, "", &key);
    assert_eq!(replayed.status, 400, "the endpoint ran: its answer is kept");
    assert_eq!(replayed.header("Idempotent-Replayed"), Some("true"));
    let fresh = rig.call_with("POST", &path, "", &[("Idempotency-Key", "capture-later")]);
    assert_eq!(fresh.status, 200, "{}", fresh.text);
}
