//! The Worker's routes under load in workerd itself (`workerd.rs`), beside a bare workers-rs
//! hello world and a one-line JS one served the same way: workerd pinned to core 0, the load
//! generator (`load.rs`) to core 1, a fixed number of requests each. Per route: requests per
//! second, p50 and p99 latency, workerd's CPU time per request (utime + stime from `/proc` over
//! the run, all its threads), and that CPU as a multiple of the Rust hello world's.
//!
//! Each route runs with the rate limits at their defaults and off (`RATE_*` = 0); the coarse ones
//! are `[[ratelimits]]` bindings, served by our `ratelimit.js` (see `workerd.rs`). One load
//! generator is one machine, so requests carry a `CF-Connecting-IP` (as Cloudflare's edge sets
//! it) that differs per request, and grants and payments are spread over sessions and wallets
//! made in a set-up phase: the limits are checked on every request but none is reached, so the
//! runs measure the checks, not refusals.

use std::time::Duration;

use checkout_simulators::wechat::build_notification;
use checkout_tests::api::{Client, Reply};
use checkout_tests::dev_vars::DevVars;
use checkout_tests::providers;
use checkout_tests::worker::rate_limits_off;
use serde_json::{json, Value};

use super::load::{self, Request, Run};
use super::money::{self, SEQUENTIAL};
use super::workerd::{Bundle, Workerd};
use crate::shell::{read_text, root, run_in, Result};

/// The page origin the sessions' tokens are granted to (the demo merchant allows it).
pub(super) const ORIGIN: &str = checkout_tests::dev_vars::DEMO_ALLOWED_ORIGIN;
pub(super) const PAY_PASSWORD: &str = "135790";

/// Requests per run: bounded, a few seconds each on this machine.
const HELLO_REQUESTS: usize = 4_000;
const HEALTH_REQUESTS: usize = 4_000;
const READ_REQUESTS: usize = 1_500;
/// New sessions (each a new session object) in the creation row.
const CREATES: usize = 300;
/// Polls and merchant reads go round this many sessions (shoppers poll their own session each;
/// one session for all would measure one object's queue).
const READ_SESSIONS: usize = 16;
/// Token grants go to this many sessions, fewer than the per-session limit (10 a window) each.
const TOKEN_SESSIONS: usize = 40;
const GRANTS_PER_SESSION: usize = 9;
// edge/src/rate_limit.rs: 10 grants per session per window by default.
const _: () = assert!(GRANTS_PER_SESSION < 10);
/// One payment per session (a paid session takes no other), over this many wallets.
const PAYMENTS: usize = 96;
// The payments' warm-up (`warm_up_each`) sends at least `4 * CONNECTIONS` requests, one per
// warm-up session, and there are `PAYMENTS` of those.
const _: () = assert!(PAYMENTS >= 4 * load::CONNECTIONS);
const WALLETS: usize = 16;
/// Signed, encrypted WeChat notifications posted per run (one session, applied once, then
/// acknowledged as repeats: each is still verified and decrypted in full).
const NOTIFICATIONS: usize = 300;
/// Card sessions whose `checkout.session.completed` webhook settles them, one each; then
/// [`CARD_REPEATS`] repeats of each (under new event ids) about the settled sessions.
const CARD_SESSIONS: usize = 96;
const CARD_REPEATS: usize = 3;
/// WeChat Pay sessions settled by one notification each.
const WECHAT_SESSIONS: usize = 96;
/// bKash sessions called back once each (the callback executes and settles).
const BKASH_SESSIONS: usize = 96;

/// One measured route.
struct Row {
    worker: &'static str,
    route: &'static str,
    run: Run,
    cpu: Duration,
    calls: &'static str,
}

impl Row {
    fn cpu_ms(&self) -> f64 {
        self.cpu.as_secs_f64() * 1000.0 / self.run.requests().max(1) as f64
    }
}

/// The Durable Object calls each route makes, read from the code paths (edge/src/handlers,
/// edge/src/objects), not observed: "Worker: A -> B" is what the Worker's invocation awaits in
/// turn (`[a + b at once]` together), "in Session: ..." what that object awaits inside its own
/// call. None of these
/// routes fetches anything outside the Worker (external subrequests: 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limits {
    /// The defaults: the coarse limits on the binding, wrong passwords on the exact object.
    On,
    /// The coarse limits on, the exact wrong-password limit off (`RATE_WRONG_PASSWORD_PER_IP=0`):
    /// what a payment costs when each wallet's lockout is the only exact guard.
    CoarseOnly,
    Off,
}

