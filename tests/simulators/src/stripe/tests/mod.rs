//! The simulator driven over real HTTP on a free loopback port, as the connector will drive it:
//! form-encoded bodies, a Bearer key, the hosted page's form posts and a webhook receiver.

mod api;
mod faults;
mod idempotency;
mod page;
mod payments;
mod webhooks;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{RunningStripe, StripeSimConfig, StripeSimulator, DEFAULT_SECRET_KEY};
use crate::http::{Handler, Reply, Request, Response, Server};

/// Fast timings: retries 40 ms apart (doubling), 4 attempts, refunds settle after 100 ms.
pub fn config() -> StripeSimConfig {
    StripeSimConfig {
        retry_base: Duration::from_millis(40),
        max_attempts: 4,
        refund_delay: Duration::from_millis(100),
        delivery_timeout: Duration::from_secs(2),
        ..StripeSimConfig::default()
    }
}

/// An HTTP answer: status, headers, raw text and JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("")
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// One request; `Err` on a transport failure (a dropped connection).
pub fn try_send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer, String> {
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(5))
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

pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    try_send(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

pub struct Rig {
    pub sim: RunningStripe,
}

pub fn rig() -> Rig {
    Rig {
        sim: StripeSimulator::start(config()),
    }
}

pub fn rig_with(config: StripeSimConfig) -> Rig {
    Rig {
        sim: StripeSimulator::start(config),
    }
}

/// A minimal valid session body, plus `extra` (already form-encoded, may be empty).
pub fn session_form(amount: i64, extra: &str) -> String {
    let mut form = format!(
        "mode=payment&line_items[0][price_data][currency]=usd\
         &line_items[0][price_data][unit_amount]={amount}\
         &line_items[0][price_data][product_data][name]=Order\
         &line_items[0][quantity]=1&client_reference_id=pay_1\
         &success_url=https%3A%2F%2Fshop.example%2Fdone%3Fs%3D%7BCHECKOUT_SESSION_ID%7D\
         &cancel_url=https%3A%2F%2Fshop.example%2Fcancel"
    );
    if !extra.is_empty() {
        form.push('&');
        form.push_str(extra);
    }
    form
}

impl Rig {
    /// A call with the configured key; `form` is the body of a POST or the query of a GET.
    pub fn call(&self, method: &str, path: &str, form: &str) -> Answer {
        self.call_with(method, path, form, &[])
    }

    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        form: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        self.try_call(method, path, form, extra)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn try_call(
        &self,
        method: &str,
        path: &str,
        form: &str,
        extra: &[(&str, &str)],
    ) -> Result<Answer, String> {
        let auth = format!("Bearer {DEFAULT_SECRET_KEY}");
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Stripe-Version", "2024-06-20"),
        ];
        headers.extend_from_slice(extra);
        if method == "GET" {
            let url = if form.is_empty() {
                format!("{}{path}", self.sim.base_url())
            } else {
                format!("{}{path}?{form}", self.sim.base_url())
            };
            return try_send(method, &url, &headers, None);
        }
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        try_send(
            method,
            &format!("{}{path}", self.sim.base_url()),
            &headers,
            Some(form),
        )
    }

    /// A new open session for `amount` cents; `extra` adds parameters. Returns its id.
    pub fn session(&self, amount: i64, extra: &str) -> String {
        let answer = self.call(
            "POST",
            "/v1/checkout/sessions",
            &session_form(amount, extra),
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    /// The shopper posts the hosted page's form.
    pub fn post_card(&self, session: &str, number: &str) -> Answer {
        self.post_card_with(session, number, "12 / 34", "123")
    }

    pub fn post_card_with(&self, session: &str, number: &str, expiry: &str, cvc: &str) -> Answer {
        let form = format!(
            "email=a%40b.example&cardNumber={}&cardExpiry={}&cardCvc={cvc}&billingName=Ada+Lovelace",
            crate::util::percent_encode(number),
            crate::util::percent_encode(expiry),
        );
        send(
            "POST",
            &format!("{}/c/pay/{session}", self.sim.origin()),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(&form),
        )
    }

    /// The session, its PaymentIntent expanded, through the API.
    pub fn retrieve(&self, session: &str) -> Value {
        let answer = self.call(
            "GET",
            &format!("/v1/checkout/sessions/{session}"),
            "expand[]=payment_intent",
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body
    }

    /// A paid (or, with `manual`, authorized) session; returns (session, payment intent).
    pub fn paid(&self, amount: i64, manual: bool) -> (String, String) {
        let extra = if manual {
            "payment_intent_data[capture_method]=manual"
        } else {
            ""
        };
        let session = self.session(amount, extra);
        let answer = self.post_card(&session, "4242 4242 4242 4242");
        assert_eq!(answer.status, 303, "{}", answer.text);
        let pi = self.retrieve(&session)["payment_intent"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (session, pi)
    }
}

/// A merchant's webhook endpoint: records every request and answers `statuses` in turn (the
/// last one repeats).
pub struct Receiver {
    pub server: Server,
    pub received: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    pub fn start(statuses: &[u16]) -> Receiver {
        let received: Arc<Mutex<Vec<Request>>> = Arc::default();
        let (log, statuses) = (received.clone(), statuses.to_vec());
        let handler: Handler = Arc::new(move |request: Request| {
            let mut log = log.lock().unwrap();
            let status = statuses[log.len().min(statuses.len() - 1)];
            log.push(request);
            Reply::Respond(Response::json(status, &json!({"received": status < 300})))
        });
        Receiver {
            server: Server::start(0, handler).unwrap(),
            received,
        }
    }

    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/v1/notifications/stripe",
            self.server.port()
        )
    }

    pub fn requests(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }

    /// The event bodies received so far.
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
                "only {} of {n} webhooks arrived",
                requests.len()
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

/// The event types in `events`, in order.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect()
}
