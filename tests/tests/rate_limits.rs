//! Rate limits against the Worker in `wrangler dev`, at their real settings.
//!
//! Token grants and pay attempts are counted by Workers' rate-limiting binding, which Miniflare
//! emulates: `wrangler.toml`'s `[[ratelimits]]` (60 per address, 10 per session, a 60-second
//! window per key that rolls over on the clock; a refused call is not counted). Its numbers can
//! only come from `wrangler.toml`, so these tests send the real counts, start at the beginning
//! of a window so a burst does not straddle a roll-over, and wait for the next window to see the
//! recovery. Wrong pay passwords per address are the exact `RateLimiter` object, with a small
//! limit and a 3-second sliding window set by Worker variables. Each limit trips with `429
//! rate_limited`, says when to come back (`Retry-After` and `retry_after_s`), leaves other
//! addresses and sessions alone, and recovers.
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

/// The coarse limits of `wrangler.toml` (`edge/src/rate_limit.rs` keeps the same numbers).
const PER_ADDRESS: usize = 60;
const PER_SESSION: usize = 10;
/// Their window, which rolls over every `COARSE_WINDOW_S` seconds of the clock.
const COARSE_WINDOW_S: u64 = 60;
/// The exact wrong-password limit's window in these tests.
const WRONG_PASSWORD_WINDOW_S: u64 = 3;

