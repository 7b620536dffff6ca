//! `cargo xtask bench count`: the storage calls one money request makes, counted rather than
//! timed (a count does not depend on the machine's load). The built Worker's glue
//! (`edge/build/index.js`) is copied and instrumented: each call of SQL storage's `exec` and of
//! the alarm API (`setAlarm`, `deleteAlarm`, `getAlarm`) logs a line with the Durable Object
//! class it came from (read from the wasm frames of the call's stack) and the statement. The
//! copy runs in workerd (limits off, not pinned); a warm-up request of each kind goes first, then
//! the counted one, and everything logged until the object has finished its after-reply work
//! (the outbox's hand-over to `Webhooks`) is summed per object.
//!
//! Requests counted: a balance payment with the pay password (a session created and its widget
//! token granted before), and a WeChat notification that settles its payment. With
//! `BENCH_BASELINE=<a copy of edge/build>` the same is counted for that build too, and then the
//! two builds' CPU per request is compared in pairs ([`paired`]: the widget's status poll, the
//! merchant's read, a balance payment, a settling WeChat notification): on a machine shared with
//! other work, a run of one build and then of the other measures the neighbours' changes as much
//! as the builds'. The paired pass runs with the rate limits off, or at their defaults with
//! `BENCH_COUNT_LIMITS=on`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::providers;
use checkout_tests::worker::rate_limits_off;
use serde_json::json;

use super::load::{self, Request};
use super::money;
use super::routes::{checkout, client_ip, fund, ORIGIN, PAY_PASSWORD};
use super::workerd::{Bundle, Workerd};
use crate::shell::{read_text, root, Result};

/// The bindings of wasm-bindgen's glue that reach storage, and what the log calls them.
const CALLS: [&str; 4] = ["exec", "setAlarm", "deleteAlarm", "getAlarm"];
/// The bindings that hand out an object's storage, tagged with the object's class.
const TAGGED: [&str; 2] = ["sql", "storage"];
/// How long the object is given for its work after the reply.
const SETTLE: Duration = Duration::from_millis(1_500);
/// The marker of an instrumented line in workerd's log.
const MARK: &str = "STORAGE_CALL";

pub fn run() -> Result {
    let root = root();
    let mut builds = vec![("this build".to_owned(), root.join("edge/build"))];
    if let Ok(dir) = std::env::var("BENCH_BASELINE") {
        builds.insert(0, ("baseline".to_owned(), PathBuf::from(dir)));
    }
    let scratch = checkout_tests::temp_dir("bench-count");
    for (label, dir) in &builds {
        let tag = label.replace(' ', "-");
        let main = instrumented_copy(dir, &scratch.join(format!("{tag}-build")))?;
        count_build(label, &tag, &main, &scratch.join(&tag))?;
    }
    if builds.len() == 2 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pinned = cores >= 2;
        if pinned {
            load::pin_self(1)?;
        }
        let result = paired(&builds, &scratch.join("paired"), pinned.then_some(0));
        if pinned {
            load::unpin_self(cores)?;
        }
        result?;
    }
    Ok(())
}

/// Requests per build and route in the paired pass.
const PAIRS: usize = 200;
/// How long after an answer the CPU is read: the session's hand-over to `Webhooks` and its
/// alarm writes happen after the reply.
const AFTER_REPLY: Duration = Duration::from_millis(10);

