//! `cargo xtask bench`: what the shopper downloads (beside Adyen Web's drop-in) and how soon the
//! widget is interactive, what Cloudflare receives, what WeChat Pay's cryptography costs, and how
//! fast the Worker answers. It prints figures; it asserts nothing. Record them in
//! docs/benchmarks.md.
//!
//! The Worker's figures come first from workerd itself, as deployed (`routes.rs`: the bundle in
//! workerd on one core, a load generator on the other, beside hello-world Workers), then, as a
//! secondary section, through `wrangler dev` (Node and Miniflare's proxy in front).
//! `cargo xtask bench workerd` runs the workerd section alone, on the Worker already built
//! (`cargo xtask build edge`; `BENCH_BASELINE=<a copy of edge/build>` runs that build too, in
//! the same run; `BENCH_ONLY=money` runs only the notification routes: the WeChat notification,
//! the card webhook and the bKash callback; `BENCH_ONLY=pay` the payments (balance; points +
//! balance) and then those; `BENCH_ONLY=push` only the pushed status beside the poll it replaces,
//! `push.rs`); `cargo xtask bench wrangler` the `wrangler dev` one alone;
//! `cargo xtask bench size` the first view's size alone, on the widget already built
//! (`cargo xtask build widget`); `cargo xtask bench tti` its time to interactive alone (`BENCH_TTI_HOLD_S=<s>`: no timing, the
//! Worker kept up that long for a browser traced by hand);
//! `cargo xtask bench crypto` the WeChat Pay and Stripe webhook cryptography alone;
//! `cargo xtask bench profile` CPU profiles of the hot routes (`BENCH_PROFILE_LIMITS=on`: with
//! the rate limits on); `BENCH_STORAGE=memory`: workerd keeps the objects' SQLite files on
//! `/dev/shm`, so their commits do not cost this VM's disk (`workerd.rs`); `cargo xtask bench count` the
//! storage calls (SQL statements, alarm calls) of a payment and a settling notification, counted
//! (`count.rs`); `cargo xtask bench growth` (`BENCH_GROWTH=polls`: the polls alone)
//! (opt-in, minutes) whether a
//! payment's and a poll's cost grows with history.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkout_tests::api::{Client, Reply};
use checkout_tests::dev_vars::DevVars;
use checkout_tests::providers;
use checkout_tests::worker::{wrangler_command, WorkerOptions, WorkerProcess};
use serde_json::json;

use crate::shell::{root, Result};
use crate::{build, setup};

mod count;
mod load;
mod money;
mod profile;
mod push;
mod routes;
mod size;
mod stripe;
mod tti;
mod wechat;
mod workerd;

/// Concurrent connections of the load generator.
const CONCURRENCY: usize = 8;
/// Requests per load run: bounded, so the bench stops by itself.
const SESSION_READS: usize = 2_000;
const PAYMENTS: usize = 240;
/// Payments spread over this many wallets (one Durable Object each).
const WALLETS: usize = 8;
const ORIGIN: &str = "https://shop.example";

pub fn run(args: &[String]) -> Result {
    match args.first().map(String::as_str) {
        Some("workerd") => {
            routes::build_hello()?;
            print_machine();
            return routes::run();
        }
        // The first view's size alone, from the widget as last built (`cargo xtask build widget`).
        Some("size") => return size::first_view(),
        Some("profile") => {
            print_machine();
            return profile::run(&args[1..]);
        }
        // The WeChat Pay and Stripe webhook cryptography alone (wasm beside WebCrypto, in Node).
        Some("crypto") => return wechat::crypto(),
        // The storage calls of a balance payment and a settling WeChat notification, counted.
        Some("count") => return count::run(),
        Some("growth") => {
            print_machine();
            return routes::growth();
        }
        // Time to interactive alone, on the widget and Worker already built.
        Some("tti") => {
            print_machine();
            return time_to_interactive_alone();
        }
        Some("wrangler") => {
            print_machine();
            return wrangler_dev();
        }
        Some(other) => {
            return Err(format!(
                "cargo xtask bench [size|tti|workerd|profile|count|crypto|growth|wrangler]: not {other}"
            ))
        }
        None => {}
    }
    setup::run(setup::Needs::Everything)?;
    build::run()?;
    routes::build_hello()?;
    print_machine();
    size::first_view()?;
    worker_upload_size()?;
    wechat::crypto()?;
    routes::run()?;
    wrangler_dev()
}