fn calls(route: &str, limits: Limits) -> &'static str {
    match (route, limits) {
        ("GET /healthz", _) => "0 DO calls",
        ("GET /v1/widget/sessions/{id}?wallet=omit", _) => {
            "1: Worker: Session(WidgetView, without the wallet summary)"
        }
        ("GET /v1/widget/sessions/{id}", _) => {
            "2: Worker: Session(WidgetView); in Session: Wallet(Summary)"
        }
        ("GET /v1/checkout_sessions/{id}", _) => "1: Worker: Session(Retrieve)",
        ("POST /v1/checkout_sessions", _) => {
            "2 sequential: Worker: Session(Create: a new object, its SQLite file and tables) -> Reconciler(file the expiry)"
        }
        ("POST /v1/widget/token", Limits::On | Limits::CoarseOnly) => {
            "0 DO calls: two rate-limiting binding calls (address, session; the secret verifies by its MAC)"
        }
        ("POST /v1/widget/token", Limits::Off) => "0 DO calls (the secret verifies by its MAC)",
        ("POST /v1/widget/sessions/{id}/pay", Limits::On) => {
            "3 sequential: Worker: RateLimiter(reserve wrong-password, beside the two binding calls) -> Session(Pay); in Session: Wallet(Debit, answering the balance). After the reply: Webhooks(Enqueue), RateLimiter(release)"
        }
        ("POST /v1/widget/sessions/{id}/pay", Limits::CoarseOnly) => {
            "2 sequential: Worker: Session(Pay) (after the two binding calls); in Session: Wallet(Debit, answering the balance). After the reply: Webhooks(Enqueue)"
        }
        ("POST /v1/widget/sessions/{id}/pay", Limits::Off) => {
            "2 sequential: Worker: Session(Pay); in Session: Wallet(Debit, answering the balance). After the reply: Webhooks(Enqueue)"
        }
        ("POST .../pay (points + balance)", Limits::On) => {
            "3 sequential: as balance pay; the wallet's one Debit takes both legs"
        }
        ("POST .../pay (points + balance)", Limits::CoarseOnly) => {
            "2 sequential: as balance pay; the wallet's one Debit takes both legs"
        }
        ("POST .../pay (points + balance)", Limits::Off) => {
            "2 sequential: as balance pay; the wallet's one Debit takes both legs"
        }
        ("POST /v1/notifications/wechat/{id}", _) => {
            "1: Worker: Session(ProviderNotification) (RSA verify and AES-GCM decrypt in the Worker first)"
        }
        // The card webhook and the bKash callback (xtask/src/bench/money.rs).
        (other, _) => money::calls(other).unwrap_or("0 DO calls"),
    }
}

/// Builds the hello-world Rust Worker (`xtask/bench-hello`) as the checkout's Worker is built.
pub fn build_hello() -> Result {
    let dir = root().join("xtask/bench-hello");
    // Its own lock file, started from the workspace's: the same versions of the shared crates.
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(root().join("Cargo.lock"), &lock).map_err(|e| format!("{e}"))?;
    }
    let wasm_bindgen = crate::shell::cargo_bin().join("wasm-bindgen");
    let node = crate::shell::node_bin();
    let target = root().join("target/bench-hello");
    run_in(
        &dir,
        "worker-build",
        &["--release"],
        &[
            (
                "WASM_BINDGEN_BIN",
                wasm_bindgen.to_str().unwrap_or_default(),
            ),
            (
                "WASM_OPT_BIN",
                node.join("wasm-opt").to_str().unwrap_or_default(),
            ),
            (
                "ESBUILD_BIN",
                node.join("esbuild").to_str().unwrap_or_default(),
            ),
            ("CARGO_TARGET_DIR", target.to_str().unwrap_or_default()),
        ],
    )
}

/// The whole workerd section: the hello worlds, then each route with the limits on and off.
pub fn run() -> Result {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (server_core, pinned) = if cores >= 2 {
        load::pin_self(1)?;
        (Some(0), true)
    } else {
        (None, false)
    };
    let result = measure_all(server_core);
    if pinned {
        load::unpin_self(cores)?;
    }
    let rows = result?;
    print_table(&rows, pinned);
    money::print();
    super::push::print();
    Ok(())
}

