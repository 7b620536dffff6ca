//! A Worker with the demo merchant's keys at hand, and the calls most tests make on it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::api::{Client, Reply};
use crate::dev_vars::DevVars;
use crate::temp_dir;
use crate::worker::{WorkerOptions, WorkerProcess};

/// The embedding page the widget tests pretend to be.
pub const ORIGIN: &str = "https://shop.example";
pub const PAY_PASSWORD: &str = "246810";

/// A running Worker, a client for it, and the dev secrets.
pub struct Rig {
    pub worker: WorkerProcess,
    pub client: Client,
    pub vars: DevVars,
}

/// A session and a widget token for it.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub id: String,
    pub client_secret: String,
    pub token: String,
}

impl Rig {
    pub fn start(label: &str) -> Rig {
        Rig::start_with(label, WorkerOptions::default())
    }

    /// A Worker with a provider's variables (`vars`, from `providers::*_worker_vars`) and
    /// `extra` ones after them, so an extra one overrides.
    pub fn start_with_vars(
        label: &str,
        mut vars: Vec<(String, String)>,
        extra: &[(&str, &str)],
    ) -> Rig {
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Rig::start_with(
            label,
            WorkerOptions {
                vars,
                ..WorkerOptions::default()
            },
        )
    }

    /// A Worker with `options` (extra variables, a port).
    pub fn start_with(label: &str, options: WorkerOptions) -> Rig {
        let worker = WorkerProcess::start_with(&temp_dir(label), options);
        let client = Client::new(&worker.base_url);
        Rig {
            worker,
            client,
            vars: DevVars::of_repo(),
        }
    }

    /// The demo merchant's test key.
    pub fn key(&self) -> String {
        self.vars.merchant("m_demo").test_key().to_owned()
    }

    /// A merchant-API call with the demo merchant's key that must succeed.
    pub fn admin(&self, method: &str, path: &str, body: Value) -> Reply {
        self.client
            .call(method, path)
            .bearer(&self.key())
            .json(&body)
            .expect_status(200)
    }

    /// `POST /v1/checkout_sessions/{id}/refunds` with the demo merchant's key.
    pub fn refund(
        &self,
        session_id: &str,
        idempotency_key: &str,
        amount: &str,
        reason: &str,
    ) -> Reply {
        self.client
            .call(
                "POST",
                format!("/v1/checkout_sessions/{session_id}/refunds"),
            )
            .bearer(&self.key())
            .header("Idempotency-Key", idempotency_key)
            .json(&json!({"amount": amount, "reason": reason}))
    }

    pub fn create_session(&self, body: &Value) -> Reply {
        self.client
            .call("POST", "/v1/checkout_sessions")
            .bearer(&self.key())
            .json(body)
    }

    /// A balance session for `customer`, with a widget token from [`ORIGIN`].
    pub fn checkout(&self, order_id: &str, amount: &str, customer: &str) -> Checkout {
        self.checkout_from(&session_body(order_id, amount, customer))
    }

    /// A session made from `body` (which must be accepted), with a widget token from [`ORIGIN`].
    pub fn checkout_from(&self, body: &Value) -> Checkout {
        let session = self.create_session(body).expect_status(200);
        self.checkout_of(&session)
    }

    /// The session an accepted create-session answer describes, with a widget token for it
    /// from [`ORIGIN`].
    pub fn checkout_of(&self, session: &Reply) -> Checkout {
        let client_secret = session.body["client_secret"].as_str().unwrap().to_owned();
        Checkout {
            id: session.body["id"].as_str().unwrap().to_owned(),
            token: self.token(&client_secret),
            client_secret,
        }
    }

