//! `cargo xtask fuzz`: the libFuzzer targets in `fuzz/` (why libFuzzer: `fuzz/src/lib.rs`).
//!
//! The targets are built once by cargo-fuzz (pinned below, with the widget's pinned nightly,
//! no sanitizer, overflow checks on) into `target/fuzz/`, then each binary is run directly, one
//! at a time (one job: the machine is shared), for a time or a number of inputs. Each run reads
//! the committed seeds (`fuzz/seeds/<target>/`) and the corpus earlier runs grew
//! (`target/fuzz/corpus/<target>/`), grows the latter, and uses the target's dictionary
//! (`fuzz/dicts/`). A crash is saved by libFuzzer in `fuzz/artifacts/<target>/`; the error names
//! the file, shows the input and the panic, and says how to reproduce it.
//!
//! `cargo xtask test` runs [`short_pass`]: every target for [`SHORT_PASS_S`] seconds, beside the
//! workspace's tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::shell::{output, root, run_in, tool_path, Result};

/// `cargo install cargo-fuzz --version` this, `--locked`.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Every target: `fuzz/fuzz_targets/<name>.rs`.
pub const TARGETS: [&str; 7] = [
    "json",
    "money",
    "stripe_signature",
    "token",
    "webhook",
    "wechat_notification",
    "wechat_resource",
];

/// Seconds per target inside `cargo xtask test`.
pub const SHORT_PASS_S: u64 = 4;

/// How long each target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Seconds(u64),
    Runs(u64),
}

/// What one run did, from libFuzzer's final statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub target: String,
    pub executions: u64,
    pub executions_per_s: u64,
    pub new_units: u64,
    /// Coverage points reached, libFuzzer's `cov:`.
    pub coverage: u64,
    pub corpus: u64,
    pub seconds: u64,
}

/// `cargo xtask fuzz [--time S | --runs N] [TARGET...]`: every target (or those named), 60 s
/// each unless told otherwise, then a table of what each did.
pub fn command(args: &[String]) -> Result {
    let (budget, targets) = parse_args(args)?;
    crate::setup::fuzzing()?;
    build()?;
    let mut table = Vec::new();
    let mut crashes = Vec::new();
    // Every target runs even after one crashed, so one run shows every crash.
    for target in &targets {
        match run(target, budget) {
            Ok(stats) => table.push(stats),
            Err(crash) => {
                eprintln!("{crash}");
                crashes.push(crash);
            }
        }
    }
    println!(
        "target               inputs tried   exec/s   new units   coverage   corpus   seconds"
    );
    for stats in &table {
        println!(
            "{:<20} {:>12} {:>8} {:>11} {:>10} {:>8} {:>9}",
            stats.target,
            stats.executions,
            stats.executions_per_s,
            stats.new_units,
            stats.coverage,
            stats.corpus,
            stats.seconds
        );
    }
    if crashes.is_empty() {
        Ok(())
    } else {
        Err(crashes.join("\n"))
    }
}

/// Every target for a few seconds, for `cargo xtask test`; the number of targets that ran clean.
pub fn short_pass() -> Result<u64> {
    let mut clean = 0;
    for target in TARGETS {
        let stats = run(target, Budget::Seconds(SHORT_PASS_S))?;
        eprintln!(
            "fuzz {target}: {} inputs in {} s, no crash",
            stats.executions, stats.seconds
        );
        clean += 1;
    }
    Ok(clean)
}

