//! The gateway: request signatures checked like WeChat's, every answer signed, and the faults
//! that break answer signatures.

use std::time::Instant;

use serde_json::json;

use super::{
    native_body, rig, trade_no, WechatAnswer, MCHID, MERCHANT_PRIVATE, MERCHANT_SERIAL, PUB_KEY_ID,
};
use crate::util::unix_seconds as now;
use crate::wechat::crypto::{authorization_value, request_message, sign_sha256_rsa, SCHEME};
use crate::wechat::Faults;

const NATIVE: &str = "/v3/pay/transactions/native";

/// An `Authorization` for `body` with chosen serial and timestamp, signed by `key`.
fn auth(serial: &str, timestamp: i64, key: &str, body: &str) -> String {
    let (ts, nonce) = (timestamp.to_string(), "593BEC0C930BF1AFEB40B4A08C8FB242");
    let signature = sign_sha256_rsa(key, &request_message("POST", NATIVE, &ts, nonce, body));
    authorization_value(MCHID, serial, nonce, &ts, &signature)
}

#[test]
fn a_signed_prepay_succeeds_and_its_answer_verifies() {
    let rig = rig();
    let answer = rig.call("POST", NATIVE, Some(&native_body(&trade_no(), 100)));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let code_url = answer.body["code_url"].as_str().unwrap();
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{code_url}"
    );
    assert!(answer.signature_verifies());
    assert_eq!(answer.header("Wechatpay-Serial"), Some(PUB_KEY_ID));
    assert_eq!(answer.header("Wechatpay-Signature-Type"), Some(SCHEME));
    assert_eq!(answer.header("Wechatpay-Nonce").unwrap().len(), 32);
    let ts: i64 = answer
        .header("Wechatpay-Timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!((now() - ts).abs() <= 2);
    assert!(answer.header("Request-ID").is_some());
}

#[test]
fn bad_signatures_serials_and_timestamps_are_sign_errors() {
    let rig = rig();
    let body = native_body(&trade_no(), 100).to_string();
    let (platform_key, own_key) = (super::PLATFORM_PRIVATE, MERCHANT_PRIVATE);
    // Each header is made just before its call: made all at once, the earlier calls' time
    // (RSA on a busy machine) brought the "future" one back inside the 300 s window. The future
    // one is 302 s ahead so that the simulator's clock turning one second between signing and
    // checking leaves it outside the window.
    let cases: [(&str, &dyn Fn() -> String); 7] = [
        ("wrong key", &|| {
            auth(MERCHANT_SERIAL, now(), platform_key, &body)
        }),
        ("wrong serial", &|| {
            auth(&"0".repeat(40), now(), own_key, &body)
        }),
        ("stale", &|| {
            auth(MERCHANT_SERIAL, now() - 301, own_key, &body)
        }),
        ("future", &|| {
            auth(MERCHANT_SERIAL, now() + 302, own_key, &body)
        }),
        ("other body", &|| {
            auth(MERCHANT_SERIAL, now(), own_key, "{}")
        }),
        ("other scheme", &|| {
            format!("Bearer {}", auth(MERCHANT_SERIAL, now(), own_key, &body))
        }),
        ("other mchid", &|| {
            auth(MERCHANT_SERIAL, now(), own_key, &body).replace(MCHID, "1900000001")
        }),
    ];
    for (case, header) in cases {
        let header = header();
        let answer = rig.call_with("POST", NATIVE, Some(&body), Some(&header));
        assert_eq!(
            (answer.status, answer.code()),
            (401, "SIGN_ERROR"),
            "{case}: {}",
            answer.text
        );
        assert!(answer.signature_verifies(), "{case}: errors are signed too");
    }
    let missing = rig.call_with("POST", NATIVE, Some(&body), None);
    assert_eq!((missing.status, missing.code()), (401, "SIGN_ERROR"));
    // The same request, well signed, passes: only the faults above were wrong.
    let good = auth(MERCHANT_SERIAL, now() - 200, own_key, &body);
    assert_eq!(
        rig.call_with("POST", NATIVE, Some(&body), Some(&good))
            .status,
        200
    );
}

#[test]
fn the_query_string_is_part_of_what_is_signed() {
    let rig = rig();
    let no = rig.native(100);
    let path = format!("/v3/pay/transactions/out-trade-no/{no}?mchid={MCHID}");
    assert_eq!(rig.call("GET", &path, None).status, 200);
    let ts = now().to_string();
    let nonce = "N".repeat(32);
    let signed_without_query = sign_sha256_rsa(
        MERCHANT_PRIVATE,
        &request_message(
            "GET",
            &format!("/v3/pay/transactions/out-trade-no/{no}"),
            &ts,
            &nonce,
            "",
        ),
    );
    let header = authorization_value(MCHID, MERCHANT_SERIAL, &nonce, &ts, &signed_without_query);
    assert_eq!(rig.call_with("GET", &path, None, Some(&header)).status, 401);
}

#[test]
fn a_post_needs_a_json_content_type() {
    let rig = rig();
    let body = native_body(&trade_no(), 100).to_string();
    let header = auth(MERCHANT_SERIAL, now(), MERCHANT_PRIVATE, &body);
    let url = format!("{}{NATIVE}", rig.sim.base_url());
    let headers = [
        ("Authorization", header.as_str()),
        ("Content-Type", "text/plain"),
    ];
    let answer = super::send("POST", &url, &headers, Some(&body));
    assert_eq!(
        (answer.status, answer.code()),
        (400, "PARAM_ERROR"),
        "{}",
        answer.text
    );
}

#[test]
fn unknown_paths_are_signed_not_found() {
    let rig = rig();
    let answer = rig.call("GET", "/v3/pay/transactions/nowhere/x?mchid=1", None);
    assert_eq!((answer.status, answer.code()), (404, "NOT_FOUND"));
    assert!(answer.signature_verifies());
}

#[test]
fn faults_break_answer_signatures_and_timestamps() {
    let rig = rig();
    let no = rig.native(100);
    rig.sim.set_faults(Faults {
        bad_response_signature: true,
        ..Faults::default()
    });
    let answer = rig.query(&no);
    assert_eq!(answer.status, 200);
    assert!(answer.header("Wechatpay-Signature").is_some());
    assert!(!answer.signature_verifies());

    rig.sim.set_faults(Faults {
        stale_timestamp: true,
        ..Faults::default()
    });
    let answer = rig.query(&no);
    assert!(
        answer.signature_verifies(),
        "signed over the stale timestamp"
    );
    let ts: i64 = answer
        .header("Wechatpay-Timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert!((now() - ts - 600).abs() <= 2, "ten minutes old: {ts}");

    rig.sim.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(rig.query(&no).status, 200);
    assert!(started.elapsed().as_millis() >= 300);
}

#[test]
fn faults_merge_through_the_control_route() {
    let rig = rig();
    let url = format!("{}/__sim/faults", rig.sim.origin());
    let answer = super::send(
        "POST",
        &url,
        &[],
        Some(&json!({"stale_timestamp": true}).to_string()),
    );
    assert_eq!(answer.status, 200);
    let merged = super::send(
        "POST",
        &url,
        &[],
        Some(&json!({"latency_ms": 5}).to_string()),
    );
    assert_eq!(merged.body["stale_timestamp"], true);
    assert_eq!(rig.sim.faults().latency_ms, 5);
    assert_eq!(super::send("POST", &url, &[], Some("[1]")).status, 400);
    assert_eq!(
        super::send("DELETE", &url, &[], None).body["stale_timestamp"],
        false
    );
}