fn measure_all(server_core: Option<usize>) -> Result<Vec<Row>> {
    let root = root();
    let wrangler = read_text(&root.join("wrangler.toml"))?;
    let dev_vars = read_text(&root.join(".dev.vars"))?;
    let vars = DevVars::of_repo();
    let key = vars.merchant("m_demo").test_key().to_owned();
    let edge =
        |extra: &[(String, String)]| Bundle::from_wrangler(&root, &wrangler, &dev_vars, extra);
    let date = edge(&[])?.compatibility_date;
    let scratch = checkout_tests::temp_dir("bench-workerd");
    let mut rows = Vec::new();

    let hello_rust = Bundle::built(&root.join("xtask/bench-hello/build/index.js"), &date)?;
    let hello_js = Bundle::single_module(&root.join("xtask/bench-hello/hello.js"), &date)?;
    for (worker, bundle, dir) in [
        ("hello, Rust", hello_rust, "hello-rust"),
        ("hello, JS", hello_js, "hello-js"),
    ] {
        let server = Workerd::start(&bundle, &scratch.join(dir), server_core)?;
        warm_up(&server, || Request::get("/"))?;
        let (run, cpu) = measure(&server, HELLO_REQUESTS, 200, |_| Request::get("/"))?;
        rows.push(Row {
            worker,
            route: "GET /",
            run,
            cpu,
            calls: "0 DO calls",
        });
    }

    // The WeChat simulator answers the Worker's orders; its own notifications are withheld, the
    // bench posts them.
    let wechat = super::withheld_wechat(&vars);
    // The Stripe simulator holds the Checkout Sessions (the bench posts their webhooks itself:
    // no endpoint is set); the bKash simulator takes the payments the callbacks execute.
    let stripe = providers::start_stripe(0);
    let bkash = providers::start_bkash(&vars, 0);
    // `BENCH_BASELINE=<dir>`: also run another build of the Worker (a copy of `edge/build`
    // from before a change) in the same run, so a change is compared on the same neighbours.
    let baseline = std::env::var("BENCH_BASELINE").ok();
    // The coarse-only setting is this build's alone (a baseline may not have coarse limits).
    type Settings = &'static [(&'static str, Limits)];
    let builds: Vec<(Option<&str>, Settings)> = match &baseline {
        Some(dir) => vec![
            (
                Some(dir.as_str()),
                &[
                    ("before, limits on", Limits::On),
                    ("before, limits off", Limits::Off),
                ],
            ),
            (
                None,
                &[
                    ("after, limits on", Limits::On),
                    ("after, coarse only", Limits::CoarseOnly),
                    ("after, limits off", Limits::Off),
                ],
            ),
        ],
        None => vec![(
            None,
            &[
                ("checkout, limits on", Limits::On),
                ("checkout, coarse only", Limits::CoarseOnly),
                ("checkout, limits off", Limits::Off),
            ],
        )],
    };
    for (build, settings) in builds {
        for &(worker, limits) in settings {
            let mut extra = match limits {
                Limits::On => Vec::new(),
                Limits::CoarseOnly => {
                    vec![("RATE_WRONG_PASSWORD_PER_IP".to_owned(), "0".to_owned())]
                }
                Limits::Off => rate_limits_off(),
            };
            extra.extend(providers::wechat_worker_vars(&wechat));
            extra.extend(providers::stripe_worker_vars(&stripe));
            extra.extend(providers::bkash_worker_vars(&bkash));
            // The simulators share the load generator's core on a busy machine: a slow answer
            // must not turn into a set-up failure (the tests' 3 s is for fault injection).
            for timeout in [
                "BKASH_TIMEOUT_MS",
                "STRIPE_TIMEOUT_MS",
                "WECHATPAY_TIMEOUT_MS",
            ] {
                extra.push((timeout.to_owned(), "20000".to_owned()));
            }
            let mut bundle = edge(&extra)?;
            if let Some(dir) = build {
                bundle = bundle.with_main(&super::workerd::main_of(std::path::Path::new(dir)))?;
            }
            let dir = worker.replace([',', ' '], "-");
            let server = Workerd::start(&bundle, &scratch.join(dir), server_core)?;
            let sims = Sims {
                stripe: &stripe,
                bkash: &bkash,
                wechat: &wechat,
            };
            let result = edge_routes(&server, &key, worker, limits, &sims, &mut rows);
            if let Err(e) = result {
                return Err(format!("{e}\nworkerd log:\n{}", tail(&server.log())));
            }
        }
    }
    Ok(rows)
}

/// The provider simulators the money routes reach.
struct Sims<'a> {
    stripe: &'a providers::Stripe,
    bkash: &'a checkout_simulators::bkash::RunningBkash,
    wechat: &'a checkout_simulators::wechat::RunningWechat,
}

