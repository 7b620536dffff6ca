//! Payment notifications: signed, encrypted, retried until acknowledged, and the faults on them.

use std::time::Duration;

use serde_json::{json, Value};

use super::{eventually, merchant, rig, API_V3_KEY, PLATFORM_PRIVATE, PLATFORM_PUBLIC, PUB_KEY_ID};
use crate::http::Request;
use crate::util::unix_seconds;
use crate::wechat::crypto::{decrypt_resource, response_message, verify_sha256_rsa, SCHEME};
use crate::wechat::{build_notification, Faults};

/// Checks a delivered notification's signature and returns (envelope, decrypted plaintext).
fn open(request: &Request) -> (Value, Value) {
    let body = request.body_text();
    let header = |name: &str| {
        request
            .header(name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(header("Wechatpay-Serial"), PUB_KEY_ID);
    assert_eq!(header("Wechatpay-Signature-Type"), SCHEME);
    assert!(header("Content-Type").starts_with("application/json"));
    let message = response_message(
        header("Wechatpay-Timestamp"),
        header("Wechatpay-Nonce"),
        &body,
    );
    assert!(verify_sha256_rsa(
        PLATFORM_PUBLIC,
        &message,
        header("Wechatpay-Signature")
    ));
    let envelope: Value = serde_json::from_str(&body).unwrap();
    let resource = &envelope["resource"];
    let plain = decrypt_resource(
        API_V3_KEY,
        resource["nonce"].as_str().unwrap(),
        resource["associated_data"].as_str().unwrap(),
        resource["ciphertext"].as_str().unwrap(),
    )
    .expect("the resource decrypts");
    (envelope, serde_json::from_str(&plain).unwrap())
}

#[test]
fn a_payment_notification_decrypts_to_the_transaction() {
    let rig = rig();
    let receiver = merchant(&[200]);
    let no = rig.native_to(1234, &receiver.url());
    rig.sim.approve(&no).unwrap();
    assert!(rig.sim.wait_acknowledged(&no, Duration::from_secs(3)));
    let requests = receiver.wait_for(1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/hooks/wechat")
    );
    let (envelope, plain) = open(&requests[0]);
    assert_eq!(envelope["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["summary"], "支付成功");
    assert_eq!(envelope["resource"]["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(envelope["resource"]["original_type"], "transaction");
    assert_eq!(envelope["resource"]["nonce"].as_str().unwrap().len(), 12);
    assert!(envelope["create_time"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    assert_eq!(
        plain,
        rig.query(&no).body,
        "the plaintext is the transaction as queried"
    );
    assert_eq!(plain["trade_state"], "SUCCESS");
    let deliveries = rig.sim.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(
        deliveries[0].notification_id,
        envelope["id"].as_str().unwrap()
    );
    assert_eq!(
        (deliveries[0].attempt, deliveries[0].status),
        (1, Some(200))
    );
}

#[test]
fn unacknowledged_notifications_are_retried_with_the_same_id_and_body() {
    let rig = rig();
    let receiver = merchant(&[500, 404, 204]);
    let no = rig.native_to(100, &receiver.url());
    rig.sim.approve(&no).unwrap();
    assert!(rig.sim.wait_acknowledged(&no, Duration::from_secs(3)));
    let requests = receiver.wait_for(3);
    let bodies: Vec<String> = requests.iter().map(Request::body_text).collect();
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "same body every time"
    );
    let nonces: Vec<&str> = requests
        .iter()
        .map(|r| r.header("Wechatpay-Nonce").unwrap())
        .collect();
    assert!(
        nonces[0] != nonces[1] && nonces[1] != nonces[2],
        "freshly signed each time"
    );
    requests.iter().for_each(|r| drop(open(r)));
    let deliveries = rig.sim.deliveries();
    let summary: Vec<(u32, Option<u16>, bool)> = deliveries
        .iter()
        .map(|d| (d.attempt, d.status, d.acknowledged))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, Some(500), false),
            (2, Some(404), false),
            (3, Some(204), true)
        ]
    );
    assert!(deliveries
        .iter()
        .all(|d| d.notification_id == deliveries[0].notification_id));
    // No more attempts after the acknowledgement.
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(receiver.requests().len(), 3);
}

#[test]
fn retries_stop_when_the_schedule_runs_out() {
    let rig = rig();
    let no = rig.native_to(100, "http://127.0.0.1:9/unreachable");
    rig.sim.approve(&no).unwrap();
    eventually("six attempts", || rig.sim.deliveries().len() == 6);
    std::thread::sleep(Duration::from_millis(150));
    let deliveries = rig.sim.deliveries();
    assert_eq!(deliveries.len(), 6, "one attempt and five retries");
    assert!(deliveries
        .iter()
        .all(|d| d.status.is_none() && d.error.is_some()));
    assert!(!rig.sim.wait_acknowledged(&no, Duration::from_millis(10)));
}

#[test]
fn duplicate_notifications_are_byte_identical() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        duplicate_notifications: true,
        ..Faults::default()
    });
    let receiver = merchant(&[200]);
    let no = rig.native_to(100, &receiver.url());
    rig.sim.approve(&no).unwrap();
    let requests = receiver.wait_for(2);
    assert_eq!(requests[0].body, requests[1].body);
    let mut headers = [requests[0].headers.clone(), requests[1].headers.clone()];
    headers.iter_mut().for_each(|h| h.sort());
    assert_eq!(headers[0], headers[1]);
    eventually("both recorded", || rig.sim.deliveries().len() == 2);
    let copies: Vec<u32> = rig.sim.deliveries().iter().map(|d| d.copy).collect();
    assert_eq!(copies, vec![1, 2]);
}

#[test]
fn withheld_notifications_never_arrive() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        withhold_notifications: true,
        ..Faults::default()
    });
    let receiver = merchant(&[200]);
    let no = rig.native_to(100, &receiver.url());
    rig.sim.approve(&no).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(receiver.requests().is_empty() && rig.sim.deliveries().is_empty());
    assert_eq!(
        rig.query(&no).body["trade_state"],
        "SUCCESS",
        "querying still tells"
    );
}