/// The secondary section: the Worker through `wrangler dev`, as before the workerd section.
fn wrangler_dev() -> Result {
    println!("\nthrough wrangler dev (secondary: Node and Miniflare's proxy in front of workerd)");
    let persist = checkout_tests::temp_dir("bench");
    let vars = DevVars::of_repo();
    // Notifications and webhooks are posted by the bench itself, not by the simulators.
    let sim = withheld_wechat(&vars);
    let stripe = providers::start_stripe(0);
    // One load generator is one client address: the rate limits would throttle it.
    let mut worker_vars = checkout_tests::worker::rate_limits_off();
    worker_vars.extend(providers::wechat_worker_vars(&sim));
    worker_vars.extend(providers::stripe_worker_vars(&stripe));
    let options = WorkerOptions {
        vars: worker_vars,
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&persist, options);
    let client = Client::new(&worker.base_url);
    let key = vars.merchant("m_demo").test_key().to_owned();
    tti::time_to_interactive(&client, &worker.base_url, &key)?;
    session_reads(&client, &key)?;
    payments(&client, &key)?;
    wechat::notifications(&client, &key)?;
    stripe::webhooks(&client, &key, &stripe)?;
    Ok(())
}

/// `cargo xtask bench tti`: the widget's time to interactive against `wrangler dev`, alone.
fn time_to_interactive_alone() -> Result {
    let persist = checkout_tests::temp_dir("bench-tti");
    let vars = DevVars::of_repo();
    let options = WorkerOptions {
        vars: checkout_tests::worker::rate_limits_off(),
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&persist, options);
    let client = Client::new(&worker.base_url);
    tti::time_to_interactive(
        &client,
        &worker.base_url,
        vars.merchant("m_demo").test_key(),
    )
}

/// The Worker variables for a bench section whose rate limits `switch` (an environment variable)
/// turns on: at their defaults with `switch=on` (nothing to set), all off otherwise; and whether
/// they are on.
fn rate_limit_vars(switch: &str) -> (bool, Vec<(String, String)>) {
    if std::env::var(switch).is_ok_and(|v| v == "on") {
        (true, Vec::new())
    } else {
        (false, checkout_tests::worker::rate_limits_off())
    }
}

/// The date, the machine, and what else is using its CPUs (figures on a shared machine are only
/// comparable with the same neighbours).
fn print_machine() {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = crate::shell::output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "bench on {date}, {cpus} CPUs, {}, load average {}; workerd's object storage {}",
        std::env::consts::ARCH,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        if workerd::storage_in_memory() {
            "in memory (BENCH_STORAGE=memory)"
        } else {
            "on disk"
        }
    );
    // top's second frame: CPU over the last second (its first counts from each process's start).
    let top = crate::shell::output(
        "top",
        &["-b", "-n", "2", "-d", "1", "-o", "%CPU", "-w", "200"],
    )
    .unwrap_or_default();
    let frame = top.rsplit("  PID ").next().unwrap_or_default();
    let busiest: Vec<String> = frame
        .lines()
        .skip(1)
        .take(6)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or("?");
            format!("{} {}%", field(11), field(8))
        })
        .collect();
    println!("busiest processes over one second: {}", busiest.join(", "));
}