fn edge_routes(
    server: &Workerd,
    key: &str,
    worker: &'static str,
    limits: Limits,
    sims: &Sims<'_>,
    rows: &mut Vec<Row>,
) -> Result {
    let client = Client::new(&server.base_url);
    let mut push = |route: &'static str, (run, cpu): (Run, Duration)| {
        rows.push(Row {
            worker,
            route,
            run,
            cpu,
            // A baseline build's calls are those of its own commit, not this one's.
            calls: if worker.starts_with("before") {
                "(the baseline's own)"
            } else {
                calls(route, limits)
            },
        });
    };

    if std::env::var("BENCH_ONLY").as_deref() == Ok("money") {
        return money_routes(server, key, worker, sims, &mut push);
    }
    // The pushed status beside the poll, with the limits off only (its set-up grants a token
    // per socket from one address), and not on a baseline build (which may not have the
    // route). `BENCH_ONLY=push` runs it alone.
    if limits == Limits::Off
        && !worker.starts_with("before")
        && std::env::var("BENCH_ONLY").as_deref() != Ok("pay")
    {
        super::push::measure(server, key, worker, sims.wechat)?;
    }
    if std::env::var("BENCH_ONLY").as_deref() == Ok("push") {
        return Ok(());
    }
    // `BENCH_ONLY=pay`: the money path alone, the payments and then the notification routes.
    if std::env::var("BENCH_ONLY").as_deref() != Ok("pay") {
        let health = || Request::get("/healthz");
        warm_up(server, health)?;
        push(
            "GET /healthz",
            measure(server, HEALTH_REQUESTS, 200, |_| health())?,
        );

        let mut reads = Vec::with_capacity(READ_SESSIONS);
        for n in 0..READ_SESSIONS {
            let customer = format!("cus_bench_read_{n}");
            reads.push(checkout(
                &client,
                key,
                &format!("bench-read-{n}"),
                &customer,
                n,
            )?);
        }
        let poll = |n: usize| poll_request(&reads[n % READ_SESSIONS], n, true);
        warm_up_each(server, READ_SESSIONS, poll)?;
        push(
            "GET /v1/widget/sessions/{id}?wallet=omit",
            measure(server, READ_REQUESTS, 200, poll)?,
        );
        let first_view = |n: usize| poll_request(&reads[n % READ_SESSIONS], n, false);
        warm_up_each(server, READ_SESSIONS, first_view)?;
        push(
            "GET /v1/widget/sessions/{id}",
            measure(server, READ_REQUESTS, 200, first_view)?,
        );

        let merchant_read = |n: usize| {
            Request::get(format!(
                "/v1/checkout_sessions/{}",
                reads[n % READ_SESSIONS].id
            ))
            .header("Authorization", &format!("Bearer {key}"))
        };
        warm_up_each(server, READ_SESSIONS, merchant_read)?;
        push(
            "GET /v1/checkout_sessions/{id}",
            measure(server, READ_REQUESTS, 200, merchant_read)?,
        );

        // Each request a new order, so a new session object: its start (schema) and first write.
        let create = |n: usize| {
            Request::post_json(
                "/v1/checkout_sessions",
                &json!({
                    "order_id": format!("bench-create-{n}"), "amount": "10.00", "currency": "BDT",
                    "description": "bench", "customer_id": "cus_bench_create", "methods": ["balance"],
                    "return_url": "https://shop.example/done"
                }),
            )
            .header("Authorization", &format!("Bearer {key}"))
        };
        push(
            "POST /v1/checkout_sessions",
            measure(server, CREATES, 200, create)?,
        );

        let mut secrets = Vec::with_capacity(TOKEN_SESSIONS);
        for n in 0..TOKEN_SESSIONS {
            let session = create_session(&client, key, &format!("bench-token-{n}"), "cus_bench_t")?;
            secrets.push(text(&session, "client_secret"));
        }
        push(
            "POST /v1/widget/token",
            measure(server, TOKEN_SESSIONS * GRANTS_PER_SESSION, 200, |n| {
                Request::post_json(
                    "/v1/widget/token",
                    &json!({ "client_secret": secrets[n % TOKEN_SESSIONS] }),
                )
                .header("Origin", ORIGIN)
                .header("CF-Connecting-IP", &client_ip(1_000 + n))
            })?,
        );
    }

    for wallet in 0..WALLETS {
        fund(&client, key, &format!("cus_bench_{wallet}"))?;
    }
    // Sessions `0..PAYMENTS` are measured under load, the next `SEQUENTIAL` one at a time, and
    // the last `PAYMENTS` are the warm-up's.
    let mut payable = Vec::with_capacity(2 * PAYMENTS + SEQUENTIAL);
    for n in 0..2 * PAYMENTS + SEQUENTIAL {
        let customer = format!("cus_bench_{}", n % WALLETS);
        payable.push(checkout(
            &client,
            key,
            &format!("bench-pay-{n}"),
            &customer,
            2_000 + n,
        )?);
    }
    let own_origin = server.base_url.clone();
    // Session `session` paid from the address of request `ip`.
    let pay_from = |session: usize, ip: usize| {
        pay_request(
            &payable[session],
            &json!({"method": "balance", "pay_password": PAY_PASSWORD}),
            &own_origin,
            &format!("bench-pay-{session:06}"),
        )
        .header("CF-Connecting-IP", &client_ip(5_000 + ip))
    };
    let pay = |n: usize| pay_from(n, n);
    // Before a payment route is measured: payments of sessions of their own (a payment cannot
    // be repeated), each from the address of the measured request with its number, so the run
    // measures warm objects. Each address's exact wrong-password bucket lives in one of the 64
    // `RateLimiter` shards; without this, the first payments of a run opened the shards (a new
    // object and its SQLite file each), a cost a deployment pays once per shard, not per payment.
    warm_up_each(server, PAYMENTS, |n| pay_from(PAYMENTS + SEQUENTIAL + n, n))?;
    push(
        "POST /v1/widget/sessions/{id}/pay",
        measure(server, PAYMENTS, 200, pay)?,
    );
    money::sequential(
        server,
        worker,
        "POST /v1/widget/sessions/{id}/pay",
        SEQUENTIAL,
        200,
        |i| pay(PAYMENTS + i),
    )?;

    for wallet in 0..WALLETS {
        let customer = format!("cus_bench_mix_{wallet}");
        fund(&client, key, &customer)?;
        expect_ok(
            client
                .call("POST", format!("/v1/customers/{customer}/points_credits"))
                .bearer(key)
                .json(&json!({"points": 1_000_000, "reference": "bench-points"})),
        )?;
    }
    let mut mixed = Vec::with_capacity(2 * PAYMENTS + SEQUENTIAL);
    for n in 0..2 * PAYMENTS + SEQUENTIAL {
        let order = format!("bench-mix-{n}");
        let customer = format!("cus_bench_mix_{}", n % WALLETS);
        let session = expect_ok(
            client
                .call("POST", "/v1/checkout_sessions")
                .bearer(key)
                .json(&json!({
                    "order_id": order, "amount": "50.00", "currency": "BDT", "description": "bench",
                    "customer_id": customer, "methods": ["points", "balance"],
                    "return_url": "https://shop.example/done"
                })),
        )?;
        mixed.push(grant(&client, &session, 3_000 + n)?);
    }
    let mixed_pay_from = |session: usize, ip: usize| {
        pay_request(
            &mixed[session],
            &json!({"method": "balance", "pay_password": PAY_PASSWORD,
                    "allocation": {"points": 300, "balance": "20.00"}}),
            &own_origin,
            &format!("bench-mix-{session:06}"),
        )
        .header("CF-Connecting-IP", &client_ip(7_000 + ip))
    };
    let mixed_pay = |n: usize| mixed_pay_from(n, n);
    // Warmed up as the balance payments are, on sessions of their own.
    warm_up_each(server, PAYMENTS, |n| {
        mixed_pay_from(PAYMENTS + SEQUENTIAL + n, n)
    })?;
    push(
        "POST .../pay (points + balance)",
        measure(server, PAYMENTS, 200, mixed_pay)?,
    );
    money::sequential(
        server,
        worker,
        "POST .../pay (points + balance)",
        SEQUENTIAL,
        200,
        |i| mixed_pay(PAYMENTS + i),
    )?;

    money_routes(server, key, worker, sims, &mut push)
}

