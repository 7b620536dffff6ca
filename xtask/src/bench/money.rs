//! The money routes the workerd section adds beside `routes.rs`'s: the card webhook
//! (`POST /v1/notifications/stripe`) and the bKash callback (`GET /v1/callbacks/bkash/{id}`),
//! each set up as a provider would reach it, and the per-request CPU pass
//! ([`sequential`]) that bounds every money route's p99.
//!
//! - **Card webhook.** Per session: a card payment started through the Worker (which creates the
//!   Checkout Session at the Stripe simulator), the card paid on the simulator's page
//!   ([`RunningStripe::pay`]), and the simulator's own `checkout.session.completed` event for
//!   that Checkout Session re-signed by the bench with the endpoint secret (Stripe's scheme,
//!   docs.stripe.com/webhooks/signatures: HMAC-SHA256 over `"{t}.{body}"`) under a fresh event
//!   id, signed in advance so the load generator's HMAC does not share the run. The first event
//!   of a session settles it (the session re-reads the Checkout Session at the simulator); a
//!   repeat about a settled session is the duplicate Stripe is allowed to send.
//! - **bKash callback.** Per session: a bKash payment started through the Worker (token grant
//!   and `create` at the bKash simulator), approved on the simulator's page
//!   ([`RunningBkash::approve`], which answers the callback URL with `status=success`); the
//!   measured request is the shopper's browser following it, which makes the session `execute`
//!   at the simulator and settle.
//!
//! [`RunningStripe::pay`]: checkout_simulators::stripe::RunningStripe::pay
//! [`RunningBkash::approve`]: checkout_simulators::bkash::RunningBkash::approve

use std::sync::Mutex;
use std::time::{Duration, Instant};

use checkout_simulators::bkash::RunningBkash;
use checkout_simulators::stripe::control::PayRequest;
use checkout_simulators::stripe::webhook::sign;
use checkout_tests::api::{Client, Reply};
use checkout_tests::providers::Stripe;
use serde_json::{json, Value};

use super::load::{self, Request};
use super::workerd::Workerd;
use crate::shell::Result;

/// The page origin the sessions' tokens are granted to (the demo merchant allows it).
const ORIGIN: &str = checkout_tests::dev_vars::DEMO_ALLOWED_ORIGIN;
/// bKash's published sandbox wallet with a large balance (the simulator holds ৳100,000 in it).
const RICH_WALLET: &str = "01770618575";

/// Requests of the per-request CPU pass, per route and server (p99 = the 2nd largest of 100).
pub const SEQUENTIAL: usize = 100;

/// The Durable Object calls and subrequests of the routes this file adds, read from the code
/// paths (edge/src/handlers/notifications.rs and callbacks.rs, edge/src/objects/session), as
/// `routes::calls` does for the others; `None` for another route.
pub fn calls(route: &str) -> Option<&'static str> {
    Some(match route {
        "POST /v1/notifications/wechat/{id} (settles)" => {
            "1 from the Worker: Session(ProviderNotification) (RSA verify and AES-GCM decrypt in the Worker first); in Session: no subrequest (the notification carries the transaction) -> Reconciler(Track: no longer pending) -> Webhooks(Enqueue)"
        }
        "POST /v1/notifications/stripe (settles)" => {
            "1 from the Worker: Session(ProviderNotification) (HMAC checked in the Worker first); in Session: 1 subrequest (GET the Checkout Session at Stripe) -> Reconciler(Track: no longer pending) -> Webhooks(Enqueue)"
        }
        "POST /v1/notifications/stripe (repeat)" => {
            "1: Worker: Session(ProviderNotification); nothing else, no subrequest (the settled leg is not asked again)"
        }
        "GET /v1/callbacks/bkash/{id}" => {
            "1 from the Worker: Session(ProviderCallback); in Session: 1 subrequest (execute at bKash; BkashToken(token) first only without a fresh copy in the isolate) -> Reconciler(Track: no longer pending) -> Webhooks(Enqueue)"
        }
        _ => return None,
    })
}

/// A WeChat notification ready to post: its path, headers and body.
pub type WechatNotification = (String, Vec<(String, String)>, String);

