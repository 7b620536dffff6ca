//! Prepay, query and close: an order's life and WeChat's refusals.

use serde_json::{json, Value};

use super::{native_body, rig, trade_no, WechatAnswer, APPID, MCHID};
use crate::wechat::{ApproveError, TradeState, TradeType};

const NATIVE: &str = "/v3/pay/transactions/native";

#[test]
fn prepay_refuses_bad_fields_naming_them() {
    let rig = rig();
    let refusal = |field: &str, value: Value| {
        let mut body = native_body(&trade_no(), 100);
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[field] = value,
        }
        if body[field].is_null() && !field.contains('.') {
            body.as_object_mut().unwrap().remove(field);
        }
        let answer = rig.call("POST", NATIVE, Some(&body));
        (
            answer.status,
            answer.code().to_owned(),
            answer.body["detail"]["field"].clone(),
        )
    };
    let param = |field: &str| (400, "PARAM_ERROR".to_owned(), json!(field));
    assert_eq!(
        refusal("out_trade_no", json!("abc")),
        param("/out_trade_no")
    );
    assert_eq!(
        refusal("out_trade_no", json!("has space 123")),
        param("/out_trade_no")
    );
    assert_eq!(
        refusal("out_trade_no", json!("x".repeat(33))),
        param("/out_trade_no")
    );
    assert_eq!(refusal("out_trade_no", Value::Null), param("/out_trade_no"));
    assert_eq!(
        refusal("description", json!("字".repeat(43))),
        param("/description")
    );
    assert_eq!(
        refusal("notify_url", json!("https://shop.example/n?x=1")),
        param("/notify_url")
    );
    assert_eq!(refusal("notify_url", Value::Null), param("/notify_url"));
    assert_eq!(
        refusal("time_expire", json!("2026-11-23 18:00:00")),
        param("/time_expire")
    );
    assert_eq!(refusal("amount.total", json!(0)), param("/amount/total"));
    assert_eq!(refusal("amount.total", json!(1.5)), param("/amount/total"));
    assert_eq!(
        refusal("amount.total", json!("100")),
        param("/amount/total")
    );
    assert_eq!(
        refusal("amount.currency", json!("USD")),
        param("/amount/currency")
    );
    let not_match = (400, "APPID_MCHID_NOT_MATCH".to_owned(), Value::Null);
    assert_eq!(refusal("appid", json!("wx0000000000000000")), not_match);
    assert_eq!(refusal("mchid", json!("1900000001")), not_match);
    // And the well-formed edge cases pass.
    assert_eq!(refusal("out_trade_no", json!("a-b_c|d*e")).0, 200);
    assert_eq!(
        refusal("time_expire", json!("2099-11-23T18:00:00+08:00")).0,
        200
    );
    assert_eq!(refusal("description", json!("字".repeat(42))).0, 200);
}

#[test]
fn h5_and_jsapi_need_their_scene_and_payer() {
    let rig = rig();
    let mut body = native_body(&trade_no(), 100);
    let answer = rig.call("POST", "/v3/pay/transactions/h5", Some(&body));
    assert_eq!(
        answer.body["detail"]["field"],
        "/scene_info/payer_client_ip"
    );
    body["scene_info"] = json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}});
    let answer = rig.call("POST", "/v3/pay/transactions/h5", Some(&body));
    let h5_url = answer.body["h5_url"].as_str().unwrap();
    let prefix = format!("{}/h5pay?prepay_id=wx", rig.sim.origin());
    assert!(
        h5_url.starts_with(&prefix) && h5_url.contains("&package="),
        "{h5_url}"
    );

    let mut body = native_body(&trade_no(), 100);
    let answer = rig.call("POST", "/v3/pay/transactions/jsapi", Some(&body));
    assert_eq!(answer.body["detail"]["field"], "/payer/openid");
    body["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
    let answer = rig.call("POST", "/v3/pay/transactions/jsapi", Some(&body));
    let prepay_id = answer.body["prepay_id"].as_str().unwrap();
    assert!(
        prepay_id.starts_with("wx") && prepay_id.len() == 36,
        "{prepay_id}"
    );
    let no = body["out_trade_no"].as_str().unwrap();
    assert_eq!(rig.sim.order(no).unwrap().trade_type, TradeType::Jsapi);
}

