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

/// The bytes of `path`; the error names the file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The text of `path`; the error names the file.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path`; the error names the file.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
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

/// Totals over every `test result:` line `cargo test` printed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestSummary {
    pub passed: u64,
    pub failed: u64,
}

impl TestSummary {
    /// Adds the counts from one line such as `test result: ok. 34 passed; 0 failed; 0 ignored`.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let count = count.parse::<u64>().unwrap_or(0);
            match label {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                _ => {}
            }
        }
    }
}

/// Runs `cargo args`, streaming its output, and totals the test results it reports.
pub fn run_counting_tests(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<TestSummary> {
    use std::io::{BufRead, BufReader};
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env("PATH", tool_path())
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let mut summary = TestSummary::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::io::Result::ok)
        {
            println!("{line}");
            summary.add_line(&line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "tests failed ({} passed, {} failed)",
            summary.passed, summary.failed
        ));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::TestSummary;

    #[test]
    fn test_summaries_add_up_across_binaries() {
        let mut summary = TestSummary::default();
        summary.add_line("test result: ok. 34 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.78s");
        summary.add_line(
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        summary.add_line("running 3 tests");
        assert_eq!(
            summary,
            TestSummary {
                passed: 36,
                failed: 1
            }
        );
    }
}