/// `sessions` WeChat Pay sessions with a payment under way (prepay at the WeChat simulator
/// through the Worker), and one signed, encrypted `TRANSACTION.SUCCESS` notification each, built
/// by the simulator's own `build_notification` with the platform key and the APIv3 key, in
/// advance (so the load generator's RSA does not share the run). Each settles its session.
pub fn wechat_settling(
    client: &Client,
    key: &str,
    tag: &str,
    sessions: usize,
) -> Result<Vec<WechatNotification>> {
    let keys = checkout_tests::dev_vars::DevVars::of_repo().wechat;
    let mut prepared = Vec::with_capacity(sessions);
    for n in 0..sessions {
        let session = expect_ok(
            client
                .call("POST", "/v1/checkout_sessions")
                .bearer(key)
                .json(&json!({
                    "order_id": format!("bench-wechat-{tag}-{n}"), "amount": "88.00",
                    "currency": "CNY", "description": "bench", "customer_id": "cus_bench_wechat",
                    "methods": ["wechat_pay"], "return_url": "https://shop.example/done"
                })),
        )?;
        let (id, token) = grant(client, &session, 40_000 + n)?;
        expect_ok(
            client
                .call("POST", format!("/v1/widget/sessions/{id}/pay"))
                .bearer(&token)
                .header("Origin", ORIGIN)
                .header("CF-Connecting-IP", &client_ip(41_000 + n))
                .header("Idempotency-Key", &format!("bench-wechat-{tag}-{n}"))
                .json(&json!({"method": "wechat_pay"})),
        )?;
        let view = expect_ok(
            client
                .call("GET", format!("/v1/checkout_sessions/{id}"))
                .bearer(key)
                .send(),
        )?;
        let out_trade_no = view.body["payments"][0]["id"].as_str().unwrap_or_default();
        let transaction = json!({
            "mchid": keys.mchid, "appid": keys.appid, "out_trade_no": out_trade_no,
            "transaction_id": format!("42000009852026112358{n:08}"), "trade_type": "NATIVE",
            "trade_state": "SUCCESS", "success_time": "2026-11-23T18:00:00+08:00",
            "payer": {"openid": "oBench"},
            "amount": {"total": 8800, "payer_total": 8800, "currency": "CNY"}
        });
        let notification = checkout_simulators::wechat::build_notification(
            &keys.platform_private_key_pem,
            &keys.platform_public_key_id,
            &keys.api_v3_key,
            "TRANSACTION.SUCCESS",
            "transaction",
            &transaction,
            unix_now(),
        );
        prepared.push((
            format!("/v1/notifications/wechat/{id}"),
            notification.headers.clone(),
            notification.body.clone(),
        ));
    }
    Ok(prepared)
}

/// The request posting a prepared WeChat notification.
pub fn wechat_request((path, headers, body): &WechatNotification, ip: usize) -> Request {
    let mut headers = headers.clone();
    headers.push(("CF-Connecting-IP".to_owned(), client_ip(50_000 + ip)));
    Request {
        method: "POST",
        path: path.clone(),
        headers,
        body: Some(body.clone()),
    }
}

/// A card webhook signed and ready to post: `(Stripe-Signature, body)`.
pub type Webhook = (String, String);

/// `sessions` card sessions paid on the Stripe simulator: their `checkout.session.completed`
/// events (one per session, in session order), to sign with [`signed`].
pub fn card_webhooks(
    client: &Client,
    key: &str,
    stripe: &Stripe,
    tag: &str,
    sessions: usize,
) -> Result<Vec<Value>> {
    let mut paid = Vec::with_capacity(sessions);
    for n in 0..sessions {
        let session = expect_ok(client.call("POST", "/v1/checkout_sessions").bearer(key).json(
            &json!({
                "order_id": format!("bench-card-{tag}-{n}"), "amount": "88.00", "currency": "BDT",
                "description": "bench", "customer_id": "cus_bench_card", "methods": ["card"],
                "return_url": "https://shop.example/done"
            }),
        ))?;
        let (id, token) = grant(client, &session, 20_000 + n)?;
        let paying = expect_ok(
            client
                .call("POST", format!("/v1/widget/sessions/{id}/pay"))
                .bearer(&token)
                .header("Origin", ORIGIN)
                .header("CF-Connecting-IP", &client_ip(21_000 + n))
                .header("Idempotency-Key", &format!("bench-card-{tag}-{n}"))
                .json(&json!({"method": "card"})),
        )?;
        let url = paying.body["next_action"]["url"]
            .as_str()
            .unwrap_or_default();
        let checkout_session = url.rsplit('/').next().unwrap_or_default().to_owned();
        stripe
            .pay(&checkout_session, &PayRequest::default())
            .map_err(|e| format!("the Stripe simulator's page refused the card: {e}"))?;
        paid.push(checkout_session);
    }
    // The simulator's events, read once (each read copies them all).
    let mut completed: std::collections::HashMap<String, Value> = stripe
        .events()
        .into_iter()
        .filter(|e| e["type"] == "checkout.session.completed")
        .filter_map(|e| Some((e["data"]["object"]["id"].as_str()?.to_owned(), e)))
        .collect();
    let mut events = Vec::with_capacity(sessions);
    for checkout_session in paid {
        let event = completed.remove(&checkout_session).ok_or_else(|| {
            format!("the Stripe simulator made no checkout.session.completed event for {checkout_session}")
        })?;
        events.push(event);
    }
    Ok(events)
}

