//! The widget's pushed status (`GET /v1/widget/sessions/{id}/status`, a WebSocket the session
//! object accepts with the Hibernation API) beside the poll it replaces, in workerd's CPU
//! (`money::cpu_ns`: every thread's on-CPU time from `/proc/<pid>/task/*/schedstat`), one thing
//! at a time on WeChat Pay sessions waiting at the simulator (notifications withheld):
//!
//! - **upgrade**: the handshake through the Worker (token and origin checked) to the object,
//!   which accepts the socket and sends the current view: from before the handshake to the
//!   first view read;
//! - **settle with 0, 1 or 4 sockets open**: a signed, encrypted `TRANSACTION.SUCCESS` posted
//!   for the session, and (with sockets) each socket's paid view and close read; the difference
//!   to 0 sockets, per socket, is what one pushed message costs;
//! - **a poll of a waiting session**: `GET ?wallet=omit` on a session whose instance has not
//!   asked WeChat yet, so it asks (as a poll does every 3 s or more while a QR code is shown);
//! - **the alarm's provider tick**: sockets left open on waiting sessions for a while; workerd's
//!   CPU over the window (less the same window idle) per query the simulator counted.

use std::sync::Mutex;
use std::time::Duration;

use checkout_simulators::wechat::RunningWechat;
use checkout_tests::api::Client;
use checkout_tests::status_socket::{self, protocols, Event, StatusSocket};
use serde_json::json;

use super::money::{self, cpu_ns, WechatNotification};
use super::workerd::Workerd;
use crate::shell::Result;

/// Sessions per settle variant, and for the upgrades (each upgrade is one variant's socket).
const PER_VARIANT: usize = 24;
/// Sessions whose sockets stay open for the tick window, and the window.
const TICK_SESSIONS: usize = 24;
const TICK_WINDOW: Duration = Duration::from_secs(15);
const ORIGIN: &str = checkout_tests::dev_vars::DEMO_ALLOWED_ORIGIN;

/// One measured thing: its CPU per occurrence, in milliseconds.
struct Figure {
    worker: &'static str,
    what: String,
    samples: Vec<f64>,
}

static FIGURES: Mutex<Vec<Figure>> = Mutex::new(Vec::new());

/// Measures the pushed status on `server` (see the module doc).
pub fn measure(
    server: &Workerd,
    key: &str,
    worker: &'static str,
    wechat: &RunningWechat,
) -> Result {
    let client = Client::new(&server.base_url);
    let tag = format!("push-{}", worker.replace([',', ' '], "-"));
    let prepared = money::wechat_settling(&client, key, &tag, 4 * PER_VARIANT + TICK_SESSIONS)?;
    // First, while nothing else has an alarm due (the set-up's sessions only wait for expiry).
    tick(
        server,
        &client,
        key,
        worker,
        wechat,
        &prepared[4 * PER_VARIANT..],
    )?;
    let pid = server.pid();
    let mut upgrades = Vec::new();
    for (variant, sockets) in [(0, 0usize), (1, 1), (2, 4)] {
        let mut settles = Vec::new();
        for n in 0..PER_VARIANT {
            let notification = &prepared[variant * PER_VARIANT + n];
            let mut open = Vec::new();
            for _ in 0..sockets {
                // The token's grant and a read that wakes the object come before the window.
                let (id, token) = session_of(&client, key, notification)?;
                let before = cpu_ns(pid)?;
                let mut socket = open_socket(server, &id, &token)?;
                expect_status(&mut socket, "processing")?;
                upgrades.push(ms(cpu_ns(pid)? - before));
                open.push(socket);
            }
            if sockets == 0 {
                session_of(&client, key, notification)?;
            }
            let before = cpu_ns(pid)?;
            post(&client, notification)?;
            for socket in &mut open {
                expect_status(socket, "paid")?;
                match socket.next(Duration::from_secs(10)) {
                    Event::Closed(1000, _) => {}
                    other => return Err(format!("no close after the paid view: {other:?}")),
                }
            }
            std::thread::sleep(Duration::from_millis(20));
            settles.push(ms(cpu_ns(pid)? - before));
        }
        record(
            worker,
            format!("WeChat notification that settles, {sockets} status socket(s) open"),
            settles,
        );
    }
    record(
        worker,
        "upgrade: handshake, token check, accept, first view".into(),
        upgrades,
    );

    // Polls of waiting sessions, each asking WeChat (its instance has not asked yet).
    let mut polls = Vec::new();
    for notification in &prepared[3 * PER_VARIANT..4 * PER_VARIANT] {
        let (id, token) = session_of(&client, key, notification)?;
        let before = cpu_ns(pid)?;
        let reply = client
            .call("GET", format!("/v1/widget/sessions/{id}?wallet=omit"))
            .bearer(&token)
            .header("Origin", ORIGIN)
            .send();
        if reply.status != 200 {
            return Err(format!("poll: {} {}", reply.status, reply.body));
        }
        std::thread::sleep(Duration::from_millis(20));
        polls.push(ms(cpu_ns(pid)? - before));
    }
    record(
        worker,
        "poll `?wallet=omit` of a waiting session (asks WeChat)".into(),
        polls,
    );
    Ok(())
}

