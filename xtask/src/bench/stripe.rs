//! Stripe webhooks handled end to end by the local Worker: each one verified (HMAC-SHA256 over
//! `t.body`, in the Worker) before the session object treats it as a hint and re-reads the
//! payment at the Stripe simulator.

use checkout_simulators::stripe::control::PayRequest;
use checkout_simulators::stripe::webhook::sign;
use checkout_tests::api::Client;
use checkout_tests::providers::Stripe;
use serde_json::json;

use super::{expect_ok, load, report, ORIGIN};
use crate::shell::Result;

const WEBHOOKS: usize = 300;

/// Posts signed `checkout.session.completed` events about one paid card session, each with its
/// own event id (so none is a replay), and times the Worker's answers.
pub fn webhooks(client: &Client, key: &str, sim: &Stripe) -> Result {
    let session = expect_ok(client.call("POST", "/v1/checkout_sessions").bearer(key).json(&json!({
        "order_id": "bench-card", "amount": "88.00", "currency": "BDT", "description": "bench",
        "customer_id": "cus_bench_card", "methods": ["card"],
        "return_url": "https://shop.example/done"
    })))?;
    let id = session.body["id"].as_str().unwrap_or_default().to_owned();
    let secret = session.body["client_secret"].as_str().unwrap_or_default();
    let token = expect_ok(
        client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .json(&json!({ "client_secret": secret })),
    )?;
    let token = token.body["token"].as_str().unwrap_or_default();
    let paying = expect_ok(
        client
            .call("POST", format!("/v1/widget/sessions/{id}/pay"))
            .bearer(token)
            .header("Origin", ORIGIN)
            .header("Idempotency-Key", "bench-card-key-1")
            .json(&json!({"method": "card"})),
    )?;
    let url = paying.body["next_action"]["url"]
        .as_str()
        .unwrap_or_default();
    let checkout_session = url.rsplit('/').next().unwrap_or_default().to_owned();
    sim.pay(&checkout_session, &PayRequest::default())
        .map_err(|e| format!("the simulator's page refused the card: {e}"))?;
    let event = sim
        .events()
        .into_iter()
        .find(|e| e["type"] == "checkout.session.completed")
        .ok_or("the simulator made no checkout.session.completed event")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Signed in advance, so the load generator's own HMAC does not share the run's CPU.
    let prepared: Vec<(String, String)> = (0..WEBHOOKS)
        .map(|n| {
            let mut event = event.clone();
            event["id"] = json!(format!("evt_bench_{n}"));
            let body = event.to_string();
            let header = format!("t={now},v1={}", sign(sim.webhook_secret(), now, &body));
            (header, body)
        })
        .collect();
    let latencies = load(WEBHOOKS, |n| {
        let (header, body) = &prepared[n];
        client
            .call("POST", "/v1/notifications/stripe")
            .header("Content-Type", "application/json")
            .header("Stripe-Signature", header)
            .raw(body)
            .status
            == 200
    });
    report(
        "Stripe webhook (POST /v1/notifications/stripe: verify, find the session, re-read at Stripe)",
        &latencies,
    );
    Ok(())
}
