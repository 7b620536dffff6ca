//! The API's shapes: form decoding, the key check, validation errors, sessions and expiry.

use serde_json::json;

use super::{rig, session_form, StripeError};
use crate::stripe::DEFAULT_SECRET_KEY;

#[test]
fn a_bracket_encoded_session_is_created_as_sent() {
    let rig = rig();
    let form = "mode=payment\
        &line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=BDT\
        &line_items[0][price_data][unit_amount]=1250\
        &line_items[0][price_data][product_data][name]=Tea+%26+cake\
        &line_items[0][quantity]=2\
        &line_items[1][price_data][currency]=bdt&line_items[1][price_data][unit_amount]=100\
        &line_items[1][price_data][product_data][name]=Bag&line_items[1][quantity]=1\
        &client_reference_id=pay_123&metadata[order_id]=o%2F7&metadata[merchant]=m1\
        &payment_intent_data[capture_method]=manual&payment_intent_data[metadata][payment]=pay_123\
        &success_url=https%3A%2F%2Fedge.example%2Fv1%2Fcallbacks%2Fcard%2Fs1%3Fcs%3D%7BCHECKOUT_SESSION_ID%7D\
        &cancel_url=https%3A%2F%2Fedge.example%2Fcancel&expand[]=payment_intent";
    let answer = rig.call("POST", "/v1/checkout/sessions", form);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let s = &answer.body;
    assert!(s["id"].as_str().unwrap().starts_with("cs_test_"));
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["amount_total"], 2600);
    assert_eq!(s["currency"], "bdt");
    assert_eq!(s["client_reference_id"], "pay_123");
    assert_eq!(s["metadata"], json!({"order_id": "o/7", "merchant": "m1"}));
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(
        s["payment_intent"],
        json!(null),
        "created at the first attempt (2022-08-01)"
    );
    assert_eq!(
        s["success_url"],
        "https://edge.example/v1/callbacks/card/s1?cs={CHECKOUT_SESSION_ID}"
    );
    assert_eq!(
        s["url"].as_str().unwrap(),
        format!("{}/c/pay/{}", rig.sim.origin(), s["id"].as_str().unwrap())
    );
    let now = crate::stripe::now_s();
    let expires = s["expires_at"].as_i64().unwrap();
    assert!(
        (now + 86_390..=now + 86_400).contains(&expires),
        "24 h by default"
    );
    assert!(answer.header("Request-Id").unwrap().starts_with("req_"));
    assert_eq!(answer.header("Stripe-Version"), Some("2024-06-20"));
}

#[test]
fn the_secret_key_is_checked() {
    let rig = rig();
    let url = format!("{}/v1/checkout/sessions", rig.sim.base_url());
    let body = session_form(500, "");
    let none = super::send("POST", &url, &[], Some(&body));
    assert_eq!(
        (none.status, none.error_type()),
        (401, "invalid_request_error")
    );
    let wrong = super::send(
        "POST",
        &url,
        &[("Authorization", "Bearer sk_test_wrongwrongwrong1234")],
        Some(&body),
    );
    assert_eq!(wrong.status, 401);
    let message = wrong.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1234") && !message.contains("wrongwrongwrong"),
        "{message}"
    );
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{DEFAULT_SECRET_KEY}:"))
    );
    let ok = super::send("POST", &url, &[("Authorization", &basic)], Some(&body));
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[test]
fn invalid_parameters_get_stripe_errors() {
    let rig = rig();
    let cases = [
        ("mode=payment", "parameter_missing", "success_url"),
        (
            &session_form(500, "colour=red") as &str,
            "parameter_unknown",
            "colour",
        ),
        (
            &session_form(500, "line_items[0][price_data][product_data][nme]=x"),
            "parameter_unknown",
            "line_items[0][price_data][product_data][nme]",
        ),
        (
            &session_form(500, "").replace("[quantity]=1", "[quantity]=one"),
            "parameter_invalid_integer",
            "line_items[0][quantity]",
        ),
        (
            &session_form(500, "").replace("success_url=https", "success_url=ftp"),
            "url_invalid",
            "success_url",
        ),
    ];
    for (form, code, param) in cases {
        let answer = rig.call("POST", "/v1/checkout/sessions", form);
        assert_eq!(answer.status, 400, "{form}: {}", answer.text);
        assert_eq!(answer.error_type(), "invalid_request_error");
        assert_eq!(answer.error_code(), code, "{form}");
        assert_eq!(answer.body["error"]["param"], param, "{form}");
        assert!(answer.body["error"]["doc_url"]
            .as_str()
            .unwrap()
            .contains("stripe.com"));
    }
}

