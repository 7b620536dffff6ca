//! A simulator of bKash's Tokenized Checkout API (v1.2.0-beta), served over real HTTP on
//! loopback, so the checkout's bKash connector is tested against the protocol and not itself.
//!
//! # Routes
//! - `POST {base}/tokenized/checkout/{token/grant, token/refresh, create, execute, payment/status,
//!   general/searchTransaction, payment/refund}` where `{base}` is [`RunningBkash::base_url`]
//!   (`http://127.0.0.1:PORT/v1.2.0-beta`, as the sandbox's `https://tokenized.sandbox.bka.sh/v1.2.0-beta`).
//! - `GET|POST {origin}/checkout?paymentID=...`: the hosted page (module `page`).
//! - `{origin}/__sim/...`: test controls (see [`control`]).
//!
//! # Behaviour, and where it comes from
//! - Token grant/refresh: headers `username`/`password`, body `app_key`/`app_secret`
//!   (+`refresh_token`); answer `{statusCode:"0000", id_token, token_type:"Bearer", expires_in,
//!   refresh_token}`. A refresh mints a new id token and returns the same refresh token; older id
//!   tokens keep working until their own expiry. Bad username: `9999 Username does not exist`
//!   (seen from bKash in karim-007/laravel-bkash-tokenize issue #2); bad password: `9999
//!   Incorrect username or password.` and bad app key/secret: `2001 Invalid App Key` (assumed).
//! - Other calls need `Authorization: <id_token>` (`Bearer <id_token>` is tolerated) and
//!   `X-APP-Key`. bKash sits behind AWS API Gateway with a Cognito authorizer (its tokens are
//!   Cognito JWTs), which answers HTTP 401 `{"message":"The incoming token has expired"}` for an
//!   expired token and 401 `{"message":"Unauthorized"}` for a missing or unknown one; unrouted
//!   paths get 403 `{"message":"Missing Authentication Token"}`. bKash's own WooCommerce plugin
//!   (bKash-developer/bKash-for-woocommerce, `ApiComm.php`) re-grants on 401 and treats a body
//!   with `message` as a gateway error, which matches. A wrong `X-APP-Key` gets `2001`.
//! - Refusals are HTTP 200 with `statusCode`/`statusMessage`. Codes and messages follow bKash's
//!   error-code table as integrations copy it (the bkashError.constants.ts of
//!   maheezaynax13/test1234; the `ErrorCode` enum of the bkash-rs crate, docs.rs/bkash-rs): 2001 Invalid App
//!   Key, 2002 Invalid Payment ID, 2006 Invalid Amount, 2007 Invalid Currency, 2008 Invalid
//!   Intent, 2023 Insufficient Balance, 2025 Invalid request body, 2026 refund greater than the
//!   original, 2028 unknown trxID for a refund, 2031 Invalid merchant invoice number (also for a
//!   duplicate), 2033 Transaction not found, 2049 Invalid Merchant Callback URL, 2056 Invalid
//!   Payment State (execute before approval or after cancel/failure), 2063 invalid mode, 2065
//!   Mandatory field missing, 2117 for a second execute (bkash-rs: "payment execution already
//!   completed"; 2062 "The payment has already been completed" is the older spelling), 9999.
//! - Answer shapes follow bKash's sandbox samples (shopofbd.com "bkash sandbox api response",
//!   mamun792/ERD `bkash_postman_guide.md`, bkash-rs fixtures): `paymentID` like
//!   `TR0011tl3v1Oj1765275163828`, `trxID` of 10 upper-case letters and digits, times as
//!   `2019-08-07T11:12:34:978 GMT+0600`, amounts echoed as sent.
//! - Sandbox wallets, OTP and PIN are bKash's published sandbox ones (bkash-pgw.vercel.app/docs):
//!   `01823074817` is its insufficient-balance wallet. `01619777283` is a regular sandbox wallet
//!   there; here it holds only ৳10 so a low-balance failure is easy to reach.
//! - Not known for certain: what `payment/status` says between approval and execute. Here it is
//!   `transactionStatus:"Authorized"` with `verificationStatus:"Complete"`, so a reconciler can
//!   tell "approved, execute now" from "shopper still on the page" (`Initiated`).

mod api;
pub mod control;
mod page;
pub mod state;
pub mod wire;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

pub use control::{Faults, PaymentSnapshot};
pub use state::{ApproveError, PaymentState};

use crate::common::serve::{lock, Instance};
use crate::http::{Reply, Request, Response};
use state::State;

/// The API version prefix, part of the base URL as on bKash's hosts.
pub const API_PREFIX: &str = "/v1.2.0-beta";
/// The merchant credentials [`SimConfig::default`] accepts (for tests and local development).
pub const SANDBOX_USERNAME: &str = "sim_tokenized_user";
pub const SANDBOX_PASSWORD: &str = "sim_tokenized_pass@12345";
pub const SANDBOX_APP_KEY: &str = "sim0app0key0bkash0local001";
pub const SANDBOX_APP_SECRET: &str = "sim0app0secret0bkash0local0checkout0simulator00001";
/// Every sandbox wallet takes this verification code and PIN.
pub const SANDBOX_OTP: &str = "123456";
pub const SANDBOX_PIN: &str = "12121";
/// ৳100,000.00.
pub const RICH_WALLET: &str = "01770618575";
/// ৳50,000.00.
pub const SECOND_WALLET: &str = "01929918378";
/// ৳10.00: any larger payment fails with too little balance.
pub const LOW_BALANCE_WALLET: &str = "01619777283";
/// ৳0.00: bKash's own sandbox number for "Insufficient Balance".
pub const EMPTY_WALLET: &str = "01823074817";
/// The sandbox wallets and their opening balances in paisa.
pub const SANDBOX_WALLETS: &[(&str, i64)] = &[
    (RICH_WALLET, 10_000_000),
    (SECOND_WALLET, 5_000_000),
    (LOW_BALANCE_WALLET, 1_000),
    (EMPTY_WALLET, 0),
];