/// The notification routes: the WeChat notification, the card webhook and the bKash callback
/// (`money.rs`), each with its sequential pass (`BENCH_ONLY=money` runs these alone).
fn money_routes(
    server: &Workerd,
    key: &str,
    worker: &'static str,
    sims: &Sims<'_>,
    push: &mut impl FnMut(&'static str, (Run, Duration)),
) -> Result {
    let client = Client::new(&server.base_url);
    let client = &client;
    let (path, notifications) = wechat_notifications(client, key, worker)?;
    let notify = |n: usize| {
        let (headers, body) = &notifications[n];
        let mut request = Request::post_json(path.as_str(), &json!(null));
        request.headers = headers.clone();
        request.body = Some(body.clone());
        request.header("CF-Connecting-IP", &client_ip(9_000 + n))
    };
    push(
        "POST /v1/notifications/wechat/{id}",
        measure(server, NOTIFICATIONS, 204, notify)?,
    );
    money::sequential(
        server,
        worker,
        "POST /v1/notifications/wechat/{id}",
        SEQUENTIAL,
        204,
        |i| notify(NOTIFICATIONS + i),
    )?;

    // WeChat notifications that settle: one per session.
    let tag = worker.replace([',', ' '], "-");
    let settling = money::wechat_settling(client, key, &tag, WECHAT_SESSIONS + SEQUENTIAL)?;
    push(
        "POST /v1/notifications/wechat/{id} (settles)",
        measure(server, WECHAT_SESSIONS, 204, |n| {
            money::wechat_request(&settling[n], n)
        })?,
    );
    money::sequential(
        server,
        worker,
        "POST /v1/notifications/wechat/{id} (settles)",
        SEQUENTIAL,
        204,
        |i| money::wechat_request(&settling[WECHAT_SESSIONS + i], WECHAT_SESSIONS + i),
    )?;

    // The card webhook: one settling event per session, then repeats about settled sessions.
    let events = money::card_webhooks(client, key, sims.stripe, &tag, CARD_SESSIONS + SEQUENTIAL)?;
    let settling = money::signed(sims.stripe, &events, &format!("{tag}-first"), 1);
    push(
        "POST /v1/notifications/stripe (settles)",
        measure(server, CARD_SESSIONS, 200, |n| {
            money::webhook_request(&settling[n], n)
        })?,
    );
    money::sequential(
        server,
        worker,
        "POST /v1/notifications/stripe (settles)",
        SEQUENTIAL,
        200,
        |i| money::webhook_request(&settling[CARD_SESSIONS + i], CARD_SESSIONS + i),
    )?;
    let repeats = money::signed(sims.stripe, &events, &format!("{tag}-again"), CARD_REPEATS);
    push(
        "POST /v1/notifications/stripe (repeat)",
        measure(server, repeats.len() - SEQUENTIAL, 200, |n| {
            money::webhook_request(&repeats[n], 1_000 + n)
        })?,
    );
    let last = repeats.len() - SEQUENTIAL;
    money::sequential(
        server,
        worker,
        "POST /v1/notifications/stripe (repeat)",
        SEQUENTIAL,
        200,
        |i| money::webhook_request(&repeats[last + i], 1_000 + last + i),
    )?;

    // The bKash callback: one per session, each executing and settling its payment.
    let callbacks =
        money::bkash_callbacks(client, key, sims.bkash, &tag, BKASH_SESSIONS + SEQUENTIAL)?;
    let callback = |n: usize| Request::get(callbacks[n].as_str());
    push(
        "GET /v1/callbacks/bkash/{id}",
        measure(server, BKASH_SESSIONS, 303, callback)?,
    );
    money::sequential(
        server,
        worker,
        "GET /v1/callbacks/bkash/{id}",
        SEQUENTIAL,
        303,
        |i| callback(BKASH_SESSIONS + i),
    )?;
    Ok(())
}

/// A WeChat Pay session with a payment under way, and [`NOTIFICATIONS`] signed, encrypted
/// success notifications for it (signed in advance, so the load generator's RSA does not share
/// the run's CPU), as `(path, [(headers, body)])`.
#[allow(clippy::type_complexity)]
pub(super) fn wechat_notifications(
    client: &Client,
    key: &str,
    worker: &str,
) -> Result<(String, Vec<(Vec<(String, String)>, String)>)> {
    let order = format!("bench-wechat-{}", worker.replace([',', ' '], "-"));
    let session = expect_ok(
        client
            .call("POST", "/v1/checkout_sessions")
            .bearer(key)
            .json(&json!({
                "order_id": order, "amount": "88.00", "currency": "CNY", "description": "bench",
                "customer_id": "cus_bench_wechat", "methods": ["wechat_pay"],
                "return_url": "https://shop.example/done"
            })),
    )?;
    let payable = grant(client, &session, 8_000)?;
    expect_ok(
        client
            .call("POST", format!("/v1/widget/sessions/{}/pay", payable.id))
            .bearer(&payable.token)
            .header("Origin", ORIGIN)
            .header("CF-Connecting-IP", &client_ip(8_001))
            .header("Idempotency-Key", "bench-wechat-key-1")
            .json(&json!({"method": "wechat_pay"})),
    )?;
    let view = expect_ok(
        client
            .call("GET", format!("/v1/checkout_sessions/{}", payable.id))
            .bearer(key)
            .send(),
    )?;
    let out_trade_no = view.body["payments"][0]["id"].as_str().unwrap_or_default();
    let keys = DevVars::of_repo().wechat;
    let transaction = json!({
        "mchid": keys.mchid, "appid": keys.appid, "out_trade_no": out_trade_no,
        "transaction_id": "4200000985202611235834957420", "trade_type": "NATIVE",
        "trade_state": "SUCCESS", "success_time": "2026-11-23T18:00:00+08:00",
        "payer": {"openid": "oBench"}, "amount": {"total": 8800, "payer_total": 8800, "currency": "CNY"}
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let prepared = (0..NOTIFICATIONS + SEQUENTIAL)
        .map(|_| {
            let n = build_notification(
                &keys.platform_private_key_pem,
                &keys.platform_public_key_id,
                &keys.api_v3_key,
                "TRANSACTION.SUCCESS",
                "transaction",
                &transaction,
                now,
            );
            (n.headers.clone(), n.body.clone())
        })
        .collect();
    Ok((format!("/v1/notifications/wechat/{}", payable.id), prepared))
}

/// `POST /v1/widget/sessions/{id}/pay` as the pay-password frame sends it: from the Worker's own
/// origin (`own_origin`), for the merchant's page.
fn pay_request(
    session: &Payable,
    body: &Value,
    own_origin: &str,
    idempotency_key: &str,
) -> Request {
    Request::post_json(format!("/v1/widget/sessions/{}/pay", session.id), body)
        .header("Authorization", &format!("Bearer {}", session.token))
        .header("Origin", own_origin)
        .header("Checkout-Parent-Origin", ORIGIN)
        .header("Idempotency-Key", idempotency_key)
}

/// A session's widget token, granted for `session` (a create reply).
pub(super) fn grant(client: &Client, session: &Reply, ip: usize) -> Result<Payable> {
    let reply = expect_ok(
        client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .header("CF-Connecting-IP", &client_ip(ip))
            .json(&json!({ "client_secret": text(session, "client_secret") })),
    )?;
    Ok(Payable {
        id: text(session, "id"),
        token: text(&reply, "token"),
    })
}

/// Payments and polls of the growth runs, and how often each prints its figure.
const GROWTH_PAYMENTS: usize = 5_000;
const GROWTH_POLLS: usize = 10_000;
const GROWTH_BATCH_PAYMENTS: usize = 500;
const GROWTH_BATCH_POLLS: usize = 1_000;

/// `cargo xtask bench growth`: whether a route's cost grows with history. 5,000 balance payments
/// of one merchant (over [`WALLETS`] wallets), CPU per payment printed every 500; then 10,000
/// polls of one session, CPU per poll every 1,000. Rate limits off (they are measured by
/// [`run`]); the target is the last batch within 10% of the first.
/// The growth run's look at the idle process between payments and polls: windows and length.
const GROWTH_IDLE_WINDOWS: usize = 3;
const GROWTH_IDLE_WINDOW_S: u64 = 5;

pub fn growth() -> Result {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_core = if cores >= 2 {
        load::pin_self(1)?;
        Some(0)
    } else {
        None
    };
    let result = growth_runs(server_core);
    if server_core.is_some() {
        load::unpin_self(cores)?;
    }
    result
}

fn growth_runs(server_core: Option<usize>) -> Result {
    let root = root();
    let wrangler = read_text(&root.join("wrangler.toml"))?;
    let dev_vars = read_text(&root.join(".dev.vars"))?;
    let key = DevVars::of_repo().merchant("m_demo").test_key().to_owned();
    let bundle = Bundle::from_wrangler(&root, &wrangler, &dev_vars, &rate_limits_off())?;
    let scratch = checkout_tests::temp_dir("bench-growth");
    let server = Workerd::start(&bundle, &scratch.join("edge"), server_core)?;
    let client = Client::new(&server.base_url);
    let own_origin = server.base_url.clone();
    for wallet in 0..WALLETS {
        fund(&client, &key, &format!("cus_growth_{wallet}"))?;
    }
    println!("\ngrowth: {GROWTH_PAYMENTS} balance payments of one merchant (limits off), CPU ms per payment per batch");
    println!("| payments | req/s | p50 ms | p99 ms | CPU ms/payment |");
    println!("|---|---:|---:|---:|---:|");
    // `BENCH_GROWTH=polls`: the polls alone, on fresh storage with nothing running after
    // earlier payments (separates a poll's own history from the payments' after-work).
    let payments = if std::env::var("BENCH_GROWTH").as_deref() == Ok("polls") {
        0
    } else {
        GROWTH_PAYMENTS
    };
    let mut done = 0;
    while done < payments {
        let mut batch = Vec::with_capacity(GROWTH_BATCH_PAYMENTS);
        for n in done..done + GROWTH_BATCH_PAYMENTS {
            let customer = format!("cus_growth_{}", n % WALLETS);
            batch.push(checkout(
                &client,
                &key,
                &format!("growth-{n}"),
                &customer,
                n,
            )?);
        }
        let (run, cpu) = measure(&server, GROWTH_BATCH_PAYMENTS, 200, |i| {
            pay_request(
                &batch[i],
                &json!({"method": "balance", "pay_password": PAY_PASSWORD}),
                &own_origin,
                &format!("growth-{:06}", done + i),
            )
        })
        .map_err(|e| format!("{e}\nworkerd log:\n{}", tail(&server.log())))?;
        print_growth_row(done, GROWTH_BATCH_PAYMENTS, &run, cpu);
        done += GROWTH_BATCH_PAYMENTS;
    }

    // What the process does on its own after the payments (their sessions' alarms and
    // hand-overs, `Webhooks`' writes): the polls below are measured with it, by process CPU.
    if payments > 0 {
        for _ in 0..GROWTH_IDLE_WINDOWS {
            let before = server.cpu_time()?;
            std::thread::sleep(Duration::from_secs(GROWTH_IDLE_WINDOW_S));
            let busy = server.cpu_time()?.saturating_sub(before);
            println!(
                "idle after the payments: {:.0} ms of CPU in {GROWTH_IDLE_WINDOW_S} s ({:.1}% of a core)",
                busy.as_secs_f64() * 1000.0,
                busy.as_secs_f64() * 100.0 / GROWTH_IDLE_WINDOW_S as f64,
            );
        }
    }
    let polled = checkout(&client, &key, "growth-poll", "cus_growth_0", 0)?;
    println!("\ngrowth: {GROWTH_POLLS} polls of one session, CPU ms per poll per batch");
    println!("| polls | req/s | p50 ms | p99 ms | CPU ms/poll |");
    println!("|---|---:|---:|---:|---:|");
    let mut done = 0;
    while done < GROWTH_POLLS {
        // The widget's status poll, as it polls while a payment waits.
        let (run, cpu) = measure(&server, GROWTH_BATCH_POLLS, 200, |n| {
            poll_request(&polled, n, true)
        })?;
        print_growth_row(done, GROWTH_BATCH_POLLS, &run, cpu);
        done += GROWTH_BATCH_POLLS;
    }
    Ok(())
}

fn print_growth_row(done: usize, batch: usize, run: &Run, cpu: Duration) {
    println!(
        "| {}-{} | {:.0} | {:.2} | {:.2} | {:.3}{} |",
        done + 1,
        done + batch,
        run.per_second(),
        run.percentile_ms(0.50),
        run.percentile_ms(0.99),
        cpu.as_secs_f64() * 1000.0 / run.requests().max(1) as f64,
        if run.failures.is_empty() {
            String::new()
        } else {
            format!(" ({} failed)", failed(run))
        },
    );
}

/// A distinct client address per request number (`10.x.y.z`).
pub(super) fn client_ip(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

/// A few requests first, so the runs measure a warm isolate (compiled wasm, open objects).
fn warm_up(server: &Workerd, make: impl Fn() -> Request + Sync) -> Result {
    let run = load::run(&server.base_url, 4 * load::CONNECTIONS, 200, |_| make());
    match run.failures.first() {
        None => Ok(()),
        Some(status) => Err(format!("warm-up answered {status}")),
    }
}

/// [`warm_up`] over requests `0..count` (each session once or more).
pub(super) fn warm_up_each(
    server: &Workerd,
    count: usize,
    make: impl Fn(usize) -> Request + Sync,
) -> Result {
    let run = load::run(
        &server.base_url,
        count.max(4 * load::CONNECTIONS),
        200,
        make,
    );
    match run.failures.first() {
        None => Ok(()),
        Some(status) => Err(format!("warm-up answered {status}")),
    }
}

/// One load run and workerd's CPU time over it.
fn measure(
    server: &Workerd,
    count: usize,
    expected: u16,
    make: impl Fn(usize) -> Request + Sync,
) -> Result<(Run, Duration)> {
    let before = server.cpu_time()?;
    let run = load::run(&server.base_url, count, expected, make);
    let after = server.cpu_time()?;
    Ok((run, after.saturating_sub(before)))
}

/// The widget's read of its session: the status poll while a payment waits at a provider
/// (`status_only`: `?wallet=omit`, without the wallet summary), or the first view (with it).
pub(super) fn poll_request(read: &Payable, n: usize, status_only: bool) -> Request {
    let query = if status_only { "?wallet=omit" } else { "" };
    Request::get(format!("/v1/widget/sessions/{}{query}", read.id))
        .header("Authorization", &format!("Bearer {}", read.token))
        .header("Origin", ORIGIN)
        .header("CF-Connecting-IP", &client_ip(n))
}

/// A session and its widget token.
pub(super) struct Payable {
    pub(super) id: String,
    pub(super) token: String,
}

pub(super) fn checkout(
    client: &Client,
    key: &str,
    order: &str,
    customer: &str,
    ip: usize,
) -> Result<Payable> {
    let session = create_session(client, key, order, customer)?;
    let grant = expect_ok(
        client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .header("CF-Connecting-IP", &client_ip(ip))
            .json(&json!({ "client_secret": text(&session, "client_secret") })),
    )?;
    Ok(Payable {
        id: text(&session, "id"),
        token: text(&grant, "token"),
    })
}

pub(super) fn create_session(
    client: &Client,
    key: &str,
    order: &str,
    customer: &str,
) -> Result<Reply> {
    expect_ok(client.call("POST", "/v1/checkout_sessions").bearer(key).json(&json!({
        "order_id": order, "amount": "10.00", "currency": "BDT", "description": "bench",
        "customer_id": customer, "methods": ["balance"], "return_url": "https://shop.example/done"
    })))
}

pub(super) fn fund(client: &Client, key: &str, customer: &str) -> Result {
    expect_ok(
        client
            .call("POST", format!("/v1/customers/{customer}/balance_credits"))
            .bearer(key)
            .json(&json!({"amount": "100000.00", "currency": "BDT", "reference": "bench-fund"})),
    )?;
    expect_ok(
        client
            .call("PUT", format!("/v1/customers/{customer}/pay_password"))
            .bearer(key)
            .json(&json!({ "pay_password": PAY_PASSWORD })),
    )?;
    Ok(())
}

pub(super) fn text(reply: &Reply, field: &str) -> String {
    reply.body[field].as_str().unwrap_or_default().to_owned()
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

pub(super) fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn print_table(rows: &[Row], pinned: bool) {
    let floor = rows
        .iter()
        .find(|r| r.worker == "hello, Rust")
        .map_or(0.0, Row::cpu_ms);
    println!(
        "\nworkerd direct ({}; {} connections, keep-alive, loopback; CPU = workerd's utime+stime over the run / requests)",
        if pinned {
            "workerd on core 0, load generator on core 1"
        } else {
            "one core: not pinned"
        },
        load::CONNECTIONS
    );
    println!(
        "| worker | route | requests | failed | req/s | p50 ms | p99 ms | CPU ms/req | x hello Rust |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let ratio = if floor > 0.0 {
            format!("{:.1}", row.cpu_ms() / floor)
        } else {
            "-".to_owned()
        };
        println!(
            "| {} | `{}` | {} | {} | {:.0} | {:.2} | {:.2} | {:.3} | {} |",
            row.worker,
            row.route,
            row.run.requests(),
            failed(&row.run),
            row.run.per_second(),
            row.run.percentile_ms(0.50),
            row.run.percentile_ms(0.99),
            row.cpu_ms(),
            ratio,
        );
    }
    println!("\nDurable Object calls per request (static, read from edge/src, not observed):");
    println!("| worker | route | DO calls |");
    println!("|---|---|---|");
    for row in rows {
        println!("| {} | `{}` | {} |", row.worker, row.route, row.calls);
    }
}

/// The failures of a run with their statuses (`0` = no answer).
fn failed(run: &Run) -> String {
    if run.failures.is_empty() {
        return "0".to_owned();
    }
    let mut counts = std::collections::BTreeMap::new();
    for status in &run.failures {
        *counts.entry(*status).or_insert(0) += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n}x{s}")).collect();
    format!("{} ({})", run.failures.len(), parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_differ_per_request() {
        assert_eq!(client_ip(0), "10.0.0.0");
        assert_eq!(client_ip(258), "10.0.1.2");
        assert_ne!(client_ip(5_000), client_ip(5_001));
    }

    #[test]
    fn every_route_has_its_calls_for_both_limit_settings() {
        for route in [
            "GET /healthz",
            "GET /v1/widget/sessions/{id}?wallet=omit",
            "GET /v1/widget/sessions/{id}",
            "GET /v1/checkout_sessions/{id}",
            "POST /v1/widget/token",
            "POST /v1/widget/sessions/{id}/pay",
            "POST .../pay (points + balance)",
            "POST /v1/notifications/wechat/{id}",
        ] {
            for limits in [Limits::On, Limits::CoarseOnly, Limits::Off] {
                assert!(!calls(route, limits).is_empty());
            }
        }
        assert_ne!(
            calls("POST /v1/widget/token", Limits::On),
            calls("POST /v1/widget/token", Limits::Off)
        );
    }
}
