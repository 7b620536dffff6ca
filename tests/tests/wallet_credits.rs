//! Balance credits against the Worker in workerd: idempotent by reference, conflicts refused,
//! concurrent credits counted exactly, and balances that stay within what the API can state.

mod common;

use checkout_tests::fixtures::{Rig, ORIGIN};
use common::{all_at_once, assert_refused, available_in, bdt, credit, now_s, widget_read};
use serde_json::json;

#[test]
fn a_credit_reference_credits_once_and_a_changed_one_conflicts() {
    let rig = Rig::start("credits-reference");
    let key = rig.key();
    let first = credit(&rig, &key, "cus_c", "25.00", "BDT", "topup-1").expect_status(200);
    assert_eq!(
        (
            &first.body["reference"],
            &first.body["amount"],
            &first.body["currency"]
        ),
        (&json!("topup-1"), &json!("25.00"), &json!("BDT"))
    );
    let created = first.body["created_at"].as_i64().unwrap();
    assert!((created - now_s()).abs() <= 60, "created_at {created}");
    let repeat = credit(&rig, &key, "cus_c", "25.00", "BDT", "topup-1").expect_status(200);
    assert_eq!(repeat.body, first.body);
    assert_eq!(bdt(&rig, "cus_c"), "25.00");

    for (amount, currency) in [
        ("30.00", "BDT"),
        ("25.01", "BDT"),
        ("25.00", "CNY"),
        ("2500", "JPY"),
    ] {
        let changed = credit(&rig, &key, "cus_c", amount, currency, "topup-1");
        assert_refused(&changed, 409, "reference_conflict");
    }
    assert_eq!(bdt(&rig, "cus_c"), "25.00");
    assert_eq!(available_in(&rig, &key, "cus_c", "CNY"), None);

    // References belong to one customer's wallet: another customer may use the same one.
    credit(&rig, &key, "cus_d", "30.00", "BDT", "topup-1").expect_status(200);
    credit(&rig, &key, "cus_c", "0.50", "BDT", "topup-2").expect_status(200);
    assert_eq!(bdt(&rig, "cus_c"), "25.50");
    assert_eq!(bdt(&rig, "cus_d"), "30.00");
}

#[test]
fn concurrent_credits_are_counted_exactly_once_each() {
    let rig = Rig::start("credits-race");
    let key = rig.key();
    let same = all_at_once(8, |_| {
        credit(&rig, &key, "cus_r", "10.00", "BDT", "same-ref").status
    });
    assert_eq!(same, [200; 8]);
    assert_eq!(bdt(&rig, "cus_r"), "10.00");

    let distinct = all_at_once(8, |n| {
        credit(&rig, &key, "cus_r", "1.25", "BDT", &format!("ref-{n}")).status
    });
    assert_eq!(distinct, [200; 8]);
    assert_eq!(bdt(&rig, "cus_r"), "20.00");

    // One reference, two amounts at once: one credit, one conflict, never both.
    let split = all_at_once(2, |n| {
        let amount = if n == 0 { "5.00" } else { "7.00" };
        let reply = credit(&rig, &key, "cus_r", amount, "BDT", "split-ref");
        (reply.status, reply.code().to_owned())
    });
    let conflicts = split
        .iter()
        .filter(|(s, c)| *s == 409 && c == "reference_conflict")
        .count();
    assert_eq!(
        (split.iter().filter(|(s, _)| *s == 200).count(), conflicts),
        (1, 1),
        "{split:?}"
    );
    let balance = bdt(&rig, "cus_r");
    assert!(balance == "25.00" || balance == "27.00", "{balance}");
}

/// Each credit is within the largest amount the API accepts (10^13 minor units), and both are
/// accepted; the wallet must then still answer, with the sum or by refusing the second credit,
/// and a payment from it must not be a 500 that says no money moved.
#[test]
fn a_wallet_credited_past_the_amount_limit_still_answers() {
    let rig = Rig::start("credits-limit");
    let key = rig.key();
    rig.fund("cus_rich", "100000000000.00", "huge-1");
    let second = credit(&rig, &key, "cus_rich", "100000000000.00", "BDT", "huge-2");
    assert_eq!(
        (second.status, second.code()),
        (400, "invalid_parameter"),
        "the second credit would pass the maximum balance: {}",
        second.body
    );
    let checkout = rig.checkout("order-rich", "1.00", "cus_rich");
    let wallet = rig
        .client
        .call("GET", "/v1/customers/cus_rich/wallet")
        .bearer(&key)
        .send();
    let shopper = widget_read(&rig, &checkout.id, &checkout.token, ORIGIN);
    let pay = rig.pay(
        &checkout,
        "rich-key-0001",
        checkout_tests::fixtures::PAY_PASSWORD,
    );
    let statuses = [wallet.status, shopper.status, pay.status];
    assert_eq!(
        statuses,
        [200; 3],
        "wallet view, widget view, payment: {} / {} / {} (session now {})",
        wallet.body,
        shopper.body,
        pay.body,
        rig.merchant_view(&checkout.id)["status"]
    );
    let expected = if second.status == 200 {
        "199999999999.00"
    } else {
        "99999999999.00"
    };
    assert_eq!(bdt(&rig, "cus_rich"), expected);
}