#[test]
fn a_repeated_prepay_is_the_same_order_only_with_the_same_parameters() {
    let rig = rig();
    let body = native_body(&trade_no(), 100);
    let first = rig.call("POST", NATIVE, Some(&body));
    let again = rig.call("POST", NATIVE, Some(&body));
    assert_eq!(again.status, 200);
    assert_eq!(first.body["code_url"], again.body["code_url"]);
    let mut changed = body.clone();
    changed["amount"]["total"] = json!(101);
    let answer = rig.call("POST", NATIVE, Some(&changed));
    assert_eq!(
        (answer.status, answer.code()),
        (403, "OUT_TRADE_NO_USED"),
        "{}",
        answer.text
    );
    let mut as_jsapi = body.clone();
    as_jsapi["payer"] = json!({"openid": "o1"});
    let answer = rig.call("POST", "/v3/pay/transactions/jsapi", Some(&as_jsapi));
    assert_eq!(
        answer.code(),
        "OUT_TRADE_NO_USED",
        "another product is another order"
    );
}

#[test]
fn query_shows_notpay_then_success_with_a_transaction_id() {
    let rig = rig();
    let no = rig.native(1234);
    let answer = rig.query(&no);
    assert_eq!(answer.status, 200);
    assert!(answer.signature_verifies());
    let t = &answer.body;
    assert_eq!(
        (t["trade_state"].as_str(), t["out_trade_no"].as_str()),
        (Some("NOTPAY"), Some(no.as_str()))
    );
    assert_eq!(
        (t["appid"].as_str(), t["mchid"].as_str()),
        (Some(APPID), Some(MCHID))
    );
    assert_eq!(t["amount"]["total"], 1234);
    assert!(t.get("transaction_id").is_none() && t.get("success_time").is_none());

    rig.sim.approve(&no).unwrap();
    let t = rig.query(&no).body;
    assert_eq!(t["trade_state"], "SUCCESS");
    assert_eq!(t["trade_type"], "NATIVE");
    assert_eq!(t["trade_state_desc"], "支付成功");
    assert_eq!(
        (
            t["amount"]["payer_total"].as_i64(),
            t["amount"]["currency"].as_str()
        ),
        (Some(1234), Some("CNY"))
    );
    assert!(t["payer"]["openid"].is_string());
    let success_time = t["success_time"].as_str().unwrap();
    assert!(
        crate::wechat::wire::parse_rfc3339(success_time).is_some()
            && success_time.ends_with("+08:00")
    );
    let id = t["transaction_id"].as_str().unwrap();
    assert!(
        id.len() == 28 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );

    let by_id = rig.call(
        "GET",
        &format!("/v3/pay/transactions/id/{id}?mchid={MCHID}"),
        None,
    );
    assert_eq!(by_id.body, t);
    assert_eq!(rig.sim.order(&no).unwrap().query_calls, 3);
    assert_eq!(rig.sim.approve(&no), Err(ApproveError::AlreadyPaid));
}

#[test]
fn query_refuses_unknown_orders_and_a_missing_mchid() {
    let rig = rig();
    let unknown = rig.query("pay_never_created");
    assert_eq!((unknown.status, unknown.code()), (404, "ORDER_NOT_EXIST"));
    assert_eq!(unknown.body["message"], "订单不存在");
    let no = rig.native(100);
    let missing = rig.call(
        "GET",
        &format!("/v3/pay/transactions/out-trade-no/{no}"),
        None,
    );
    assert_eq!((missing.status, missing.code()), (400, "PARAM_ERROR"));
    let wrong = rig.call(
        "GET",
        &format!("/v3/pay/transactions/out-trade-no/{no}?mchid=1"),
        None,
    );
    assert_eq!(wrong.code(), "PARAM_ERROR");
    let prepay_id = rig.sim.order(&no).unwrap().prepay_id;
    let not_a_transaction = rig.call(
        "GET",
        &format!("/v3/pay/transactions/id/{prepay_id}?mchid={MCHID}"),
        None,
    );
    assert_eq!(not_a_transaction.code(), "ORDER_NOT_EXIST");
}

