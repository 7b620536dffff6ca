//! The simulator driven over real HTTP on a free loopback port, as the connector will drive it.

mod faults;
mod page;
mod payments;
mod refunds;
mod tokens;

use std::time::Duration;

use serde_json::{json, Value};

use super::{BkashSimulator, RunningBkash, SimConfig, SANDBOX_PASSWORD, SANDBOX_USERNAME};
pub use crate::common::testing::{try_send as send, Answer};

/// A simulator and the calls tests make to it.
pub struct Rig {
    pub sim: RunningBkash,
    pub token: String,
}

pub fn rig() -> Rig {
    rig_with(SimConfig::default())
}

pub fn rig_with(config: SimConfig) -> Rig {
    let sim = BkashSimulator::start(config);
    let token = grant(&sim)["id_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    Rig { sim, token }
}

pub fn api_url(sim: &RunningBkash, endpoint: &str) -> String {
    format!("{}/tokenized/checkout/{endpoint}", sim.base_url())
}

/// `token/grant` with the simulator's own credentials.
pub fn grant(sim: &RunningBkash) -> Value {
    let answer = token_call(sim, "token/grant", None);
    assert_eq!(answer.status, 200);
    answer.body
}

/// `token/refresh` of `refresh_token` with the simulator's own credentials.
pub fn refresh(sim: &RunningBkash, refresh_token: &Value) -> Answer {
    token_call(sim, "token/refresh", Some(refresh_token))
}

fn token_call(sim: &RunningBkash, endpoint: &str, refresh_token: Option<&Value>) -> Answer {
    let c = sim.config();
    let mut body = json!({"app_key": c.app_key, "app_secret": c.app_secret});
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = refresh_token.clone();
    }
    let headers = [
        ("username", SANDBOX_USERNAME),
        ("password", SANDBOX_PASSWORD),
    ];
    let url = api_url(sim, endpoint);
    send("POST", &url, &headers, Some(&body.to_string()), secs(5)).expect("the token call answered")
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Rig {
    /// The same simulator, calling with another id token.
    pub fn with_token(self, id_token: &Value) -> Rig {
        Rig {
            token: id_token.as_str().expect("an id token").to_owned(),
            sim: self.sim,
        }
    }

    /// Whether the rig's token is accepted (a status query gets through the gateway).
    pub fn token_accepted(&self) -> bool {
        self.call("payment/status", json!({"paymentID": "x"}))
            .status
            == 200
    }

    /// An authorised API call with the rig's token; panics on a transport failure.
    pub fn call(&self, endpoint: &str, body: Value) -> Answer {
        self.try_call(endpoint, body, secs(5))
            .expect("the simulator answered")
    }

    pub fn try_call(
        &self,
        endpoint: &str,
        body: Value,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let headers = [
            ("Authorization", self.token.as_str()),
            ("X-APP-Key", self.sim.config().app_key.as_str()),
            ("Content-Type", "application/json"),
        ];
        let url = api_url(&self.sim, endpoint);
        send("POST", &url, &headers, Some(&body.to_string()), timeout)
    }

    /// A valid create body for `amount` and a fresh invoice number.
    pub fn create_body(amount: &str) -> Value {
        json!({
            "mode": "0011", "payerReference": "01770618575",
            "callbackURL": "https://shop.example/bkash/callback", "amount": amount,
            "currency": "BDT", "intent": "sale",
            "merchantInvoiceNumber": format!("inv-{}", crate::util::random_string(12, crate::util::ALNUM)),
        })
    }

    /// Creates a payment and returns its paymentID.
    pub fn create(&self, amount: &str) -> String {
        let answer = self.call("create", Rig::create_body(amount));
        assert_eq!(answer.body["statusCode"], "0000", "{}", answer.body);
        answer.body["paymentID"].as_str().unwrap().to_owned()
    }

    /// Creates, approves with `wallet` and executes; returns (paymentID, trxID).
    pub fn paid(&self, amount: &str, wallet: &str) -> (String, String) {
        let id = self.create(amount);
        self.sim.approve(&id, wallet).expect("approval");
        let executed = self.call("execute", json!({ "paymentID": id }));
        assert_eq!(executed.body["statusCode"], "0000", "{}", executed.body);
        (id, executed.body["trxID"].as_str().unwrap().to_owned())
    }

    /// A control call under `/__sim/`.
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/__sim/{path}", self.sim.origin());
        let body = body.map(|b| b.to_string());
        send(method, &url, &[], body.as_deref(), secs(5)).expect("control answered")
    }
}
