//! Stripe, as a card gateway: a hosted Checkout Session per card leg, so the card number never
//! reaches the widget, the merchant's page or the edge (PCI DSS SAQ A); authorize and capture;
//! refunds; webhook verification ([`signature`]) and event hints ([`event::parse_event`]).
//!
//! Protocol (Stripe API reference, docs.stripe.com/api; wire details in [`wire`]):
//! - every call carries `Authorization: Bearer sk_...` and a pinned `Stripe-Version`
//!   ([`STRIPE_VERSION`]; docs.stripe.com/api/versioning: a request's version header overrides the
//!   account's default, so the objects keep the shape this module reads whatever the account's
//!   default becomes);
//! - every POST carries an `Idempotency-Key` derived from our own ids ([`keys`]). Stripe saves the
//!   status and body of the first request made with a key and replays it to any retry with the
//!   same key (for at least 24 hours), and refuses the same key with other parameters
//!   (`idempotency_error`) (docs.stripe.com/api/idempotent_requests). A retried call is therefore
//!   the same call: safe calls and idempotent POSTs are retried on timeouts and 5xx;
//! - create = `POST /v1/checkout/sessions` (`mode=payment`, one `price_data` line item,
//!   `client_reference_id` = our payment id, `success_url` with Stripe's `{CHECKOUT_SESSION_ID}`
//!   template, `expires_at` 30 min to 24 h ahead: docs.stripe.com/api/checkout/sessions/create);
//!   the next action is a redirect to its `url`;
//! - query = `GET /v1/checkout/sessions/{id}?expand[]=payment_intent`; Stripe has no completion
//!   step, so complete is a query too: the redirect to `success_url` proves nothing, the
//!   retrieved session and intent decide (amount, currency, `client_reference_id`);
//! - cancel = the session read first (its intent's `last_payment_error`, the card's last decline,
//!   which Stripe clears when the intent is later updated), then `POST
//!   /v1/checkout/sessions/{id}/expire` (only an `open` session can be expired), and for a
//!   session that already authorized a card, `POST /v1/payment_intents/{id}/cancel`;
//! - capture = `POST /v1/payment_intents/{id}/capture` with an optional `amount_to_capture`
//!   (docs.stripe.com/api/payment_intents/capture; an uncaptured intent is canceled by Stripe 7
//!   days after creation). A capture is sent once: if its answer is lost, the intent is retrieved
//!   and its status settles it ([`Stripe::capture`]), never a second capture;
//! - refund = `POST /v1/refunds` keyed by our refund id, our id also in `metadata[refund_id]`;
//!   a lost answer is found by listing the intent's refunds (`GET /v1/refunds?payment_intent=`)
//!   and matching that metadata.
//!
//! Configuration, per mode like bKash and WeChat Pay: `STRIPE_TEST_BASE_URL` (`https://api.stripe.com`
//! or the simulator), `STRIPE_TEST_SECRET_KEY` (`sk_test_...` or `rk_test_...`),
//! `STRIPE_TEST_WEBHOOK_SECRET` (`whsec_...`), and the same with `LIVE`; `STRIPE_TIMEOUT_MS`.
//! A test account's key must be a test key and a live account's a live key.

pub mod event;
pub mod request;
pub mod signature;
pub mod wire;

pub use request::{keys, path_id, StripeRequest};

use std::time::Duration;

use checkout_core::api::NextAction;
use checkout_core::{Currency, Money};
use serde::de::DeserializeOwned;
use worker::{Env, Method};

use super::outbound;
use super::{
    ConnectorError, CreatePayment, Created, Decline, PaymentConnector, ProviderPayment,
    ProviderRefund, ProviderState, RefundRequest,
};
use crate::config::{Mode, Secret};
use crate::error::{Error, Result};
use wire::{CaptureMethod, CheckoutSession, PaymentIntent, RefundList};

/// The API version every request pins (docs.stripe.com/api-versions).
pub const STRIPE_VERSION: &str = "2025-08-27.basil";

/// Pages of refunds read when looking for a lost one (100 each).
const MAX_REFUND_PAGES: usize = 10;

/// Credentials, from the Worker's configuration.
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub mode: Mode,
    /// `https://api.stripe.com`, or the simulator.
    pub base_url: String,
    pub secret_key: Secret,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: Secret,
    pub timeout: Duration,
}

impl StripeConfig {
    /// The `mode` account (`STRIPE_TEST_*` or `STRIPE_LIVE_*`); `None` when not configured.
    /// Read once per isolate ([`super::cached_config`]).
    pub fn from_env(env: &Env, mode: Mode) -> Result<Option<StripeConfig>> {
        thread_local! {
            static CONFIGS: super::ConfigSlots<StripeConfig> = const { std::cell::RefCell::new([None, None]) };
        }
        super::cached_config(&CONFIGS, mode, || StripeConfig::read_env(env, mode))
    }

