//! What the simulators' unit tests share: calling a simulator over real HTTP (no redirects
//! followed, so tests see the hosted pages' 303s), a merchant endpoint that records the
//! callbacks it receives, and polling. What a call carries (keys, signatures, forms) stays in
//! each simulator's `tests` module.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{find_header, Handler, Reply, Request, Response, Server};

/// An HTTP answer: status, headers, raw text and JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub body: Value,
}

impl Answer {
    /// A header's value; names compare case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// One request; `Err` describes a transport failure (timeout, closed connection).
pub fn try_send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    timeout: Duration,
) -> Result<Answer, String> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(timeout)
        .build();
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request.send_string(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let text = response.into_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        headers,
        text,
        body,
    })
}

/// One request with a 5 s timeout; panics on a transport failure.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    try_send(method, url, headers, body, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// A merchant's endpoint on a free loopback port: records every request and answers the
/// statuses it was given in turn (the last one repeats), each as `answer` renders it.
pub struct Receiver {
    pub server: Server,
    pub received: Arc<Mutex<Vec<Request>>>,
    path: &'static str,
}

impl Receiver {
    pub fn start(path: &'static str, statuses: &[u16], answer: fn(u16) -> Response) -> Receiver {
        let received: Arc<Mutex<Vec<Request>>> = Arc::default();
        let (log, statuses) = (received.clone(), statuses.to_vec());
        let handler: Handler = Arc::new(move |request: Request| {
            let mut log = log.lock().unwrap();
            let status = statuses[log.len().min(statuses.len() - 1)];
            log.push(request);
            Reply::Respond(answer(status))
        });
        Receiver {
            server: Server::start(0, handler).unwrap(),
            received,
            path,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.server.port(), self.path)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }

    /// The JSON bodies received so far (events, notifications).
    pub fn events(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    /// Waits until `n` requests arrived; panics after 3 s.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let until = Instant::now() + Duration::from_secs(3);
        loop {
            let requests = self.requests();
            if requests.len() >= n {
                return requests;
            }
            assert!(
                Instant::now() < until,
                "only {} of {n} requests arrived at {}",
                requests.len(),
                self.path
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Polls `check` for up to 3 s.
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(3);
    while !check() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
