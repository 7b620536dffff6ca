//! Each fault switch, over HTTP: event faults, latency, 500s, 429s and lost answers.

use std::time::{Duration, Instant};

use serde_json::json;

use super::webhooks::verifies;
use super::{eventually, merchant, rig, types, StripeError};
use crate::stripe::{Faults, DEFAULT_WEBHOOK_SECRET};

#[test]
fn faults_are_set_and_reset_over_http() {
    let rig = rig();
    let url = format!("{}/__sim/faults", rig.sim.origin());
    let json_type = [("Content-Type", "application/json")];
    let set = super::send(
        "POST",
        &url,
        &json_type,
        Some(r#"{"duplicate_events":true,"latency_ms":5}"#),
    );
    assert_eq!(set.body["duplicate_events"], true);
    assert!(rig.sim.faults().duplicate_events);
    let typo = super::send(
        "POST",
        &url,
        &json_type,
        Some(r#"{"duplicate_event":true}"#),
    );
    assert_eq!(typo.status, 400);
    let reset = super::send("DELETE", &url, &[], None);
    assert_eq!(reset.body["duplicate_events"], false);
    let endpoint = super::send(
        "POST",
        &format!("{}/__sim/webhook_endpoint", rig.sim.origin()),
        &json_type,
        Some(r#"{"url":"http://127.0.0.1:1/x"}"#),
    );
    assert_eq!(endpoint.body["url"], "http://127.0.0.1:1/x");
}

#[test]
fn duplicate_events_arrive_twice() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.sim.set_faults(Faults {
        duplicate_events: true,
        ..Faults::default()
    });
    rig.paid(100, false);
    let requests = receiver.wait_for(2);
    assert_eq!(requests[0].body, requests[1].body);
    assert!(requests.iter().all(|r| verifies(r, DEFAULT_WEBHOOK_SECRET)));
}

#[test]
fn out_of_order_events_arrive_newest_first() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.sim.set_faults(Faults {
        out_of_order_events: true,
        ..Faults::default()
    });
    let (_, pi) = rig.paid(100, true);
    rig.call("POST", &format!("/v1/payment_intents/{pi}/cancel"), "");
    receiver.wait_for(3);
    assert_eq!(
        types(&receiver.events()),
        [
            "payment_intent.canceled",
            "checkout.session.completed",
            "payment_intent.amount_capturable_updated"
        ]
    );
}

#[test]
fn withheld_events_wait_until_released() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.sim.set_faults(Faults {
        withhold_events: true,
        ..Faults::default()
    });
    rig.paid(100, false);
    std::thread::sleep(Duration::from_millis(200));
    assert!(receiver.requests().is_empty());
    assert_eq!(types(&rig.sim.events()), ["checkout.session.completed"]);
    let released = super::send(
        "POST",
        &format!("{}/__sim/events/release", rig.sim.origin()),
        &[],
        None,
    );
    assert_eq!(released.body, json!({"released": 1}));
    receiver.wait_for(1);
}

#[test]
fn delayed_events_arrive_after_the_delay() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.sim.set_faults(Faults {
        delay_events_ms: 300,
        ..Faults::default()
    });
    let start = Instant::now();
    rig.paid(100, false);
    std::thread::sleep(Duration::from_millis(150));
    assert!(receiver.requests().is_empty());
    receiver.wait_for(1);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_bad_signature_does_not_verify_and_an_extra_v1_still_does() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.sim.set_faults(Faults {
        bad_signature: true,
        ..Faults::default()
    });
    rig.paid(100, false);
    let bad = receiver.wait_for(1);
    assert!(!verifies(&bad[0], DEFAULT_WEBHOOK_SECRET));
    rig.sim.set_faults(Faults {
        extra_v1_signature: true,
        ..Faults::default()
    });
    rig.paid(100, false);
    let requests = receiver.wait_for(2);
    let header = requests[1].header("Stripe-Signature").unwrap();
    assert_eq!(header.matches("v1=").count(), 2, "{header}");
    assert!(verifies(&requests[1], DEFAULT_WEBHOOK_SECRET));
}

