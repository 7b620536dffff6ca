//! Durable Object state survives a restart of the Worker (same persist folder, same port):
//! sessions, payments, balances, credit references, idempotency keys and pay-password counts.

mod common;

use checkout_tests::api::Client;
use checkout_tests::fixtures::{session_body, Rig, ORIGIN, PAY_PASSWORD};
use common::{assert_refused, bdt, credit, widget_read};
use serde_json::json;

#[test]
fn paid_sessions_balances_references_and_keys_survive_a_restart() {
    let mut rig = Rig::start("restart-state");
    let key = rig.key();
    let seed = credit(&rig, &key, "cus_keep", "80.00", "BDT", "seed-1").expect_status(200);
    rig.fund("cus_keep", "20.00", "seed-2");
    let paid = rig.checkout("order-paid", "30.00", "cus_keep");
    let answer = rig
        .pay(&paid, "keep-key-0001", PAY_PASSWORD)
        .expect_status(200);
    let open = rig.checkout("order-open", "25.00", "cus_keep");
    let open_session = rig.create_session(&session_body("order-open", "25.00", "cus_keep"));
    let paid_before = rig.merchant_view(&paid.id);
    assert_eq!(bdt(&rig, "cus_keep"), "70.00");
    let old_base = rig.worker.base_url.clone();

    rig.worker = rig.worker.restart();
    rig.client = Client::new(&rig.worker.base_url);
    assert_eq!(rig.worker.base_url, old_base);

    // The paid session is exactly as it was, and its key replays without charging.
    assert_eq!(rig.merchant_view(&paid.id), paid_before);
    assert_eq!(
        (&paid_before["status"], &paid_before["amount_paid"]),
        (&json!("paid"), &json!("30.00"))
    );
    assert_eq!(bdt(&rig, "cus_keep"), "70.00");
    let replay = rig
        .pay(&paid, "keep-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(replay.body["payments"], answer.body["payments"]);
    assert_refused(
        &rig.pay(&paid, "keep-key-0002", PAY_PASSWORD),
        409,
        "session_not_open",
    );

    // Credit references are remembered: a replay credits nothing, a change still conflicts.
    let again = credit(&rig, &key, "cus_keep", "80.00", "BDT", "seed-1").expect_status(200);
    assert_eq!(again.body, seed.body);
    assert_refused(
        &credit(&rig, &key, "cus_keep", "81.00", "BDT", "seed-1"),
        409,
        "reference_conflict",
    );
    assert_eq!(bdt(&rig, "cus_keep"), "70.00");

    // The open session is the same order, same secret; the pre-restart token still works.
    let repeated = rig
        .create_session(&session_body("order-open", "25.00", "cus_keep"))
        .expect_status(200);
    assert_eq!(
        repeated.body["client_secret"],
        open_session.body["client_secret"]
    );
    let shown = widget_read(&rig, &open.id, &open.token, ORIGIN).expect_status(200);
    assert_eq!(
        (
            &shown.body["status"],
            &shown.body["balance"]["available_minor"]
        ),
        (&json!("open"), &json!(7_000))
    );
    rig.pay(&open, "keep-key-0003", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(bdt(&rig, "cus_keep"), "45.00");
}

#[test]
fn wrong_password_counts_and_lockouts_survive_a_restart() {
    let mut rig = Rig::start("restart-lockout");
    rig.fund("cus_count", "50.00", "seed-1");
    rig.fund("cus_locked", "50.00", "seed-1");
    let counting = rig.checkout("order-count", "5.00", "cus_count");
    let locked = rig.checkout("order-locked", "5.00", "cus_locked");
    for n in 1..=2 {
        rig.pay(&counting, &format!("count-key-000{n}"), "000000")
            .expect_status(402);
    }
    for n in 1..=5 {
        let status = if n < 5 { 402 } else { 423 };
        rig.pay(&locked, &format!("lock-key-000{n}"), "000000")
            .expect_status(status);
    }
    assert_refused(
        &rig.pay(&locked, "lock-key-0006", PAY_PASSWORD),
        423,
        "pay_password_locked",
    );

    rig.worker = rig.worker.restart();
    rig.client = Client::new(&rig.worker.base_url);

    let shown = widget_read(&rig, &counting.id, &counting.token, ORIGIN).expect_status(200);
    assert_eq!(shown.body["balance"]["attempts_left"], 3);
    let third = rig.pay(&counting, "count-key-0003", "000000");
    assert_refused(&third, 402, "incorrect_pay_password");
    assert_eq!(third.body["error"]["attempts_left"], 2);

    let still = rig.pay(&locked, "lock-key-0007", PAY_PASSWORD);
    assert_refused(&still, 423, "pay_password_locked");
    assert!(still.header("Retry-After").is_some());
    assert_eq!(bdt(&rig, "cus_locked"), "50.00");
    rig.pay(&counting, "count-key-0004", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(bdt(&rig, "cus_count"), "45.00");
}
