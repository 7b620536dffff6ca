//! `cargo xtask bench profile [route…]`: where a hot route's CPU goes, from V8's own sampling
//! profiler. The built Worker runs in workerd (as in `routes.rs`, limits off unless
//! `BENCH_PROFILE_LIMITS=on`, pinned to core 0)
//! with its inspector on; `xtask/bench-profile/profile.mjs` (the pinned Node, whose WebSocket is
//! built in) attaches over the Chrome DevTools Protocol (`Profiler.enable`,
//! `setSamplingInterval`, `start`, `stop`) while the load generator drives one route, and the
//! profile's samples are summed per function ("self time"), by name, into wasm (the Worker's
//! Rust), JS (wasm-bindgen's glue and workers-rs' shim) and the runtime (V8 builtins, workerd's
//! native calls, garbage collection). The Durable Objects run in the Worker's isolate, so their
//! code is in the same profile.
//!
//! The profiler slows what it samples (the inspector is on, and every 100 µs a stack is walked):
//! read shares, not absolute times. Routes: `poll`, `read` (the first view, with the wallet
//! summary), `token`, `pay` (balance), `wechat` (the notification), `create` (a new session,
//! so a new session object, per request); none named, all.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::providers;
use serde::Deserialize;
use serde_json::json;

use super::load::{self, Request};
use super::routes::{
    checkout, client_ip, create_session, fund, poll_request, tail, text, warm_up_each,
    wechat_notifications, ORIGIN, PAY_PASSWORD,
};
use super::workerd::{Bundle, Workerd};
use crate::shell::{node_bin, read_text, root, Result};

/// Sampling interval of the V8 profiler, in microseconds.
const INTERVAL_US: u32 = 100;
/// Frames printed per route.
const TOP: usize = 20;
const ROUTES: [&str; 7] = [
    "healthz", "poll", "read", "token", "pay", "wechat", "create",
];

/// One profile as `Profiler.stop` answers it (the parts used here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub nodes: Vec<Node>,
    pub samples: Vec<u64>,
    pub time_deltas: Vec<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: u64,
    pub call_frame: CallFrame,
    #[serde(default)]
    pub children: Vec<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
    pub function_name: String,
    #[serde(default)]
    pub url: String,
}

/// Where a frame's code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The Worker's Rust, compiled to wasm.
    Wasm,
    /// JavaScript: wasm-bindgen's glue, workers-rs' shim.
    Js,
    /// V8 and workerd: builtins, native calls, `(program)`, `(garbage collector)`.
    Runtime,
}

impl Kind {
    fn of(frame: &CallFrame) -> Kind {
        let name = &frame.function_name;
        if frame.url.starts_with("wasm://") || frame.url.ends_with(".wasm") || name.starts_with('$')
        {
            Kind::Wasm
        } else if frame.url.is_empty() || name.starts_with('(') {
            Kind::Runtime
        } else {
            Kind::Js
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Wasm => "wasm",
            Kind::Js => "JS",
            Kind::Runtime => "runtime",
        }
    }
}

/// A profile's call tree, indexed: each node's frame and parent.
struct Tree<'a> {
    frames: HashMap<u64, &'a CallFrame>,
    parents: HashMap<u64, u64>,
}

