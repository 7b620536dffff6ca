//! Webhooks to the merchant over real HTTP: a receiver on loopback that fails, then recovers,
//! gets each event exactly once with its id and a valid signature; old deliveries fail the
//! documented verification samples; events are listed and resent through the merchant API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkout_core::webhook;
use checkout_simulators::http::{Reply as HttpReply, Request as HttpRequest, Response, Server};
use checkout_tests::fixtures::{Rig, PAY_PASSWORD};
use checkout_tests::repo_root;
use checkout_tests::worker::WorkerOptions;
use serde_json::{json, Value};

mod common;

use common::now_s;

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
struct Delivery {
    event_id: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A merchant endpoint on loopback that answers 500 to its first `failures` deliveries.
struct Receiver {
    server: Server,
    seen: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    fn start(failures: usize) -> Receiver {
        let seen: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let log = seen.clone();
        let handler = Arc::new(move |request: HttpRequest| {
            let mut log = log.lock().unwrap();
            let answered = if log.len() < failures { 500 } else { 200 };
            log.push(Delivery {
                event_id: request
                    .header("Checkout-Event-Id")
                    .unwrap_or_default()
                    .to_owned(),
                signature: request
                    .header("Checkout-Signature")
                    .unwrap_or_default()
                    .to_owned(),
                body: request.body_text(),
                answered,
            });
            HttpReply::Respond(Response::json(
                answered,
                &json!({"received": answered == 200}),
            ))
        });
        Receiver {
            server: Server::start(0, handler).expect("listen on loopback"),
            seen,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/checkout", self.server.port())
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    fn wait_for(&self, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let deliveries = self.deliveries();
            if done(&deliveries) {
                return deliveries;
            }
            assert!(Instant::now() < deadline, "{what}: {deliveries:#?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A Worker that retries failed deliveries after 200 ms, doubling, instead of 30 s.
fn rig(label: &str) -> Rig {
    let options = WorkerOptions {
        vars: vec![("WEBHOOK_FIRST_RETRY_MS".into(), "200".into())],
        ..WorkerOptions::default()
    };
    Rig::start_with(label, options)
}

fn set_endpoint(rig: &Rig, url: &str) -> String {
    let reply = rig
        .client
        .call("POST", "/v1/webhook_endpoints")
        .bearer(&rig.key())
        .json(&json!({ "url": url }))
        .expect_status(200);
    let secret = reply.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    secret
}

/// Pays a fresh balance session: one wrong password first (a failed attempt), then right.
fn pay_with_one_failure(rig: &Rig, order: &str, customer: &str) -> String {
    rig.fund(customer, "100.00", &format!("{order}-fund"));
    let checkout = rig.checkout(order, "25.00", customer);
    let wrong = rig.pay(&checkout, &format!("{order}-key-1"), "000000");
    assert_eq!(wrong.code(), "incorrect_pay_password", "{}", wrong.body);
    rig.pay(&checkout, &format!("{order}-key-2"), PAY_PASSWORD)
        .expect_status(200);
    checkout.id
}

#[test]
fn an_endpoint_that_fails_five_times_gets_the_event_exactly_once() {
    let rig = rig("webhooks-retry");
    let receiver = Receiver::start(5);
    let secret = set_endpoint(&rig, &receiver.url());
    let session_id = pay_with_one_failure(&rig, "wh-order-1", "cus_wh_1");

    // Two events: the failed attempt, then the payment; the five 500s fall on either.
    let paid = |d: &Delivery| d.body.contains("\"checkout_session.paid\"");
    let all_accepted = |all: &[Delivery]| {
        all.iter().any(paid)
            && all.iter().all(|d| {
                all.iter()
                    .any(|o| o.event_id == d.event_id && o.answered == 200)
            })
    };
    let deliveries = receiver.wait_for("both events are accepted", all_accepted);
    std::thread::sleep(Duration::from_secs(2));
    let deliveries_after = receiver.deliveries();
    assert_eq!(
        deliveries.len(),
        deliveries_after.len(),
        "nothing after success"
    );
    assert_eq!(deliveries.iter().filter(|d| d.answered == 500).count(), 5);
    for delivery in &deliveries {
        let accepted = deliveries
            .iter()
            .filter(|d| d.event_id == delivery.event_id && d.answered == 200)
            .count();
        assert_eq!(
            accepted, 1,
            "each event is accepted once: {}",
            delivery.event_id
        );
    }

    let paid_deliveries: Vec<&Delivery> = deliveries.iter().filter(|d| paid(d)).collect();
    let accepted: Vec<&&Delivery> = paid_deliveries
        .iter()
        .filter(|d| d.answered == 200)
        .collect();
    assert_eq!(accepted.len(), 1, "exactly once: {paid_deliveries:#?}");
    let event_id = &paid_deliveries[0].event_id;
    assert!(event_id.starts_with("evt_"));
    for delivery in &paid_deliveries {
        assert_eq!(
            &delivery.event_id, event_id,
            "every attempt repeats the event id"
        );
        let body: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(&body["id"], event_id.as_str());
        assert_eq!(body["session_id"], session_id);
        assert_eq!(body["data"]["status"], "paid");
        assert_eq!(body["data"]["client_secret"], "");
        webhook::verify(&secret, &delivery.signature, &delivery.body, now_s())
            .expect("each attempt is freshly signed");
    }

    // The merchant API shows the event delivered, with every attempt.
    let view = rig
        .client
        .call("GET", format!("/v1/events/{event_id}"))
        .bearer(&rig.key())
        .send()
        .expect_status(200);
    assert_eq!(view.body["delivery"]["status"], "delivered");
    let attempts = view.body["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), paid_deliveries.len());
    assert_eq!(attempts.last().unwrap()["http_status"], 200);
    let events = rig.latest_events();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"checkout_session.paid"), "{kinds:?}");
    assert!(
        kinds.contains(&"checkout_session.payment_failed"),
        "{kinds:?}"
    );

    // Resending delivers the same event again.
    rig.client
        .call("POST", format!("/v1/events/{event_id}/resend"))
        .bearer(&rig.key())
        .json(&json!({}))
        .expect_status(200);
    receiver.wait_for("the resent event", |all| {
        all.iter().filter(|d| paid(d) && d.answered == 200).count() == 2
    });
}

#[test]
fn replaying_an_old_delivery_fails_the_documented_verification() {
    let rig = rig("webhooks-replay");
    let receiver = Receiver::start(0);
    let secret = set_endpoint(&rig, &receiver.url());
    pay_with_one_failure(&rig, "wh-order-2", "cus_wh_2");
    let delivery = receiver.wait_for("a delivery", |all| !all.is_empty())[0].clone();

    // Rust sample (checkout_core::webhook::verify): fresh passes; the same delivery replayed ten
    // minutes later, or one re-signed with a timestamp from ten minutes ago, is refused.
    assert_eq!(
        webhook::verify(&secret, &delivery.signature, &delivery.body, now_s()),
        Ok(())
    );
    assert_eq!(
        webhook::verify(&secret, &delivery.signature, &delivery.body, now_s() + 600),
        Err(webhook::SignatureError::Stale)
    );
    let old = webhook::sign(&secret, now_s() - 600, &delivery.body);

    // Node sample (docs/webhooks/verify.mjs), run as documented.
    let node_check = |header: &str| {
        let body_file = checkout_tests::temp_dir("webhook-body").join("body.json");
        std::fs::write(&body_file, &delivery.body).unwrap();
        let status = std::process::Command::new(repo_root().join("node_modules/.bin/node"))
            .arg(repo_root().join("docs/webhooks/verify.mjs"))
            .args([&secret, header, body_file.to_str().unwrap()])
            .output()
            .expect("node runs");
        status.status.success()
    };
    assert!(
        node_check(&delivery.signature),
        "a fresh delivery verifies in Node"
    );
    assert!(!node_check(&old), "an old delivery is refused in Node");
    let tampered = delivery.signature.replace("v1=", "v1=00");
    assert!(!node_check(&tampered));
}

#[test]
fn events_wait_without_an_endpoint_and_plain_http_is_test_mode_only() {
    let rig = rig("webhooks-endpoint");
    pay_with_one_failure(&rig, "wh-order-3", "cus_wh_3");
    let list = rig
        .client
        .call("GET", "/v1/events")
        .bearer(&rig.key())
        .send()
        .expect_status(200);
    let first = &list.body["data"][0];
    assert_eq!(first["delivery"]["status"], "no_endpoint");
    let resend = rig
        .client
        .call(
            "POST",
            format!("/v1/events/{}/resend", first["id"].as_str().unwrap()),
        )
        .bearer(&rig.key())
        .json(&json!({}));
    assert_eq!(resend.code(), "invalid_parameter");

    let live_key = rig.vars.merchant("m_demo").live_key().to_owned();
    let refused = rig
        .client
        .call("POST", "/v1/webhook_endpoints")
        .bearer(&live_key)
        .json(&json!({"url": "http://127.0.0.1:9/hooks"}));
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["param"], "url");
    let unknown = rig
        .client
        .call("GET", "/v1/events/evt_nope")
        .bearer(&rig.key())
        .send();
    assert_eq!(unknown.status, 404);
}
