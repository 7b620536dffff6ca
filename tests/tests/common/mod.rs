//! Helpers shared by the integration test files: credits, wallet lines, widget calls, checks.
#![allow(dead_code)] // Each test file uses its own subset.

pub mod rigs;

use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body, Checkout, Rig, PAY_PASSWORD};
use serde_json::{json, Value};

/// Unix seconds now, as the Worker's clock sees it.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_secs() as i64
}

/// Asserts an error answer: its status, its stable code, and a message a person can read.
#[track_caller]
pub fn assert_refused(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "status: {:#}", reply.body);
    assert_eq!(reply.code(), code, "code: {:#}", reply.body);
    let message = reply.body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.len() >= 10 && message.contains(' '),
        "no human message: {:#}",
        reply.body
    );
    assert!(
        reply
            .header("Request-Id")
            .is_some_and(|id| id.starts_with("req_")),
        "no Request-Id on {:?}",
        reply.headers
    );
}

/// A session body with one field replaced.
pub fn body_with(order_id: &str, field: &str, value: Value) -> Value {
    let mut body = session_body(order_id, "10.00", "cus_body");
    body[field] = value;
    body
}

/// Creates a session with `key` (any merchant, any mode).
pub fn create_with_key(rig: &Rig, key: &str, body: &Value) -> Reply {
    rig.client
        .call("POST", "/v1/checkout_sessions")
        .bearer(key)
        .json(body)
}

/// Credits `customer` with `key`, without setting a pay password.
pub fn credit(
    rig: &Rig,
    key: &str,
    customer: &str,
    amount: &str,
    currency: &str,
    reference: &str,
) -> Reply {
    rig.client
        .call("POST", format!("/v1/customers/{customer}/balance_credits"))
        .bearer(key)
        .json(&json!({"amount": amount, "currency": currency, "reference": reference}))
}

/// The whole wallet as the merchant behind `key` sees it.
pub fn wallet(rig: &Rig, key: &str, customer: &str) -> Value {
    rig.client
        .call("GET", format!("/v1/customers/{customer}/wallet"))
        .bearer(key)
        .send()
        .expect_status(200)
        .body
}

/// The `available` amount of one currency in the wallet, `None` when the wallet has no line
/// for it (never credited in that currency).
pub fn available_in(rig: &Rig, key: &str, customer: &str, currency: &str) -> Option<String> {
    let wallet = wallet(rig, key, customer);
    let lines = wallet["balances"].as_array().expect("balances is a list");
    lines
        .iter()
        .find(|line| line["currency"] == currency)
        .map(|line| {
            line["available"]
                .as_str()
                .expect("a decimal string")
                .to_owned()
        })
}

/// The demo merchant's test-mode BDT balance of `customer`, which must exist.
#[track_caller]
pub fn bdt(rig: &Rig, customer: &str) -> String {
    available_in(rig, &rig.key(), customer, "BDT")
        .unwrap_or_else(|| panic!("{customer} has no BDT line"))
}

/// `POST /v1/widget/token` with `secret`, from `origin` or with no Origin header.
pub fn grant(rig: &Rig, origin: Option<&str>, secret: &str) -> Reply {
    let mut call = rig.client.call("POST", "/v1/widget/token");
    if let Some(origin) = origin {
        call = call.header("Origin", origin);
    }
    call.json(&json!({ "client_secret": secret }))
}

/// `GET /v1/widget/sessions/{id}` with `token` from `origin`.
pub fn widget_read(rig: &Rig, session_id: &str, token: &str, origin: &str) -> Reply {
    rig.client
        .call("GET", format!("/v1/widget/sessions/{session_id}"))
        .bearer(token)
        .header("Origin", origin)
        .send()
}

/// A balance payment of `session_id` with an arbitrary token and origin.
pub fn pay_as(rig: &Rig, session_id: &str, token: &str, origin: &str, key: &str) -> Reply {
    rig.client
        .call("POST", format!("/v1/widget/sessions/{session_id}/pay"))
        .bearer(token)
        .from_frame_of(origin)
        .header("Idempotency-Key", key)
        .json(&json!({"method": "balance", "pay_password": PAY_PASSWORD}))
}

/// A funded customer (with [`PAY_PASSWORD`]) and an open session for them, token from [`ORIGIN`].
pub fn funded_checkout(rig: &Rig, customer: &str, funds: &str, amount: &str) -> Checkout {
    rig.fund(customer, funds, &format!("seed-{customer}"));
    rig.checkout(&format!("order-{customer}"), amount, customer)
}

/// Runs `f(n)` for `n` in `0..count` on `count` threads released together, and returns the
/// results in order of `n`.
pub fn all_at_once<T: Send>(count: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let gate = std::sync::Barrier::new(count);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|n| {
                let (gate, f) = (&gate, &f);
                scope.spawn(move || {
                    gate.wait();
                    f(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer panicked"))
            .collect()
    })
}

/// `"paid"` for a 200, else the error code (or the bare status when there is none).
pub fn outcome(reply: &Reply) -> String {
    match (reply.status, reply.code()) {
        (200, _) => "paid".to_owned(),
        (status, "") => format!("status {status}"),
        (_, code) => code.to_owned(),
    }
}

/// Today's UTC date as `YYYY-MM-DD` (the day a report of today asks for).
pub fn today() -> String {
    let days = now_s().div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Asserts the merchant's view of a 100.00 session paid by the split the split tests make:
/// 300 points (30.00) and 20.00 of balance, with `external` paying the other 50.00.
#[track_caller]
pub fn assert_paid_by_split(view: &Value, external: &str) {
    assert_eq!(view["status"], "paid", "{view:#}");
    assert_eq!(view["amount_paid"], "100.00");
    assert_eq!(
        view["payments"][0]["legs"],
        json!([
            {"method": "points", "amount": "30.00", "status": "succeeded", "points": 300},
            {"method": "balance", "amount": "20.00", "status": "succeeded"},
            {"method": external, "amount": "50.00", "status": "succeeded"}
        ])
    );
}

/// Asserts the wallet of a customer seeded with 100.00 and 1,000 points once that split is
/// posted: 700 points and 80.00 left, no points held.
#[track_caller]
pub fn assert_split_posted(wallet: &Value) {
    assert_eq!(wallet["points"], json!({"available": 700, "held": 0}));
    assert_eq!(wallet["balances"][0]["available"], "80.00");
}

/// Asserts the Worker's answer to a shopper sent back by a provider: a redirect to the shop's
/// return URL naming the session.
#[track_caller]
pub fn assert_back_to_shop(back: &Reply) {
    assert_eq!(back.status, 303, "{}", back.body);
    let location = back.header("Location").unwrap();
    assert!(
        location.starts_with("https://shop.example/done?checkout_session=cs_"),
        "{location}"
    );
}