impl<'a> Tree<'a> {
    fn of(profile: &'a Profile) -> Tree<'a> {
        Tree {
            frames: profile
                .nodes
                .iter()
                .map(|n| (n.id, &n.call_frame))
                .collect(),
            parents: profile
                .nodes
                .iter()
                .flat_map(|n| n.children.iter().map(move |child| (*child, n.id)))
                .collect(),
        }
    }

    /// The frames above `node`, nearest first.
    fn ancestors(&self, node: u64) -> impl Iterator<Item = &'a CallFrame> + '_ {
        std::iter::successors(self.parents.get(&node).copied(), |id| {
            self.parents.get(id).copied()
        })
        .filter_map(|id| self.frames.get(&id).copied())
    }

    /// Each sample that is not idle, with its node, its frame and the microseconds it stands
    /// for: the time until the next sample (`timeDeltas[i + 1]`), the last one the interval.
    fn samples(
        &self,
        profile: &'a Profile,
    ) -> impl Iterator<Item = (u64, &'a CallFrame, f64)> + '_ {
        profile
            .samples
            .iter()
            .enumerate()
            .filter_map(move |(i, node)| {
                let frame = *self.frames.get(node)?;
                if frame.function_name == "(idle)" {
                    return None;
                }
                let us = profile
                    .time_deltas
                    .get(i + 1)
                    .copied()
                    .unwrap_or(i64::from(INTERVAL_US))
                    .max(0) as f64;
                Some((*node, frame, us))
            })
    }
}

/// Totals, largest first (ties by key).
fn largest_first<K: Ord>(totals: HashMap<K, f64>) -> Vec<(K, f64)> {
    let mut sorted: Vec<_> = totals.into_iter().collect();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
}

/// Self time per function, by name and kind, largest first; `(idle)` left out. A function
/// without a name (the runtime's own, mostly) is named after its caller.
pub fn self_times(profile: &Profile) -> Vec<((String, Kind), f64)> {
    let tree = Tree::of(profile);
    let mut totals: HashMap<(String, Kind), f64> = HashMap::new();
    for (node, frame, us) in tree.samples(profile) {
        let name = if frame.function_name.is_empty() {
            let caller = tree
                .ancestors(node)
                .next()
                .map_or("?", |f| f.function_name.as_str());
            format!("(anonymous {}, called by {caller})", short_url(&frame.url))
        } else {
            frame.function_name.clone()
        };
        *totals.entry((name, Kind::of(frame))).or_default() += us;
    }
    largest_first(totals)
}

/// The runtime calls whose self time is charged to the nearest of our own frames above them:
/// SQL storage, the alarm API and the objects' RPC (wasm-bindgen's import, `__wbg_command_…`).
fn charged_to_caller(name: &str) -> bool {
    matches!(name, "exec" | "setAlarm" | "deleteAlarm" | "getAlarm")
        || name.starts_with("__wbg_command_")
}

/// Self time of the [`charged_to_caller`] calls by the nearest frame of the Worker's own crate
/// above them ([`our_name`]), largest first: which statement or call of ours costs what. Where
/// none of ours is above (inlined into a library's generic code), the wasm frames above it.
pub fn storage_by_caller(profile: &Profile) -> Vec<(String, f64)> {
    let tree = Tree::of(profile);
    let mut totals: HashMap<String, f64> = HashMap::new();
    for (node, frame, us) in tree.samples(profile) {
        if !charged_to_caller(&frame.function_name) {
            continue;
        }
        let call = if frame.function_name.starts_with("__wbg_command_") {
            "RPC command"
        } else {
            frame.function_name.as_str()
        };
        let caller = tree
            .ancestors(node)
            .find_map(|f| our_name(&f.function_name))
            .unwrap_or_else(|| {
                let wasm: Vec<&str> = tree
                    .ancestors(node)
                    .filter(|f| f.url.ends_with(".wasm") || f.url.starts_with("wasm://"))
                    .take(3)
                    .map(|f| {
                        let name = f.function_name.as_str();
                        name.get(..name.len().min(70)).unwrap_or(name)
                    })
                    .collect();
                format!("({})", wasm.join(" <- "))
            });
        *totals.entry(format!("{call} <- {caller}")).or_default() += us;
    }
    largest_first(totals)
}

/// Inclusive time of the Worker's own functions ([`our_name`]): each sample charged once to every
/// such frame on its stack, largest first. Where a route's time goes by what our code was doing,
/// its callees (runtime calls, glue, libraries) included.
pub fn inclusive_ours(profile: &Profile) -> Vec<(String, f64)> {
    let tree = Tree::of(profile);
    let mut totals: HashMap<String, f64> = HashMap::new();
    for (node, frame, us) in tree.samples(profile) {
        let mut seen: Vec<String> = Vec::new();
        for name in std::iter::once(frame)
            .chain(tree.ancestors(node))
            .filter_map(|f| our_name(&f.function_name))
        {
            if !seen.contains(&name) {
                seen.push(name);
            }
        }
        for name in seen {
            *totals.entry(name).or_default() += us;
        }
    }
    largest_first(totals)
}

/// A frame of the Worker's own crate (`checkout_edge::`), without its hash and closure
/// suffixes; `None` for others.
fn our_name(function_name: &str) -> Option<String> {
    if !function_name.starts_with("checkout_edge::")
        && !function_name.starts_with("<checkout_edge::")
    {
        return None;
    }
    let mut name = function_name;
    if let Some(i) = name.rfind("::h") {
        if name.len() - i == 19 {
            name = &name[..i];
        }
    }
    while let Some(stripped) = name.strip_suffix("::{{closure}}") {
        name = stripped;
    }
    Some(name.to_owned())
}

fn short_url(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

pub fn run(args: &[String]) -> Result {
    let chosen: Vec<&str> = if args.is_empty() {
        ROUTES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = chosen.iter().find(|r| !ROUTES.contains(r)) {
        return Err(format!(
            "cargo xtask bench profile [{}]: not {unknown}",
            ROUTES.join("|")
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_core = if cores >= 2 {
        load::pin_self(1)?;
        Some(0)
    } else {
        None
    };
    let result = profile_routes(&chosen, server_core);
    if server_core.is_some() {
        load::unpin_self(cores)?;
    }
    result
}

fn profile_routes(chosen: &[&str], server_core: Option<usize>) -> Result {
    let root = root();
    let wrangler = read_text(&root.join("wrangler.toml"))?;
    let dev_vars = read_text(&root.join(".dev.vars"))?;
    let vars = DevVars::of_repo();
    let key = vars.merchant("m_demo").test_key().to_owned();
    let wechat = super::withheld_wechat(&vars);
    // `BENCH_PROFILE_LIMITS=on`: the rate limits at their defaults (what a payment costs with the
    // coarse binding calls and the exact wrong-password reservation); off otherwise.
    let (limits_on, mut extra) = super::rate_limit_vars("BENCH_PROFILE_LIMITS");
    extra.extend(providers::wechat_worker_vars(&wechat));
    let bundle = Bundle::from_wrangler(&root, &wrangler, &dev_vars, &extra)?;
    let inspector = checkout_tests::free_port();
    let scratch = checkout_tests::temp_dir("bench-profile");
    let server = Workerd::start_inspected(&bundle, &scratch, server_core, Some(inspector))?;
    let client = Client::new(&server.base_url);
    let own_origin = server.base_url.clone();
    println!(
        "\nCPU profiles (V8 sampling profiler every {INTERVAL_US} µs over workerd's inspector; limits {}; self time by function)",
        if limits_on { "on" } else { "off" }
    );
    for route in chosen {
        let requests: Vec<Request> = match *route {
            // No object, no body: what every request pays around its route.
            "healthz" => (0..3_000).map(|_| Request::get("/healthz")).collect(),
            "poll" | "read" => {
                let mut reads = Vec::new();
                for n in 0..16 {
                    let customer = format!("cus_profile_read_{n}");
                    reads.push(checkout(
                        &client,
                        &key,
                        &format!("profile-{route}-{n}"),
                        &customer,
                        n,
                    )?);
                }
                (0..3_000)
                    .map(|n| poll_request(&reads[n % reads.len()], n, *route == "poll"))
                    .collect()
            }
            "token" => {
                let mut secrets = Vec::new();
                for n in 0..40 {
                    let session =
                        create_session(&client, &key, &format!("profile-token-{n}"), "cus_p_t")?;
                    secrets.push(text(&session, "client_secret"));
                }
                (0..2_000)
                    .map(|n| {
                        Request::post_json(
                            "/v1/widget/token",
                            &json!({ "client_secret": secrets[n % secrets.len()] }),
                        )
                        .header("Origin", ORIGIN)
                        .header("CF-Connecting-IP", &client_ip(1_000 + n))
                    })
                    .collect()
            }
            "pay" => {
                for wallet in 0..16 {
                    fund(&client, &key, &format!("cus_profile_{wallet}"))?;
                }
                // Requests 0..200 are sampled; 200..400 warm up first, each from the address
                // of the sampled request 200 before it (so the rate limiter's shards are open
                // when the limits are on).
                let mut requests = Vec::new();
                for n in 0..400 {
                    let customer = format!("cus_profile_{}", n % 16);
                    let session = checkout(
                        &client,
                        &key,
                        &format!("profile-pay-{n}"),
                        &customer,
                        2_000 + n,
                    )?;
                    requests.push(
                        Request::post_json(
                            format!("/v1/widget/sessions/{}/pay", session.id),
                            &json!({"method": "balance", "pay_password": PAY_PASSWORD}),
                        )
                        .header("Authorization", &format!("Bearer {}", session.token))
                        .header("Origin", &own_origin)
                        .header("Checkout-Parent-Origin", ORIGIN)
                        .header("Idempotency-Key", &format!("profile-pay-{n:06}"))
                        .header("CF-Connecting-IP", &client_ip(5_000 + n % 200)),
                    );
                }
                let warm = requests.split_off(200);
                let run = load::run(&server.base_url, warm.len(), 200, |n| warm[n].clone());
                if let Some(status) = run.failures.first() {
                    return Err(format!("a warm-up payment answered {status}"));
                }
                requests
            }
            // Each a new order, so a new session object: its start and first write.
            "create" => (0..300)
                .map(|n| {
                    Request::post_json(
                        "/v1/checkout_sessions",
                        &json!({
                            "order_id": format!("profile-create-{n}"), "amount": "10.00",
                            "currency": "BDT", "description": "bench",
                            "customer_id": "cus_profile_create", "methods": ["balance"],
                            "return_url": "https://shop.example/done"
                        }),
                    )
                    .header("Authorization", &format!("Bearer {key}"))
                })
                .collect(),
            _ => {
                let (path, notifications) = wechat_notifications(&client, &key, "profile")?;
                notifications
                    .into_iter()
                    .enumerate()
                    .map(|(n, (headers, body))| {
                        let mut request = Request::post_json(path.as_str(), &json!(null));
                        request.headers = headers;
                        request.body = Some(body);
                        request.header("CF-Connecting-IP", &client_ip(9_000 + n))
                    })
                    .collect()
            }
        };
        let expected = if *route == "wechat" { 204 } else { 200 };
        // Warm: compiled wasm, open objects (a payment cannot be repeated, so `pay` warmed up
        // with sessions of its own above).
        if !matches!(*route, "pay" | "wechat" | "create") {
            warm_up_each(&server, 64, |n| requests[n % requests.len()].clone())?;
        }
        let out = scratch.join(format!("{route}.cpuprofile"));
        let (run, cpu) = sample(inspector, &out, || {
            let before = server.cpu_time()?;
            let run = load::run(&server.base_url, requests.len(), expected, |n| {
                requests[n].clone()
            });
            Ok((run, server.cpu_time()?.saturating_sub(before)))
        })
        .map_err(|e| format!("{e}\nworkerd log:\n{}", tail(&server.log())))?;
        let profile: Profile = serde_json::from_str(&read_text(&out)?)
            .map_err(|e| format!("{}: {e}", out.display()))?;
        print_profile(route, &profile, run.requests(), &run.failures, cpu);
    }
    Ok(())
}

/// Runs `work` while the profiler samples the Worker's isolate; the profile goes to `out`.
fn sample<T>(inspector: u16, out: &std::path::Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let script = root().join("xtask/bench-profile/profile.mjs");
    let mut child = Command::new(node_bin().join("node"))
        .arg(&script)
        .arg(format!("127.0.0.1:{inspector}"))
        .arg(out)
        .arg(INTERVAL_US.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("node {}: {e}", script.display()))?;
    let stdout = child.stdout.take().ok_or("node: no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    match lines.next() {
        Some(Ok(line)) if line == "started" => {}
        other => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the profiler did not start: {other:?}"));
        }
    }
    let result = work();
    // Closing stdin stops the profiler.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.flush();
    }
    let status = child.wait().map_err(|e| format!("node: {e}"))?;
    if !status.success() {
        return Err(format!("the profiler exited with {status}"));
    }
    result
}

fn print_profile(
    route: &str,
    profile: &Profile,
    requests: usize,
    failures: &[u16],
    cpu: std::time::Duration,
) {
    let times = self_times(profile);
    let total: f64 = times.iter().map(|(_, us)| us).sum();
    let per_request = |us: f64| us / 1000.0 / requests.max(1) as f64;
    println!(
        "\n{route}: {requests} requests ({} failed), workerd CPU {:.3} ms/req with the profiler on; sampled (not idle) {:.3} ms/req",
        failures.len(),
        cpu.as_secs_f64() * 1000.0 / requests.max(1) as f64,
        per_request(total),
    );
    let mut by_kind: Vec<(Kind, f64)> = Vec::new();
    for ((_, kind), us) in &times {
        match by_kind.iter_mut().find(|(k, _)| k == kind) {
            Some(slot) => slot.1 += us,
            None => by_kind.push((*kind, *us)),
        }
    }
    by_kind.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shares: Vec<String> = by_kind
        .iter()
        .map(|(k, us)| format!("{} {:.0}%", k.label(), 100.0 * us / total.max(1.0)))
        .collect();
    println!("  by kind: {}", shares.join(", "));
    println!("| self % | ms/req | kind | function |");
    println!("|---:|---:|---|---|");
    for ((name, kind), us) in times.iter().take(TOP) {
        println!(
            "| {:.1} | {:.4} | {} | `{}` |",
            100.0 * us / total.max(1.0),
            per_request(*us),
            kind.label(),
            shorten(name),
        );
    }
    print_named_table(
        "our functions, inclusive (their callees included)",
        "| total % | ms/req | function |",
        &inclusive_ours(profile),
        total,
        per_request,
    );
    print_named_table(
        "storage and object calls by our nearest frame",
        "| self % | ms/req | call <- our frame |",
        &storage_by_caller(profile),
        total,
        per_request,
    );
}

/// One of the profile's tables of named totals (its first [`TOP`] rows), as a share of the
/// sampled `total` and in ms per request; nothing when it is empty.
fn print_named_table(
    title: &str,
    header: &str,
    rows: &[(String, f64)],
    total: f64,
    per_request: impl Fn(f64) -> f64,
) {
    if rows.is_empty() {
        return;
    }
    println!("  {title}:");
    println!("{header}");
    println!("|---:|---:|---|");
    for (name, us) in rows.iter().take(TOP) {
        println!(
            "| {:.1} | {:.4} | `{}` |",
            100.0 * us / total.max(1.0),
            per_request(*us),
            shorten(name),
        );
    }
}

/// A function name cut to a readable length (Rust's paths in wasm names are long).
fn shorten(name: &str) -> String {
    const MAX: usize = 110;
    let name = name.replace('`', "'");
    if name.chars().count() <= MAX {
        name
    } else {
        let cut: String = name.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_time_sums_by_function_and_leaves_idle_out() {
        let profile: Profile = serde_json::from_value(json!({
            "nodes": [
                {"id": 1, "callFrame": {"functionName": "(root)", "url": ""}},
                {"id": 2, "callFrame": {"functionName": "(idle)", "url": ""}},
                {"id": 3, "callFrame": {"functionName": "checkout_edge::run", "url": "wasm://wasm/abc"}},
                {"id": 4, "callFrame": {"functionName": "__wbg_get", "url": "file:///index.js"}},
                {"id": 5, "callFrame": {"functionName": "parse", "url": ""}}
            ],
            "samples": [3, 3, 4, 2, 5, 3],
            "timeDeltas": [0, 100, 100, 100, 100, 100]
        }))
        .unwrap();
        let times = self_times(&profile);
        assert_eq!(
            times[0],
            (("checkout_edge::run".to_owned(), Kind::Wasm), 300.0)
        );
        assert!(times.contains(&(("__wbg_get".to_owned(), Kind::Js), 100.0)));
        assert!(times.contains(&(("parse".to_owned(), Kind::Runtime), 100.0)));
        assert!(!times.iter().any(|((name, _), _)| name == "(idle)"));
    }
}