    fn read_env(env: &Env, mode: Mode) -> Result<Option<StripeConfig>> {
        let Some((vars, base_url)) = super::AccountVars::open(env, mode, "STRIPE")? else {
            return Ok(None);
        };
        let secret_key = vars.required("SECRET_KEY")?;
        check_key_mode(secret_key.expose(), mode)
            .map_err(|e| Error::Config(format!("{}: {e}", vars.var("SECRET_KEY"))))?;
        Ok(Some(StripeConfig {
            mode,
            base_url,
            secret_key,
            webhook_secret: vars.required("WEBHOOK_SECRET")?,
            timeout: vars.timeout()?,
        }))
    }
}

/// A test account takes only test keys, a live one only live keys: a key of the other mode is
/// a configuration error, never a silent switch between sandbox and real money.
pub fn check_key_mode(key: &str, mode: Mode) -> Result<(), &'static str> {
    let prefixes: [&str; 2] = match mode {
        Mode::Test => ["sk_test_", "rk_test_"],
        Mode::Live => ["sk_live_", "rk_live_"],
    };
    if prefixes
        .iter()
        .any(|p| key.starts_with(p) && key.len() > p.len())
    {
        Ok(())
    } else {
        Err(match mode {
            Mode::Test => "a test account needs a secret key starting sk_test_ or rk_test_",
            Mode::Live => "a live account needs a secret key starting sk_live_ or rk_live_",
        })
    }
}

/// The Stripe connector, for one mode's account.
pub struct Stripe {
    config: StripeConfig,
}

impl Stripe {
    pub fn from_env(env: &Env, mode: Mode) -> Result<Option<Stripe>> {
        Ok(StripeConfig::from_env(env, mode)?.map(Stripe::new))
    }

    pub fn new(config: StripeConfig) -> Stripe {
        Stripe { config }
    }

    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    /// What Stripe accepts per payment in `currency`: from one major unit (Stripe's minimum
    /// charge is about USD 0.50 in the settlement currency) to Stripe's eight-digit ceiling on
    /// `amount` (99,999,999 minor units).
    pub fn amount_limits(currency: Currency) -> (Money, Money) {
        let one = 10_i64.pow(currency.minor_digits());
        let min = Money::from_minor(one, currency).unwrap_or(Money::zero(currency));
        let max = Money::from_minor(99_999_999, currency).unwrap_or(min);
        (min, max)
    }

    /// Creates the card leg's Checkout Session, authorizing only when `capture` is manual.
    pub async fn create_session(
        &self,
        request: &CreatePayment<'_>,
        capture: CaptureMethod,
    ) -> Result<Created, ConnectorError> {
        let now_s = crate::clock::now_s();
        let session: CheckoutSession = self
            .send_retried(&StripeRequest::create_session(request, capture, now_s))
            .await?;
        match session.url {
            Some(url) => Ok(Created {
                reference: session.id,
                next_action: NextAction::Redirect { url },
            }),
            None => Err(ConnectorError::Unknown(format!(
                "checkout session {} came back without a url",
                session.id
            ))),
        }
    }

    /// The session, with its intent expanded.
    pub async fn retrieve_session(&self, session: &str) -> Result<CheckoutSession, ConnectorError> {
        self.send_retried(&StripeRequest::retrieve_session(session)?)
            .await
    }

    pub async fn retrieve_intent(&self, intent: &str) -> Result<PaymentIntent, ConnectorError> {
        self.send_retried(&StripeRequest::retrieve_intent(intent)?)
            .await
    }

    /// Captures an authorized intent, whole (`None`) or in part. Sent once: when the answer is
    /// lost, the intent is retrieved and its status decides. `succeeded` is the capture done (a
    /// capture has no other way to get there); anything else leaves it unknown, and a later
    /// capture with the same key is the same call at Stripe.
    pub async fn capture(
        &self,
        payment_id: &str,
        intent: &str,
        amount: Option<Money>,
    ) -> Result<ProviderPayment, ConnectorError> {
        let request = StripeRequest::capture_intent(payment_id, intent, amount)?;
        match self.send::<PaymentIntent>(&request).await {
            Ok(captured) => Ok(wire::intent_payment(&captured)),
            Err(ConnectorError::Unknown(reason)) => {
                let now = wire::intent_payment(&self.retrieve_intent(intent).await?);
                match now.state {
                    ProviderState::Succeeded => Ok(now),
                    _ => Err(ConnectorError::Unknown(format!(
                        "capture unanswered ({reason}); the intent is {}",
                        now.provider_status
                    ))),
                }
            }
            Err(ConnectorError::AlreadyDone(_)) => {
                Ok(wire::intent_payment(&self.retrieve_intent(intent).await?))
            }
            Err(other) => Err(other),
        }
    }