/// A Worker with `vars` on top of the defaults.
fn rig(label: &str, vars: &[(&str, &str)]) -> Rig {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
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

/// Checks a `429`: its message, and when it says to come back (within `window_s`).
#[track_caller]
fn assert_limited(reply: &Reply, says: &str, window_s: u64) {
    assert_refused(reply, 429, "rate_limited");
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
    let retry_after_s = reply.body["error"]["retry_after_s"]
        .as_u64()
        .expect("retry_after_s");
    assert!(
        (1..=window_s).contains(&retry_after_s),
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

/// Sleeps until every hit counted before `last_hit` has left the exact window.
fn wait_out_window(last_hit: Instant) {
    let until =
        last_hit + Duration::from_secs(WRONG_PASSWORD_WINDOW_S) + Duration::from_millis(300);
    std::thread::sleep(until.saturating_duration_since(Instant::now()));
}

/// Seconds since the epoch, as the Worker's clock reads them (same machine).
fn clock_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Waits, if needed, so at least `needed_s` of the current coarse window are left.
fn window_with_room(needed_s: f64) {
    let left = COARSE_WINDOW_S as f64 - clock_s() % COARSE_WINDOW_S as f64;
    if left < needed_s {
        next_window();
    }
}

/// Waits for the next coarse window (a little past its boundary).
fn next_window() {
    let left = COARSE_WINDOW_S as f64 - clock_s() % COARSE_WINDOW_S as f64;
    std::thread::sleep(Duration::from_secs_f64(left + 0.5));
}

#[test]
fn token_grants_trip_per_address_and_per_session_then_recover() {
    let rig = rig("rate-tokens", &[]);
    let (_, secret) = session(&rig, "order-rt-1", "cus_rt");
    let (_, other_secret) = session(&rig, "order-rt-2", "cus_rt");
    window_with_room(25.0);

    // Per session: ten grants, each from its own address, then the eleventh is refused.
    for n in 0..PER_SESSION {
        token_from(&rig, &format!("198.51.100.{n}"), &secret);
    }
    let per_session = grant_from(&rig, "198.51.100.200", &secret);
    assert_limited(&per_session, "for this order", COARSE_WINDOW_S);
    // Another session is not affected.
    token_from(&rig, "198.51.100.201", &other_secret);

    // Per address: every try counts, a wrong secret too.
    for _ in 0..PER_ADDRESS {
        assert_refused(
            &grant_from(&rig, "203.0.113.7", "nonsense"),
            401,
            "invalid_client_secret",
        );
    }
    let per_address = grant_from(&rig, "203.0.113.7", &other_secret);
    assert_limited(&per_address, "from your network", COARSE_WINDOW_S);
    // Another address is not affected.
    token_from(&rig, "203.0.113.8", &other_secret);

    // Both recover in the next window.
    next_window();
    token_from(&rig, "203.0.113.7", &other_secret);
    token_from(&rig, "198.51.100.202", &secret);
}

#[test]
fn pay_attempts_trip_per_session_then_recover() {
    let rig = rig("rate-pay", &[]);
    rig.fund("cus_rp_a", "10.00", "seed-cus_rp_a");
    let (a, secret) = session(&rig, "order-rp-a", "cus_rp_a");
    let token = token_from(&rig, "192.0.2.1", &secret);
    window_with_room(25.0);

    // Ten attempts, each from its own address: the first pays, the nine repeats of the same
    // idempotency key answer the same payment. The eleventh is refused before the session.
    for n in 0..PER_SESSION {
        let reply = pay_from(
            &rig,
            &format!("192.0.2.{n}"),
            &a,
            &token,
            "rp-a-0001",
            PAY_PASSWORD,
        );
        assert_eq!(reply.expect_status(200).body["status"], "paid");
    }
    let limited = pay_from(&rig, "192.0.2.200", &a, &token, "rp-a-0002", PAY_PASSWORD);
    assert_limited(&limited, "for this order", COARSE_WINDOW_S);
    assert_eq!(rig.available("cus_rp_a"), "9.00", "paid once");

    next_window();
    let again = pay_from(&rig, "192.0.2.200", &a, &token, "rp-a-0002", PAY_PASSWORD);
    // Counted again, and through to the session, which is paid.
    assert_refused(&again, 409, "session_not_open");
    assert_eq!(rig.available("cus_rp_a"), "9.00", "still paid once");
}

#[test]
fn wrong_passwords_trip_per_address_then_recover() {
    let window = WRONG_PASSWORD_WINDOW_S.to_string();
    let rig = rig(
        "rate-wrong-password",
        &[
            ("RATE_WRONG_PASSWORD_PER_IP", "2"),
            ("RATE_WRONG_PASSWORD_WINDOW_S", &window),
        ],
    );
    for customer in ["cus_rw_a", "cus_rw_b", "cus_rw_c"] {
        rig.fund(customer, "10.00", &format!("seed-{customer}"));
    }
    let open = |order: &str, customer: &str, ip: &str| {
        let (id, secret) = session(&rig, order, customer);
        let token = token_from(&rig, ip, &secret);
        (id, token)
    };

    // Two wrong passwords from 192.0.2.1 at wallet a.
    let (a, a_token) = open("order-rw-a", "cus_rw_a", "192.0.2.1");
    for n in 0..2 {
        let wrong = pay_from(
            &rig,
            "192.0.2.1",
            &a,
            &a_token,
            &format!("rw-a-{n:04}"),
            "000000",
        );
        assert_refused(&wrong, 402, "incorrect_pay_password");
    }
    // So it may not try another wallet's, right or wrong, and that wallet never saw the try.
    let (b, b_token) = open("order-rw-b", "cus_rw_b", "192.0.2.1");
    let blocked = pay_from(&rig, "192.0.2.1", &b, &b_token, "rw-b-0001", PAY_PASSWORD);
    assert_limited(&blocked, "incorrect pay passwords", WRONG_PASSWORD_WINDOW_S);
    let last_hit = Instant::now();
    let view = common::widget_read(&rig, &b, &b_token, ORIGIN).expect_status(200);
    assert_eq!(view.body["balance"]["attempts_left"], 5, "{:#}", view.body);
    // Another address pays.
    let (c, c_token) = open("order-rw-c", "cus_rw_c", "192.0.2.2");
    let paid = pay_from(&rig, "192.0.2.2", &c, &c_token, "rw-c-0001", PAY_PASSWORD);
    assert_eq!(paid.expect_status(200).body["status"], "paid");

    wait_out_window(last_hit);
    let paid = pay_from(&rig, "192.0.2.1", &b, &b_token, "rw-b-0002", PAY_PASSWORD);
    assert_eq!(paid.expect_status(200).body["status"], "paid");
    let paid = pay_from(&rig, "192.0.2.1", &a, &a_token, "rw-a-0003", PAY_PASSWORD);
    assert_eq!(paid.expect_status(200).body["status"], "paid");
}
