//! `cargo xtask`: the project's build system, as a plain Rust program.
//!
//! - `setup`: installs what is missing, pinned (wasm target, worker-build, wasm-bindgen-cli,
//!   npm tools, and for tests Debian's chromium), and generates the dev secrets. Idempotent.
//! - `build`: the widget (wasm + JS glue into `www/pkg/`) and the Worker (`edge/build/`);
//!   `build widget`: the widget and its release only; `build edge`: the Worker only.
//! - `dev`: set-up, build, run the Worker locally in workerd, seed the demo shop, print its URL.
//! - `test`: set-up, build, then every test: unit, the widget's component tests (wasm-bindgen-test
//!   in headless Chromium), integration over HTTP, browser, a few seconds of each fuzz target, and
//!   a sweep of the saga simulation.
//! - `fuzz [--time S | --runs N] [TARGET...]`: the fuzz targets in `fuzz/`, longer (`src/fuzz.rs`).
//! - `sim [--seeds N] [--steps M] [--seed S]`: the seeded simulation of the session saga
//!   (`sim/`, `src/sim.rs`); `test` runs a bounded sweep of it.
//! - `bench [size|workerd|wrangler]`: sizes and load figures, the Worker in workerd directly and
//!   through `wrangler dev` (`src/bench/`).

mod bench;
mod build;
mod dev;
mod fuzz;
mod release;
mod setup;
mod shell;
mod sim;
mod slim;
mod split;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(setup::Needs::Everything),
        Some("build") if args.get(1).map(String::as_str) == Some("widget") => build::widget_only(),
        Some("build") if args.get(1).map(String::as_str) == Some("edge") => build::edge(),
        Some("build") => build::run(),
        Some("dev") => dev::run(),
        Some("test") => run_tests(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::command(&args[1..]),
        Some("sim") => sim::command(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <setup|build|dev|test|bench|fuzz|sim>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Every test in the workspace, and beside them a short pass of every fuzz target, then a sweep
/// of the saga simulation (one thread, one core; the integration tests run two at a time). Extra
/// arguments go to `cargo test` (a filter, say) and skip the fuzz pass and the sweep.
fn run_tests(extra: &[String]) -> shell::Result {
    setup::run(setup::Needs::Everything)?;
    build::run()?;
    let fuzzing = extra.is_empty();
    if fuzzing {
        fuzz::build()?;
        sim::build()?;
    }
    // One after the other on one core: a fuzz failure does not hide the sweep's.
    let fuzz_pass = std::thread::spawn(move || match fuzzing {
        true => (fuzz::short_pass(), sim::short_pass()),
        false => (Ok(0), Ok(0)),
    });
    // Every test binary runs even after one fails, so one run shows every failure.
    let mut args = vec!["test", "--workspace", "--no-fail-fast"];
    args.extend(extra.iter().map(String::as_str));
    // Integration tests each start a Worker; two at a time fit this machine's two cores.
    let workspace = shell::run_counting_tests(&shell::root(), &args, &[("RUST_TEST_THREADS", "2")]);
    let components = component_tests(extra);
    let (fuzzed, simulated) = fuzz_pass.join().unwrap_or_else(|_| {
        let panicked = || Err("the fuzz pass or the simulation panicked".to_owned());
        (panicked(), panicked())
    });
    let results = (workspace, components, fuzzed, simulated);
    let (workspace, components, fuzzed, simulated) = match results {
        (Ok(workspace), Ok(components), Ok(fuzzed), Ok(simulated)) => {
            (workspace, components, fuzzed, simulated)
        }
        (workspace, components, fuzzed, simulated) => {
            let failures: Vec<String> = [
                workspace.err(),
                components.err(),
                fuzzed.err(),
                simulated.err(),
            ]
            .into_iter()
            .flatten()
            .collect();
            return Err(failures.join("; "));
        }
    };
    let passed = workspace.passed + components.passed + fuzzed + simulated;
    println!(
        "{passed} passed, 0 failed ({} of them component tests in Chromium, {fuzzed} fuzz targets, \
         {simulated} simulation seeds)",
        components.passed
    );
    if workspace.passed == 0 || (extra.is_empty() && components.passed == 0) {
        return Err("no tests ran".into());
    }
    Ok(())
}

/// The widget's component tests (wasm-bindgen-test, in headless Chromium through chromedriver),
/// built without lazily loaded parts: the test runner serves no link module.
fn component_tests(extra: &[String]) -> shell::Result<shell::TestSummary> {
    let runner = shell::cargo_bin().join("wasm-bindgen-test-runner");
    let mut args = vec![
        "test",
        "-p",
        "checkout-widget",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
        "--lib",
    ];
    // A name filter applies here too; options naming workspace test targets do not.
    args.extend(
        extra
            .iter()
            .filter(|a| !a.starts_with('-'))
            .map(String::as_str),
    );
    let runner = runner.to_str().unwrap_or_default();
    shell::run_counting_tests(
        &shell::root(),
        &args,
        &[("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner)],
    )
}