    /// Voids an authorization: cancels the uncaptured intent, releasing the held amount. An
    /// intent already captured answers [`ConnectorError::AlreadyDone`].
    pub async fn void(
        &self,
        payment_id: &str,
        intent: &str,
    ) -> Result<ProviderPayment, ConnectorError> {
        let request = StripeRequest::cancel_intent(payment_id, intent)?;
        match self.send_retried::<PaymentIntent>(&request).await {
            Ok(canceled) => Ok(wire::intent_payment(&canceled)),
            Err(ConnectorError::InvalidState(reason)) => {
                let now = wire::intent_payment(&self.retrieve_intent(intent).await?);
                match now.state {
                    ProviderState::Canceled => Ok(now),
                    ProviderState::Succeeded => {
                        Err(ConnectorError::AlreadyDone(now.provider_status))
                    }
                    _ => Err(ConnectorError::InvalidState(reason)),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// Sends once.
    async fn send<R: DeserializeOwned>(
        &self,
        request: &StripeRequest,
    ) -> Result<R, ConnectorError> {
        let url = format!("{}{}", self.config.base_url, request.path);
        let authorization = format!("Bearer {}", self.config.secret_key.expose());
        let mut headers = vec![
            ("Authorization", authorization.as_str()),
            ("Stripe-Version", STRIPE_VERSION),
        ];
        if let Some(key) = &request.idempotency_key {
            headers.push(("Idempotency-Key", key.as_str()));
        }
        let timeout = self.config.timeout;
        let answer = match &request.form {
            Some(form) => outbound::post_form(&url, &headers, form, timeout).await,
            None => outbound::send(Method::Get, &url, &headers, None, timeout).await,
        }
        .map_err(|e| ConnectorError::Unknown(format!("{}: {e}", request.operation.name())))?;
        wire::read_answer(answer.status, &answer.body, request.operation)
    }

    /// Sends, repeating on an unknown outcome: for GETs, and POSTs whose idempotency key makes
    /// a repeat the same call.
    async fn send_retried<R: DeserializeOwned>(
        &self,
        request: &StripeRequest,
    ) -> Result<R, ConnectorError> {
        let unknown = |error: &ConnectorError| match error {
            ConnectorError::Unknown(reason) => Some(reason.clone()),
            _ => None,
        };
        outbound::with_retries("stripe", outbound::SAFE_ATTEMPTS, unknown, || {
            self.send(request)
        })
        .await
    }
}

impl PaymentConnector for Stripe {
    /// A Checkout Session, charged at once or (`manual_capture`) authorized only.
    async fn create(&self, request: &CreatePayment<'_>) -> Result<Created, ConnectorError> {
        let capture = if request.manual_capture {
            CaptureMethod::Manual
        } else {
            CaptureMethod::Automatic
        };
        self.create_session(request, capture).await
    }

    /// Stripe has no completion step: the shopper's payment on the hosted page is the payment.
    async fn complete(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        self.query(reference).await
    }

    async fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        Ok(wire::session_payment(
            &self.retrieve_session(reference).await?,
        ))
    }

    /// Expires the session, answering the card's last decline. The session is read first, with
    /// its intent: Stripe clears an intent's `last_payment_error` when the intent is later
    /// updated "for any reason" (docs.stripe.com/api/payment_intents/object), and expiring the
    /// session cancels its intent, so the decline is read before. One that can no longer be
    /// expired is read again: paid answers [`ConnectorError::AlreadyDone`]; an authorization is
    /// voided; an ended one is fine.
    async fn cancel(&self, reference: &str) -> Result<Option<Decline>, ConnectorError> {
        let before = self.retrieve_session(reference).await?;
        let decline = wire::session_decline(&before);
        let (session, refusal) = if before.status.as_deref() == Some("open") {
            let expire = StripeRequest::expire_session(reference)?;
            let refusal = match self.send_retried::<CheckoutSession>(&expire).await {
                Ok(expired) => return Ok(wire::session_decline(&expired).or(decline)),
                Err(ConnectorError::Unknown(reason)) => {
                    return Err(ConnectorError::Unknown(reason))
                }
                Err(other) => other,
            };
            (self.retrieve_session(reference).await?, refusal)
        } else {
            let refusal = ConnectorError::InvalidState("checkout_session_not_open".into());
            (before, refusal)
        };
        let payment = wire::session_payment(&session);
        let decline = payment.decline.clone().or(decline);
        match (payment.state, payment.transaction_id) {
            (ProviderState::Succeeded, _) => {
                Err(ConnectorError::AlreadyDone(payment.provider_status))
            }
            (ProviderState::Approved, Some(intent)) => {
                let payment_id = session.client_reference_id.as_deref().unwrap_or(reference);
                self.void(payment_id, &intent).await.map(|_| None)
            }
            (ProviderState::Canceled | ProviderState::Failed, _) => Ok(decline),
            _ => Err(refusal),
        }
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<ProviderRefund, ConnectorError> {
        let refund: wire::Refund = self
            .send_retried(&StripeRequest::create_refund(request)?)
            .await?;
        Ok(refund.to_provider())
    }

    async fn find_refund(
        &self,
        request: &RefundRequest<'_>,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        let mut after: Option<String> = None;
        for _ in 0..MAX_REFUND_PAGES {
            let list = StripeRequest::list_refunds(request.transaction_id, after.as_deref())?;
            let page: RefundList = self.send_retried(&list).await?;
            if let Some(ours) = page.data.iter().find(|r| r.is_ours(request.refund_id)) {
                return Ok(Some(ours.to_provider()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
        Err(ConnectorError::Unknown(format!(
            "more than {} refunds on {}",
            MAX_REFUND_PAGES * 100,
            request.transaction_id
        )))
    }
}

#[cfg(test)]
mod tests;
