//! The JSAPI pay sheet: WeChat's checks on `getBrandWCPayRequest`, over HTTP and in Rust.

use serde_json::{json, Value};

use super::{native_body, rig, send, trade_no, Rig, APPID, MERCHANT_PRIVATE, PLATFORM_PRIVATE};
use crate::util::unix_seconds as now;
use crate::wechat::crypto::{pay_sign_message, sign_sha256_rsa};
use crate::wechat::{Faults, TradeState};

/// A JSAPI order; returns (out_trade_no, prepay_id).
fn jsapi_order(rig: &Rig) -> (String, String) {
    let no = trade_no();
    let mut body = native_body(&no, 100);
    body["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
    let answer = rig.call("POST", "/v3/pay/transactions/jsapi", Some(&body));
    (no, answer.body["prepay_id"].as_str().unwrap().to_owned())
}

/// The parameters the merchant hands the page, signed with `key` at `time_stamp`.
fn params(prepay_id: &str, time_stamp: i64, key: &str) -> Value {
    let (ts, nonce, package) = (
        time_stamp.to_string(),
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        format!("prepay_id={prepay_id}"),
    );
    let pay_sign = sign_sha256_rsa(key, &pay_sign_message(APPID, &ts, nonce, &package));
    json!({"appId": APPID, "timeStamp": ts, "nonceStr": nonce, "package": package, "signType": "RSA", "paySign": pay_sign})
}

fn pay_over_http(rig: &Rig, params: &Value) -> super::Answer {
    let url = format!("{}/__sim/jsapi/pay", rig.sim.origin());
    send(
        "POST",
        &url,
        &[("Content-Type", "application/json")],
        Some(&params.to_string()),
    )
}

#[test]
fn a_well_signed_pay_request_pays_the_order() {
    let rig = rig();
    let (no, prepay_id) = jsapi_order(&rig);
    let answer = pay_over_http(&rig, &params(&prepay_id, now(), MERCHANT_PRIVATE));
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["err_msg"], "get_brand_wcpay_request:ok");
    assert_eq!(answer.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(rig.sim.order(&no).unwrap().trade_state, TradeState::Success);
    let again = pay_over_http(&rig, &params(&prepay_id, now(), MERCHANT_PRIVATE));
    assert_eq!(
        again.body["err_msg"], "get_brand_wcpay_request:fail",
        "paid already"
    );
}

#[test]
fn bad_pay_requests_fail_without_paying() {
    let rig = rig();
    let (no, prepay_id) = jsapi_order(&rig);
    let good = params(&prepay_id, now(), MERCHANT_PRIVATE);
    let with = |field: &str, value: Value| {
        let mut p = good.clone();
        p[field] = value;
        p
    };
    let native_prepay = rig.sim.order(&rig.native(100)).unwrap().prepay_id;
    let cases = [
        ("wrong key", params(&prepay_id, now(), PLATFORM_PRIVATE)),
        ("stale", params(&prepay_id, now() - 301, MERCHANT_PRIVATE)),
        ("other appId", with("appId", json!("wx0000000000000000"))),
        ("other signType", with("signType", json!("HMAC-SHA256"))),
        ("bare package", with("package", json!(prepay_id))),
        ("tampered nonce", with("nonceStr", json!("X"))),
        (
            "unknown prepay",
            params(
                "wx2023112315000000000000000000000000",
                now(),
                MERCHANT_PRIVATE,
            ),
        ),
        (
            "not a JSAPI order",
            params(&native_prepay, now(), MERCHANT_PRIVATE),
        ),
    ];
    for (case, p) in cases {
        let answer = pay_over_http(&rig, &p);
        assert_eq!(answer.status, 400, "{case}");
        assert_eq!(
            answer.body["err_msg"], "get_brand_wcpay_request:fail",
            "{case}"
        );
        assert!(answer.body["reason"].is_string());
        assert!(rig.sim.jsapi_pay(&p).is_err(), "{case}");
    }
    assert_eq!(rig.sim.order(&no).unwrap().trade_state, TradeState::NotPay);
    assert_eq!(rig.sim.jsapi_pay(&good), Ok(()));
    assert_eq!(rig.sim.order(&no).unwrap().trade_state, TradeState::Success);
}

#[test]
fn the_cancel_fault_closes_the_sheet_unpaid() {
    let rig = rig();
    let (no, prepay_id) = jsapi_order(&rig);
    rig.sim.set_faults(Faults {
        jsapi_cancel: true,
        ..Faults::default()
    });
    let answer = pay_over_http(&rig, &params(&prepay_id, now(), MERCHANT_PRIVATE));
    assert_eq!(answer.body["err_msg"], "get_brand_wcpay_request:cancel");
    assert_eq!(rig.sim.order(&no).unwrap().trade_state, TradeState::NotPay);
}

#[test]
fn the_bridge_script_and_preflight_are_served() {
    let rig = rig();
    let origin = rig.sim.origin();
    let script = send("GET", &format!("{origin}/__sim/jsbridge.js"), &[], None);
    assert_eq!(script.status, 200);
    assert!(script
        .header("Content-Type")
        .unwrap()
        .contains("javascript"));
    assert!(script.text.contains("WeixinJSBridge") && script.text.contains("getBrandWCPayRequest"));
    assert!(script.text.contains(&format!("\"{origin}\"")));
    let preflight = send("OPTIONS", &format!("{origin}/__sim/jsapi/pay"), &[], None);
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("Access-Control-Allow-Origin"), Some("*"));
    assert!(preflight
        .header("Access-Control-Allow-Methods")
        .unwrap()
        .contains("POST"));
}
