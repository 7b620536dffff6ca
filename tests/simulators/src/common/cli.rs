//! Start-up of the standalone binaries (`bkash-sim`, `wechat-sim`, `stripe-sim`) that the local
//! demo runs: option pairs, exit codes, the `listening on` line the launcher waits for, and
//! serving until killed. Each binary keeps its own options and what it prints after that line.

use std::io;
use std::process::ExitCode;

/// The `--name value` pairs of a command line, in order; an option without a value is an error.
pub fn options(args: &[String]) -> Result<Vec<(&str, &str)>, String> {
    args.chunks(2)
        .map(|pair| match pair {
            [name, value] => Ok((name.as_str(), value.as_str())),
            [name] => Err(format!("{name} needs a value")),
            _ => unreachable!("chunks of two"),
        })
        .collect()
}

/// A `--port` value.
pub fn port(value: &str) -> Result<u16, String> {
    value.parse().map_err(|_| "--port: not a port".to_owned())
}

/// What a binary does, apart from the shared start-up.
pub struct Standalone<'a> {
    /// The binary's name, prefixed to its error messages.
    pub name: &'a str,
    /// Printed for `--help`/`-h`, and after a bad command line.
    pub usage: &'a str,
}

impl Standalone<'_> {
    /// Runs the binary: `--help` prints the usage; else `configure` reads the arguments (exit
    /// 2 with its message and the usage), `start` binds (exit 1), the first line printed is
    /// `listening on http://127.0.0.1:P` with the port `port` reports, then `announce` prints
    /// the rest, and the simulator serves until the process is killed.
    pub fn main<C, S>(
        &self,
        configure: impl FnOnce(&[String]) -> Result<C, String>,
        start: impl FnOnce(C) -> io::Result<S>,
        port: impl FnOnce(&S) -> u16,
        announce: impl FnOnce(&S),
    ) -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "--help" || a == "-h") {
            println!("{}", self.usage);
            return ExitCode::SUCCESS;
        }
        let config = match configure(&args) {
            Ok(config) => config,
            Err(message) => {
                eprintln!("{}: {message}\n{}", self.name, self.usage);
                return ExitCode::from(2);
            }
        };
        let sim = match start(config) {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("{}: cannot start: {e}", self.name);
                return ExitCode::FAILURE;
            }
        };
        println!("listening on http://127.0.0.1:{}", port(&sim));
        announce(&sim);
        loop {
            std::thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_in_pairs() {
        let args: Vec<String> = ["--port", "8080", "--keys", "k.json"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            options(&args).unwrap(),
            [("--port", "8080"), ("--keys", "k.json")]
        );
        let dangling: Vec<String> = ["--port", "1", "--keys"].map(String::from).to_vec();
        assert_eq!(options(&dangling).unwrap_err(), "--keys needs a value");
        assert_eq!(port("x").unwrap_err(), "--port: not a port");
    }
}
