//! Capture (full and partial), cancel, authorization expiry and refunds.

use serde_json::Value;

use super::{eventually, merchant, rig, types, StripeError};

#[test]
fn a_manual_session_authorizes_and_captures_part() {
    let rig = rig();
    let (session, pi) = rig.paid(5000, true);
    let s = rig.retrieve(&session);
    assert_eq!(
        (s["status"].as_str(), s["payment_status"].as_str()),
        (Some("complete"), Some("unpaid"))
    );
    assert_eq!(s["payment_intent"]["status"], "requires_capture");
    assert_eq!(s["payment_intent"]["amount_capturable"], 5000);
    assert_eq!(s["payment_intent"]["capture_method"], "manual");
    let too_much = rig.call(
        "POST",
        &format!("/v1/payment_intents/{pi}/capture"),
        "amount_to_capture=5001",
    );
    assert_eq!(
        (too_much.status, too_much.error_code()),
        (400, "amount_too_large")
    );
    let captured = rig.call(
        "POST",
        &format!("/v1/payment_intents/{pi}/capture"),
        "amount_to_capture=3000&expand[]=latest_charge",
    );
    assert_eq!(captured.status, 200, "{}", captured.text);
    let b = &captured.body;
    assert_eq!(
        (b["status"].as_str(), b["amount_received"].as_i64()),
        (Some("succeeded"), Some(3000))
    );
    assert_eq!(b["amount_capturable"], 0);
    assert_eq!(b["latest_charge"]["amount_captured"], 3000);
    assert_eq!(rig.retrieve(&session)["payment_status"], "paid");
    let again = rig.call("POST", &format!("/v1/payment_intents/{pi}/capture"), "");
    assert_eq!(
        (again.status, again.error_code()),
        (400, "payment_intent_unexpected_state")
    );
    assert_eq!(rig.sim.payment_intent(&pi).unwrap()["captures"], 1);
}

#[test]
fn an_authorization_is_voided_by_cancel_or_by_expiry() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    let (_, pi) = rig.paid(5000, true);
    let canceled = rig.call(
        "POST",
        &format!("/v1/payment_intents/{pi}/cancel"),
        "cancellation_reason=requested_by_customer",
    );
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    assert_eq!(canceled.body["status"], "canceled");
    assert_eq!(
        canceled.body["cancellation_reason"],
        "requested_by_customer"
    );
    let twice = rig.call("POST", &format!("/v1/payment_intents/{pi}/cancel"), "");
    assert_eq!(twice.error_code(), "payment_intent_unexpected_state");

    let (_, pi2) = rig.paid(800, true);
    rig.sim.expire_authorization(&pi2).unwrap();
    let got = rig.call("GET", &format!("/v1/payment_intents/{pi2}"), "");
    assert_eq!(
        (
            got.body["status"].as_str(),
            got.body["cancellation_reason"].as_str()
        ),
        (Some("canceled"), Some("automatic"))
    );
    eventually("events", || receiver.events().len() >= 6);
    let kinds = types(&receiver.events());
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "payment_intent.amount_capturable_updated")
            .count(),
        2
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "payment_intent.canceled")
            .count(),
        2
    );
}

#[test]
fn an_open_sessions_payment_intent_cannot_be_canceled() {
    let rig = rig();
    let id = rig.session(700, "");
    rig.post_card(&id, crate::stripe::cards::GENERIC_DECLINE_CARD);
    let pi = rig.retrieve(&id)["payment_intent"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = rig.call("POST", &format!("/v1/payment_intents/{pi}/cancel"), "");
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, "payment_intent_unexpected_state")
    );
}

#[test]
fn refunds_are_pending_then_succeeded_and_cannot_exceed_the_charge() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    let (_, pi) = rig.paid(1000, false);
    let first = rig.call(
        "POST",
        "/v1/refunds",
        &format!("payment_intent={pi}&amount=300&metadata[refund_id]=r1"),
    );
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["object"], "refund");
    assert_eq!(first.body["status"], "pending");
    assert_eq!(first.body["metadata"]["refund_id"], "r1");
    let too_much = rig.call(
        "POST",
        "/v1/refunds",
        &format!("payment_intent={pi}&amount=701"),
    );
    assert_eq!(
        (too_much.status, too_much.error_code()),
        (400, "amount_too_large")
    );
    let rest = rig.call("POST", "/v1/refunds", &format!("payment_intent={pi}"));
    assert_eq!(
        rest.body["amount"], 700,
        "the amount defaults to what is left"
    );
    let none_left = rig.call("POST", "/v1/refunds", &format!("payment_intent={pi}"));
    assert_eq!(none_left.error_code(), "charge_already_refunded");
    let id = first.body["id"].as_str().unwrap();
    eventually("the refund to succeed", || {
        rig.call("GET", &format!("/v1/refunds/{id}"), "").body["status"] == "succeeded"
    });
    let list = rig.call("GET", "/v1/refunds", &format!("payment_intent={pi}"));
    assert_eq!(list.body["object"], "list");
    let amounts: Vec<&Value> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["amount"])
        .collect();
    assert_eq!(amounts, [700, 300], "newest first");
    eventually("refund events", || {
        let kinds = types(&receiver.events());
        kinds.iter().filter(|k| *k == "refund.updated").count() == 2
            && kinds.iter().filter(|k| *k == "charge.refunded").count() == 2
    });
    // Two changes' events may cross on the wire: each charge.refunded carries the charge as it
    // was when its refund was made.
    let mut refunded: Vec<i64> = receiver
        .events()
        .iter()
        .filter(|e| e["type"] == "charge.refunded")
        .map(|e| e["data"]["object"]["amount_refunded"].as_i64().unwrap())
        .collect();
    refunded.sort_unstable();
    assert_eq!(refunded, [300, 1000]);
}

