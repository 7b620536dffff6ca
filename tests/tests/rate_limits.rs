//! Rate limits against the Worker in workerd, with small limits and a 3-second window set by
//! Worker variables: token grants per address and per session, pay attempts per session, wrong
//! pay passwords per address. Each limit trips with `429 rate_limited`, says when to come back
//! (`Retry-After` and `retry_after_s`), leaves other addresses and sessions alone, and recovers
//! once the window has passed.
//!
//! Addresses are set with `CF-Connecting-IP`, which `wrangler dev` keeps when the caller sends it
//! (on Cloudflare the edge sets it).

mod common;

use std::time::{Duration, Instant};

use checkout_tests::api::Reply;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures::{session_body, Rig, ORIGIN, PAY_PASSWORD};
use checkout_tests::temp_dir;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use common::assert_refused;
use serde_json::json;

const WINDOW_S: u64 = 3;

/// A Worker with `limits` (name, max) and a [`WINDOW_S`] window for all of them.
fn rig(label: &str, limits: &[(&str, &str)]) -> Rig {
    let mut vars: Vec<(String, String)> = limits
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    vars.push(("RATE_WINDOW_S".into(), WINDOW_S.to_string()));
    vars.push(("RATE_WRONG_PASSWORD_WINDOW_S".into(), WINDOW_S.to_string()));
    let options = WorkerOptions {
        vars,
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&temp_dir(label), options);
    let client = checkout_tests::api::Client::new(&worker.base_url);
    Rig {
        worker,
        client,
        vars: DevVars::of_repo(),
    }
}

/// A new session's client secret.
fn session(rig: &Rig, order: &str, customer: &str) -> (String, String) {
    let created = rig
        .create_session(&session_body(order, "1.00", customer))
        .expect_status(200);
    let id = created.body["id"].as_str().unwrap().to_owned();
    (
        id,
        created.body["client_secret"].as_str().unwrap().to_owned(),
    )
}

fn grant_from(rig: &Rig, ip: &str, secret: &str) -> Reply {
    rig.client
        .call("POST", "/v1/widget/token")
        .header("Origin", ORIGIN)
        .header("CF-Connecting-IP", ip)
        .json(&json!({ "client_secret": secret }))
}

fn token_from(rig: &Rig, ip: &str, secret: &str) -> String {
    let reply = grant_from(rig, ip, secret).expect_status(200);
    reply.body["token"].as_str().unwrap().to_owned()
}

fn pay_from(rig: &Rig, ip: &str, session: &str, token: &str, key: &str, password: &str) -> Reply {
    rig.client
        .call("POST", format!("/v1/widget/sessions/{session}/pay"))
        .bearer(token)
        .from_frame_of(ORIGIN)
        .header("CF-Connecting-IP", ip)
        .header("Idempotency-Key", key)
        .json(&json!({"method": "balance", "pay_password": password}))
}

/// Checks a `429`: its message, and when it says to come back (within the window).
#[track_caller]
fn assert_limited(reply: &Reply, says: &str) {
    assert_refused(reply, 429, "rate_limited");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
    let retry_after_s = reply.body["error"]["retry_after_s"]
        .as_u64()
        .expect("retry_after_s");
    assert!(
        (1..=WINDOW_S).contains(&retry_after_s),
        "retry_after_s {retry_after_s}"
    );
    assert_eq!(
        reply.header("Retry-After"),
        Some(retry_after_s.to_string().as_str())
    );
    // The page's origin for a token grant; the Worker's own for a payment, which the pay-password
    // frame sends.
    let allowed = reply
        .header("Access-Control-Allow-Origin")
        .unwrap_or_default();
    assert!(
        allowed == ORIGIN || allowed.starts_with("http://127.0.0.1:"),
        "{allowed}"
    );
}

/// Sleeps until every hit counted before `last_hit` has left the window.
fn wait_out_window(last_hit: Instant) {
    let until = last_hit + Duration::from_secs(WINDOW_S) + Duration::from_millis(300);
    std::thread::sleep(until.saturating_duration_since(Instant::now()));
}

