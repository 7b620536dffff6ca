//! Points and balance together over HTTP: an internal split completes at once and atomically.

use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body_in, Checkout, Rig, PAY_PASSWORD};
use serde_json::{json, Value};

const CUSTOMER: &str = "cus_mix";

fn rig(label: &str, points: i64, balance: &str) -> Rig {
    let rig = Rig::start(label);
    rig.fund(CUSTOMER, balance, "seed-balance");
    rig.client
        .call("POST", format!("/v1/customers/{CUSTOMER}/points_credits"))
        .bearer(&rig.key())
        .json(&json!({"points": points, "reference": "seed-points"}))
        .expect_status(200);
    rig
}

fn checkout(rig: &Rig, order: &str, amount: &str) -> Checkout {
    let methods = ["points", "balance"];
    rig.checkout_from(&session_body_in(order, amount, "BDT", CUSTOMER, &methods))
}

fn pay(rig: &Rig, checkout: &Checkout, key: &str, body: Value) -> Reply {
    rig.pay_from_frame(checkout, key, &body)
}

fn wallet(rig: &Rig) -> (i64, String) {
    let body = rig
        .client
        .call("GET", format!("/v1/customers/{CUSTOMER}/wallet"))
        .bearer(&rig.key())
        .send()
        .expect_status(200)
        .body;
    let points = body["points"]["available"].as_i64().unwrap();
    (
        points,
        body["balances"][0]["available"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[test]
fn points_and_balance_pay_one_order_together_and_exactly() {
    let rig = rig("mixed-points-balance", 1_000, "100.00");
    let order = checkout(&rig, "mix-1", "50.00");
    let body = json!({"method": "balance", "pay_password": PAY_PASSWORD,
        "allocation": {"points": 300, "balance": "20.00"}});
    let paid = pay(&rig, &order, "mix-key-0001", body.clone()).expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(wallet(&rig), (700, "80.00".to_owned()));
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["amount_paid"], "50.00");
    assert_eq!(view["payments"][0]["points"], 300);

    // The same key again is the same payment.
    pay(&rig, &order, "mix-key-0001", body).expect_status(200);
    assert_eq!(wallet(&rig), (700, "80.00".to_owned()));
    // A refund of a points-and-balance payment returns balance first, then points.
    let refund = rig
        .refund(&order.id, "mix-refund-01", "25.00", "test")
        .expect_status(200);
    assert_eq!(refund.body["status"], "succeeded");
    assert_eq!(wallet(&rig), (750, "100.00".to_owned()));
}

#[test]
fn points_alone_pay_a_whole_order_when_the_rules_allow() {
    let rig = rig("mixed-points-only", 1_000, "0.01");
    let order = checkout(&rig, "mix-points", "12.30");
    let paid = pay(
        &rig,
        &order,
        "pts-key-0001",
        json!({"method": "points", "pay_password": PAY_PASSWORD}),
    )
    .expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(wallet(&rig), (877, "0.01".to_owned()));
}

#[test]
fn a_split_that_cannot_be_paid_in_full_moves_nothing() {
    let rig = rig("mixed-atomic", 200, "100.00");
    let order = checkout(&rig, "mix-short", "50.00");
    // Enough balance, too few points: neither leg is taken.
    let short = pay(
        &rig,
        &order,
        "short-key-001",
        json!({"method": "balance", "pay_password": PAY_PASSWORD,
        "allocation": {"points": 300, "balance": "20.00"}}),
    );
    assert_eq!((short.status, short.code()), (402, "insufficient_points"));
    assert_eq!(wallet(&rig), (200, "100.00".to_owned()));
    assert_eq!(rig.merchant_view(&order.id)["status"], "open");

    for (n, (split, why)) in [
        (json!({"points": 300, "balance": "20.01"}), "does not sum"),
        (
            json!({"points": 50, "balance": "45.00"}),
            "under the minimum points",
        ),
        (
            json!({"points": 305, "balance": "19.50"}),
            "not a whole number of minor units? (it is: 30.50)",
        ),
        (
            json!({"points": -10, "balance": "51.00"}),
            "negative points",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = pay(
            &rig,
            &order,
            &format!("split-key-{n:03}"),
            json!({"method": "balance",
            "pay_password": PAY_PASSWORD, "allocation": split}),
        );
        if why.starts_with("not a whole") {
            // 305 points are 30.50 BDT: with 19.50 the split sums, but only 200 points exist.
            assert_eq!(reply.code(), "insufficient_points", "{why}");
        } else {
            assert_eq!(
                (reply.status, reply.code()),
                (400, "invalid_allocation"),
                "{why}: {}",
                reply.body
            );
        }
    }
    assert_eq!(wallet(&rig), (200, "100.00".to_owned()));
}
