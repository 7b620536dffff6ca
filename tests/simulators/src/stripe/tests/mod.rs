//! The simulator driven over real HTTP on a free loopback port, as the connector will drive it:
//! form-encoded bodies, a Bearer key, the hosted page's form posts and a webhook receiver.

mod api;
mod faults;
mod idempotency;
mod page;
mod payments;
mod webhooks;

use std::time::Duration;

use serde_json::{json, Value};

use super::{RunningStripe, StripeSimConfig, StripeSimulator, DEFAULT_SECRET_KEY};
pub use crate::common::testing::{eventually, send, try_send, Answer, Receiver};
use crate::http::Response;

/// How long a test's call waits for the simulator.
const TIMEOUT: Duration = Duration::from_secs(5);

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

/// Stripe's error envelope `{"error": {"type", "code", ...}}` in an answer.
pub trait StripeError {
    fn error_type(&self) -> &str;
    fn error_code(&self) -> &str;
}

impl StripeError for Answer {
    fn error_type(&self) -> &str {
        self.body["error"]["type"].as_str().unwrap_or("")
    }

    fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
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
            return try_send(method, &url, &headers, None, TIMEOUT);
        }
        headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        try_send(
            method,
            &format!("{}{path}", self.sim.base_url()),
            &headers,
            Some(form),
            TIMEOUT,
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

/// A merchant's webhook endpoint answering `statuses` in turn (the last one repeats).
pub fn merchant(statuses: &[u16]) -> Receiver {
    Receiver::start("/v1/notifications/stripe", statuses, |status| {
        Response::json(status, &json!({"received": status < 300}))
    })
}

/// The event types in `events`, in order.
pub fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect()
}