    pub fn token(&self, client_secret: &str) -> String {
        let reply = self
            .client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .json(&json!({ "client_secret": client_secret }))
            .expect_status(200);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    /// Credits `amount` BDT (once per `reference`) and sets [`PAY_PASSWORD`].
    pub fn fund(&self, customer: &str, amount: &str, reference: &str) {
        self.client
            .call("POST", format!("/v1/customers/{customer}/balance_credits"))
            .bearer(&self.key())
            .json(&json!({"amount": amount, "currency": "BDT", "reference": reference}))
            .expect_status(200);
        self.client
            .call("PUT", format!("/v1/customers/{customer}/pay_password"))
            .bearer(&self.key())
            .json(&json!({ "pay_password": PAY_PASSWORD }))
            .expect_status(200);
    }

    /// Gives `customer` `balance` in `currency` and `points` points (once each) and sets
    /// [`PAY_PASSWORD`]: the customer of a split payment.
    pub fn seed(&self, customer: &str, balance: &str, currency: &str, points: u64) {
        let reference = "seed";
        self.admin(
            "POST",
            &format!("/v1/customers/{customer}/balance_credits"),
            json!({"amount": balance, "currency": currency, "reference": reference}),
        );
        self.admin(
            "PUT",
            &format!("/v1/customers/{customer}/pay_password"),
            json!({ "pay_password": PAY_PASSWORD }),
        );
        self.admin(
            "POST",
            &format!("/v1/customers/{customer}/points_credits"),
            json!({"points": points, "reference": reference}),
        );
    }

    pub fn pay(&self, checkout: &Checkout, idempotency_key: &str, password: &str) -> Reply {
        self.pay_from_frame(
            checkout,
            idempotency_key,
            &json!({"method": "balance", "pay_password": password}),
        )
    }

    /// `POST /v1/widget/sessions/{id}/pay` with `body`, as the pay-password frame sends it
    /// for the page at [`ORIGIN`] (the only way a pay password is taken).
    pub fn pay_from_frame(
        &self,
        checkout: &Checkout,
        idempotency_key: &str,
        body: &Value,
    ) -> Reply {
        self.client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .from_frame_of(ORIGIN)
            .header("Idempotency-Key", idempotency_key)
            .json(body)
    }

    /// `POST /v1/widget/sessions/{id}/pay` with `{"method": method}` and no pay password, as the
    /// widget sends it from the shop's page at [`ORIGIN`].
    pub fn pay_from_page(&self, checkout: &Checkout, idempotency_key: &str, method: &str) -> Reply {
        self.client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .header("Idempotency-Key", idempotency_key)
            .json(&json!({ "method": method }))
    }

    /// `POST /v1/widget/sessions/{id}/cancel`: the shopper cancels the attempt under way, from the
    /// shop's page at [`ORIGIN`].
    pub fn cancel_from_page(&self, checkout: &Checkout) -> Reply {
        self.client
            .call(
                "POST",
                format!("/v1/widget/sessions/{}/cancel", checkout.id),
            )
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .json(&json!({}))
    }

    /// Follows `url`, a provider's redirect or callback to this Worker, as the shopper's browser
    /// would (without following the Worker's own redirect further).
    pub fn follow(&self, url: &str) -> Reply {
        let path = url
            .strip_prefix(&self.worker.base_url)
            .unwrap_or_else(|| panic!("{url} goes to the Worker"));
        self.client.call("GET", path).send()
    }

    /// The customer's available BDT balance, as the API formats it.
    pub fn available(&self, customer: &str) -> String {
        let wallet = self
            .client
            .call("GET", format!("/v1/customers/{customer}/wallet"))
            .bearer(&self.key())
            .send()
            .expect_status(200);
        wallet.body["balances"][0]["available"]
            .as_str()
            .unwrap_or("0.00")
            .to_owned()
    }

    pub fn merchant_view(&self, session_id: &str) -> Value {
        self.client
            .call("GET", format!("/v1/checkout_sessions/{session_id}"))
            .bearer(&self.key())
            .send()
            .expect_status(200)
            .body
    }

    /// Polls the merchant's view of `session_id` until `done` holds, failing with the last view
    /// (and `what` was awaited) after `within`.
    pub fn wait_for_view(
        &self,
        session_id: &str,
        what: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let view = self.merchant_view(session_id);
            if done(&view) {
                return view;
            }
            assert!(Instant::now() < deadline, "waiting for {what}: {view:#}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The id of the session's payment that is `processing` (waiting for the provider).
    pub fn processing_payment(&self, session_id: &str) -> String {
        let view = self.merchant_view(session_id);
        let payment = view["payments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["status"] == "processing")
            .unwrap_or_else(|| panic!("no processing payment: {view:#}"));
        payment["id"].as_str().unwrap().to_owned()
    }

    /// The demo merchant's latest 100 events (`GET /v1/events?limit=100`), as sent.
    pub fn latest_events(&self) -> Vec<Value> {
        let list = self
            .client
            .call("GET", "/v1/events?limit=100")
            .bearer(&self.key())
            .send()
            .expect_status(200);
        list.body["data"].as_array().unwrap().clone()
    }
}

/// A valid create-session body: a balance payment in BDT.
pub fn session_body(order_id: &str, amount: &str, customer: &str) -> Value {
    session_body_in(order_id, amount, "BDT", customer, &["balance"])
}

/// A valid create-session body for tea, in `currency`, payable by `methods`.
pub fn session_body_in(
    order_id: &str,
    amount: &str,
    currency: &str,
    customer: &str,
    methods: &[&str],
) -> Value {
    json!({
        "order_id": order_id, "amount": amount, "currency": currency, "description": "Tea",
        "customer_id": customer, "methods": methods, "return_url": "https://shop.example/done"
    })
}
