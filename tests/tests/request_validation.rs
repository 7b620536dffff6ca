//! Bad input over HTTP: each refusal is a 4xx with a stable code and a human message, and
//! nothing is created.

use checkout_tests::fixtures::{session_body, Rig, ORIGIN, PAY_PASSWORD};
use serde_json::{json, Value};

fn assert_refused(reply: &checkout_tests::api::Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.code(), code, "{}", reply.body);
    let message = reply.body["error"]["message"].as_str().unwrap_or("");
    assert!(message.len() > 10, "no human message: {}", reply.body);
}

#[test]
fn malformed_or_mistyped_session_requests_are_400s_with_codes() {
    let rig = Rig::start("validation-sessions");
    let post = |raw: &str| {
        rig.client
            .call("POST", "/v1/checkout_sessions")
            .bearer(&rig.key())
            .header("Content-Type", "application/json")
            .raw(raw)
    };
    assert_refused(&post("{not json"), 400, "malformed_json");
    assert_refused(&post(""), 400, "malformed_json");
    let mut wrong_type = session_body("o-type", "1.00", "c");
    wrong_type["amount"] = json!(1.5);
    assert_refused(&post(&wrong_type.to_string()), 400, "malformed_json");
    let mut unknown_field = session_body("o-unknown", "1.00", "c");
    unknown_field["ammount"] = json!("2.00");
    let reply = post(&unknown_field.to_string());
    assert_refused(&reply, 400, "malformed_json");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ammount"));

    for (amount, why) in [
        ("1.234", "3 decimals"),
        ("-5.00", "negative"),
        ("NaN", "NaN"),
        ("", "empty"),
        ("99999999999999999999", "huge"),
        ("0.00", "zero"),
    ] {
        let reply = post(&session_body("o-amount", amount, "c").to_string());
        assert_refused(&reply, 400, "invalid_parameter");
        assert_eq!(reply.body["error"]["param"], "amount", "{why}");
    }
    let mut bad_currency = session_body("o-cur", "1.00", "c");
    bad_currency["currency"] = json!("XYZ");
    assert_refused(&post(&bad_currency.to_string()), 400, "malformed_json");
    let mut unavailable = session_body("o-card", "1.00", "c");
    unavailable["methods"] = json!(["card"]);
    assert_refused(
        &post(&unavailable.to_string()),
        400,
        "payment_method_unavailable",
    );

    let sessions_created = post(&session_body("o-after", "1.00", "c").to_string());
    assert_eq!(sessions_created.status, 200);
}

#[test]
fn wrong_content_types_and_oversized_bodies_are_refused() {
    let rig = Rig::start("validation-bodies");
    let body = session_body("o-ct", "1.00", "c").to_string();
    let text = rig
        .client
        .call("POST", "/v1/checkout_sessions")
        .bearer(&rig.key())
        .header("Content-Type", "text/plain")
        .raw(&body);
    assert_refused(&text, 415, "unsupported_media_type");
    let mut huge: Value = session_body("o-huge", "1.00", "c");
    huge["description"] = json!("x".repeat(20_000));
    let too_big = rig.create_session(&huge);
    assert_refused(&too_big, 413, "body_too_large");
}

#[test]
fn bad_pay_requests_and_credits_are_refused_without_effect() {
    let rig = Rig::start("validation-pay");
    rig.fund("cus_v", "50.00", "seed-1");
    let checkout = rig.checkout("o-pay", "5.00", "cus_v");
    let pay = |key: Option<&str>, body: &str| {
        let mut call = rig
            .client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .header("Content-Type", "application/json");
        if let Some(key) = key {
            call = call.header("Idempotency-Key", key);
        }
        call.raw(body)
    };
    let good = json!({"method": "balance", "pay_password": PAY_PASSWORD}).to_string();
    assert_refused(&pay(None, &good), 400, "invalid_header");
    assert_refused(&pay(Some("short"), &good), 400, "invalid_header");
    assert_refused(
        &pay(Some("key-valid-01"), r#"{"method":"paypal"}"#),
        400,
        "malformed_json",
    );
    assert_refused(
        &pay(Some("key-valid-02"), r#"{"method":"balance"}"#),
        400,
        "pay_password_required",
    );
    assert_eq!(rig.available("cus_v"), "50.00");

    let credit = |body: Value| {
        rig.client
            .call("POST", "/v1/customers/cus_v/balance_credits")
            .bearer(&rig.key())
            .json(&body)
    };
    assert_refused(
        &credit(json!({"amount": "1.001", "currency": "BDT", "reference": "r1"})),
        400,
        "invalid_parameter",
    );
    assert_refused(
        &credit(json!({"amount": "5.00", "currency": "BDT", "reference": "has space"})),
        400,
        "invalid_parameter",
    );
    let password = rig
        .client
        .call("PUT", "/v1/customers/cus_v/pay_password")
        .bearer(&rig.key())
        .json(&json!({"pay_password": "12ab56"}));
    assert_refused(&password, 400, "invalid_parameter");
    assert_eq!(rig.available("cus_v"), "50.00");
}

#[test]
fn credits_are_idempotent_by_reference() {
    let rig = Rig::start("validation-credits");
    let credit = |amount: &str, reference: &str| {
        rig.client
            .call("POST", "/v1/customers/cus_c/balance_credits")
            .bearer(&rig.key())
            .json(&json!({"amount": amount, "currency": "BDT", "reference": reference}))
    };
    let first = credit("25.00", "topup-1").expect_status(200);
    let repeat = credit("25.00", "topup-1").expect_status(200);
    assert_eq!(first.body, repeat.body);
    assert_eq!(rig.available("cus_c"), "25.00");
    assert_refused(&credit("30.00", "topup-1"), 409, "reference_conflict");
    credit("0.50", "topup-2").expect_status(200);
    assert_eq!(rig.available("cus_c"), "25.50");
}
