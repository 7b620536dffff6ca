//! A simulator of Stripe's card payments through Checkout: the API (Checkout Sessions,
//! PaymentIntents, Refunds, Events), the hosted payment page with Stripe's test cards and a
//! 3-D Secure challenge, and signed webhooks with retries, served over real HTTP on loopback so
//! the checkout's Stripe connector is tested against the protocol and not against itself.
//!
//! # Routes
//! - `{base}/v1/...` where `{base}` is [`RunningStripe::base_url`] (replaces
//!   `https://api.stripe.com`): `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`,
//!   `POST /v1/checkout/sessions/{id}/expire`, `GET /v1/payment_intents/{id}`,
//!   `POST /v1/payment_intents/{id}/capture`, `POST /v1/payment_intents/{id}/cancel`,
//!   `POST /v1/refunds`, `GET /v1/refunds/{id}`, `GET /v1/refunds?payment_intent=`,
//!   `GET /v1/events/{id}` (module `api`).
//! - `/c/pay/{session}` and `/c/pay/{session}/3ds`: the hosted page (module `page`), the
//!   session's `url`.
//! - `/__sim/...`: test controls ([`control`]).
//!
//! # What it relies on (Stripe's documentation, looked up for this simulator)
//! - API reference (docs.stripe.com/api): "Create a Checkout Session" (`mode`, `line_items` with
//!   `price_data[currency|unit_amount|product_data[name]]` and `quantity`, `client_reference_id`,
//!   `metadata`, `success_url` with the `{CHECKOUT_SESSION_ID}` template, `cancel_url`,
//!   `expires_at`, `payment_intent_data[capture_method|metadata|description]`), "Retrieve",
//!   "Expire a Checkout Session" (only `open` sessions can be expired); "The PaymentIntent
//!   object" (statuses, `amount_capturable`, `amount_received`, `latest_charge`,
//!   `last_payment_error`), "Capture a PaymentIntent" (only `requires_capture`,
//!   `amount_to_capture` up to `amount_capturable`, the rest released; uncaptured PaymentIntents
//!   are canceled after 7 days: [`RunningStripe::expire_authorization`]), "Cancel a
//!   PaymentIntent" (allowed from `requires_payment_method`, `requires_capture`,
//!   `requires_confirmation`, `requires_action`, `processing`); "Create a refund" (by
//!   `payment_intent` or `charge`, `amount` defaults to what is left, `metadata`, `reason`),
//!   "Retrieve a refund", "List all refunds" (filter `payment_intent`).
//! - Changelog 2022-08-01 "Deferred PaymentIntent creation in Checkout Session payment mode": the
//!   session's `payment_intent` is `null` until the shopper's first attempt.
//! - "Manage limited inventory" (Checkout): `expires_at` must be 30 minutes to 24 hours after
//!   creation; the default is 24 hours.
//! - "Idempotent requests" (docs.stripe.com/api/idempotent_requests): the first status and body
//!   for a key are saved once the endpoint starts executing and replayed, including 500s; keys
//!   may be pruned after 24 hours; the same key with other parameters is an
//!   `idempotency_error`; a request that fails validation saves nothing.
//! - "Errors" (docs.stripe.com/api/errors): the `{error: {type, code, decline_code, message,
//!   param, doc_url}}` envelope and the status codes 400/401/402/404/409/429/500.
//! - "Testing" (docs.stripe.com/testing): the decline and 3-D Secure test cards (see [`cards`]).
//! - "Check the webhook signatures" (docs.stripe.com/webhooks#verify-manually):
//!   `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, plus a `v0` in
//!   test mode that must be ignored. "Event object": `{id, object, api_version, created,
//!   data.object, livemode, pending_webhooks, request, type}`. Retries: live mode up to three
//!   days with exponential back-off (sandbox: a few times over hours); here a configurable base
//!   doubling per attempt, bounded by `max_attempts`. Events may arrive twice or out of order.
//! - "Place a hold on a payment method" / Checkout: with manual capture the session completes
//!   with `payment_status: "unpaid"` and the PaymentIntent waits in `requires_capture`.
//!
//! - "Cancel a PaymentIntent": "You cannot cancel the PaymentIntent for a Checkout Session.
//!   Expire the Checkout Session instead" (quoted in integrations' issues, e.g.
//!   Sylius/PayumStripe#28); the expire refusal's wording is as integrations log it
//!   (Sylius/PayumStripePlugin#70). Here that refusal applies while the session is open; an
//!   authorization of a completed session (`requires_capture`) can be canceled, which is how
//!   merchants void a hold.
//!
//! Chosen here where the documentation is silent: the exact wording of some error messages and
//! the `code` of the open-session cancel refusal (`payment_intent_unexpected_state`);
//! a session's expiry cancels its PaymentIntent (`abandoned`) with `payment_intent.canceled`;
//! partial capture shows the released remainder in the charge's `amount_refunded`; what
//! "execution began" means for idempotency: successes and state refusals (a capture of a
//! PaymentIntent not in `requires_capture`, a refund of a refunded charge, an expire of a closed
//! session) are stored and replayed, parameter errors, unknown ids, authentication failures and
//! injected 429/500s are not, and a lost answer stores the real 200; any Luhn-valid number
//! not in the test-card table succeeds. Events are only those of the list (the
//! endpoint is assumed subscribed to exactly those).