/// Both builds in workerd at once (both on `core`, the load generator on the other), the same
/// requests sent to each in turn (baseline first, then this build, then the other way round),
/// each request's CPU read around it (workerd's on-CPU time, all threads, from its start to
/// [`AFTER_REPLY`] after its answer): each pair saw the same neighbours.
fn paired(builds: &[(String, PathBuf)], dir: &Path, core: Option<usize>) -> Result {
    let root = root();
    let vars = DevVars::of_repo();
    let key = vars.merchant("m_demo").test_key().to_owned();
    let wechat = super::withheld_wechat(&vars);
    // `BENCH_COUNT_LIMITS=on`: the paired pass with the rate limits at their defaults (the
    // payments then take the coarse binding calls and the exact wrong-password reservation).
    let (limits_on, mut extra) = super::rate_limit_vars("BENCH_COUNT_LIMITS");
    extra.extend(providers::wechat_worker_vars(&wechat));
    let mut servers = Vec::new();
    for (label, build) in builds {
        let bundle = Bundle::from_wrangler(
            &root,
            &read_text(&root.join("wrangler.toml"))?,
            &read_text(&root.join(".dev.vars"))?,
            &extra,
        )?
        .with_main(&super::workerd::main_of(build))?;
        let tag = label.replace(' ', "-");
        servers.push(Workerd::start(&bundle, &dir.join(&tag), core)?);
    }
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    // Per build: its requests (sessions made on that build).
    let mut pays: Vec<Vec<Request>> = Vec::new();
    let mut notifications: Vec<Vec<Request>> = Vec::new();
    let mut polls: Vec<Vec<Request>> = Vec::new();
    let mut reads: Vec<Vec<Request>> = Vec::new();
    for server in &servers {
        let client = Client::new(&server.base_url);
        // One open session, polled and read over and over (one object call each).
        let open = checkout(&client, &key, "paired-open", "cus_paired_open", 70_000)?;
        polls.push(
            (0..PAIRS + 4)
                .map(|n| super::routes::poll_request(&open, 70_000 + n, true))
                .collect(),
        );
        reads.push(
            (0..PAIRS + 4)
                .map(|_| {
                    Request::get(format!("/v1/checkout_sessions/{}", open.id))
                        .header("Authorization", &format!("Bearer {key}"))
                })
                .collect(),
        );
        let mut requests = Vec::new();
        for wallet in 0..4 {
            fund(&client, &key, &format!("cus_paired_{wallet}"))?;
        }
        for n in 0..PAIRS + 4 {
            let customer = format!("cus_paired_{}", n % 4);
            let session = checkout(&client, &key, &format!("paired-{n}"), &customer, n)?;
            requests.push(
                Request::post_json(
                    format!("/v1/widget/sessions/{}/pay", session.id),
                    &json!({"method": "balance", "pay_password": PAY_PASSWORD}),
                )
                .header("Authorization", &format!("Bearer {}", session.token))
                .header("Origin", &server.base_url)
                .header("Checkout-Parent-Origin", ORIGIN)
                .header("Idempotency-Key", &format!("paired-{n}"))
                // Four addresses in turn: the warm-ups open the rate limiter's shards they
                // count in, and each address stays under the coarse 60 payments a minute.
                .header("CF-Connecting-IP", &client_ip(80_000 + n % 4)),
            );
        }
        pays.push(requests);
        let settling = money::wechat_settling(&client, &key, "paired", PAIRS + 4)?;
        notifications.push(
            settling
                .iter()
                .enumerate()
                .map(|(n, prepared)| money::wechat_request(prepared, 90_000 + n))
                .collect(),
        );
    }
    println!(
        "\nCPU per request, the two builds in turn (workerd on core 0 each, limits {}, {PAIRS} requests per build and route after 4 warm-ups; ms, on-CPU until {} ms after the answer)",
        if limits_on { "on" } else { "off" },
        AFTER_REPLY.as_millis()
    );
    println!("| route | build | p50 | p90 | mean |");
    println!("|---|---|---:|---:|---:|");
    for (route, requests, expected) in [
        ("widget poll `?wallet=omit`", &polls, 200),
        ("merchant read", &reads, 200),
        ("balance pay", &pays, 200),
        ("WeChat notification (settles)", &notifications, 204),
    ] {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); servers.len()];
        #[allow(clippy::needless_range_loop)] // `n` picks the n-th request of each build.
        for n in 0..PAIRS + 4 {
            let order: Vec<usize> = match n % 2 {
                0 => (0..servers.len()).collect(),
                _ => (0..servers.len()).rev().collect(),
            };
            for i in order {
                let server = &servers[i];
                let before = money::cpu_ns(server.pid())?;
                let status = load::send(&agent, &server.base_url, &requests[i][n]);
                if status != expected {
                    return Err(format!("{route}: answered {status}"));
                }
                std::thread::sleep(AFTER_REPLY);
                let after = money::cpu_ns(server.pid())?;
                if n >= 4 {
                    samples[i].push(after.saturating_sub(before) as f64 / 1e6);
                }
            }
        }
        for (i, (label, _)) in builds.iter().enumerate() {
            let values = &mut samples[i];
            values.sort_by(f64::total_cmp);
            let at = |p: f64| {
                values[((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1]
            };
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            println!(
                "| {route} | {label} | {:.3} | {:.3} | {mean:.3} |",
                at(0.5),
                at(0.9)
            );
        }
    }
    Ok(())
}

