//! Refunds: PROCESSING then SUCCESS, never more than was paid, idempotent by `out_refund_no`.

use serde_json::{json, Value};

use super::{eventually, merchant, rig, Answer, Rig, WechatAnswer, API_V3_KEY};
use crate::wechat::crypto::decrypt_resource;
use crate::wechat::{RefundStatus, TradeState};

const REFUNDS: &str = "/v3/refund/domestic/refunds";

fn refund_body(no: &str, out_refund_no: &str, refund: i64, total: i64) -> Value {
    json!({
        "out_trade_no": no, "out_refund_no": out_refund_no, "reason": "商品已售完",
        "amount": {"refund": refund, "total": total, "currency": "CNY"},
    })
}

fn refund(rig: &Rig, body: &Value) -> Answer {
    rig.call("POST", REFUNDS, Some(body))
}

#[test]
fn a_partial_refund_is_processing_then_success() {
    let rig = rig();
    let (no, transaction_id) = rig.paid(1000);
    let answer = refund(&rig, &refund_body(&no, "rf_1", 300, 1000));
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.signature_verifies());
    let r = &answer.body;
    assert_eq!(r["status"], "PROCESSING");
    assert_eq!(
        (r["out_refund_no"].as_str(), r["transaction_id"].as_str()),
        (Some("rf_1"), Some(transaction_id.as_str()))
    );
    assert_eq!(
        (r["channel"].as_str(), r["user_received_account"].as_str()),
        (Some("ORIGINAL"), Some("支付用户零钱"))
    );
    assert_eq!(
        (
            r["amount"]["refund"].as_i64(),
            r["amount"]["total"].as_i64()
        ),
        (Some(300), Some(1000))
    );
    assert_eq!(
        (
            r["amount"]["payer_refund"].as_i64(),
            r["amount"]["currency"].as_str()
        ),
        (Some(300), Some("CNY"))
    );
    assert!(r["refund_id"].as_str().unwrap().len() == 29 && r.get("success_time").is_none());
    assert_eq!(rig.query(&no).body["trade_state"], "REFUND");

    let path = format!("{REFUNDS}/rf_1");
    eventually("the refund to succeed", || {
        rig.call("GET", &path, None).body["status"] == "SUCCESS"
    });
    let settled = rig.call("GET", &path, None);
    assert!(settled.signature_verifies());
    assert!(settled.body["success_time"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert_eq!(settled.body["refund_id"], r["refund_id"]);
    assert_eq!(
        rig.sim.refund("rf_1").unwrap().status,
        RefundStatus::Success
    );
    let order = rig.sim.order(&no).unwrap();
    assert_eq!(
        (order.trade_state, order.refunded_total, order.refunds),
        (TradeState::Refund, 300, vec!["rf_1".to_owned()])
    );
}

#[test]
fn refunds_never_exceed_what_was_paid() {
    let rig = rig();
    let (no, transaction_id) = rig.paid(1000);
    assert_eq!(
        refund(&rig, &refund_body(&no, "rf_a", 600, 1000)).status,
        200
    );
    let over = refund(&rig, &refund_body(&no, "rf_b", 401, 1000));
    assert_eq!(
        (over.status, over.code()),
        (400, "INVALID_REQUEST"),
        "{}",
        over.text
    );
    assert_eq!(over.body["message"], "申请退款金额超过订单可退金额");
    // By transaction_id instead of out_trade_no, the rest fits exactly.
    let mut rest = refund_body(&no, "rf_c", 400, 1000);
    rest.as_object_mut().unwrap().remove("out_trade_no");
    rest["transaction_id"] = json!(transaction_id);
    assert_eq!(refund(&rig, &rest).status, 200);
    assert_eq!(rig.sim.order(&no).unwrap().refunded_total, 1000);
    let wrong_total = refund(&rig, &refund_body(&no, "rf_d", 1, 999));
    assert_eq!(
        (wrong_total.status, wrong_total.code()),
        (400, "PARAM_ERROR")
    );
}

#[test]
fn the_same_out_refund_no_is_the_same_refund() {
    let rig = rig();
    let (no, _) = rig.paid(1000);
    let first = refund(&rig, &refund_body(&no, "rf_same", 200, 1000));
    let again = refund(&rig, &refund_body(&no, "rf_same", 200, 1000));
    assert_eq!(again.status, 200);
    assert_eq!(first.body["refund_id"], again.body["refund_id"]);
    assert_eq!(
        rig.sim.order(&no).unwrap().refunded_total,
        200,
        "refunded once"
    );
    let different = refund(&rig, &refund_body(&no, "rf_same", 300, 1000));
    assert_eq!(
        (different.status, different.code()),
        (400, "INVALID_REQUEST")
    );
}

#[test]
fn only_paid_orders_refund_and_unknown_refunds_are_not_found() {
    let rig = rig();
    let unpaid = rig.native(1000);
    let answer = refund(&rig, &refund_body(&unpaid, "rf_x", 100, 1000));
    assert_eq!((answer.status, answer.code()), (400, "INVALID_REQUEST"));
    let unknown = refund(&rig, &refund_body("pay_never_created", "rf_y", 100, 1000));
    assert_eq!(
        (unknown.status, unknown.code()),
        (404, "RESOURCE_NOT_EXISTS")
    );
    let query = rig.call("GET", &format!("{REFUNDS}/rf_none"), None);
    assert_eq!((query.status, query.code()), (404, "RESOURCE_NOT_EXISTS"));
    let (no, _) = rig.paid(1000);
    let mut missing = refund_body(&no, "rf_z", 100, 1000);
    missing["amount"]
        .as_object_mut()
        .unwrap()
        .remove("currency");
    assert_eq!(
        refund(&rig, &missing).body["detail"]["field"],
        "/amount/currency"
    );
    let bad_no = refund(&rig, &refund_body(&no, "has space", 100, 1000));
    assert_eq!(bad_no.body["detail"]["field"], "/out_refund_no");
}

#[test]
fn a_refund_with_a_notify_url_sends_refund_success() {
    let rig = rig();
    let receiver = merchant(&[200]);
    let (no, transaction_id) = rig.paid(1000);
    // The payment's own notification went to shop.example (unreachable); refunds go here.
    let mut body = refund_body(&no, "rf_n", 250, 1000);
    body["notify_url"] = json!(receiver.url());
    assert_eq!(refund(&rig, &body).status, 200);
    let request = receiver.wait_for(1).remove(0);
    let envelope: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(envelope["event_type"], "REFUND.SUCCESS");
    let resource = &envelope["resource"];
    assert_eq!(
        (
            resource["original_type"].as_str(),
            resource["associated_data"].as_str()
        ),
        (Some("refund"), Some("refund"))
    );
    let plain = decrypt_resource(
        API_V3_KEY,
        resource["nonce"].as_str().unwrap(),
        "refund",
        resource["ciphertext"].as_str().unwrap(),
    )
    .expect("decrypts");
    let plain: Value = serde_json::from_str(&plain).unwrap();
    assert_eq!(plain["refund_status"], "SUCCESS");
    assert_eq!(
        (
            plain["out_refund_no"].as_str(),
            plain["transaction_id"].as_str()
        ),
        (Some("rf_n"), Some(transaction_id.as_str()))
    );
    assert_eq!(
        (
            plain["amount"]["refund"].as_i64(),
            plain["amount"]["total"].as_i64()
        ),
        (Some(250), Some(1000))
    );
    assert!(plain["success_time"].is_string());
    eventually("the delivery to be recorded", || {
        rig.sim
            .deliveries()
            .iter()
            .any(|d| d.out_refund_no.as_deref() == Some("rf_n") && d.acknowledged)
    });
}
