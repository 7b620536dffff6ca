//! The simulator driven over real HTTP on a free loopback port, as the connector will drive it,
//! with the fixed test keys under `testdata/` (so no test waits for RSA key generation).

mod jsapi;
mod mismatch;
mod notify;
mod pages;
mod payments;
mod refunds;
mod signing;
mod vectors;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::crypto::{authorization_header, response_message, verify_sha256_rsa};
use super::{RunningWechat, WechatSimConfig, WechatSimulator};
use crate::http::{Handler, Reply, Request, Response, Server};

pub const MCHID: &str = "1900009191";
pub const APPID: &str = "wxd678efh567hg6787";
pub const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000091912025112300000000000001";
pub const API_V3_KEY: &str = "0123456789abcdefghijklmnopqrstuv";
pub const MERCHANT_PRIVATE: &str = include_str!("../testdata/test_merchant_private_key.pem");
pub const MERCHANT_PUBLIC: &str = include_str!("../testdata/test_merchant_public_key.pem");
pub const PLATFORM_PRIVATE: &str = include_str!("../testdata/test_platform_private_key.pem");
pub const PLATFORM_PUBLIC: &str = include_str!("../testdata/test_platform_public_key.pem");

/// A config with the test keys and fast timings: 50 ms retries, 20 ms to the first
/// notification, 100 ms to settle a refund.
pub fn config() -> WechatSimConfig {
    let mut config = WechatSimConfig::new(
        MCHID,
        APPID,
        MERCHANT_SERIAL,
        MERCHANT_PUBLIC,
        PLATFORM_PRIVATE,
        PUB_KEY_ID,
        API_V3_KEY,
    );
    config.retry_schedule = vec![Duration::from_millis(50); 5];
    config.notify_delay = Duration::from_millis(20);
    config.refund_delay = Duration::from_millis(100);
    config
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

    /// Whether the `Wechatpay-*` headers verify over this body with the test platform key.
    pub fn signature_verifies(&self) -> bool {
        let (Some(ts), Some(nonce), Some(signature)) = (
            self.header("Wechatpay-Timestamp"),
            self.header("Wechatpay-Nonce"),
            self.header("Wechatpay-Signature"),
        ) else {
            return false;
        };
        verify_sha256_rsa(
            PLATFORM_PUBLIC,
            &response_message(ts, nonce, &self.text),
            signature,
        )
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// One request; panics on a transport failure.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
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
        Err(ureq::Error::Transport(t)) => panic!("{method} {url}: {t}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let text = response.into_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        body,
    }
}

pub struct Rig {
    pub sim: RunningWechat,
}

pub fn rig() -> Rig {
    Rig {
        sim: WechatSimulator::start(config()),
    }
}

pub fn rig_with(config: WechatSimConfig) -> Rig {
    Rig {
        sim: WechatSimulator::start(config),
    }
}

/// A fresh valid out_trade_no.
pub fn trade_no() -> String {
    format!("pay_{}", crate::util::random_string(16, crate::util::ALNUM))
}

pub fn native_body(no: &str, total: i64) -> Value {
    json!({
        "appid": APPID, "mchid": MCHID, "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": no, "notify_url": "https://shop.example/wechat/notify",
        "amount": {"total": total, "currency": "CNY"},
    })
}

impl Rig {
    /// A correctly signed API call; `path` includes any query string.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let text = body.map(Value::to_string).unwrap_or_default();
        let auth = authorization_header(
            MCHID,
            MERCHANT_SERIAL,
            MERCHANT_PRIVATE,
            method,
            path,
            &text,
        );
        self.call_with(method, path, body.map(|_| text.as_str()), Some(&auth))
    }

    /// A call with the given `Authorization` (or none) and a raw body.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
    ) -> Answer {
        let mut headers = vec![("Accept", "application/json")];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        if let Some(auth) = auth {
            headers.push(("Authorization", auth));
        }
        send(
            method,
            &format!("{}{path}", self.sim.base_url()),
            &headers,
            body,
        )
    }

    /// A Native order for `total` fen; returns its out_trade_no.
    pub fn native(&self, total: i64) -> String {
        self.native_to(total, "https://shop.example/wechat/notify")
    }

    pub fn native_to(&self, total: i64, notify_url: &str) -> String {
        let no = trade_no();
        let mut body = native_body(&no, total);
        body["notify_url"] = json!(notify_url);
        let answer = self.call("POST", "/v3/pay/transactions/native", Some(&body));
        assert_eq!(answer.status, 200, "{}", answer.text);
        no
    }

    pub fn query(&self, no: &str) -> Answer {
        self.call(
            "GET",
            &format!("/v3/pay/transactions/out-trade-no/{no}?mchid={MCHID}"),
            None,
        )
    }

    /// A paid Native order; returns (out_trade_no, transaction_id).
    pub fn paid(&self, total: i64) -> (String, String) {
        let no = self.native(total);
        self.sim.approve(&no).expect("approve");
        let transaction_id = self.sim.order(&no).unwrap().transaction_id.unwrap();
        (no, transaction_id)
    }
}

/// A merchant's notify endpoint: records every request and answers with `statuses` in turn
/// (the last one repeats).
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
            let body = if status < 300 {
                json!({})
            } else {
                json!({"code": "FAIL", "message": "失败"})
            };
            Reply::Respond(if status == 204 {
                Response::empty(204)
            } else {
                Response::json(status, &body)
            })
        });
        Receiver {
            server: Server::start(0, handler).unwrap(),
            received,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/wechat", self.server.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
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
                "only {} of {n} notifications arrived",
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
