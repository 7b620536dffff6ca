//! Webhooks: Stripe's event objects, signed so an independent HMAC verifies them, retried with
//! back-off until a 2xx and no more than `max_attempts` times.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{eventually, merchant, rig, rig_with, types};
use crate::http::Request;
use crate::stripe::DEFAULT_WEBHOOK_SECRET;

/// Checks `Stripe-Signature` the way a merchant would, from the documentation only: any `v1`
/// equal to hex HMAC-SHA256(secret, "t.body").
pub fn verifies(request: &Request, secret: &str) -> bool {
    let Some(header) = request.header("Stripe-Signature") else {
        return false;
    };
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    v1.contains(&expected)
}

#[test]
fn a_completed_checkout_is_announced_with_a_verifiable_signature() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    let (session, pi) = rig.paid(4200, false);
    let requests = receiver.wait_for(1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/notifications/stripe");
    assert!(request
        .header("Content-Type")
        .unwrap()
        .starts_with("application/json"));
    assert!(verifies(request, DEFAULT_WEBHOOK_SECRET));
    assert!(!verifies(request, "whsec_someone_else"));
    let header = request.header("Stripe-Signature").unwrap();
    let t: i64 = header
        .split(',')
        .next()
        .unwrap()
        .trim_start_matches("t=")
        .parse()
        .unwrap();
    assert!((crate::stripe::now_s() - t).abs() <= 5);
    assert!(header.contains(",v0="), "test mode adds a v0 to ignore");
    let event: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "checkout.session.completed");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["api_version"], "2024-06-20");
    let object = &event["data"]["object"];
    assert_eq!(object["id"], session.as_str());
    assert_eq!(object["payment_intent"], pi.as_str());
    assert_eq!(object["payment_status"], "paid");
    assert_eq!(object["client_reference_id"], "pay_1");
    let fetched = rig.call(
        "GET",
        &format!("/v1/events/{}", event["id"].as_str().unwrap()),
        "",
    );
    assert_eq!(fetched.body, event);
}

#[test]
fn a_decline_is_announced_as_payment_failed() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    let id = rig.session(700, "");
    rig.post_card(&id, crate::stripe::cards::INSUFFICIENT_FUNDS_CARD);
    receiver.wait_for(1);
    let event = &receiver.events()[0];
    assert_eq!(event["type"], "payment_intent.payment_failed");
    assert_eq!(
        event["data"]["object"]["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
}

#[test]
fn deliveries_are_retried_with_back_off_until_a_2xx() {
    let rig = rig();
    let receiver = merchant(&[500, 503, 200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.paid(100, false);
    let requests = receiver.wait_for(3);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(receiver.requests().len(), 3, "no retry after the 200");
    let bodies: Vec<&[u8]> = requests.iter().map(|r| r.body.as_slice()).collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "the same event each time"
    );
    let d = rig.sim.deliveries();
    assert_eq!(d.iter().map(|d| d.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(d[2].acknowledged && !d[1].acknowledged);
    let gaps: Vec<u64> = d
        .windows(2)
        .map(|w| w[1].sent_at_ms - w[0].sent_at_ms)
        .collect();
    assert!(
        gaps[0] >= 40 && gaps[1] >= 80,
        "exponential back-off: {gaps:?}"
    );
}

#[test]
fn retries_stop_after_max_attempts() {
    let rig = rig_with(super::config());
    let receiver = merchant(&[500]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    rig.paid(100, false);
    receiver.wait_for(4);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(receiver.requests().len(), 4);
}

#[test]
fn an_unreachable_endpoint_is_recorded_and_retried() {
    let rig = rig();
    rig.sim
        .set_webhook_endpoint(Some("http://127.0.0.1:9/v1/notifications/stripe"));
    rig.paid(100, false);
    eventually("four failed attempts", || rig.sim.deliveries().len() == 4);
    assert!(rig
        .sim
        .deliveries()
        .iter()
        .all(|d| d.error.is_some() && d.status.is_none()));
    assert_eq!(types(&rig.sim.events()), ["checkout.session.completed"]);
}
