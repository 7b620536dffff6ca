//! Store-balance payments against the Worker in workerd: the exact debit, the merchant's view,
//! refusals that move nothing, the pay-password countdown and lockout, and per-currency balances.

mod common;

use checkout_tests::fixtures::{session_body, Rig, ORIGIN, PAY_PASSWORD};
use common::{assert_refused, available_in, bdt, credit, now_s, wallet, widget_read};
use serde_json::json;

const WRONG: &str = "000000";

#[test]
fn a_balance_payment_debits_exactly_the_amount_and_the_merchant_sees_it_paid() {
    let rig = Rig::start("balance-success");
    rig.fund("cus_pay", "100.00", "seed-1");
    let checkout = rig.checkout("order-pay", "30.55", "cus_pay");
    let before = widget_read(&rig, &checkout.id, &checkout.token, ORIGIN).expect_status(200);
    let balance = &before.body["balance"];
    assert_eq!(
        (&balance["available_minor"], &balance["currency"]),
        (&json!(10_000), &json!("BDT"))
    );
    assert_eq!(
        (&balance["pay_password_set"], &balance["attempts_left"]),
        (&json!(true), &json!(5))
    );

    let paid = rig
        .pay(&checkout, "pay-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(paid.body["balance"]["available_minor"], 6_945);
    let payments = paid.body["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(
        (&payments[0]["status"], &payments[0]["amount"]),
        (&json!("succeeded"), &json!("30.55"))
    );
    assert_eq!(payments[0]["method"], "balance");

    let lines = wallet(&rig, &rig.key(), "cus_pay")["balances"].clone();
    assert_eq!(
        lines,
        json!([{"currency": "BDT", "available": "69.45", "held": "0.00"}])
    );
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(
        (&view["status"], &view["amount_paid"]),
        (&json!("paid"), &json!("30.55"))
    );
    assert_eq!(view["payments"], paid.body["payments"]);
    let shopper = widget_read(&rig, &checkout.id, &checkout.token, ORIGIN).expect_status(200);
    assert_eq!(shopper.body["status"], "paid");

    let fresh_token = rig.token(&checkout.client_secret);
    let again = common::pay_as(&rig, &checkout.id, &fresh_token, ORIGIN, "pay-key-0002");
    assert_refused(&again, 409, "session_not_open");
    assert_eq!(bdt(&rig, "cus_pay"), "69.45");
    assert_eq!(
        rig.merchant_view(&checkout.id)["payments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The rest of the balance, to the last poisha.
    let rest = rig.checkout("order-rest", "69.45", "cus_pay");
    rig.pay(&rest, "pay-key-0003", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(bdt(&rig, "cus_pay"), "0.00");
}

/// The widget's status poll (`?wallet=omit`) reads the session alone: the same view without the
/// wallet's summary, which the first view and every later plain read still carry, fresh.
#[test]
fn the_status_poll_leaves_the_wallet_out_only_when_asked() {
    let rig = Rig::start("balance-status-poll");
    rig.fund("cus_poll", "100.00", "seed-1");
    let checkout = rig.checkout("order-poll", "30.55", "cus_poll");
    let read = |query: &str| {
        rig.client
            .call("GET", format!("/v1/widget/sessions/{}{query}", checkout.id))
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .send()
    };
    let full = read("").expect_status(200);
    let status = read("?wallet=omit").expect_status(200);
    assert_eq!(full.body["balance"]["available_minor"], 10_000);
    assert!(status.body.get("balance").is_none(), "{}", status.body);
    assert!(status.body.get("points").is_none(), "{}", status.body);
    let mut without = full.body.clone();
    without.as_object_mut().unwrap().remove("balance");
    assert_eq!(status.body, without, "the same view, less the wallet");
    assert_eq!(
        status
            .header("Content-Type")
            .map(|t| t.starts_with("application/json")),
        Some(true)
    );
    assert_refused(&read("?wallet=yes"), 400, "invalid_parameter");

    rig.pay(&checkout, "pay-key-0001", PAY_PASSWORD)
        .expect_status(200);
    let paid = read("?wallet=omit").expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert!(paid.body.get("balance").is_none());
    let after = read("").expect_status(200);
    assert_eq!(after.body["balance"]["available_minor"], 6_945);
}

#[test]
fn refused_payments_move_nothing_and_leave_the_session_open() {
    let rig = Rig::start("balance-refused");
    rig.fund("cus_poor", "10.00", "seed-1");
    let checkout = rig.checkout("order-poor", "10.01", "cus_poor");
    assert_refused(
        &rig.pay(&checkout, "poor-key-0001", PAY_PASSWORD),
        402,
        "insufficient_balance",
    );
    assert_eq!(bdt(&rig, "cus_poor"), "10.00");
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(
        (&view["status"], &view["amount_paid"]),
        (&json!("open"), &json!("0.00"))
    );
    let payments = view["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(
        (&payments[0]["status"], &payments[0]["failure_code"]),
        (&json!("failed"), &json!("insufficient_balance"))
    );

    rig.fund("cus_poor", "0.01", "seed-2");
    // The refused key replays its refusal; a new key is a new attempt, and pays.
    assert_refused(
        &rig.pay(&checkout, "poor-key-0001", PAY_PASSWORD),
        402,
        "insufficient_balance",
    );
    assert_eq!(bdt(&rig, "cus_poor"), "10.01");
    rig.pay(&checkout, "poor-key-0002", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(bdt(&rig, "cus_poor"), "0.00");
    assert_eq!(rig.merchant_view(&checkout.id)["amount_paid"], "10.01");

    // Money but no pay password: refused, nothing taken.
    credit(&rig, &rig.key(), "cus_nopw", "20.00", "BDT", "seed-1").expect_status(200);
    let no_password = rig.checkout("order-nopw", "5.00", "cus_nopw");
    assert_refused(
        &rig.pay(&no_password, "nopw-key-0001", PAY_PASSWORD),
        409,
        "pay_password_not_set",
    );
    assert_eq!(bdt(&rig, "cus_nopw"), "20.00");
    assert_eq!(rig.merchant_view(&no_password.id)["status"], "open");
}

#[test]
fn wrong_passwords_count_down_and_the_fifth_locks_out_even_the_right_one() {
    let rig = Rig::start("balance-lockout");
    rig.fund("cus_lock", "100.00", "seed-1");
    let first = rig.checkout("order-lock-1", "5.00", "cus_lock");
    let attempts = |checkout: &checkout_tests::fixtures::Checkout| {
        let view = widget_read(&rig, &checkout.id, &checkout.token, ORIGIN).expect_status(200);
        view.body["balance"]["attempts_left"].as_u64().unwrap()
    };
    // Two wrong, then the right one: the count starts over.
    for (n, left) in [(1, 4), (2, 3)] {
        let wrong = rig.pay(&first, &format!("lock-key-000{n}"), WRONG);
        assert_refused(&wrong, 402, "incorrect_pay_password");
        assert_eq!(wrong.body["error"]["attempts_left"], left);
        assert_eq!(attempts(&first), left);
    }
    rig.pay(&first, "lock-key-0003", PAY_PASSWORD)
        .expect_status(200);

    let second = rig.checkout("order-lock-2", "5.00", "cus_lock");
    assert_eq!(attempts(&second), 5);
    for (n, left) in (1..=4).zip([4, 3, 2, 1]) {
        let wrong = rig.pay(&second, &format!("lock-key-010{n}"), WRONG);
        assert_refused(&wrong, 402, "incorrect_pay_password");
        assert_eq!(wrong.body["error"]["attempts_left"], left, "attempt {n}");
        assert_eq!(wrong.header("Retry-After"), None);
    }
    let fifth = rig.pay(&second, "lock-key-0105", WRONG);
    assert_refused(&fifth, 423, "pay_password_locked");
    assert_eq!(fifth.body["error"]["attempts_left"], 0);
    let retry = fifth.body["error"]["retry_after_s"].as_u64().unwrap();
    assert!((880..=900).contains(&retry), "retry_after_s {retry}");
    assert_eq!(
        fifth.header("Retry-After"),
        Some(retry.to_string().as_str())
    );

    let right = rig.pay(&second, "lock-key-0106", PAY_PASSWORD);
    assert_refused(&right, 423, "pay_password_locked");
    let header: u64 = right
        .header("Retry-After")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((870..=900).contains(&header), "Retry-After {header}");
    assert_eq!(right.body["error"]["retry_after_s"], header);

    // The lock is the wallet's: every session of the customer shows it.
    let third = rig.checkout("order-lock-3", "1.00", "cus_lock");
    assert_refused(
        &rig.pay(&third, "lock-key-0201", PAY_PASSWORD),
        423,
        "pay_password_locked",
    );
    let shown = widget_read(&rig, &third.id, &third.token, ORIGIN).expect_status(200);
    assert_eq!(shown.body["balance"]["attempts_left"], 0);
    let until = shown.body["balance"]["locked_until"]
        .as_i64()
        .expect("locked_until");
    assert!((until - now_s() - 900).abs() <= 30, "locked_until {until}");
    assert!(wallet(&rig, &rig.key(), "cus_lock")["locked_until"]
        .as_i64()
        .is_some());
    assert_eq!(bdt(&rig, "cus_lock"), "95.00");
    assert_eq!(rig.merchant_view(&second.id)["status"], "open");
}

#[test]
fn each_currency_is_a_balance_of_its_own() {
    let rig = Rig::start("balance-currencies");
    let key = rig.key();
    for (amount, currency) in [("50.00", "BDT"), ("20.00", "CNY"), ("1000", "JPY")] {
        credit(
            &rig,
            &key,
            "cus_fx",
            amount,
            currency,
            &format!("seed-{currency}"),
        )
        .expect_status(200);
    }
    rig.fund("cus_fx", "0.01", "seed-pw");
    let in_currency = |order: &str, amount: &str, currency: &str| {
        let mut body = session_body(order, amount, "cus_fx");
        body["currency"] = json!(currency);
        rig.checkout_from(&body)
    };
    let cny = in_currency("order-cny", "5.50", "CNY");
    let shown = widget_read(&rig, &cny.id, &cny.token, ORIGIN).expect_status(200);
    assert_eq!(
        (
            &shown.body["balance"]["available_minor"],
            &shown.body["balance"]["currency"]
        ),
        (&json!(2_000), &json!("CNY"))
    );
    let paid = rig
        .pay(&cny, "fx-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(paid.body["balance"]["available_minor"], 1_450);
    let jpy = in_currency("order-jpy", "999", "JPY");
    rig.pay(&jpy, "fx-key-0002", PAY_PASSWORD)
        .expect_status(200);
    let bdt_session = in_currency("order-bdt", "50.02", "BDT");
    assert_refused(
        &rig.pay(&bdt_session, "fx-key-0003", PAY_PASSWORD),
        402,
        "insufficient_balance",
    );

    let now = |currency| available_in(&rig, &key, "cus_fx", currency);
    assert_eq!(now("BDT").as_deref(), Some("50.01"));
    assert_eq!(now("CNY").as_deref(), Some("14.50"));
    assert_eq!(now("JPY").as_deref(), Some("1"));
    assert_eq!(rig.merchant_view(&jpy.id)["amount_paid"], "999");
}