mod api;
pub mod cards;
pub mod control;
pub mod form;
pub mod objects;
mod page;
pub mod state;
pub mod webhook;
pub mod wire;

#[cfg(test)]
mod tests;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use serde_json::Value;

pub use control::{DeliverySnapshot, Faults};
pub use state::PayError;

use crate::common::serve::{lock, Instance, StopFlag};
use crate::http::{Reply, Request, Response};
use state::{Emit, State};

/// The simulator's default secret key (test mode).
pub const DEFAULT_SECRET_KEY: &str = "sk_test_51SimulatorKeyForLocalUseOnly0000000000";
/// The simulator's default webhook signing secret.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_simulatorSigningSecretForLocalUse00";
/// The `api_version` events carry unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "2024-06-20";

/// One simulator's setup.
#[derive(Debug, Clone)]
pub struct StripeSimConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The `sk_test_...` key API calls must carry.
    pub secret_key: String,
    /// The `whsec_...` secret webhooks are signed with.
    pub webhook_secret: String,
    /// Where events are POSTed; `None` records them without delivering.
    pub webhook_endpoint: Option<String>,
    /// Where browsers reach the hosted page; `None` is `http://127.0.0.1:PORT`.
    pub public_origin: Option<String>,
    pub api_version: String,
    /// The gap after the first failed delivery; it doubles for each further attempt.
    pub retry_base: Duration,
    /// Delivery attempts per event, the first included.
    pub max_attempts: u32,
    /// From a refund's creation (`pending`) to `succeeded`.
    pub refund_delay: Duration,
    /// How long an idempotent answer is kept (Stripe: at least 24 hours).
    pub idempotency_ttl: Duration,
    /// How long the merchant's endpoint has to answer one delivery.
    pub delivery_timeout: Duration,
}

impl Default for StripeSimConfig {
    fn default() -> StripeSimConfig {
        StripeSimConfig {
            port: 0,
            secret_key: DEFAULT_SECRET_KEY.into(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.into(),
            webhook_endpoint: None,
            public_origin: None,
            api_version: DEFAULT_API_VERSION.into(),
            retry_base: Duration::from_secs(5),
            max_attempts: 6,
            refund_delay: Duration::from_millis(500),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            delivery_timeout: Duration::from_secs(10),
        }
    }
}

/// What the request handlers and background threads share.
pub(crate) struct Shared {
    config: StripeSimConfig,
    origin: String,
    state: Mutex<State>,
    stop: StopFlag,
}

impl Shared {
    /// The state, even if a handler panicked while holding it.
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

pub(crate) use crate::util::unix_seconds as now_s;

/// Renders `emits` as events now and hands them to delivery.
pub(crate) fn publish(
    shared: &Arc<Shared>,
    emits: Vec<Emit>,
    request: Option<(&str, Option<&str>)>,
) {
    if emits.is_empty() {
        return;
    }
    let events: Vec<Value> = {
        let mut state = shared.lock();
        emits
            .iter()
            .map(|e| {
                let object = wire::object(&state, &e.object, &shared.origin);
                let event = wire::event(
                    &state::new_id("evt_"),
                    e.kind,
                    object,
                    now_s(),
                    &shared.config.api_version,
                    request,
                );
                state.events.push(event.clone());
                event
            })
            .collect()
    };
    webhook::dispatch(shared, events);
}

/// Starts simulators.
pub struct StripeSimulator;

impl StripeSimulator {
    /// Starts a simulator on 127.0.0.1; panics if the port cannot be bound.
    pub fn start(config: StripeSimConfig) -> RunningStripe {
        StripeSimulator::try_start(config).expect("start the Stripe simulator")
    }