#[test]
fn token_grants_trip_per_address_and_per_session_then_recover() {
    let rig = rig(
        "rate-tokens",
        &[("RATE_TOKEN_PER_IP", "3"), ("RATE_TOKEN_PER_SESSION", "2")],
    );
    let (_, secret) = session(&rig, "order-rt-1", "cus_rt");

    // Per address: every try counts, a wrong secret too.
    assert_refused(
        &grant_from(&rig, "203.0.113.7", "nonsense"),
        401,
        "invalid_client_secret",
    );
    token_from(&rig, "203.0.113.7", &secret);
    assert_refused(
        &grant_from(&rig, "203.0.113.7", "nonsense"),
        401,
        "invalid_client_secret",
    );
    let limited = grant_from(&rig, "203.0.113.7", &secret);
    assert_limited(&limited, "from your network");
    // Another address is not affected.
    token_from(&rig, "203.0.113.8", &secret);
    assert_limited(
        &grant_from(&rig, "203.0.113.7", &secret),
        "from your network",
    );

    // Per session: the session has had two grants, so a third from a fresh address is refused.
    let per_session = grant_from(&rig, "198.51.100.1", &secret);
    assert_limited(&per_session, "for this order");
    let (_, other_secret) = session(&rig, "order-rt-2", "cus_rt");
    token_from(&rig, "198.51.100.1", &other_secret);

    // Both recover once the window has passed.
    wait_out_window(Instant::now());
    token_from(&rig, "203.0.113.7", &other_secret);
    token_from(&rig, "198.51.100.2", &secret);
}

#[test]
fn pay_attempts_and_wrong_passwords_trip_then_recover() {
    let rig = rig(
        "rate-pay",
        &[
            ("RATE_PAY_PER_SESSION", "2"),
            ("RATE_WRONG_PASSWORD_PER_IP", "2"),
        ],
    );
    for customer in ["cus_rp_a", "cus_rp_b", "cus_rp_c"] {
        rig.fund(customer, "10.00", &format!("seed-{customer}"));
    }
    let open = |order: &str, customer: &str, ip: &str| {
        let (id, secret) = session(&rig, order, customer);
        let token = token_from(&rig, ip, &secret);
        (id, token)
    };

    // Per session: two attempts, then the third is refused before it reaches the wallet.
    let (a, a_token) = open("order-rp-a", "cus_rp_a", "192.0.2.1");
    for n in 0..2 {
        let wrong = pay_from(
            &rig,
            "192.0.2.1",
            &a,
            &a_token,
            &format!("rp-a-{n:04}"),
            "000000",
        );
        assert_refused(&wrong, 402, "incorrect_pay_password");
    }
    let limited = pay_from(&rig, "192.0.2.1", &a, &a_token, "rp-a-0002", PAY_PASSWORD);
    assert_limited(&limited, "for this order");
    let view = common::widget_read(&rig, &a, &a_token, ORIGIN).expect_status(200);
    assert_eq!(
        view.body["balance"]["attempts_left"], 3,
        "the refused attempt never reached the wallet: {:#}",
        view.body
    );

    // Per address: 192.0.2.1 has had two wrong passwords, so it may not try another wallet's.
    let (b, b_token) = open("order-rp-b", "cus_rp_b", "192.0.2.1");
    let blocked = pay_from(&rig, "192.0.2.1", &b, &b_token, "rp-b-0001", PAY_PASSWORD);
    assert_limited(&blocked, "incorrect pay passwords");
    // Another address pays.
    let (c, c_token) = open("order-rp-c", "cus_rp_c", "192.0.2.2");
    let paid = pay_from(&rig, "192.0.2.2", &c, &c_token, "rp-c-0001", PAY_PASSWORD);
    assert_eq!(paid.expect_status(200).body["status"], "paid");

    wait_out_window(Instant::now());
    let paid = pay_from(&rig, "192.0.2.1", &a, &a_token, "rp-a-0003", PAY_PASSWORD);
    assert_eq!(paid.expect_status(200).body["status"], "paid");
    let paid = pay_from(&rig, "192.0.2.1", &b, &b_token, "rp-b-0002", PAY_PASSWORD);
    assert_eq!(paid.expect_status(200).body["status"], "paid");
}
