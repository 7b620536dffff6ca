//! The daily report over real HTTP: payments by balance, points and bKash, and a refund, summed
//! per day and method, checked against the sessions' legs and the wallet's own books, with bKash's
//! tiered fee.

use checkout_simulators::bkash::RICH_WALLET;
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body_in, Checkout, Rig, PAY_PASSWORD};
use checkout_tests::worker::WorkerOptions;
use common::rigs::bkash_rig;
use serde_json::{json, Value};

mod common;

const CUSTOMER: &str = "cus_report";

fn checkout(rig: &Rig, order: &str, amount: &str, methods: &[&str]) -> Checkout {
    rig.checkout_from(&session_body_in(order, amount, "BDT", CUSTOMER, methods))
}

fn pay(rig: &Rig, checkout: &Checkout, key: &str, body: Value) -> Reply {
    rig.pay_from_frame(checkout, key, &body)
}

fn report(rig: &Rig, query: &str) -> Reply {
    rig.client
        .call("GET", format!("/v1/reports/daily{query}"))
        .bearer(&rig.key())
        .send()
}

fn row<'a>(rows: &'a [Value], method: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["method"] == method)
        .unwrap_or_else(|| panic!("no {method} row in {rows:#?}"))
}

#[test]
fn report_sums_match_the_sessions_and_the_wallet() {
    let rig = bkash_rig("reports", &[]);
    rig.fund(CUSTOMER, "200.00", "report-fund");
    rig.admin(
        "POST",
        &format!("/v1/customers/{CUSTOMER}/points_credits"),
        json!({"points": 500, "reference": "report-points"}),
    );

    // 25.00 from balance; 40.00 as 100 points (10.00) and 30.00 balance; 1,250.00 by bKash.
    let first = checkout(&rig, "report-1", "25.00", &["balance"]);
    pay(
        &rig,
        &first,
        "report-key-1",
        json!({"method": "balance", "pay_password": PAY_PASSWORD}),
    )
    .expect_status(200);
    let second = checkout(&rig, "report-2", "40.00", &["points", "balance"]);
    pay(
        &rig,
        &second,
        "report-key-2",
        json!({"method": "balance", "pay_password": PAY_PASSWORD,
               "allocation": {"points": 100, "balance": "30.00"}}),
    )
    .expect_status(200);
    let third = checkout(&rig, "report-3", "1250.00", &["bkash"]);
    let redirect = pay(&rig, &third, "report-key-3", json!({"method": "bkash"})).expect_status(200);
    let url = redirect.body["next_action"]["url"].as_str().unwrap();
    let payment_id = url.split("paymentID=").nth(1).unwrap();
    let callback = rig.sim.approve(payment_id, RICH_WALLET).expect("approval");
    assert_eq!(rig.follow(&callback).status, 303);
    // 5.00 back on the first order.
    rig.refund(&first.id, "report-refund-1", "5.00", "one cup short")
        .expect_status(200);

    let answer = report(&rig, "").expect_status(200);
    let rows = answer.body["days"].as_array().unwrap().clone();
    let today = answer.body["to"].as_str().unwrap();
    assert!(rows.iter().all(|r| r["date"] == today), "{rows:#?}");

    // The sums agree with the sessions' legs.
    let mut legs: Vec<(String, String)> = Vec::new();
    for session in [&first, &second, &third] {
        let view = rig.merchant_view(&session.id);
        for leg in view["payments"][0]["legs"].as_array().unwrap() {
            legs.push((
                leg["method"].as_str().unwrap().into(),
                leg["amount"].as_str().unwrap().into(),
            ));
        }
    }
    assert_eq!(
        legs,
        [
            ("balance".into(), "25.00".into()),
            ("points".into(), "10.00".into()),
            ("balance".into(), "30.00".into()),
            ("bkash".into(), "1250.00".into())
        ]
    );
    let balance = row(&rows, "balance");
    assert_eq!(
        (balance["payments"].as_i64(), balance["gross"].as_str()),
        (Some(2), Some("55.00"))
    );
    assert_eq!(
        (balance["refunds"].as_i64(), balance["refunded"].as_str()),
        (Some(1), Some("5.00"))
    );
    assert_eq!(
        (balance["fees"].as_str(), balance["net"].as_str()),
        (Some("0.00"), Some("50.00"))
    );
    assert_eq!(row(&rows, "points")["gross"], "10.00");
    // bKash at 1.85 % (the month's volume before it is below ৳500,000): ৳23.125 rounds to 23.13.
    let bkash = row(&rows, "bkash");
    assert_eq!(bkash["gross"], "1250.00");
    assert_eq!(bkash["fees"], "23.13");
    assert_eq!(bkash["net"], "1226.87");

    // And with the wallet's own books: 200.00 in, 55.00 out, 5.00 back; 500 points less 100.
    let wallet = common::wallet(&rig, &rig.key(), CUSTOMER);
    assert_eq!(wallet["balances"][0]["available"], "150.00");
    assert_eq!(wallet["points"]["available"], 400);

    // Another merchant sees none of it; a malformed date is refused with its parameter.
    let other = rig.vars.merchant("m_other").test_key().to_owned();
    let foreign = rig
        .client
        .call("GET", "/v1/reports/daily")
        .bearer(&other)
        .send()
        .expect_status(200);
    assert_eq!(foreign.body["days"], json!([]));
    let bad = report(&rig, "?from=23-11-2026");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["param"], "from");
}

/// The month's volume each fee is tiered on is kept running (one row per month, method and
/// currency, added to when a payment line is written): a payment's fee follows the payments before
/// it, and a refund neither lowers the volume nor returns its fee.
#[test]
fn fees_follow_the_running_month_volume() {
    let schedule = r#"{"balance": [{"up_to_minor": 3000, "rate_bps": 100}, {"rate_bps": 1000}]}"#;
    let options = WorkerOptions {
        vars: vec![("FEE_SCHEDULE".to_owned(), schedule.to_owned())],
        ..WorkerOptions::default()
    };
    let rig = Rig::start_with("reports-volume", options);
    rig.fund("cus_volume", "100.00", "volume-fund");
    let first = rig.checkout("volume-1", "25.00", "cus_volume");
    rig.pay(&first, "volume-key-1", PAY_PASSWORD)
        .expect_status(200);
    let second = rig.checkout("volume-2", "10.00", "cus_volume");
    rig.pay(&second, "volume-key-2", PAY_PASSWORD)
        .expect_status(200);
    rig.refund(&first.id, "volume-refund-1", "10.00", "returned")
        .expect_status(200);
    let third = rig.checkout("volume-3", "10.00", "cus_volume");
    rig.pay(&third, "volume-key-3", PAY_PASSWORD)
        .expect_status(200);

    let answer = report(&rig, "").expect_status(200);
    let rows = answer.body["days"].as_array().unwrap().clone();
    let balance = row(&rows, "balance");
    // 1 % of 25.00 (0 before) + 1 % of 10.00 (25.00 before) + 10 % of 10.00 (35.00 before: the
    // refund took nothing off) = 0.25 + 0.10 + 1.00.
    assert_eq!(balance["payments"], 3, "{rows:#?}");
    assert_eq!(balance["gross"], "45.00");
    assert_eq!(balance["refunded"], "10.00");
    assert_eq!(balance["fees"], "1.35", "{rows:#?}");
    assert_eq!(balance["net"], "33.65");
}
