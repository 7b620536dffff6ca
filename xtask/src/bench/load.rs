//! The load generator: a fixed number of requests over a few keep-alive connections (one
//! `ureq` agent per thread, so one connection each), loopback only; it stops by itself.
//! The server's CPU is read from `/proc` around each run ([`Measured`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::shell::Result;

/// Concurrent connections.
pub const CONNECTIONS: usize = 8;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: "GET",
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post_json(path: impl Into<String>, body: &serde_json::Value) -> Request {
        Request {
            method: "POST",
            path: path.into(),
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: Some(body.to_string()),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// What one load run saw.
#[derive(Debug, Clone)]
pub struct Run {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    /// Answers with another status than the expected one, and transport errors (status 0).
    pub failures: Vec<u16>,
}

impl Run {
    pub fn requests(&self) -> usize {
        self.latencies.len()
    }

    pub fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-quantile latency (nearest rank), in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1].as_secs_f64() * 1000.0
    }
}

/// Sends `count` requests (`make(n)` builds the `n`th) to `base_url` over [`CONNECTIONS`]
/// connections; an answer other than `expected` counts as a failure.
pub fn run(
    base_url: &str,
    count: usize,
    expected: u16,
    make: impl Fn(usize) -> Request + Sync,
) -> Run {
    let next = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(count));
    let failures = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONNECTIONS.min(count) {
            scope.spawn(|| {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .max_idle_connections_per_host(1)
                    .redirects(0)
                    .build();
                let (mut mine, mut failed) = (Vec::new(), Vec::new());
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count {
                        break;
                    }
                    let request = make(n);
                    let t = Instant::now();
                    let status = send(&agent, base_url, &request);
                    mine.push(t.elapsed());
                    if status != expected {
                        failed.push(status);
                    }
                }
                latencies.lock().expect("lock").extend(mine);
                failures.lock().expect("lock").extend(failed);
            });
        }
    });
    Run {
        elapsed: started.elapsed(),
        latencies: latencies.into_inner().expect("lock"),
        failures: failures.into_inner().expect("lock"),
    }
}

/// Sends one request and reads the whole answer (so the connection goes back to the pool);
/// its status, 0 when none came.
pub fn send(agent: &ureq::Agent, base_url: &str, request: &Request) -> u16 {
    let mut call = agent.request(request.method, &format!("{base_url}{}", request.path));
    for (name, value) in &request.headers {
        call = call.set(name, value);
    }
    let answer = match &request.body {
        Some(body) => call.send_string(body),
        None => call.call(),
    };
    let response = match answer {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(_)) => return 0,
    };
    let status = response.status();
    let _ = response.into_string();
    status
}

/// Pins this process (and the threads it starts afterwards) to `core`.
pub fn pin_self(core: usize) -> Result {
    pin_self_to(&core.to_string())
}

/// Lets this process run on every core again.
pub fn unpin_self(cores: usize) -> Result {
    pin_self_to(&format!("0-{}", cores.saturating_sub(1)))
}

fn pin_self_to(list: &str) -> Result {
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("taskset")
        .args(["-pc", list, &pid])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset -pc {list} {pid} failed with {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(ms: &[u64]) -> Run {
        Run {
            latencies: ms.iter().map(|m| Duration::from_millis(*m)).collect(),
            elapsed: Duration::from_secs(2),
            failures: Vec::new(),
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let run = run_of(&(1..=100).rev().collect::<Vec<_>>());
        assert_eq!(run.percentile_ms(0.50), 50.0);
        assert_eq!(run.percentile_ms(0.99), 99.0);
        assert_eq!(run.percentile_ms(1.0), 100.0);
        assert_eq!(run.per_second(), 50.0);
        assert_eq!(run_of(&[]).percentile_ms(0.5), 0.0);
    }

    /// Against a loopback listener that answers every request on a kept-alive connection:
    /// the run sends exactly `count` requests, over at most [`CONNECTIONS`] connections.
    #[test]
    fn a_run_sends_count_requests_over_kept_alive_connections() {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let connections = AtomicUsize::new(0);
        let served = AtomicUsize::new(0);
        let run = std::thread::scope(|scope| {
            scope.spawn(|| {
                listener.set_nonblocking(true).unwrap();
                let started = Instant::now();
                std::thread::scope(|conns| {
                    while started.elapsed() < Duration::from_secs(5) {
                        let Ok((stream, _)) = listener.accept() else {
                            if served.load(Ordering::SeqCst) >= 40 {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        };
                        connections.fetch_add(1, Ordering::SeqCst);
                        let served = &served;
                        conns.spawn(move || {
                            stream.set_nonblocking(false).unwrap();
                            let mut reader = BufReader::new(stream.try_clone().unwrap());
                            let mut writer = stream;
                            loop {
                                let mut line = String::new();
                                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == "\r\n" {
                                    served.fetch_add(1, Ordering::SeqCst);
                                    let ok = writer.write_all(
                                        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
                                    );
                                    if ok.is_err() {
                                        return;
                                    }
                                }
                            }
                        });
                    }
                });
            });
            run(&base, 40, 204, |n| Request::get(format!("/{n}")))
        });
        assert_eq!(run.requests(), 40);
        assert!(run.failures.is_empty(), "{:?}", run.failures);
        assert_eq!(served.load(Ordering::SeqCst), 40);
        let opened = connections.load(Ordering::SeqCst);
        assert!((1..=CONNECTIONS).contains(&opened), "{opened} connections");
    }
}