    pub fn try_start(config: StripeSimConfig) -> io::Result<RunningStripe> {
        let (port, public_origin) = (config.port, config.public_origin.clone());
        let build = |origin, stop| Shared {
            state: Mutex::new(State {
                webhook_endpoint: config.webhook_endpoint.clone(),
                ..State::default()
            }),
            config,
            origin,
            stop,
        };
        let (instance, shared) = Instance::start(port, public_origin.as_deref(), build, route)?;
        let ticker = shared.clone();
        thread::Builder::new()
            .name("stripe-ticker".into())
            .spawn(move || tick_loop(&ticker))?;
        Ok(RunningStripe { instance, shared })
    }
}

/// Expires sessions past `expires_at` and flushes events held back for reordering.
fn tick_loop(shared: &Arc<Shared>) {
    while shared.stop.sleep(Duration::from_millis(50)) {
        let emits = shared.lock().expire_due(now_s());
        publish(shared, emits, None);
        webhook::flush_reordered(shared, false);
    }
}

fn route(shared: &Arc<Shared>, request: Request) -> Reply {
    let path = request.path.clone();
    if path.starts_with("/v1/") {
        return api::handle(shared, &request);
    }
    Reply::Respond(match path.as_str() {
        _ if path.starts_with("/c/pay/") => page::handle(shared, &request),
        _ if path.starts_with("/__sim/") => control::handle(shared, &request),
        _ => Response::empty(404),
    })
}

/// A running simulator; dropping it stops the server, its ticker and any webhook retries.
pub struct RunningStripe {
    instance: Instance,
    shared: Arc<Shared>,
}

impl RunningStripe {
    pub fn port(&self) -> u16 {
        self.instance.port()
    }

    /// `http://127.0.0.1:PORT`: what replaces `https://api.stripe.com` (paths are `/v1/...`).
    pub fn base_url(&self) -> String {
        self.instance.local_url()
    }

    /// Where the hosted page and `/__sim/` live (`public_origin`, else the base URL).
    pub fn origin(&self) -> String {
        self.shared.origin.clone()
    }

    pub fn config(&self) -> &StripeSimConfig {
        &self.shared.config
    }

    pub fn secret_key(&self) -> &str {
        &self.shared.config.secret_key
    }

    pub fn webhook_secret(&self) -> &str {
        &self.shared.config.webhook_secret
    }

    /// Where events go from now on (`None`: nowhere).
    pub fn set_webhook_endpoint(&self, url: Option<&str>) {
        self.shared.lock().webhook_endpoint = url.map(str::to_owned);
    }

    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// The shopper pays on the hosted page, without a browser; see [`control::PayRequest`].
    pub fn pay(&self, session_id: &str, request: &control::PayRequest) -> Result<Value, String> {
        control::pay(&self.shared, session_id, request)
    }

    /// A `processing` (async) payment settles.
    pub fn settle_async(&self, payment_intent: &str, succeeded: bool) -> Result<(), PayError> {
        let emits = self.shared.lock().settle_async(payment_intent, succeeded)?;
        publish(&self.shared, emits, None);
        Ok(())
    }

    /// Moves an open session's `expires_at` (the simulator expires it when due).
    pub fn set_expires_at(&self, session_id: &str, at: i64) -> Result<(), PayError> {
        control::set_expires_at(&self.shared, session_id, at)
    }

    /// Stripe's automatic cancellation of an authorization nobody captured (after 7 days).
    pub fn expire_authorization(&self, payment_intent: &str) -> Result<(), PayError> {
        control::expire_authorization(&self.shared, payment_intent)
    }

    /// The session as the API shows it (PaymentIntent expanded), or `None`.
    pub fn session(&self, id: &str) -> Option<Value> {
        let state = self.shared.lock();
        let s = state.sessions.get(id)?;
        Some(wire::session(
            &state,
            s,
            &wire::expand_all(),
            &self.shared.origin,
        ))
    }

    /// The PaymentIntent as the API shows it, with `captures` (how many captures took effect)
    /// and `attempts` added.
    pub fn payment_intent(&self, id: &str) -> Option<Value> {
        control::intent_snapshot(&self.shared, id)
    }

    /// Every event created so far, oldest first (withheld ones included).
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.clone()
    }

    /// Every delivery attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliverySnapshot> {
        self.shared.lock().deliveries.clone()
    }

    /// Delivers the events withheld so far (and stops holding reordered ones).
    pub fn release_withheld(&self) -> usize {
        webhook::release(&self.shared)
    }
}
