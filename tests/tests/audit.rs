//! The audit trail over real HTTP: every command and every change of a session, in order, with the
//! request ids the Worker answered with, append-only, readable only by its merchant.

use checkout_tests::api::Reply;
use checkout_tests::fixtures::{Rig, ORIGIN, PAY_PASSWORD};
use serde_json::{json, Value};

fn request_id(reply: &Reply) -> String {
    reply
        .header("Request-Id")
        .expect("every answer has a Request-Id")
        .to_owned()
}

fn trail(rig: &Rig, session_id: &str, key: &str) -> Reply {
    rig.client
        .call("GET", format!("/v1/checkout_sessions/{session_id}/audit"))
        .bearer(key)
        .send()
}

/// The entries about `what`, and the request ids behind each.
fn entries<'a>(all: &'a [Value], what: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["what"] == what).collect()
}

fn ids(entry: &Value) -> Vec<String> {
    entry["request_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_command_and_change_is_on_the_trail_with_its_request_id() {
    let rig = Rig::start("audit");
    rig.fund("cus_audit", "100.00", "audit-fund");
    let created = rig
        .create_session(&checkout_tests::fixtures::session_body(
            "audit-1",
            "30.00",
            "cus_audit",
        ))
        .expect_status(200);
    let checkout = rig.checkout_of(&created);
    let session_id = checkout.id.clone();
    let wrong = rig.pay(&checkout, "audit-key-1", "000000");
    assert_eq!(wrong.code(), "incorrect_pay_password");
    let right = rig
        .pay(&checkout, "audit-key-2", PAY_PASSWORD)
        .expect_status(200);
    let refund = rig
        .client
        .call(
            "POST",
            format!("/v1/checkout_sessions/{session_id}/refunds"),
        )
        .bearer(&rig.key())
        .header("Idempotency-Key", "audit-refund-1")
        .json(&json!({"amount": "10.00", "reason": "late delivery"}))
        .expect_status(200);

    let first = trail(&rig, &session_id, &rig.key()).expect_status(200);
    let all = first.body["data"].as_array().unwrap().clone();
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");

    // Changes, each with the request that made it.
    let created_entry = entries(&all, "session_created");
    assert_eq!(created_entry.len(), 1);
    assert_eq!(ids(created_entry[0]), [request_id(&created)]);
    let started = entries(&all, "payment_started");
    assert_eq!(started.len(), 2);
    assert_eq!(ids(started[0]), [request_id(&wrong)]);
    assert_eq!(ids(started[1]), [request_id(&right)]);
    let failed = entries(&all, "payment_failed");
    assert_eq!(failed[0]["failure_code"], "incorrect_pay_password");
    assert_eq!(ids(failed[0]), [request_id(&wrong)]);
    assert_eq!(entries(&all, "payment_succeeded").len(), 1);
    assert!(entries(&all, "session_status")
        .iter()
        .any(|e| e["status"] == "paid" && ids(e) == [request_id(&right)]));
    let refund_started = entries(&all, "refund_started");
    assert_eq!(refund_started[0]["amount"], "10.00");
    assert_eq!(ids(refund_started[0]), [request_id(&refund)]);
    assert!(entries(&all, "refund_status")
        .iter()
        .any(|e| e["status"] == "succeeded"));

    // Commands with their outcomes.
    let commands: Vec<(String, String)> = entries(&all, "command")
        .iter()
        .map(|e| {
            (
                e["op"].as_str().unwrap().into(),
                e["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        commands.contains(&("pay".into(), "incorrect_pay_password".into())),
        "{commands:?}"
    );
    assert!(commands.contains(&("pay".into(), "ok".into())));
    assert!(commands.contains(&("refund".into(), "ok".into())));

    // Append-only: a later read starts with everything the first one showed.
    rig.pay(&checkout, "audit-key-3", PAY_PASSWORD);
    let later = trail(&rig, &session_id, &rig.key()).expect_status(200);
    let later = later.body["data"].as_array().unwrap();
    assert!(later.len() > all.len());
    assert_eq!(&later[..all.len()], &all[..]);

    // Another merchant cannot read it.
    let other = rig.vars.merchant("m_other").test_key().to_owned();
    assert_eq!(trail(&rig, &session_id, &other).status, 404);
}

/// The widget's status poll reads: a poll that changes nothing appends no entry and bumps no
/// `repeats` (each would be a billed storage write per poll). A poll that does change the session
/// (a WeChat query settling the payment) is on the trail: see wechat_flow.rs.
#[test]
fn a_status_poll_that_changes_nothing_writes_nothing() {
    let rig = Rig::start("audit-poll");
    rig.fund("cus_audit_poll", "100.00", "audit-poll-fund");
    let checkout = rig.checkout("audit-poll-1", "12.00", "cus_audit_poll");
    let poll = || {
        rig.client
            .call("GET", format!("/v1/widget/sessions/{}", checkout.id))
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .send()
            .expect_status(200)
    };
    poll();
    let before = trail(&rig, &checkout.id, &rig.key())
        .expect_status(200)
        .body["data"]
        .clone();
    for _ in 0..5 {
        poll();
    }
    let after = trail(&rig, &checkout.id, &rig.key())
        .expect_status(200)
        .body["data"]
        .clone();
    assert_eq!(after, before, "polls changed the trail");
    let all = after.as_array().unwrap();
    assert!(
        !all.iter().any(|e| e["op"] == "widget_view"),
        "a read is not a command on the trail: {all:#?}"
    );

    // Paying afterwards is still on the trail as before.
    rig.pay(&checkout, "audit-poll-key", PAY_PASSWORD)
        .expect_status(200);
    poll();
    let paid = trail(&rig, &checkout.id, &rig.key())
        .expect_status(200)
        .body["data"]
        .clone();
    let paid = paid.as_array().unwrap();
    assert_eq!(entries(paid, "payment_succeeded").len(), 1);
    assert!(!paid.iter().any(|e| e["op"] == "widget_view"));
}