/// `events` re-signed with the endpoint secret, `per_event` times each under fresh ids, at `now`.
pub fn signed(stripe: &Stripe, events: &[Value], tag: &str, per_event: usize) -> Vec<Webhook> {
    let now = unix_now();
    let mut out = Vec::with_capacity(events.len() * per_event);
    for round in 0..per_event {
        for (n, event) in events.iter().enumerate() {
            let mut event = event.clone();
            event["id"] = json!(format!("evt_bench_{tag}_{round}_{n}"));
            let body = event.to_string();
            let header = format!("t={now},v1={}", sign(stripe.webhook_secret(), now, &body));
            out.push((header, body));
        }
    }
    out
}

/// The request posting a prepared webhook.
pub fn webhook_request((header, body): &Webhook, ip: usize) -> Request {
    Request {
        method: "POST",
        path: "/v1/notifications/stripe".to_owned(),
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("Stripe-Signature".to_owned(), header.clone()),
            ("CF-Connecting-IP".to_owned(), client_ip(ip)),
        ],
        body: Some(body.clone()),
    }
}

/// `sessions` bKash sessions approved on the simulator: the callback path of each (as the
/// shopper's browser follows it back to the Worker).
pub fn bkash_callbacks(
    client: &Client,
    key: &str,
    bkash: &RunningBkash,
    tag: &str,
    sessions: usize,
) -> Result<Vec<String>> {
    let mut paths = Vec::with_capacity(sessions);
    for n in 0..sessions {
        let session = expect_ok(client.call("POST", "/v1/checkout_sessions").bearer(key).json(
            &json!({
                "order_id": format!("bench-bkash-{tag}-{n}"), "amount": "10.00", "currency": "BDT",
                "description": "bench", "customer_id": "cus_bench_bkash", "methods": ["bkash"],
                "return_url": "https://shop.example/done"
            }),
        ))?;
        let (id, token) = grant(client, &session, 30_000 + n)?;
        let paying = expect_ok(
            client
                .call("POST", format!("/v1/widget/sessions/{id}/pay"))
                .bearer(&token)
                .header("Origin", ORIGIN)
                .header("CF-Connecting-IP", &client_ip(31_000 + n))
                .header("Idempotency-Key", &format!("bench-bkash-{tag}-{n}"))
                .json(&json!({"method": "bkash"})),
        )?;
        let url = paying.body["next_action"]["url"]
            .as_str()
            .unwrap_or_default();
        let payment_id = url.split("paymentID=").nth(1).unwrap_or_default();
        let payment_id = payment_id.split('&').next().unwrap_or_default();
        let callback = bkash
            .approve(payment_id, RICH_WALLET)
            .map_err(|e| format!("the bKash simulator refused the approval: {e:?}"))?;
        let at = callback
            .find("/v1/callbacks/")
            .ok_or_else(|| format!("the callback {callback} does not lead to the Worker"))?;
        paths.push(callback[at..].to_owned());
    }
    Ok(paths)
}

/// One request's figures in the sequential pass.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub latency: Duration,
    /// workerd's CPU from this request's start to the next one's (see [`sequential`]).
    pub cpu: Duration,
}

/// One route's sequential pass.
struct Pass {
    worker: &'static str,
    route: &'static str,
    samples: Vec<Sample>,
    failures: Vec<u16>,
}

/// The passes of this run, printed by [`print`].
static PASSES: Mutex<Vec<Pass>> = Mutex::new(Vec::new());