fn close(rig: &super::Rig, no: &str) -> super::Answer {
    let path = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    rig.call("POST", &path, Some(&json!({ "mchid": MCHID })))
}

#[test]
fn a_closed_order_cannot_be_paid_or_placed_again() {
    let rig = rig();
    let no = rig.native(100);
    let closed = close(&rig, &no);
    assert_eq!(closed.status, 204);
    assert_eq!(closed.text, "");
    assert!(
        closed.signature_verifies(),
        "a 204 is signed over the empty body"
    );
    assert_eq!(rig.query(&no).body["trade_state"], "CLOSED");
    assert_eq!(rig.sim.approve(&no), Err(ApproveError::Closed));
    assert_eq!(close(&rig, &no).status, 204, "closing again is fine");
    let again = rig.call("POST", NATIVE, Some(&native_body(&no, 100)));
    assert_eq!((again.status, again.code()), (400, "ORDER_CLOSED"));
    let snapshot = rig.sim.order(&no).unwrap();
    assert_eq!(
        (snapshot.trade_state, snapshot.close_calls),
        (TradeState::Closed, 2)
    );
}

#[test]
fn a_paid_order_cannot_be_closed_or_placed_again() {
    let rig = rig();
    let (no, _) = rig.paid(100);
    let answer = close(&rig, &no);
    assert_eq!((answer.status, answer.code()), (403, "ORDERPAID"));
    let again = rig.call("POST", NATIVE, Some(&native_body(&no, 100)));
    assert_eq!(again.code(), "ORDERPAID");
    assert_eq!(close(&rig, "pay_never_created").code(), "ORDER_NOT_EXIST");
    let path = format!("/v3/pay/transactions/out-trade-no/{no}/close");
    let wrong = rig.call("POST", &path, Some(&json!({ "mchid": "1" })));
    assert_eq!(wrong.code(), "PARAM_ERROR");
}

#[test]
fn failed_and_expired_orders_cannot_be_paid() {
    let rig = rig();
    let no = rig.native(100);
    rig.sim.fail(&no).unwrap();
    assert_eq!(rig.query(&no).body["trade_state"], "PAYERROR");
    assert_eq!(rig.sim.approve(&no), Err(ApproveError::Failed));
    // A failed order can be closed.
    assert_eq!(close(&rig, &no).status, 204);

    let mut body = native_body(&trade_no(), 100);
    body["time_expire"] = json!("2020-01-01T00:00:00+08:00");
    assert_eq!(rig.call("POST", NATIVE, Some(&body)).status, 200);
    let expired = body["out_trade_no"].as_str().unwrap();
    assert_eq!(rig.sim.approve(expired), Err(ApproveError::Expired));
    assert_eq!(rig.query(expired).body["trade_state"], "NOTPAY");
    assert_eq!(
        rig.sim.approve("pay_never_created"),
        Err(ApproveError::UnknownOrder)
    );
}

#[test]
fn control_routes_show_and_decide_orders() {
    let rig = rig();
    let no = rig.native(100);
    let origin = rig.sim.origin();
    let snapshot = super::send("GET", &format!("{origin}/__sim/orders/{no}"), &[], None);
    assert_eq!(snapshot.body["trade_state"], "NOTPAY");
    assert_eq!(snapshot.body["trade_type"], "NATIVE");
    let approved = super::send(
        "POST",
        &format!("{origin}/__sim/orders/{no}/approve"),
        &[],
        None,
    );
    assert_eq!(approved.body["trade_state"], "SUCCESS");
    let twice = super::send(
        "POST",
        &format!("{origin}/__sim/orders/{no}/fail"),
        &[],
        None,
    );
    assert_eq!(twice.status, 409);
    let unknown = super::send("GET", &format!("{origin}/__sim/orders/nope"), &[], None);
    assert_eq!(unknown.status, 404);
}
