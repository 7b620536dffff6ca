//! The merchant API against the Worker in workerd: session creation, keys, and the isolation of
//! merchants and of test and live modes.

mod common;

use std::collections::HashSet;

use checkout_tests::fixtures::{session_body, Rig};
use common::{assert_refused, available_in, create_with_key, credit, now_s};
use serde_json::json;

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn a_created_session_is_open_and_repeating_the_order_returns_it_unchanged() {
    let rig = Rig::start("api-create");
    let body = session_body("order-100", "100.50", "cus_create");
    let first = rig.create_session(&body).expect_status(200);
    let s = &first.body;
    let id = s["id"].as_str().unwrap();
    let hex = id.strip_prefix("cs_").expect("cs_ prefix");
    assert!(hex.len() == 64 && is_lower_hex(hex), "{id}");
    let secret = s["client_secret"].as_str().unwrap();
    let tail = secret
        .strip_prefix(&format!("{id}_secret_"))
        .expect("{id}_secret_");
    // `{merchant}.{valid until}.{MAC}`: the merchant names the origins allowed to open it, and
    // the MAC (HMAC-SHA256, base64url) lets the token grant check it without the session.
    let rest = tail
        .strip_prefix("m_demo.")
        .expect("the merchant id, then a dot");
    let (until, mac) = rest.split_once('.').expect("valid until, then the MAC");
    assert!(until.parse::<i64>().is_ok(), "{until}");
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    assert!(mac.len() == 43 && mac.bytes().all(base64url), "{mac}");
    assert_eq!(
        (&s["status"], &s["amount"], &s["currency"], &s["livemode"]),
        (
            &json!("open"),
            &json!("100.50"),
            &json!("BDT"),
            &json!(false)
        )
    );
    assert_eq!(
        (&s["amount_paid"], &s["payments"]),
        (&json!("0.00"), &json!([]))
    );
    let created = s["created_at"].as_i64().unwrap();
    assert!((created - now_s()).abs() <= 60, "created_at {created}");
    assert_eq!(s["expires_at"].as_i64().unwrap() - created, 1800);
    assert_eq!(first.header("Cache-Control"), Some("no-store"));

    let again = rig.create_session(&body).expect_status(200);
    assert_eq!(again.body["id"], s["id"]);
    assert_eq!(again.body["client_secret"], s["client_secret"]);
    assert_eq!(again.body["created_at"], s["created_at"]);

    let changes = [
        ("amount", json!("100.51")),
        ("currency", json!("CNY")),
        ("description", json!("Coffee")),
        ("customer_id", json!("cus_someone_else")),
        ("return_url", json!("https://shop.example/other")),
        ("expires_in_s", json!(600)),
    ];
    for (field, value) in changes {
        let mut changed = body.clone();
        changed[field] = value;
        assert_refused(&rig.create_session(&changed), 409, "order_conflict");
    }
    let stored = rig.merchant_view(id);
    assert_eq!(
        (&stored["amount"], &stored["description"]),
        (&json!("100.50"), &json!("Tea"))
    );

    let mut short = session_body("order-short", "500", "cus_create");
    short["currency"] = json!("JPY");
    short["expires_in_s"] = json!(300);
    let jpy = rig.create_session(&short).expect_status(200);
    assert_eq!(
        (&jpy.body["amount"], &jpy.body["amount_paid"]),
        (&json!("500"), &json!("0"))
    );
    let lifetime =
        jpy.body["expires_at"].as_i64().unwrap() - jpy.body["created_at"].as_i64().unwrap();
    assert_eq!(lifetime, 300);
    assert_ne!(jpy.body["id"], s["id"]);
}

#[test]
fn concurrent_creates_of_one_order_make_exactly_one_session() {
    let rig = Rig::start("api-create-race");
    let body = session_body("order-race", "12.00", "cus_race");
    let replies = common::all_at_once(6, |_| rig.create_session(&body));
    let ids: HashSet<String> = replies
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r.clone().expect_status(200).body["id"],
                r.body["client_secret"]
            )
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");

    // Different bodies racing for one new order: one wins, the rest conflict.
    let outcomes = common::all_at_once(4, |n| {
        let body = session_body("order-race-2", &format!("{}.00", n + 1), "c");
        let reply = rig.create_session(&body);
        (reply.status, reply.code().to_owned())
    });
    let won = outcomes.iter().filter(|(status, _)| *status == 200).count();
    let conflicts = outcomes
        .iter()
        .filter(|(_, c)| c == "order_conflict")
        .count();
    assert_eq!((won, conflicts), (1, 3), "{outcomes:?}");
}

