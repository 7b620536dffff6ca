//! The switches for a provider whose word does not match the merchant's: a short payment,
//! another order named, and a close that lets the payment through.

use serde_json::json;

use super::{eventually, merchant, rig, MCHID};
use crate::wechat::Faults;

fn close(rig: &super::Rig, no: &str) -> super::Answer {
    let path = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    rig.call("POST", &path, Some(&json!({ "mchid": MCHID })))
}

#[test]
fn a_short_payment_is_reported_by_query_and_notification_and_bounds_refunds() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        pay_short_fen: 1,
        ..Faults::default()
    });
    let receiver = merchant(&[204]);
    let no = rig.native_to(2000, &receiver.url());
    rig.sim.approve(&no).unwrap();
    let queried = rig.query(&no).body;
    assert_eq!(queried["trade_state"], "SUCCESS");
    assert_eq!(
        (
            queried["amount"]["total"].as_i64(),
            queried["amount"]["payer_total"].as_i64()
        ),
        (Some(1999), Some(1999)),
        "{queried}"
    );
    let delivered = receiver.wait_for(1);
    assert!(!delivered.is_empty());
    assert_eq!(rig.sim.order(&no).unwrap().amount_paid, Some(1999));
    // What can be refunded is what was taken, named with either total.
    let refund = |out_refund_no: &str, refund: i64, total: i64| {
        rig.call(
            "POST",
            "/v3/refund/domestic/refunds",
            Some(&json!({"out_trade_no": no, "out_refund_no": out_refund_no,
                "amount": {"refund": refund, "total": total, "currency": "CNY"}})),
        )
    };
    assert_eq!(refund("rf_over", 2000, 2000).status, 400);
    assert_eq!(refund("rf_all", 1999, 1999).status, 200);
}

#[test]
fn another_out_trade_no_is_reported_for_a_payment_made_under_the_switch() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        report_out_trade_no: Some("someone_elses_order_1".into()),
        ..Faults::default()
    });
    let no = rig.native(500);
    rig.sim.approve(&no).unwrap();
    rig.sim.set_faults(Faults::default());
    let queried = rig.query(&no).body;
    assert_eq!(
        queried["out_trade_no"], "someone_elses_order_1",
        "{queried}"
    );
    assert_eq!(queried["amount"]["total"], 500);
}

#[test]
fn a_close_that_lets_the_payment_through_answers_204_and_the_shopper_pays_later() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        close_lets_payment_through: true,
        ..Faults::default()
    });
    let receiver = merchant(&[204]);
    let no = rig.native_to(800, &receiver.url());
    let closed = close(&rig, &no);
    assert_eq!(closed.status, 204);
    assert_eq!(rig.query(&no).body["trade_state"], "NOTPAY");
    rig.sim.approve(&no).expect("the order is still payable");
    eventually("the late notification", || !receiver.requests().is_empty());
    let snapshot = rig.sim.order(&no).unwrap();
    assert_eq!((snapshot.close_calls, snapshot.amount_paid), (1, Some(800)));
}