#[test]
fn latency_500s_and_429s_come_before_any_effect() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        latency_ms: 200,
        ..Faults::default()
    });
    let start = Instant::now();
    rig.call("GET", "/v1/refunds", "");
    assert!(start.elapsed() >= Duration::from_millis(200));
    rig.sim.set_faults(Faults {
        fail_next_requests: 1,
        rate_limit_next_requests: 1,
        ..Faults::default()
    });
    let key = [("Idempotency-Key", "k-faults")];
    let form = super::session_form(100, "");
    let limited = rig.call_with("POST", "/v1/checkout/sessions", &form, &key);
    assert_eq!((limited.status, limited.error_code()), (429, "rate_limit"));
    let failed = rig.call_with("POST", "/v1/checkout/sessions", &form, &key);
    assert_eq!((failed.status, failed.error_type()), (500, "api_error"));
    assert!(
        rig.sim.shared.lock().sessions.is_empty(),
        "nothing happened"
    );
    let ok = rig.call_with("POST", "/v1/checkout/sessions", &form, &key);
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("Idempotent-Replayed"),
        None,
        "the failures saved nothing"
    );
}

#[test]
fn a_lost_capture_answer_still_captured_once_and_the_retry_replays_it() {
    for as_500 in [false, true] {
        let rig = rig();
        let (_, pi) = rig.paid(5000, true);
        rig.sim.set_faults(Faults {
            lose_capture_answers: 1,
            lost_answer_as_500: as_500,
            ..Faults::default()
        });
        let key = [("Idempotency-Key", "capture-pay_1")];
        let path = format!("/v1/payment_intents/{pi}/capture");
        let lost = rig.try_call("POST", &path, "amount_to_capture=4000", &key);
        match (as_500, lost) {
            (false, Err(_)) => {}
            (true, Ok(answer)) => assert_eq!(answer.status, 500),
            (_, other) => panic!("unexpected {other:?}"),
        }
        let pi_now = rig.call("GET", &format!("/v1/payment_intents/{pi}"), "");
        assert_eq!(
            pi_now.body["status"], "succeeded",
            "the capture took effect"
        );
        assert_eq!(pi_now.body["amount_received"], 4000);
        let retry = rig.call_with("POST", &path, "amount_to_capture=4000", &key);
        assert_eq!(retry.status, 200);
        assert_eq!(retry.header("Idempotent-Replayed"), Some("true"));
        assert_eq!(
            rig.sim.payment_intent(&pi).unwrap()["captures"],
            1,
            "exactly one capture"
        );
    }
}

#[test]
fn a_lost_refund_answer_still_refunded_once() {
    let rig = rig();
    let (_, pi) = rig.paid(1000, false);
    rig.sim.set_faults(Faults {
        lose_refund_answers: 1,
        ..Faults::default()
    });
    let key = [("Idempotency-Key", "refund-r1")];
    let form = format!("payment_intent={pi}&amount=400");
    assert!(rig.try_call("POST", "/v1/refunds", &form, &key).is_err());
    let list = rig.call("GET", "/v1/refunds", &format!("payment_intent={pi}"));
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "the refund exists"
    );
    let retry = rig.call_with("POST", "/v1/refunds", &form, &key);
    assert_eq!(retry.body["id"], list.body["data"][0]["id"]);
    eventually("still one refund", || {
        rig.call("GET", "/v1/refunds", &format!("payment_intent={pi}"))
            .body["data"]
            .as_array()
            .unwrap()
            .len()
            == 1
    });
}

#[test]
fn stale_future_and_tampered_webhooks_can_be_sent() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    for (n, offset) in [(1, -600i64), (2, 600)] {
        rig.sim.set_faults(Faults {
            signature_offset_s: offset,
            ..Faults::default()
        });
        rig.paid(100, false);
        let request = &receiver.wait_for(n)[n - 1];
        assert!(
            verifies(request, DEFAULT_WEBHOOK_SECRET),
            "only the age is wrong"
        );
        let header = request.header("Stripe-Signature").unwrap();
        let t: i64 = header.split(',').next().unwrap()[2..].parse().unwrap();
        assert!((t - crate::stripe::now_s() - offset).abs() <= 5, "{header}");
    }
    rig.sim.set_faults(Faults {
        tamper_body: true,
        ..Faults::default()
    });
    rig.paid(100, false);
    let request = &receiver.wait_for(3)[2];
    assert!(!verifies(request, DEFAULT_WEBHOOK_SECRET));
    let event: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(event["livemode"], true);
}
