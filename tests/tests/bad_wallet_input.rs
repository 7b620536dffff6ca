//! Bad widget payments, credits and pay passwords against the Worker in workerd: each refusal is
//! a 4xx with its code, the field at fault and a human message, and no money moves.

mod common;

use checkout_tests::fixtures::{Rig, ORIGIN, PAY_PASSWORD};
use checkout_tests::worker::{rate_limits_off, WorkerOptions};
use common::{assert_refused, bdt};
use serde_json::{json, Value};

#[test]
fn bad_pay_requests_credits_and_passwords_are_refused_without_effect() {
    // Many refused attempts on one order would trip the per-session pay limit; this test is
    // about validation, rate_limits.rs about the limits.
    let options = WorkerOptions {
        vars: rate_limits_off(),
        ..WorkerOptions::default()
    };
    let rig = Rig::start_with("bad-pay", options);
    rig.fund("cus_v", "50.00", "seed-1");
    let checkout = rig.checkout("o-pay", "5.00", "cus_v");
    let pay = |key: Option<&str>, content_type: &str, body: &str| {
        let mut call = rig
            .client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .from_frame_of(ORIGIN)
            .header("Content-Type", content_type);
        if let Some(key) = key {
            call = call.header("Idempotency-Key", key);
        }
        call.raw(body)
    };
    let good = json!({"method": "balance", "pay_password": PAY_PASSWORD}).to_string();
    let long = "k".repeat(65);
    for key in [
        None,
        Some("short"),
        Some("seven77"),
        Some(long.as_str()),
        Some("has space!"),
        Some("key.with.dots"),
    ] {
        let reply = pay(key, "application/json", &good);
        assert_refused(&reply, 400, "invalid_header");
        assert_eq!(reply.body["error"]["param"], "Idempotency-Key");
    }
    let key = Some("valid-key-01");
    assert_refused(
        &pay(key, "text/plain", &good),
        415,
        "unsupported_media_type",
    );
    assert_refused(&pay(key, "application/json", "{"), 400, "malformed_json");
    let points = json!({"method": "points", "pay_password": PAY_PASSWORD}).to_string();
    assert_refused(
        &pay(key, "application/json", &points),
        400,
        "payment_method_not_allowed",
    );
    assert_refused(
        &pay(key, "application/json", r#"{"method":"paypal"}"#),
        400,
        "malformed_json",
    );
    let extra = json!({"method": "balance", "pay_password": PAY_PASSWORD, "amount": "0.01"});
    assert_refused(
        &pay(key, "application/json", &extra.to_string()),
        400,
        "malformed_json",
    );
    assert_refused(
        &pay(
            Some("valid-key-02"),
            "application/json",
            r#"{"method":"balance"}"#,
        ),
        400,
        "pay_password_required",
    );
    assert_eq!(bdt(&rig, "cus_v"), "50.00");
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "open");
    assert!(
        view["payments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "failed"),
        "{view}"
    );

    let credit = |customer: &str, body: Value| {
        rig.client
            .call("POST", format!("/v1/customers/{customer}/balance_credits"))
            .bearer(&rig.key())
            .json(&body)
    };
    let bad_credits = [
        (
            "amount",
            json!({"amount": "1.001", "currency": "BDT", "reference": "r1"}),
        ),
        (
            "amount",
            json!({"amount": "0.00", "currency": "BDT", "reference": "r1"}),
        ),
        (
            "amount",
            json!({"amount": "-1.00", "currency": "BDT", "reference": "r1"}),
        ),
        (
            "amount",
            json!({"amount": "1.5", "currency": "JPY", "reference": "r1"}),
        ),
        (
            "reference",
            json!({"amount": "5.00", "currency": "BDT", "reference": "has space"}),
        ),
        (
            "reference",
            json!({"amount": "5.00", "currency": "BDT", "reference": ""}),
        ),
        (
            "reference",
            json!({"amount": "5.00", "currency": "BDT", "reference": "r".repeat(65)}),
        ),
    ];
    for (param, body) in bad_credits {
        let reply = credit("cus_v", body);
        assert_refused(&reply, 400, "invalid_parameter");
        assert_eq!(reply.body["error"]["param"], param);
    }
    let typo = credit(
        "cus_v",
        json!({"amount": "5.00", "currency": "BDT", "reference": "r2", "memo": "x"}),
    );
    assert_refused(&typo, 400, "malformed_json");
    let bad_customer = credit(
        "cus%20v",
        json!({"amount": "5.00", "currency": "BDT", "reference": "r3"}),
    );
    assert_refused(&bad_customer, 400, "invalid_parameter");
    assert_eq!(bad_customer.body["error"]["param"], "customer_id");
    for password in ["12ab56", "12345", "1234567", "", " 12345"] {
        let reply = rig
            .client
            .call("PUT", "/v1/customers/cus_v/pay_password")
            .bearer(&rig.key())
            .json(&json!({ "pay_password": password }));
        assert_refused(&reply, 400, "invalid_parameter");
        assert_eq!(reply.body["error"]["param"], "pay_password");
    }
    assert_eq!(bdt(&rig, "cus_v"), "50.00");
    // The password was not replaced by any refused one, and a 64-character key is fine.
    rig.pay(&checkout, &"k".repeat(64), PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(bdt(&rig, "cus_v"), "45.00");
}
