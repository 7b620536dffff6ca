//! Store-balance payments over HTTP: success, refusals, the lockout, idempotency, concurrency.

use std::collections::HashMap;

use checkout_tests::fixtures::{Rig, PAY_PASSWORD};

#[test]
fn a_balance_payment_debits_exactly_the_amount_and_marks_the_session_paid() {
    let rig = Rig::start("pay-success");
    rig.fund("cus_pay", "100.00", "seed-1");
    let checkout = rig.checkout("order-pay", "30.55", "cus_pay");
    let paid = rig
        .pay(&checkout, "pay-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(paid.body["balance"]["available"], "69.45");
    assert_eq!(rig.available("cus_pay"), "69.45");

    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "30.55");
    let payments = view["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["status"], "succeeded");

    let again = rig.pay(&checkout, "pay-key-0002", PAY_PASSWORD);
    assert_eq!((again.status, again.code()), (409, "session_not_open"));
    assert_eq!(rig.available("cus_pay"), "69.45");
}

#[test]
fn too_little_balance_is_refused_and_nothing_is_debited() {
    let rig = Rig::start("pay-insufficient");
    rig.fund("cus_poor", "10.00", "seed-1");
    let checkout = rig.checkout("order-poor", "10.01", "cus_poor");
    let refused = rig.pay(&checkout, "poor-key-0001", PAY_PASSWORD);
    assert_eq!(
        (refused.status, refused.code()),
        (402, "insufficient_balance")
    );
    assert_eq!(rig.available("cus_poor"), "10.00");
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "open");
}

#[test]
fn wrong_passwords_count_down_then_lock_balance_payments() {
    let rig = Rig::start("pay-lockout");
    rig.fund("cus_lock", "100.00", "seed-1");
    let checkout = rig.checkout("order-lock", "5.00", "cus_lock");
    for (attempt, left) in (1..=4).zip([4, 3, 2, 1]) {
        let wrong = rig.pay(&checkout, &format!("lock-key-000{attempt}"), "000000");
        assert_eq!(
            (wrong.status, wrong.code()),
            (402, "incorrect_pay_password")
        );
        assert_eq!(wrong.body["error"]["attempts_left"], left);
    }
    let fifth = rig.pay(&checkout, "lock-key-0005", "000000");
    assert_eq!((fifth.status, fifth.code()), (423, "pay_password_locked"));
    let right = rig.pay(&checkout, "lock-key-0006", PAY_PASSWORD);
    assert_eq!((right.status, right.code()), (423, "pay_password_locked"));
    let retry_after: u64 = right.header("Retry-After").unwrap().parse().unwrap();
    assert!((850..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(rig.available("cus_lock"), "100.00");

    // The merchant resetting the password lifts the lock.
    rig.fund("cus_lock", "0.01", "seed-2");
    rig.pay(&checkout, "lock-key-0007", PAY_PASSWORD)
        .expect_status(200);
}

#[test]
fn the_same_idempotency_key_charges_once_even_when_sent_concurrently() {
    let rig = Rig::start("pay-idempotent");
    rig.fund("cus_idem", "100.00", "seed-1");
    let checkout = rig.checkout("order-idem", "40.00", "cus_idem");
    let first = rig
        .pay(&checkout, "same-key-0001", PAY_PASSWORD)
        .expect_status(200);
    let second = rig
        .pay(&checkout, "same-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(first.body["payments"], second.body["payments"]);
    assert_eq!(rig.available("cus_idem"), "60.00");

    let other = rig.checkout("order-idem-2", "40.00", "cus_idem");
    let replies: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| rig.pay(&other, "race-key-0001", PAY_PASSWORD).status))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(replies.contains(&200), "{replies:?}");
    assert!(
        replies.iter().all(|s| *s == 200 || *s == 409),
        "{replies:?}"
    );
    assert_eq!(rig.available("cus_idem"), "20.00");
    let payments = &rig.merchant_view(&other.id)["payments"];
    assert_eq!(payments.as_array().unwrap().len(), 1);
}

#[test]
fn twenty_concurrent_payments_never_overdraw_one_wallet() {
    let rig = Rig::start("pay-concurrent");
    rig.fund("cus_busy", "100.00", "seed-1");
    let checkouts: Vec<_> = (0..20)
        .map(|n| rig.checkout(&format!("order-busy-{n}"), "10.00", "cus_busy"))
        .collect();
    let outcomes: Vec<String> = std::thread::scope(|scope| {
        let racers: Vec<_> = checkouts
            .iter()
            .enumerate()
            .map(|(n, checkout)| {
                let rig = &rig;
                scope.spawn(move || {
                    let reply = rig.pay(checkout, &format!("busy-key-{n:04}"), PAY_PASSWORD);
                    if reply.status == 200 {
                        "paid".to_owned()
                    } else {
                        reply.code().to_owned()
                    }
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for outcome in &outcomes {
        *counts.entry(outcome.as_str()).or_default() += 1;
    }
    assert_eq!(counts.get("paid"), Some(&10), "{counts:?}");
    assert_eq!(counts.get("insufficient_balance"), Some(&10), "{counts:?}");
    assert_eq!(rig.available("cus_busy"), "0.00");
}