/// The per-request CPU pass: `count` requests (`make(0..count)`) one at a time, on one
/// keep-alive connection, recording each request's latency and **workerd's CPU time over the
/// request**: the sum of `sum_exec_runtime` (the first field of proc(5)'s
/// `/proc/<pid>/task/<tid>/schedstat`, nanoseconds on CPU) over all of workerd's threads, read
/// at the start of each request; a request's CPU is the difference to the next request's start
/// (the last one's to a read 50 ms after its answer), so work workerd finishes after answering
/// (an output gate's write, the log line) counts for the request that caused it. workerd is
/// pinned to its own core and nothing else is sent to it meanwhile, so this is that request's
/// CPU in workerd (its Durable Objects included, as they run in the same process), user and
/// kernel; the providers' simulators are other processes and are not in it. The neighbours on
/// a shared core add wait (latency), not CPU.
pub fn sequential(
    server: &Workerd,
    worker: &'static str,
    route: &'static str,
    count: usize,
    expected: u16,
    make: impl Fn(usize) -> Request,
) -> Result {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .max_idle_connections_per_host(1)
        .redirects(0)
        .build();
    let pid = server.pid();
    let mut starts = Vec::with_capacity(count + 1);
    let mut latencies = Vec::with_capacity(count);
    let mut failures = Vec::new();
    for n in 0..count {
        let request = make(n);
        starts.push(cpu_ns(pid)?);
        let t = Instant::now();
        let status = load::send(&agent, &server.base_url, &request);
        latencies.push(t.elapsed());
        if status != expected {
            failures.push(status);
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    starts.push(cpu_ns(pid)?);
    let samples = latencies
        .iter()
        .zip(starts.windows(2))
        .map(|(latency, w)| Sample {
            latency: *latency,
            cpu: Duration::from_nanos(w[1].saturating_sub(w[0])),
        })
        .collect();
    PASSES.lock().expect("lock").push(Pass {
        worker,
        route,
        samples,
        failures,
    });
    Ok(())
}

/// workerd's CPU so far, in nanoseconds: every thread's time on CPU.
pub(super) fn cpu_ns(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))?;
    let mut total = 0;
    for task in tasks.flatten() {
        let path = task.path().join("schedstat");
        // A thread may end between the listing and the read.
        if let Ok(text) = std::fs::read_to_string(&path) {
            total += run_time_ns(&text).unwrap_or(0);
        }
    }
    Ok(total)
}

/// The first field of a `schedstat` line: time spent on the CPU, in nanoseconds.
fn run_time_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// Nearest-rank quantile of `values` (sorted here), in milliseconds.
fn quantile_ms(values: &mut [Duration], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let rank = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len());
    values[rank - 1].as_secs_f64() * 1000.0
}

/// The table of every sequential pass so far.
pub fn print() {
    let passes = PASSES.lock().expect("lock");
    if passes.is_empty() {
        return;
    }
    println!(
        "\nper-request CPU of the money routes ({SEQUENTIAL} requests each, one at a time on one connection; \
         CPU = workerd's on-CPU time, all threads, from /proc/<pid>/task/*/schedstat, from one request's start to the next's: \
         that request's own CPU in workerd, its Durable Objects included, the simulators not)"
    );
    println!("| worker | route | requests | failed | p50 latency ms | p99 latency ms | p50 CPU ms | p99 CPU ms | max CPU ms |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for pass in passes.iter() {
        let mut latency: Vec<Duration> = pass.samples.iter().map(|s| s.latency).collect();
        let mut cpu: Vec<Duration> = pass.samples.iter().map(|s| s.cpu).collect();
        println!(
            "| {} | `{}` | {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} |",
            pass.worker,
            pass.route,
            pass.samples.len(),
            pass.failures.len(),
            quantile_ms(&mut latency, 0.50),
            quantile_ms(&mut latency, 0.99),
            quantile_ms(&mut cpu, 0.50),
            quantile_ms(&mut cpu, 0.99),
            quantile_ms(&mut cpu, 1.0),
        );
    }
}

fn grant(client: &Client, session: &Reply, ip: usize) -> Result<(String, String)> {
    let secret = session.body["client_secret"].as_str().unwrap_or_default();
    let reply = expect_ok(
        client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .header("CF-Connecting-IP", &client_ip(ip))
            .json(&json!({ "client_secret": secret })),
    )?;
    Ok((
        session.body["id"].as_str().unwrap_or_default().to_owned(),
        reply.body["token"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// A distinct client address per number, in a range of its own (`11.x.y.z`).
fn client_ip(n: usize) -> String {
    format!("11.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn expect_ok(reply: Reply) -> Result<Reply> {
    if reply.status == 200 {
        Ok(reply)
    } else {
        Err(format!(
            "bench set-up failed: {} {}",
            reply.status, reply.body
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_run_time_is_its_first_field() {
        assert_eq!(run_time_ns("253070020 29012107 69\n"), Some(253_070_020));
        assert_eq!(run_time_ns(""), None);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut values: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(quantile_ms(&mut values, 0.50), 50.0);
        assert_eq!(quantile_ms(&mut values, 0.99), 99.0);
        assert_eq!(quantile_ms(&mut values, 1.0), 100.0);
        assert_eq!(quantile_ms(&mut [], 0.5), 0.0);
    }

    #[test]
    fn the_added_routes_have_their_calls() {
        for route in [
            "POST /v1/notifications/wechat/{id} (settles)",
            "POST /v1/notifications/stripe (settles)",
            "POST /v1/notifications/stripe (repeat)",
            "GET /v1/callbacks/bkash/{id}",
        ] {
            assert!(calls(route).is_some(), "{route}");
        }
        assert!(calls("GET /healthz").is_none());
    }
}