#[test]
fn notify_before_return_delivers_before_approve_returns() {
    let mut config = super::config();
    config.notify_delay = Duration::from_secs(60);
    let rig = super::rig_with(config);
    rig.sim.set_faults(Faults {
        notify_before_return: true,
        ..Faults::default()
    });
    let receiver = merchant(&[200]);
    let no = rig.native_to(100, &receiver.url());
    rig.sim.approve(&no).unwrap();
    assert_eq!(receiver.requests().len(), 1);
    assert!(rig.sim.deliveries()[0].acknowledged);
}

#[test]
fn faulty_notifications_carry_bad_or_stale_signatures() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        bad_response_signature: true,
        ..Faults::default()
    });
    let receiver = merchant(&[200]);
    let no = rig.native_to(100, &receiver.url());
    rig.sim.approve(&no).unwrap();
    let request = receiver.wait_for(1).remove(0);
    let message = response_message(
        request.header("Wechatpay-Timestamp").unwrap(),
        request.header("Wechatpay-Nonce").unwrap(),
        &request.body_text(),
    );
    let signature = request.header("Wechatpay-Signature").unwrap();
    assert!(!verify_sha256_rsa(PLATFORM_PUBLIC, &message, signature));

    rig.sim.set_faults(Faults {
        stale_timestamp: true,
        ..Faults::default()
    });
    let no = rig.native_to(100, &receiver.url());
    rig.sim.approve(&no).unwrap();
    let request = receiver.wait_for(2).remove(1);
    let (_, plain) = open(&request);
    assert_eq!(plain["out_trade_no"], no.as_str());
    let ts: i64 = request
        .header("Wechatpay-Timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let now = unix_seconds();
    assert!((now - ts - 600).abs() <= 2);
}

#[test]
fn built_notifications_verify_and_decrypt() {
    let plaintext =
        json!({"out_trade_no": "pay_forged_1", "trade_state": "SUCCESS", "amount": {"total": 1}});
    let n = build_notification(
        PLATFORM_PRIVATE,
        PUB_KEY_ID,
        API_V3_KEY,
        "TRANSACTION.SUCCESS",
        "transaction",
        &plaintext,
        1_700_000_000,
    );
    assert_eq!(n.header("Wechatpay-Timestamp"), Some("1700000000"));
    let request = Request {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: n.headers.clone(),
        body: n.body.clone().into_bytes(),
    };
    let (envelope, plain) = open(&request);
    assert_eq!(plain, plaintext);
    assert_eq!(envelope["create_time"], "2023-11-15T06:13:20+08:00");
}