fn parse_args(args: &[String]) -> Result<(Budget, Vec<String>)> {
    let mut budget = Budget::Seconds(60);
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut number = |flag: &str| -> Result<u64> {
            args.next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("{flag} takes a number"))
        };
        match arg.as_str() {
            "--time" => budget = Budget::Seconds(number("--time")?),
            "--runs" => budget = Budget::Runs(number("--runs")?),
            name if TARGETS.contains(&name) => targets.push(name.to_owned()),
            other => {
                return Err(format!(
                    "usage: cargo xtask fuzz [--time S | --runs N] [{}]; not {other}",
                    TARGETS.join("|")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.map(String::from).to_vec();
    }
    Ok((budget, targets))
}

/// Builds every target with cargo-fuzz: release, overflow checks on, no sanitizer.
pub fn build() -> Result {
    run_in(
        &root(),
        "cargo",
        &[
            "fuzz",
            "build",
            "--sanitizer",
            "none",
            "--debug-assertions",
            "--target-dir",
            "target/fuzz",
        ],
        &[("RUSTUP_TOOLCHAIN", crate::build::WIDGET_TOOLCHAIN)],
    )
}

fn binary(target: &str) -> Result<PathBuf> {
    let host = output("rustc", &["-vV"])
        .and_then(|v| {
            v.lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        })
        .ok_or("rustc -vV names no host")?;
    let path = root().join(format!("target/fuzz/{host}/release/{target}"));
    path.exists()
        .then_some(path)
        .ok_or_else(|| format!("fuzz target {target} is not built"))
}

/// One target under `budget`; a crash is an error that names the saved input.
fn run(target: &str, budget: Budget) -> Result<Stats> {
    let root = root();
    let corpus = root.join("target/fuzz/corpus").join(target);
    let artifacts = root.join("fuzz/artifacts").join(target);
    let logs = root.join("target/fuzz/logs");
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let limit = match budget {
        Budget::Seconds(s) => format!("-max_total_time={s}"),
        Budget::Runs(n) => format!("-runs={n}"),
    };
    let args = [
        corpus.display().to_string(),
        root.join("fuzz/seeds").join(target).display().to_string(),
        format!(
            "-dict={}",
            root.join("fuzz/dicts")
                .join(format!("{target}.dict"))
                .display()
        ),
        format!("-artifact_prefix={}/", artifacts.display()),
        "-max_len=4096".into(),
        "-timeout=10".into(),
        "-rss_limit_mb=2048".into(),
        "-print_final_stats=1".into(),
        limit,
    ];
    let log_path = logs.join(format!("{target}.log"));
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let bin = binary(target)?;
    eprintln!("$ {} {}", bin.display(), args.join(" "));
    let started = std::time::Instant::now();
    let status = Command::new(&bin)
        .args(&args)
        .current_dir(&root)
        .env("PATH", tool_path())
        .stdout(Stdio::null())
        .stderr(log)
        .status()
        .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        return Err(crash_report(target, &bin, &text, &log_path));
    }
    let mut stats = parse_stats(target, &text);
    stats.seconds = started.elapsed().as_secs();
    Ok(stats)
}

/// The saved input, the panic and how to reproduce, from libFuzzer's log.
fn crash_report(target: &str, bin: &Path, log: &str, log_path: &Path) -> String {
    let saved = log.lines().find_map(|l| {
        l.split_once("Test unit written to ")
            .map(|(_, p)| p.trim().to_owned())
    });
    let panic: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("panicked at"))
        .take(3)
        .collect();
    let Some(saved) = saved else {
        return format!("fuzz target {target} failed; see {}", log_path.display());
    };
    let input = std::fs::read(&saved).unwrap_or_default();
    format!(
        "fuzz target {target} crashed on {saved}\n  input: \"{}\"\n  {}\n  reproduce: {} {saved}\n  \
         (or `cargo +{} fuzz run -s none -a {target} {saved}`); log: {}",
        input.escape_ascii(),
        panic.join("\n  "),
        bin.display(),
        crate::build::WIDGET_TOOLCHAIN,
        log_path.display()
    )
}

/// libFuzzer's `stat::` lines and the last status line (`#N DONE cov: C ft: F corp: K/...`).
fn parse_stats(target: &str, log: &str) -> Stats {
    let stat = |name: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let status = log
        .lines()
        .rev()
        .find(|l| l.starts_with('#') && l.contains("cov:"))
        .unwrap_or("");
    let after = |key: &str| {
        status
            .split_whitespace()
            .skip_while(|w| *w != key)
            .nth(1)
            .and_then(|v| v.split('/').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Stats {
        target: target.to_owned(),
        executions: stat("number_of_executed_units"),
        executions_per_s: stat("average_exec_per_sec"),
        new_units: stat("new_units_added"),
        coverage: after("cov:"),
        corpus: after("corp:"),
        seconds: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_come_from_libfuzzers_final_lines() {
        let log = "#2\tINITED cov: 120 ft: 130 corp: 1/1b exec/s: 0 rss: 30Mb\n\
                   #81920\tDONE   cov: 431 ft: 1210 corp: 95/2841b lim: 4096 exec/s: 40960 rss: 40Mb\n\
                   Done 81920 runs in 2 second(s)\n\
                   stat::number_of_executed_units: 81920\n\
                   stat::average_exec_per_sec:     40960\n\
                   stat::new_units_added:          94\n\
                   stat::slowest_unit_time_sec:    0\n\
                   stat::peak_rss_mb:              40\n";
        let stats = parse_stats("json", log);
        assert_eq!(
            stats,
            Stats {
                target: "json".into(),
                executions: 81_920,
                executions_per_s: 40_960,
                new_units: 94,
                coverage: 431,
                corpus: 95,
                seconds: 0,
            }
        );
    }

    #[test]
    fn the_budget_and_targets_come_from_the_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (budget, targets) = parse_args(&args(&["--runs", "1000", "webhook"])).unwrap();
        assert_eq!(budget, Budget::Runs(1000));
        assert_eq!(targets, ["webhook"]);
        let (budget, targets) = parse_args(&[]).unwrap();
        assert_eq!(budget, Budget::Seconds(60));
        assert_eq!(targets.len(), TARGETS.len());
        assert!(parse_args(&args(&["--time"])).is_err());
        assert!(parse_args(&args(&["stripe"])).is_err());
    }
}