#[test]
fn expires_at_must_be_30_minutes_to_24_hours_ahead() {
    let rig = rig();
    let now = crate::stripe::now_s();
    for (at, ok) in [
        (now + 29 * 60, false),
        (now + 31 * 60, true),
        (now + 23 * 3600, true),
        (now + 25 * 3600, false),
    ] {
        let answer = rig.call(
            "POST",
            "/v1/checkout/sessions",
            &session_form(500, &format!("expires_at={at}")),
        );
        if ok {
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert_eq!(answer.body["expires_at"], at);
        } else {
            assert_eq!(answer.status, 400, "{}", answer.text);
            assert_eq!(answer.body["error"]["param"], "expires_at");
        }
    }
}

#[test]
fn unknown_objects_are_resource_missing() {
    let rig = rig();
    for (path, object) in [
        ("/v1/checkout/sessions/cs_test_nope", "checkout.session"),
        ("/v1/payment_intents/pi_nope", "payment_intent"),
        ("/v1/refunds/re_nope", "refund"),
    ] {
        let answer = rig.call("GET", path, "");
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.error_code(), "resource_missing");
        assert_eq!(answer.error_type(), "invalid_request_error");
        let id = path.rsplit('/').next().unwrap();
        assert_eq!(
            answer.body["error"]["message"],
            format!("No such {object}: '{id}'")
        );
    }
    let answer = rig.call("GET", "/v1/charges_everything", "");
    assert_eq!(answer.status, 404);
}

#[test]
fn an_open_session_can_be_expired_once() {
    let rig = rig();
    let receiver = super::merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    let id = rig.session(900, "");
    let answer = rig.call("POST", &format!("/v1/checkout/sessions/{id}/expire"), "");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "expired");
    assert_eq!(answer.body["url"], json!(null));
    let again = rig.call("POST", &format!("/v1/checkout/sessions/{id}/expire"), "");
    assert_eq!(again.status, 400);
    assert_eq!(rig.retrieve(&id)["status"], "expired");
    receiver.wait_for(1);
    assert_eq!(
        super::types(&receiver.events()),
        ["checkout.session.expired"]
    );
    let page = rig.post_card(&id, "4242424242424242");
    assert_eq!(page.status, 410, "an expired session cannot be paid");
}

#[test]
fn a_session_expires_by_itself_when_due() {
    let rig = rig();
    let receiver = super::merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    let id = rig.session(900, "");
    assert_eq!(
        rig.post_card(&id, crate::stripe::cards::GENERIC_DECLINE_CARD)
            .status,
        402
    );
    let control = format!("{}/__sim/sessions/{id}/expires_at", rig.sim.origin());
    let at = crate::stripe::now_s() - 1;
    let moved = super::send(
        "POST",
        &control,
        &[("Content-Type", "application/json")],
        Some(&json!({ "expires_at": at }).to_string()),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    super::eventually("the session to expire", || {
        rig.retrieve(&id)["status"] == "expired"
    });
    let s = rig.retrieve(&id);
    assert_eq!(s["payment_intent"]["status"], "canceled");
    assert_eq!(s["payment_intent"]["cancellation_reason"], "abandoned");
    receiver.wait_for(3);
    assert_eq!(
        super::types(&receiver.events()),
        [
            "payment_intent.payment_failed",
            "payment_intent.canceled",
            "checkout.session.expired"
        ]
    );
}