fn count_build(label: &str, tag: &str, main: &Path, dir: &Path) -> Result {
    let root = root();
    let vars = DevVars::of_repo();
    let key = vars.merchant("m_demo").test_key().to_owned();
    let wechat = super::withheld_wechat(&vars);
    let mut extra = rate_limits_off();
    extra.extend(providers::wechat_worker_vars(&wechat));
    let bundle = Bundle::from_wrangler(
        &root,
        &read_text(&root.join("wrangler.toml"))?,
        &read_text(&root.join(".dev.vars"))?,
        &extra,
    )?
    .with_main(main)?;
    let server = Workerd::start(&bundle, dir, None)?;
    let client = Client::new(&server.base_url);
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build();
    let idle = match std::env::var("BENCH_COUNT_IDLE_S") {
        Ok(s) => format!("objects idle {s} s before the counted request"),
        Err(_) => "warm objects".to_owned(),
    };
    println!("\nstorage calls per request, {label} (limits off; {idle})");

    let customer = format!("cus_count_{tag}");
    fund(&client, &key, &customer)?;
    let pays: Vec<Request> = (0..2)
        .map(|n| {
            let session = checkout(&client, &key, &format!("count-{tag}-{n}"), &customer, n)?;
            Ok(Request::post_json(
                format!("/v1/widget/sessions/{}/pay", session.id),
                &json!({"method": "balance", "pay_password": PAY_PASSWORD}),
            )
            .header("Authorization", &format!("Bearer {}", session.token))
            .header("Origin", &server.base_url)
            .header("Checkout-Parent-Origin", ORIGIN)
            .header("Idempotency-Key", &format!("count-{tag}-{n}"))
            .header("CF-Connecting-IP", &client_ip(70_000 + n)))
        })
        .collect::<Result<_>>()?;
    let counted = counted_request(&server, &agent, &pays, 200)?;
    print_counts("balance pay (pay password)", &counted);

    let settling = money::wechat_settling(&client, &key, &format!("count-{tag}"), 2)?;
    let notifications: Vec<Request> = settling
        .iter()
        .enumerate()
        .map(|(n, prepared)| money::wechat_request(prepared, 60_000 + n))
        .collect();
    let counted = counted_request(&server, &agent, &notifications, 204)?;
    print_counts("WeChat notification (settles)", &counted);
    Ok(())
}

/// Sends `requests[0]` (the warm-up), then `requests[1]`, and returns the log lines of the
/// second as (object, call, statement).
fn counted_request(
    server: &Workerd,
    agent: &ureq::Agent,
    requests: &[Request],
    expected: u16,
) -> Result<Vec<(String, String, String)>> {
    for (n, request) in requests.iter().enumerate().take(2) {
        if n == 1 {
            // `BENCH_COUNT_IDLE_S`: how long the objects stay idle before the counted request
            // (long enough, and workerd evicts them: the count then includes their start).
            let idle_s = std::env::var("BENCH_COUNT_IDLE_S")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            std::thread::sleep(Duration::from_secs(idle_s));
        }
        let from = server.log().len();
        let status = load::send(agent, &server.base_url, request);
        if status != expected {
            return Err(format!(
                "{} {} answered {status}\n{}",
                request.method,
                request.path,
                super::routes::tail(&server.log())
            ));
        }
        std::thread::sleep(SETTLE);
        if n == 1 {
            let log = server.log();
            return Ok(log[from..]
                .lines()
                .filter_map(|line| {
                    let rest = &line[line.find(MARK)? + MARK.len()..];
                    let mut parts = rest.trim().splitn(3, ' ');
                    let object = parts.next()?.to_owned();
                    let call = parts.next()?.to_owned();
                    let statement = parts.next().unwrap_or("").trim_end_matches('"');
                    Some((object, call, statement.to_owned()))
                })
                .collect());
        }
    }
    Err("two requests are needed: a warm-up and the counted one".into())
}

fn print_counts(what: &str, lines: &[(String, String, String)]) {
    let mut per_object: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut statements: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for (object, call, statement) in lines {
        let slot = per_object.entry(object).or_default();
        if call == "exec" {
            slot.0 += 1;
            *statements.entry((object, shorten(statement))).or_default() += 1;
        } else {
            slot.1 += 1;
            *statements.entry((object, call.clone())).or_default() += 1;
        }
    }
    let sql: usize = per_object.values().map(|c| c.0).sum();
    let alarms: usize = per_object.values().map(|c| c.1).sum();
    println!("\n{what}: {sql} SQL statements, {alarms} alarm calls");
    for (object, (sql, alarms)) in &per_object {
        println!("  {object}: {sql} SQL, {alarms} alarm");
    }
    println!("| object | × | statement or alarm call |");
    println!("|---|---:|---|");
    for ((object, statement), n) in &statements {
        println!("| {object} | {n} | `{statement}` |");
    }
}

