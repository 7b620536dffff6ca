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

use std::time::Duration;

use serde_json::{json, Value};

use super::crypto::{authorization_header, response_message, verify_sha256_rsa};
use super::{RunningWechat, WechatSimConfig, WechatSimulator};
pub use crate::common::testing::{eventually, send, Answer, Receiver};
use crate::http::Response;

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

/// What WeChat's answers carry beyond HTTP: the `Wechatpay-*` signature and the `code`.
pub trait WechatAnswer {
    /// Whether the `Wechatpay-*` headers verify over this body with the test platform key.
    fn signature_verifies(&self) -> bool;
    fn code(&self) -> &str;
}

impl WechatAnswer for Answer {
    fn signature_verifies(&self) -> bool {
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

    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
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

/// A merchant's notify endpoint answering `statuses` in turn (the last one repeats): 204
/// empty, another 2xx `{}`, else WeChat's `{"code": "FAIL", "message"}`.
pub fn merchant(statuses: &[u16]) -> Receiver {
    Receiver::start("/hooks/wechat", statuses, |status| match status {
        204 => Response::empty(204),
        _ if status < 300 => Response::json(status, &json!({})),
        _ => Response::json(status, &json!({"code": "FAIL", "message": "失败"})),
    })
}
