//! Time to interactive: from the widget's script tag going into the page to its pay button being
//! on screen and enabled, in headless Chromium on this machine, against the local Worker. Each
//! run is a new browser (empty cache: a shopper's first view) and a new checkout session.

use std::time::Duration;

use checkout_tests::api::Client;
use checkout_tests::webdriver::Browser;
use serde_json::{json, Value};

use super::expect_ok;
use crate::shell::Result;

/// Page loads timed.
const RUNS: usize = 15;
/// The requests on the way to the first view, as `tests/pages/tti.js` names them, in the order
/// the loader makes them.
const PHASES: [(&str, &str); 6] = [
    ("checkout.js", "loader checkout.js"),
    ("checkout_widget.js", "glue checkout_widget.js"),
    ("__wasm_split.js", "link module __wasm_split.js"),
    (
        "checkout_widget_bg.wasm",
        "main part checkout_widget_bg.wasm",
    ),
    ("widget/token", "POST /v1/widget/token"),
    ("widget/sessions/", "GET /v1/widget/sessions/{id}"),
];
const WAIT: Duration = Duration::from_secs(30);

/// Times [`RUNS`] loads of `tests/pages/tti.html` (served as `/test/tti.html`) and prints the median and p90.
pub fn time_to_interactive(client: &Client, base_url: &str, key: &str) -> Result {
    // The demo customer needs a usable method, or the pay button stays disabled.
    expect_ok(
        client
            .call("PUT", "/v1/customers/cus_demo/pay_password")
            .bearer(key)
            .json(&json!({"pay_password": "123456"})),
    )?;
    // `BENCH_TTI_HOLD_S=<seconds>`: no timing; the Worker stays up that long for a browser
    // driven by hand (a trace of the page: `{base_url}/test/tti.html`).
    if let Some(hold_s) = std::env::var("BENCH_TTI_HOLD_S")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        println!("holding {base_url}/test/tti.html for {hold_s} s");
        std::thread::sleep(Duration::from_secs(hold_s));
        return Ok(());
    }
    let mut interactive = Vec::with_capacity(RUNS);
    let mut ready = Vec::with_capacity(RUNS);
    let mut after_ready = Vec::with_capacity(RUNS);
    // From the later of the main part's and the session's answers to `checkout:ready`: the
    // widget's own work once the network has brought everything.
    let mut after_network = Vec::with_capacity(RUNS);
    let mut phases: Vec<Vec<f64>> = vec![Vec::with_capacity(RUNS); PHASES.len()];
    let mut starts: Vec<Vec<f64>> = vec![Vec::with_capacity(RUNS); PHASES.len()];
    // The last stretch: `checkout:ready` → the pay button in the DOM → the first frame with it →
    // laid out and enabled.
    let mut last: [Vec<f64>; 4] = Default::default();
    for run in 0..RUNS {
        let times = one_load(base_url)?;
        if run == 0 {
            first_view_files(&times)?;
        }
        let at = |name: &str| times[name].as_f64().unwrap_or(f64::NAN);
        interactive.push(at("interactive") - at("inserted"));
        ready.push(at("ready") - at("inserted"));
        after_ready.push(at("interactive") - at("ready"));
        let answer = |key: &str| times["phases"][key].as_f64().unwrap_or(f64::NAN);
        let last_answer = answer("checkout_widget_bg.wasm").max(answer("widget/sessions/"));
        if last_answer.is_finite() {
            after_network.push(at("ready") - at("inserted") - last_answer);
        }
        for (i, (key, _)) in PHASES.iter().enumerate() {
            if let Some(ms) = times["phases"][key].as_f64() {
                phases[i].push(ms);
            }
            if let Some(ms) = times["starts"][key].as_f64() {
                starts[i].push(ms);
            }
        }
        let marks = ["ready", "rendered", "frame", "frameRuns", "interactive"];
        for (i, pair) in marks.windows(2).enumerate() {
            let span = at(pair[1]) - at(pair[0]);
            if span.is_finite() {
                last[i].push(span);
            }
        }
    }
    println!("\ntime to interactive (script tag inserted → pay button enabled; headless Chromium, new browser each, {RUNS} runs)");
    println!("  interactive: {}", summary(&mut interactive));
    println!("  checkout:ready event: {}", summary(&mut ready));
    println!("  answers on the way (from the tag's insertion, when each response ended):");
    for ((_, label), values) in PHASES.iter().zip(phases.iter_mut()) {
        if !values.is_empty() {
            println!("    {label}: {}", summary(values));
        }
    }
    println!("  requests on the way (from the tag's insertion, when each was asked for):");
    for ((_, label), values) in PHASES.iter().zip(starts.iter_mut()) {
        if !values.is_empty() {
            println!("    {label}: {}", summary(values));
        }
    }
    if !after_network.is_empty() {
        println!(
            "  last of the main part and the session answered → checkout:ready: {}",
            summary(&mut after_network)
        );
    }
    println!(
        "  checkout:ready → interactive: {}",
        summary(&mut after_ready)
    );
    println!("  after checkout:ready:");
    let labels = [
        "ready → pay button in the DOM",
        "in the DOM → start of the first frame with it",
        "frame start → its animation callbacks",
        "callbacks → laid out, enabled (style and layout)",
    ];
    for (label, values) in labels.iter().zip(last.iter_mut()) {
        if !values.is_empty() {
            println!("    {label}: {}", summary(values));
        }
    }
    Ok(())
}

/// Prints the widget files fetched before it was interactive, and fails if a lazy part was among
/// them: the size bench counts the main part only, so that must hold.
fn first_view_files(times: &Value) -> Result {
    let files: Vec<&str> = times["files"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!(
        "\nfetched before the widget was interactive: {}",
        files.join(", ")
    );
    match files
        .iter()
        .find(|f| f.ends_with(".wasm") && **f != "checkout_widget_bg.wasm")
    {
        Some(part) => Err(format!(
            "the lazy part {part} loaded before the widget was interactive"
        )),
        None => Ok(()),
    }
}

fn one_load(base_url: &str) -> Result<Value> {
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{base_url}/test/tti.html"));
    let started = std::time::Instant::now();
    loop {
        let times = browser.script("return window.tti || null;", vec![]);
        if let Some(error) = times.get("error") {
            return Err(format!("the widget failed to load: {error}"));
        }
        if times.get("interactive").is_some() {
            return Ok(times);
        }
        if started.elapsed() > WAIT {
            return Err(format!(
                "the widget was not interactive within {WAIT:?}: {times}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// "median 123.4 ms, p90 150.2 ms (min .., max ..)", sorting `values`.
fn summary(values: &mut [f64]) -> String {
    values.sort_by(f64::total_cmp);
    let pick = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    format!(
        "median {:.1} ms, p90 {:.1} ms (min {:.1}, max {:.1})",
        pick(0.5),
        pick(0.9),
        values[0],
        values[values.len() - 1]
    )
}