/// A statement's first words, enough to tell it apart.
fn shorten(statement: &str) -> String {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let cut = words.join(" ");
    if cut.chars().count() <= 90 {
        cut
    } else {
        format!("{}…", cut.chars().take(90).collect::<String>())
    }
}

/// A copy of the build in `dir` whose glue logs every storage call; returns its main module.
fn instrumented_copy(dir: &Path, into: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(into).map_err(|e| format!("{}: {e}", into.display()))?;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file() {
            let name = path.file_name().ok_or("a file without a name")?;
            std::fs::copy(&path, into.join(name)).map_err(|e| format!("copy: {e}"))?;
        }
    }
    let glue = into.join("index.js");
    crate::shell::write(&glue, &instrument(&read_text(&glue)?)?)?;
    Ok(super::workerd::main_of(into))
}

/// The glue with a log line in front of every storage binding's call.
fn instrument(glue: &str) -> Result<String> {
    // The object is known by its storage: the constructors (`<class>_new` on the stack) read
    // `state.storage` and its `sql`, which are tagged with the class then; a call on an untagged
    // one falls back to the first `objects::<name>` frame on the stack.
    let mut out = format!(
        "globalThis.__storageTags=new WeakMap();\
         globalThis.__storageTag=function(v){{const m=/wasm\\.(\\w+)_new /.exec(new Error().stack||\"\");\
         if(m&&v&&typeof v==\"object\"&&!__storageTags.has(v))__storageTags.set(v,m[1]);return v}};\
         globalThis.__storageCall=function(call,sql,t){{let o=__storageTags.get(t);if(!o){{o=\"?\";\
         for(const m of (new Error().stack||\"\").matchAll(/objects::(\\w+)/g)){{o=m[1];break}}}}\
         console.log(\"{MARK} \"+o+\" \"+call+\" \"+(sql?String(sql).replace(/\\s+/g,\" \"):\"\"));return 0}};\n"
    );
    let mut rest = glue;
    let mut found = 0;
    while let Some(at) = rest.find("__wbg_") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let name_end = from.find(':').unwrap_or(from.len());
        let name = &from[..name_end];
        let call = CALLS
            .iter()
            .chain(&TAGGED)
            .find(|c| name.starts_with(&format!("__wbg_{c}_")));
        let body_at = from.find("{return ");
        match (call, body_at) {
            (Some(call), Some(body)) if from[name_end..].starts_with(":function(") => {
                let params = &from[name_end + ":function(".len()..];
                let receiver = &params[..params.find([',', ')']).unwrap_or(0)];
                let body = body + "{return ".len();
                out.push_str(&from[..body]);
                let after = &from[body..];
                let end = after.find('}').ok_or("a binding without an end")?;
                let call_text = &after[..end];
                if TAGGED.contains(call) {
                    // `t.sql`, `t.storage`: tagged with the constructing class.
                    out.push_str(&format!("__storageTag({call_text})"));
                } else {
                    let sql = match *call {
                        // `t.exec(d(e,n),..._)`: the first argument is the statement's text.
                        "exec" => {
                            let open = call_text.find('(').ok_or("exec without a call")?;
                            let close = call_text.find(')').ok_or("exec without a call")?;
                            &call_text[open + 1..=close]
                        }
                        _ => "null",
                    };
                    out.push_str(&format!(
                        "__storageCall(\"{call}\",{sql},{receiver}),{call_text}"
                    ));
                    found += 1;
                }
                rest = &after[end..];
            }
            _ => {
                out.push_str("__wbg_");
                rest = &from["__wbg_".len()..];
            }
        }
    }
    out.push_str(rest);
    if found == 0 {
        return Err("no storage binding found in the glue".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::instrument;

    #[test]
    fn each_storage_binding_logs_before_its_call() {
        let glue = "x={__wbg_exec_85b6:function(t,e,n,_){return t.exec(d(e,n),..._)},\
                    __wbg_setAlarm_03:function(t,e,n){return t.setAlarm(e,n)},\
                    __wbg_sql_2:function(t){return t.sql},\
                    __wbg_get_1:function(t){return t.get()}}";
        let out = instrument(glue).unwrap();
        assert!(out.contains("{return __storageCall(\"exec\",d(e,n),t),t.exec(d(e,n),..._)}"));
        assert!(out.contains("{return __storageCall(\"setAlarm\",null,t),t.setAlarm(e,n)}"));
        assert!(out.contains("__wbg_sql_2:function(t){return __storageTag(t.sql)}"));
        assert!(out.contains("__wbg_get_1:function(t){return t.get()}"));
    }
}