/// The alarm's provider tick: sockets open on waiting sessions for [`TICK_WINDOW`].
fn tick(
    server: &Workerd,
    client: &Client,
    key: &str,
    worker: &'static str,
    wechat: &RunningWechat,
    prepared: &[WechatNotification],
) -> Result {
    let pid = server.pid();
    std::thread::sleep(Duration::from_secs(1));
    let idle_before = cpu_ns(pid)?;
    std::thread::sleep(TICK_WINDOW);
    let idle_ns = cpu_ns(pid)? - idle_before;
    let mut orders = Vec::new();
    let mut open = Vec::new();
    for notification in prepared {
        let (id, token) = session_of(client, key, notification)?;
        let mut socket = open_socket(server, &id, &token)?;
        expect_status(&mut socket, "processing")?;
        open.push(socket);
        orders.push(order_of(client, key, notification)?);
    }
    let queries = |orders: &[String]| -> u64 {
        orders
            .iter()
            .filter_map(|o| wechat.order(o))
            .map(|o| o.query_calls)
            .sum()
    };
    let (queries_before, before) = (queries(&orders), cpu_ns(pid)?);
    std::thread::sleep(TICK_WINDOW);
    let (queries_after, after) = (queries(&orders), cpu_ns(pid)?);
    drop(open);
    let ticks = queries_after.saturating_sub(queries_before);
    if ticks == 0 {
        return Err("no provider query while status sockets waited".into());
    }
    let per_tick = ms((after - before).saturating_sub(idle_ns)) / ticks as f64;
    record(
        worker,
        format!(
            "alarm tick with a socket open: provider query ({ticks} in {}s over {} sessions; idle {:.1} ms subtracted)",
            TICK_WINDOW.as_secs(),
            prepared.len(),
            ms(idle_ns)
        ),
        vec![per_tick],
    );
    Ok(())
}

fn open_socket(server: &Workerd, id: &str, token: &str) -> Result<StatusSocket> {
    status_socket::open(&server.base_url, id, Some(&protocols(token)), Some(ORIGIN))
        .map_err(|r| format!("status socket refused: {} {}", r.status, r.body))
}

fn expect_status(socket: &mut StatusSocket, status: &str) -> Result {
    match socket.next(Duration::from_secs(20)) {
        Event::View(view) if view["status"] == status => Ok(()),
        other => Err(format!("expected a `{status}` view, got {other:?}")),
    }
}

/// The session a prepared notification settles, and a fresh widget token for it (tokens are
/// granted from the page origin; the grant is outside the measured window).
fn session_of(
    client: &Client,
    key: &str,
    notification: &WechatNotification,
) -> Result<(String, String)> {
    let id = notification
        .0
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let session = client
        .call("GET", format!("/v1/checkout_sessions/{id}"))
        .bearer(key)
        .send();
    let secret = session.body["client_secret"].as_str().unwrap_or_default();
    let token = client
        .call("POST", "/v1/widget/token")
        .header("Origin", ORIGIN)
        .json(&json!({ "client_secret": secret }));
    match token.body["token"].as_str() {
        Some(token) => Ok((id, token.to_owned())),
        None => Err(format!("token: {} {}", token.status, token.body)),
    }
}

fn order_of(client: &Client, key: &str, notification: &WechatNotification) -> Result<String> {
    let id = notification.0.rsplit('/').next().unwrap_or_default();
    let view = client
        .call("GET", format!("/v1/checkout_sessions/{id}"))
        .bearer(key)
        .send();
    view.body["payments"][0]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no payment: {}", view.body))
}

fn post(client: &Client, (path, headers, body): &WechatNotification) -> Result {
    let mut call = client.call("POST", path.as_str());
    for (name, value) in headers {
        call = call.header(name, value);
    }
    let reply = call.raw(body);
    match reply.status {
        204 | 200 => Ok(()),
        status => Err(format!("notification: {status} {}", reply.body)),
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn record(worker: &'static str, what: String, samples: Vec<f64>) {
    FIGURES.lock().expect("lock").push(Figure {
        worker,
        what,
        samples,
    });
}

/// The pushed status's table, with what one message costs.
pub fn print() {
    let figures = FIGURES.lock().expect("lock");
    if figures.is_empty() {
        return;
    }
    println!(
        "\npushed status (WebSocket from the session object) beside the poll: workerd's CPU per occurrence, \
         one at a time (from /proc/<pid>/task/*/schedstat; simulators and client not included)"
    );
    println!("| worker | what | n | p50 CPU ms | mean CPU ms |");
    println!("|---|---|---:|---:|---:|");
    for figure in figures.iter() {
        let mut sorted = figure.samples.clone();
        sorted.sort_by(f64::total_cmp);
        let p50 = sorted[(sorted.len() - 1) / 2];
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        println!(
            "| {} | {} | {} | {p50:.3} | {mean:.3} |",
            figure.worker,
            figure.what,
            sorted.len()
        );
    }
    // One pushed message: the settle with sockets open less the settle without, per socket.
    let mean_of = |worker: &str, prefix: &str| {
        figures
            .iter()
            .find(|f| f.worker == worker && f.what.starts_with(prefix))
            .map(|f| f.samples.iter().sum::<f64>() / f.samples.len() as f64)
    };
    let workers: Vec<&str> = figures.iter().map(|f| f.worker).collect();
    for worker in workers
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
    {
        let base = mean_of(worker, "WeChat notification that settles, 0");
        let one = mean_of(worker, "WeChat notification that settles, 1");
        let four = mean_of(worker, "WeChat notification that settles, 4");
        if let (Some(base), Some(one), Some(four)) = (base, one, four) {
            println!(
                "{worker}: one pushed message (view + close), from the means: {:.3} ms with 1 socket, {:.3} ms each with 4",
                one - base,
                (four - base) / 4.0
            );
        }
    }
}
