//! Running commands and finding the project's pinned tools.

use std::path::{Path, PathBuf};
use std::process::Command;

pub type Result<T = ()> = std::result::Result<T, String>;

pub fn root() -> PathBuf {
    checkout_tests::repo_root()
}

/// The folder holding the pinned npm tools (`wrangler`, `wasm-opt`, a Node 22).
pub fn node_bin() -> PathBuf {
    root().join("node_modules/.bin")
}

/// The folder `cargo install` puts binaries in.
pub fn cargo_bin() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin")
}

/// PATH with the project's Node tools and cargo's bin folder first.
pub fn tool_path() -> String {
    format!(
        "{}:{}:{}",
        node_bin().display(),
        cargo_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `program args` in `dir`, echoing it; fails on a non-zero exit.
pub fn run_in(dir: &Path, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", tool_path())
        .envs(envs.iter().copied())
        .status()
        .map_err(|e| format!("could not start {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed with {status}",
            args.join(" ")
        ))
    }
}

/// The trimmed stdout of a command, or `None` if it could not run or failed.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .env("PATH", tool_path())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
