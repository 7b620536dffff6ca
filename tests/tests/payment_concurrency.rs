//! Idempotency keys and concurrency against the Worker in workerd: a key charges once however it
//! is repeated, parallel payments never overdraw a wallet, and parallel wrong passwords all count.

mod common;

use std::collections::BTreeMap;

use checkout_tests::fixtures::{Rig, PAY_PASSWORD};
use common::{all_at_once, assert_refused, bdt, outcome};
use serde_json::json;

fn tally(outcomes: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.as_str()).or_default() += 1;
    }
    counts
}

#[test]
fn the_same_idempotency_key_sent_twice_charges_once() {
    let rig = Rig::start("idem-twice");
    rig.fund("cus_idem", "100.00", "seed-1");
    let checkout = rig.checkout("order-idem", "40.00", "cus_idem");
    let first = rig
        .pay(&checkout, "same-key-0001", PAY_PASSWORD)
        .expect_status(200);
    let second = rig
        .pay(&checkout, "same-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(second.body["status"], "paid");
    assert_eq!(first.body["payments"], second.body["payments"]);
    assert_eq!(second.body["balance"]["available_minor"], 6_000);
    assert_eq!(bdt(&rig, "cus_idem"), "60.00");
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["payments"].as_array().unwrap().len(), 1);
    assert_eq!(view["amount_paid"], "40.00");

    // The key names that attempt: reusing it for another method is a conflict, not a replay.
    let other_method = rig
        .client
        .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
        .bearer(&checkout.token)
        .header("Origin", checkout_tests::fixtures::ORIGIN)
        .header("Idempotency-Key", "same-key-0001")
        .json(&json!({"method": "bkash"}));
    assert_refused(&other_method, 409, "idempotency_key_reused");
    assert_eq!(bdt(&rig, "cus_idem"), "60.00");
}

#[test]
fn the_same_key_sent_concurrently_charges_once() {
    let rig = Rig::start("idem-race");
    rig.fund("cus_race", "100.00", "seed-1");
    for round in 0..4 {
        let checkout = rig.checkout(&format!("order-race-{round}"), "10.00", "cus_race");
        let key = format!("race-key-{round:04}");
        let outcomes = all_at_once(2, |_| outcome(&rig.pay(&checkout, &key, PAY_PASSWORD)));
        assert!(
            outcomes.contains(&"paid".to_owned()),
            "round {round}: {outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .all(|o| o == "paid" || o == "payment_in_progress"),
            "round {round}: {outcomes:?}"
        );
        // Once the first answer is in, the key replays the payment.
        let replay = rig.pay(&checkout, &key, PAY_PASSWORD).expect_status(200);
        assert_eq!(replay.body["status"], "paid");
        let view = rig.merchant_view(&checkout.id);
        assert_eq!(
            view["payments"].as_array().unwrap().len(),
            1,
            "round {round}: {view}"
        );
        let expected = format!("{}.00", 90 - 10 * round);
        assert_eq!(bdt(&rig, "cus_race"), expected, "round {round}");
    }

    // Different keys racing on one session: one payment, the rest told why not.
    let checkout = rig.checkout("order-race-keys", "10.00", "cus_race");
    let outcomes = all_at_once(4, |n| {
        outcome(&rig.pay(&checkout, &format!("racing-key-{n:04}"), PAY_PASSWORD))
    });
    let counts = tally(&outcomes);
    assert_eq!(counts.get("paid"), Some(&1), "{counts:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| ["paid", "payment_in_progress", "session_not_open"].contains(&o.as_str())),
        "{counts:?}"
    );
    assert_eq!(bdt(&rig, "cus_race"), "50.00");
    let view = rig.merchant_view(&checkout.id);
    let succeeded = view["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "succeeded")
        .count();
    assert_eq!((succeeded, &view["amount_paid"]), (1, &json!("10.00")));
}

#[test]
fn twenty_concurrent_payments_never_overdraw_one_wallet() {
    let rig = Rig::start("idem-twenty");
    rig.fund("cus_busy", "100.00", "seed-1");
    let checkouts: Vec<_> = (0..20)
        .map(|n| rig.checkout(&format!("order-busy-{n}"), "10.00", "cus_busy"))
        .collect();
    let outcomes = all_at_once(20, |n| {
        outcome(&rig.pay(&checkouts[n], &format!("busy-key-{n:04}"), PAY_PASSWORD))
    });
    let counts = tally(&outcomes);
    assert_eq!(counts.get("paid"), Some(&10), "{counts:?}");
    assert_eq!(counts.get("insufficient_balance"), Some(&10), "{counts:?}");
    let lines = common::wallet(&rig, &rig.key(), "cus_busy")["balances"].clone();
    assert_eq!(
        lines,
        json!([{"currency": "BDT", "available": "0.00", "held": "0.00"}])
    );

    // Each session agrees with the answer its payer got.
    for (checkout, outcome) in checkouts.iter().zip(&outcomes) {
        let view = rig.merchant_view(&checkout.id);
        let (status, paid) = if outcome == "paid" {
            ("paid", "10.00")
        } else {
            ("open", "0.00")
        };
        assert_eq!(
            (&view["status"], &view["amount_paid"]),
            (&json!(status), &json!(paid)),
            "{view}"
        );
    }
}

#[test]
fn concurrent_wrong_passwords_are_each_counted_and_lock_at_the_fifth() {
    let rig = Rig::start("idem-lockout");
    rig.fund("cus_guess", "100.00", "seed-1");
    let checkouts: Vec<_> = (0..8)
        .map(|n| rig.checkout(&format!("order-guess-{n}"), "1.00", "cus_guess"))
        .collect();
    let replies = all_at_once(8, |n| {
        rig.pay(&checkouts[n], &format!("guess-key-{n:04}"), "999999")
    });
    let mut left: Vec<u64> = replies
        .iter()
        .filter(|r| r.code() == "incorrect_pay_password")
        .map(|r| r.body["error"]["attempts_left"].as_u64().unwrap())
        .collect();
    left.sort_unstable();
    assert_eq!(
        left,
        [1, 2, 3, 4],
        "{:?}",
        replies.iter().map(outcome).collect::<Vec<_>>()
    );
    let locked = replies
        .iter()
        .filter(|r| r.code() == "pay_password_locked")
        .count();
    assert_eq!(locked, 4);
    assert_refused(
        &rig.pay(&checkouts[0], "guess-key-0100", PAY_PASSWORD),
        423,
        "pay_password_locked",
    );
    assert_eq!(bdt(&rig, "cus_guess"), "100.00");
}