/// One simulator's setup.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub username: String,
    pub password: String,
    pub app_key: String,
    pub app_secret: String,
    /// Seconds an id token lives (`expires_in`); bKash's is 3600.
    pub token_lifetime_s: u64,
    /// Where browsers reach the simulator, for `bkashURL`; `None` is `http://127.0.0.1:PORT`.
    pub public_origin: Option<String>,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Amounts `create` accepts, in paisa (bKash's checkout: ৳1 to ৳25,000 a payment).
    pub min_amount_paisa: i64,
    pub max_amount_paisa: i64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            username: SANDBOX_USERNAME.into(),
            password: SANDBOX_PASSWORD.into(),
            app_key: SANDBOX_APP_KEY.into(),
            app_secret: SANDBOX_APP_SECRET.into(),
            token_lifetime_s: 3600,
            public_origin: None,
            port: 0,
            min_amount_paisa: 100,
            max_amount_paisa: 2_500_000,
        }
    }
}

/// What the request handlers share.
pub(crate) struct Shared {
    config: SimConfig,
    origin: String,
    state: Mutex<State>,
}

impl Shared {
    /// The state, even if a handler panicked while holding it (tests should still see it).
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn origin(&self) -> &str {
        &self.origin
    }
}

/// Starts simulators.
pub struct BkashSimulator;

impl BkashSimulator {
    /// Starts a simulator on 127.0.0.1; panics if the port cannot be bound.
    pub fn start(config: SimConfig) -> RunningBkash {
        BkashSimulator::try_start(config).expect("start the bKash simulator")
    }

    pub fn try_start(config: SimConfig) -> std::io::Result<RunningBkash> {
        let (port, public_origin) = (config.port, config.public_origin.clone());
        let build = |origin, _| Shared {
            config,
            origin,
            state: Mutex::new(State::default()),
        };
        let (instance, shared) = Instance::start(port, public_origin.as_deref(), build, route)?;
        Ok(RunningBkash { instance, shared })
    }
}

fn route(shared: &Arc<Shared>, request: Request) -> Reply {
    let path = request.path.clone();
    if let Some(endpoint) = path.strip_prefix(&format!("{API_PREFIX}/tokenized/checkout/")) {
        return api::handle(shared, &request, endpoint);
    }
    let response = if path == "/checkout" {
        page::handle(shared, &request)
    } else if path.starts_with("/__sim/") {
        control::handle(shared, &request)
    } else if path.starts_with(API_PREFIX) {
        return Reply::Respond(Response::json(
            403,
            &serde_json::json!({"message": "Missing Authentication Token"}),
        ));
    } else {
        Response::empty(404)
    };
    Reply::Respond(response)
}

/// A running simulator; dropping it stops the server.
pub struct RunningBkash {
    instance: Instance,
    shared: Arc<Shared>,
}

impl RunningBkash {
    /// `http://127.0.0.1:PORT/v1.2.0-beta`: what a client puts where bKash's host would go.
    pub fn base_url(&self) -> String {
        format!("{}{API_PREFIX}", self.instance.local_url())
    }

    /// Where the hosted page and `/__sim/` live.
    pub fn origin(&self) -> String {
        self.shared.origin.clone()
    }

    pub fn port(&self) -> u16 {
        self.instance.port()
    }

    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    /// Replaces the fault switches (`expire_tokens_now` acts at once and is not kept).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().set_faults(faults);
    }

    pub fn reset_faults(&self) {
        self.set_faults(Faults::default());
    }

    pub fn payment(&self, payment_id: &str) -> Option<PaymentSnapshot> {
        self.shared
            .lock()
            .payments
            .get(payment_id)
            .map(PaymentSnapshot::from)
    }

    /// The shopper confirms on the hosted page with `wallet` (right OTP and PIN); returns the
    /// callback URL the page redirects to (`status=success`, or `failure` on too little balance).
    pub fn approve(&self, payment_id: &str, wallet: &str) -> Result<String, ApproveError> {
        self.shared.lock().approve(payment_id, wallet)
    }

    /// The shopper presses Close on the hosted page; returns the `status=cancel` callback URL.
    pub fn cancel(&self, payment_id: &str) -> Result<String, ApproveError> {
        self.shared.lock().cancel(payment_id)
    }

    /// A sandbox wallet's balance, e.g. `"99849.50"`.
    pub fn wallet_balance(&self, wallet: &str) -> Option<String> {
        let state = self.shared.lock();
        state.wallets.get(wallet).map(|b| wire::format_amount(*b))
    }
}