/// `wrangler deploy --dry-run` bundles exactly what would be uploaded, offline.
fn worker_upload_size() -> Result {
    let out_dir = checkout_tests::temp_dir("bench-deploy");
    let output = wrangler_command(&root())
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&out_dir)
        .output()
        .map_err(|e| format!("wrangler: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let line = text
        .lines()
        .find(|l| l.contains("Total Upload"))
        .ok_or_else(|| format!("wrangler deploy --dry-run printed no upload size:\n{text}"))?;
    println!("\nworker upload: {}", line.trim());
    Ok(())
}

fn session_reads(client: &Client, key: &str) -> Result {
    let session = create_session(client, key, "bench-read", "cus_bench_read")?;
    let token = token_for(client, &session)?;
    let path = format!("/v1/widget/sessions/{}", session_id(&session));
    let latencies = load(SESSION_READS, |_| {
        let reply = client
            .call("GET", path.as_str())
            .bearer(&token)
            .header("Origin", ORIGIN)
            .send();
        reply.status == 200
    });
    report(
        "widget session read (GET /v1/widget/sessions/{id})",
        &latencies,
    );
    Ok(())
}

fn payments(client: &Client, key: &str) -> Result {
    for wallet in 0..WALLETS {
        let customer = format!("cus_bench_{wallet}");
        expect_ok(
            client
                .call("POST", format!("/v1/customers/{customer}/balance_credits"))
                .bearer(key)
                .json(
                    &json!({"amount": "100000.00", "currency": "BDT", "reference": "bench-fund"}),
                ),
        )?;
        expect_ok(
            client
                .call("PUT", format!("/v1/customers/{customer}/pay_password"))
                .bearer(key)
                .json(&json!({"pay_password": "123456"})),
        )?;
    }
    let mut prepared = Vec::with_capacity(PAYMENTS);
    for n in 0..PAYMENTS {
        let customer = format!("cus_bench_{}", n % WALLETS);
        let session = create_session(client, key, &format!("bench-pay-{n}"), &customer)?;
        let token = token_for(client, &session)?;
        prepared.push((session_id(&session), token));
    }
    let latencies = load(PAYMENTS, |n| {
        let (id, token) = &prepared[n];
        let reply = client
            .call("POST", format!("/v1/widget/sessions/{id}/pay"))
            .bearer(token)
            .from_frame_of(ORIGIN)
            .header("Idempotency-Key", &format!("bench-key-{n:06}"))
            .json(&json!({"method": "balance", "pay_password": "123456"}));
        reply.status == 200
    });
    report(
        "balance payment (POST .../pay, PBKDF2 included)",
        &latencies,
    );
    Ok(())
}

/// Runs `count` requests over [`CONCURRENCY`] threads; returns each latency, or panics on errors.
fn load(count: usize, request: impl Fn(usize) -> bool + Sync) -> (Vec<Duration>, Duration, usize) {
    let next = Arc::new(Mutex::new(0_usize));
    let results = Mutex::new(Vec::with_capacity(count));
    let failures = Mutex::new(0_usize);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            scope.spawn(|| loop {
                let n = {
                    let mut next = next.lock().expect("lock");
                    let n = *next;
                    *next += 1;
                    n
                };
                if n >= count {
                    return;
                }
                let t = Instant::now();
                let ok = request(n);
                results.lock().expect("lock").push(t.elapsed());
                if !ok {
                    *failures.lock().expect("lock") += 1;
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let failures = *failures.lock().expect("lock");
    (results.into_inner().expect("lock"), elapsed, failures)
}

fn report(name: &str, (latencies, elapsed, failures): &(Vec<Duration>, Duration, usize)) {
    let mut sorted = latencies.clone();
    sorted.sort_unstable();
    let pct = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    println!("\n{name}");
    println!(
        "  {} requests, {CONCURRENCY} connections, {:.1} s: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {failures} failed",
        sorted.len(),
        elapsed.as_secs_f64(),
        sorted.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
    );
}

fn create_session(client: &Client, key: &str, order: &str, customer: &str) -> Result<Reply> {
    expect_ok(client.call("POST", "/v1/checkout_sessions").bearer(key).json(&json!({
        "order_id": order, "amount": "10.00", "currency": "BDT", "description": "bench",
        "customer_id": customer, "methods": ["balance"], "return_url": "https://shop.example/done"
    })))
}

fn token_for(client: &Client, session: &Reply) -> Result<String> {
    let secret = session.body["client_secret"].as_str().unwrap_or_default();
    let reply = expect_ok(
        client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .json(&json!({ "client_secret": secret })),
    )?;
    Ok(reply.body["token"].as_str().unwrap_or_default().to_owned())
}

fn session_id(session: &Reply) -> String {
    session.body["id"].as_str().unwrap_or_default().to_owned()
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

/// A WeChat Pay simulator that answers the Worker's orders but withholds its own notifications:
/// the bench posts them, signed, when it means to.
pub(super) fn withheld_wechat(vars: &DevVars) -> checkout_simulators::wechat::RunningWechat {
    let wechat = providers::start_wechat(vars, 0);
    wechat.set_faults(checkout_simulators::wechat::Faults {
        withhold_notifications: true,
        ..Default::default()
    });
    wechat
}