#[test]
fn an_unpaid_payment_cannot_be_refunded() {
    let rig = rig();
    let (_, pi) = rig.paid(1000, true);
    let answer = rig.call("POST", "/v1/refunds", &format!("payment_intent={pi}"));
    assert_eq!(
        answer.status, 400,
        "an uncaptured authorization is canceled, not refunded"
    );
    let missing = rig.call("POST", "/v1/refunds", "payment_intent=pi_nope");
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "resource_missing")
    );
}

#[test]
fn an_async_payment_settles_later_with_its_event() {
    let rig = rig();
    let receiver = merchant(&[200]);
    rig.sim.set_webhook_endpoint(Some(&receiver.url()));
    for succeeded in [true, false] {
        let id = rig.session(1200, "");
        let request = crate::stripe::control::PayRequest {
            pay_async: true,
            ..Default::default()
        };
        rig.sim.pay(&id, &request).unwrap();
        let s = rig.retrieve(&id);
        assert_eq!(
            (s["status"].as_str(), s["payment_status"].as_str()),
            (Some("complete"), Some("unpaid"))
        );
        assert_eq!(s["payment_intent"]["status"], "processing");
        rig.sim
            .settle_async(s["payment_intent"]["id"].as_str().unwrap(), succeeded)
            .unwrap();
        let s = rig.retrieve(&id);
        let expected = if succeeded { "paid" } else { "unpaid" };
        assert_eq!(s["payment_status"], expected);
    }
    eventually("async events", || {
        let kinds = types(&receiver.events());
        kinds.contains(&"checkout.session.async_payment_succeeded".to_owned())
            && kinds.contains(&"checkout.session.async_payment_failed".to_owned())
    });
}

#[test]
fn the_control_api_pays_and_reports_without_a_browser() {
    let rig = rig();
    let receiver = merchant(&[200]);
    let origin = rig.sim.origin();
    let json_type = [("Content-Type", "application/json")];
    let endpoint = serde_json::json!({ "url": receiver.url() }).to_string();
    super::send(
        "POST",
        &format!("{origin}/__sim/webhook_endpoint"),
        &json_type,
        Some(&endpoint),
    );
    let id = rig.session(1500, "payment_intent_data[capture_method]=manual");
    let pay = |body: &str| {
        super::send(
            "POST",
            &format!("{origin}/__sim/sessions/{id}/pay"),
            &json_type,
            Some(body),
        )
    };
    let declined = pay(r#"{"card": "4000 0000 0000 9995"}"#);
    assert_eq!(declined.body["outcome"], "declined");
    assert_eq!(declined.body["error"]["decline_code"], "insufficient_funds");
    let challenged = pay(r#"{"card": "4000002760003184"}"#);
    assert_eq!(challenged.body["outcome"], "challenge");
    let passed = pay(r#"{"card": "4000002760003184", "three_d_secure": "pass"}"#);
    assert_eq!(passed.body["outcome"], "completed");
    assert_eq!(
        passed.body["redirect"],
        format!("https://shop.example/done?s={id}")
    );
    let again = pay("{}");
    assert_eq!(again.status, 409, "a complete session cannot be paid again");
    let session = super::send("GET", &format!("{origin}/__sim/sessions/{id}"), &[], None);
    let pi = session.body["payment_intent"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(session.body["payment_intent"]["status"], "requires_capture");
    let expired = super::send(
        "POST",
        &format!("{origin}/__sim/payment_intents/{pi}/expire_authorization"),
        &[],
        None,
    );
    assert_eq!(expired.body["cancellation_reason"], "automatic");
    let snapshot = super::send(
        "GET",
        &format!("{origin}/__sim/payment_intents/{pi}"),
        &[],
        None,
    );
    let attempts: Vec<&str> = snapshot.body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[1].as_str().unwrap())
        .collect();
    assert_eq!(
        attempts,
        [
            "card_declined",
            "requires_action",
            "requires_action",
            "3ds_passed"
        ]
    );
    eventually("four events delivered", || {
        super::send("GET", &format!("{origin}/__sim/deliveries"), &[], None)
            .body
            .as_array()
            .is_some_and(|d| d.len() == 4)
    });
    let events = super::send("GET", &format!("{origin}/__sim/events"), &[], None);
    assert_eq!(
        types(events.body.as_array().unwrap()),
        [
            "payment_intent.payment_failed",
            "payment_intent.amount_capturable_updated",
            "checkout.session.completed",
            "payment_intent.canceled"
        ]
    );
    let first = events.body[0]["id"].as_str().unwrap();
    let resent = super::send(
        "POST",
        &format!("{origin}/__sim/events/{first}/resend"),
        &[],
        None,
    );
    assert_eq!(resent.status, 200);
    receiver.wait_for(5);
    assert_eq!(receiver.events()[4]["id"], first, "the same event, again");
}