#[test]
fn a_missing_wrong_or_malformed_key_is_401_on_every_merchant_route() {
    let rig = Rig::start("api-keys");
    let real = rig.key();
    let session = rig.checkout("order-keys", "10.00", "cus_keys");
    let bad_keys = [
        None,
        Some("Bearer ".to_owned()),
        Some("Bearer sk_test_thisisnotarealkeythisisnotarealkey".to_owned()),
        Some(format!("Bearer {}", &real[..real.len() - 1])),
        Some(format!("Bearer {real}x")),
        Some(format!("Basic {real}")),
        Some(format!("bearer{real}")),
        Some(format!("Bearer {}", session.token)),
        Some(format!("Bearer {}", session.client_secret)),
    ];
    let routes = [
        ("POST", "/v1/checkout_sessions".to_owned()),
        ("GET", format!("/v1/checkout_sessions/{}", session.id)),
        ("POST", "/v1/customers/cus_keys/balance_credits".to_owned()),
        ("GET", "/v1/customers/cus_keys/wallet".to_owned()),
        ("PUT", "/v1/customers/cus_keys/pay_password".to_owned()),
    ];
    let bodies = [
        session_body("order-keys-2", "10.00", "cus_keys"),
        json!({}),
        json!({"amount": "5.00", "currency": "BDT", "reference": "r-keys"}),
        json!({}),
        json!({"pay_password": "123456"}),
    ];
    for ((method, path), body) in routes.iter().zip(&bodies) {
        for key in &bad_keys {
            let mut call = rig.client.call(method, path.as_str());
            if let Some(value) = key {
                call = call.header("Authorization", value);
            }
            let reply = if *method == "GET" {
                call.send()
            } else {
                call.json(body)
            };
            assert_refused(&reply, 401, "invalid_api_key");
        }
    }
    // Nothing happened under a bad key: no credit, no password, no new session.
    let wallet = common::wallet(&rig, &real, "cus_keys");
    assert_eq!(wallet["balances"], json!([]));
    assert_eq!(wallet["pay_password_set"], false);
    let later = rig.create_session(&session_body("order-keys-2", "99.00", "other"));
    assert_eq!(later.status, 200, "the order id was taken under a bad key");
}

#[test]
fn merchants_never_see_each_others_sessions_or_wallets() {
    let rig = Rig::start("api-merchants");
    let demo = rig.key();
    let other = rig.vars.merchant("m_other").test_key().to_owned();
    let mine = rig.checkout("order-shared", "10.00", "cus_shared");

    let foreign = rig
        .client
        .call("GET", format!("/v1/checkout_sessions/{}", mine.id))
        .bearer(&other)
        .send();
    assert_refused(&foreign, 404, "not_found");
    let unknown = rig
        .client
        .call(
            "GET",
            format!("/v1/checkout_sessions/cs_{}", "0".repeat(64)),
        )
        .bearer(&other)
        .send();
    assert_eq!(
        unknown.body, foreign.body,
        "a foreign session must look like no session"
    );

    // The same order id at the other merchant is another session.
    let theirs = create_with_key(
        &rig,
        &other,
        &session_body("order-shared", "10.00", "cus_shared"),
    )
    .expect_status(200);
    assert_ne!(theirs.body["id"].as_str(), Some(mine.id.as_str()));

    // The same customer id names two wallets, and references are per wallet.
    credit(&rig, &demo, "cus_shared", "50.00", "BDT", "r-1").expect_status(200);
    assert_eq!(available_in(&rig, &other, "cus_shared", "BDT"), None);
    credit(&rig, &other, "cus_shared", "7.00", "BDT", "r-1").expect_status(200);
    assert_eq!(
        available_in(&rig, &other, "cus_shared", "BDT").as_deref(),
        Some("7.00")
    );
    assert_eq!(
        available_in(&rig, &demo, "cus_shared", "BDT").as_deref(),
        Some("50.00")
    );

    // The other merchant's session pays from the other merchant's wallet, never from ours.
    rig.fund("cus_shared", "0.01", "r-2");
    let secret = theirs.body["client_secret"].as_str().unwrap();
    let id = theirs.body["id"].as_str().unwrap();
    let their_origin = "https://other-shop.example";
    let their_token = rig
        .client
        .call("POST", "/v1/widget/token")
        .header("Origin", their_origin)
        .json(&json!({ "client_secret": secret }))
        .expect_status(200);
    let token = their_token.body["token"].as_str().unwrap();
    let their_pay = common::pay_as(&rig, id, token, their_origin, "shared-key-01");
    assert_refused(&their_pay, 409, "pay_password_not_set");
    assert_eq!(common::bdt(&rig, "cus_shared"), "50.01");
}

#[test]
fn live_and_test_keys_act_on_separate_sessions_and_wallets() {
    let rig = Rig::start("api-modes");
    let (test, live) = (rig.key(), rig.vars.merchant("m_demo").live_key().to_owned());
    let live_session = create_with_key(&rig, &live, &session_body("order-mode", "10.00", "cus_m"))
        .expect_status(200);
    assert_eq!(live_session.body["livemode"], true);
    let id = live_session.body["id"].as_str().unwrap();
    let path = format!("/v1/checkout_sessions/{id}");
    assert_refused(
        &rig.client.call("GET", path.as_str()).bearer(&test).send(),
        404,
        "not_found",
    );
    let seen = rig
        .client
        .call("GET", path.as_str())
        .bearer(&live)
        .send()
        .expect_status(200);
    assert_eq!(seen.body["livemode"], true);

    // Live money does not pay a test session, and stays where it is.
    credit(&rig, &live, "cus_m", "100.00", "BDT", "live-1").expect_status(200);
    for key in [&test, &live] {
        rig.client
            .call("PUT", "/v1/customers/cus_m/pay_password")
            .bearer(key)
            .json(&json!({"pay_password": checkout_tests::fixtures::PAY_PASSWORD}))
            .expect_status(200);
    }
    assert_eq!(available_in(&rig, &test, "cus_m", "BDT"), None);
    let test_checkout = rig.checkout("order-mode", "10.00", "cus_m");
    assert_ne!(test_checkout.id, id);
    let refused = rig.pay(
        &test_checkout,
        "mode-key-0001",
        checkout_tests::fixtures::PAY_PASSWORD,
    );
    assert_refused(&refused, 402, "insufficient_balance");
    assert_eq!(
        available_in(&rig, &live, "cus_m", "BDT").as_deref(),
        Some("100.00")
    );
}
