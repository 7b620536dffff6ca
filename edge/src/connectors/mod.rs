//! Payment providers, one module each, behind one small trait.
//!
//! Architecture Invariant: only a connector module knows its provider's wire format; the rest of
//! the edge sees [`CreatePayment`], [`ProviderPayment`] and [`ConnectorError`].

pub mod bkash;
pub mod outbound;
pub mod stripe;
pub mod wechat;

use checkout_core::api::PaymentMethod;
use checkout_core::{Currency, Money};
use worker::Env;

use crate::config::{Mode, Secret};
use crate::error::{Error, Result};
pub use crate::saga::provider::{
    ConnectorError, Created, Decline, OtherRefunds, ProviderPayment, ProviderRefund, ProviderState,
    RefundState, WechatPayer,
};

/// A payment to start at a provider.
#[derive(Debug, Clone)]
pub struct CreatePayment<'a> {
    /// Our payment id; unique per attempt, so the provider's invoice number is too.
    pub invoice: &'a str,
    /// Our checkout session's id, for a provider that keeps metadata (Stripe), so a notification
    /// that names only its own objects leads back to the session.
    pub session_id: &'a str,
    pub amount: Money,
    /// Who pays, in the merchant's terms (the customer id).
    pub payer_reference: &'a str,
    /// Where the provider sends the shopper's browser back.
    pub callback_url: String,
    /// Where the provider posts its server-to-server notification (WeChat Pay).
    pub notify_url: String,
    /// What the shopper sees at the provider.
    pub description: &'a str,
    /// When the session ends: the provider must refuse payment after it.
    pub expires_at_s: i64,
    /// How a WeChat Pay shopper approves; `None` for other methods.
    pub wechat: Option<WechatPayer>,
    /// Authorize only, for the merchant's later capture (cards).
    pub manual_capture: bool,
}

/// A refund to make at a provider.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    pub reference: &'a str,
    pub transaction_id: &'a str,
    /// Our refund id, sent as the provider's reference for it.
    pub refund_id: &'a str,
    pub amount: Money,
    pub reason: &'a str,
    /// What the provider took for the payment (WeChat Pay wants it with every refund).
    pub payment_amount: Money,
    /// Where the provider posts the refund's outcome, if it notifies.
    pub notify_url: Option<String>,
    /// The payment's other refunds, for a provider whose refund status cannot name ours.
    pub others: OtherRefunds,
}

/// The operations every provider offers. Dispatch is through the closed enum [`Connector`].
#[allow(async_fn_in_trait)] // Workers are single-threaded; no Send bound is wanted.
pub trait PaymentConnector {
    /// Starts a payment; nothing is taken until the shopper acts and it is completed.
    async fn create(&self, request: &CreatePayment<'_>) -> Result<Created, ConnectorError>;
    /// Completes a payment the shopper approved (bKash execute). Must not be blindly retried.
    async fn complete(&self, reference: &str) -> Result<ProviderPayment, ConnectorError>;
    /// What the provider says now. Safe to repeat.
    async fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError>;
    /// Makes an unpaid payment unpayable (the session expired or the shopper gave up). A payment
    /// that was paid meanwhile answers [`ConnectorError::AlreadyDone`]. A card gateway answers
    /// the card's last decline, read before the payment was closed (closing may clear it).
    async fn cancel(&self, reference: &str) -> Result<Option<Decline>, ConnectorError>;
    /// Returns `amount` of a completed payment. Not idempotent at every provider: a lost answer
    /// is resolved with [`PaymentConnector::find_refund`], never by refunding again.
    async fn refund(&self, request: &RefundRequest<'_>) -> Result<ProviderRefund, ConnectorError>;
    /// The provider's refund matching `request`, if it made one.
    async fn find_refund(
        &self,
        request: &RefundRequest<'_>,
    ) -> Result<Option<ProviderRefund>, ConnectorError>;
}

/// Every provider the edge can talk to.
pub enum Connector {
    Bkash(bkash::Bkash),
    Wechat(wechat::Wechat),
    Stripe(stripe::Stripe),
}

impl Connector {
    /// The connector for `method` with the `mode` account, if it is an external method and that
    /// account is configured on this Worker. A live session never gets test credentials, nor a
    /// test session live ones: without the mode's own account the method is unavailable.
    pub fn for_method(method: PaymentMethod, env: &Env, mode: Mode) -> Result<Option<Connector>> {
        match method {
            PaymentMethod::Bkash => Ok(bkash::Bkash::from_env(env, mode)?.map(Connector::Bkash)),
            PaymentMethod::WechatPay => {
                Ok(wechat::Wechat::from_env(env, mode)?.map(Connector::Wechat))
            }
            PaymentMethod::Card => Ok(stripe::Stripe::from_env(env, mode)?.map(Connector::Stripe)),
            _ => Ok(None),
        }
    }

    /// The provider's record of a completed transaction, where it offers a search.
    pub async fn search_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<serde_json::Value, ConnectorError> {
        match self {
            Connector::Bkash(bkash) => bkash.search(transaction_id).await,
            Connector::Wechat(wechat) => wechat.transaction(transaction_id).await,
            Connector::Stripe(stripe) => {
                let intent = stripe.retrieve_intent(transaction_id).await?;
                Ok(serde_json::json!({
                    "id": intent.id,
                    "status": intent.status,
                    "amount": intent.amount,
                    "amount_received": intent.amount_received,
                    "amount_capturable": intent.amount_capturable,
                    "currency": intent.currency,
                }))
            }
        }
    }

    /// Captures an authorized card payment, whole or `amount` (Stripe only; sent once, a lost
    /// answer is settled by retrieving the intent, never by capturing again).
    pub async fn capture(
        &self,
        payment_id: &str,
        transaction_id: &str,
        amount: Option<Money>,
    ) -> Result<ProviderPayment, ConnectorError> {
        match self {
            Connector::Stripe(stripe) => stripe.capture(payment_id, transaction_id, amount).await,
            _ => Err(ConnectorError::InvalidState(
                "this provider does not authorize separately".into(),
            )),
        }
    }

    /// Voids an authorization (Stripe only).
    pub async fn void(
        &self,
        payment_id: &str,
        transaction_id: &str,
    ) -> Result<ProviderPayment, ConnectorError> {
        match self {
            Connector::Stripe(stripe) => stripe.void(payment_id, transaction_id).await,
            _ => Err(ConnectorError::InvalidState(
                "this provider does not authorize separately".into(),
            )),
        }
    }

    /// The amounts the provider accepts per payment in `currency`.
    pub fn amount_limits(&self, currency: Currency) -> (Money, Money) {
        match self {
            Connector::Bkash(bkash) => bkash.amount_limits(),
            Connector::Wechat(wechat) => wechat.amount_limits(),
            Connector::Stripe(_) => stripe::Stripe::amount_limits(currency),
        }
    }
}

impl PaymentConnector for Connector {
    async fn create(&self, request: &CreatePayment<'_>) -> Result<Created, ConnectorError> {
        match self {
            Connector::Bkash(c) => c.create(request).await,
            Connector::Wechat(c) => c.create(request).await,
            Connector::Stripe(c) => c.create(request).await,
        }
    }

    async fn complete(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        match self {
            Connector::Bkash(c) => c.complete(reference).await,
            Connector::Wechat(c) => c.complete(reference).await,
            Connector::Stripe(c) => c.complete(reference).await,
        }
    }

    async fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        match self {
            Connector::Bkash(c) => c.query(reference).await,
            Connector::Wechat(c) => c.query(reference).await,
            Connector::Stripe(c) => c.query(reference).await,
        }
    }

    async fn cancel(&self, reference: &str) -> Result<Option<Decline>, ConnectorError> {
        match self {
            Connector::Bkash(c) => c.cancel(reference).await,
            Connector::Wechat(c) => c.cancel(reference).await,
            Connector::Stripe(c) => c.cancel(reference).await,
        }
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<ProviderRefund, ConnectorError> {
        match self {
            Connector::Bkash(c) => c.refund(request).await,
            Connector::Wechat(c) => c.refund(request).await,
            Connector::Stripe(c) => c.refund(request).await,
        }
    }

    async fn find_refund(
        &self,
        request: &RefundRequest<'_>,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        match self {
            Connector::Bkash(c) => c.find_refund(request).await,
            Connector::Wechat(c) => c.find_refund(request).await,
            Connector::Stripe(c) => c.find_refund(request).await,
        }
    }
}

/// Whether `method` can take payments of `mode` sessions on this Worker.
pub fn is_available(method: PaymentMethod, env: &Env, mode: Mode) -> Result<bool> {
    Ok(match method {
        PaymentMethod::Balance => true,
        other => Connector::for_method(other, env, mode)?.is_some(),
    })
}

/// One isolate's provider configurations, per mode: `[test, live]`, each `None` until read, then
/// the account (or `Some(None)`: that mode's account is not configured).
pub(crate) type ConfigSlots<T> = std::cell::RefCell<[Option<Option<T>>; 2]>;

/// A provider account's configuration, read from the environment the first time this isolate
/// needs it (`read`) and kept for the isolate's life.
///
/// A deployment's variables and secrets do not change under a running isolate (a new version of
/// the Worker, or a changed secret, starts new isolates), so reading a dozen bindings through
/// the JS boundary on every notification and in every session step was pure cost. An error is
/// not kept: it is answered, and read again, each time.
pub(crate) fn cached_config<T: Clone + 'static>(
    slots: &'static std::thread::LocalKey<ConfigSlots<T>>,
    mode: Mode,
    read: impl FnOnce() -> Result<Option<T>>,
) -> Result<Option<T>> {
    let slot = mode.index();
    if let Some(known) = slots.with(|slots| slots.borrow()[slot].clone()) {
        return Ok(known);
    }
    let config = read()?;
    slots.with(|slots| slots.borrow_mut()[slot] = Some(config.clone()));
    Ok(config)
}

/// One provider account's variables in the environment: `{PROVIDER}_{MODE}_{NAME}` for the
/// account's own (`BKASH_TEST_APP_KEY`), `{PROVIDER}_{NAME}` for what both modes share (limits,
/// the timeout). What each provider's `read_env` reads through.
pub(crate) struct AccountVars<'a> {
    env: &'a Env,
    mode: Mode,
    provider: &'static str,
}

impl<'a> AccountVars<'a> {
    /// The `mode` account of `provider` and its base URL (without a trailing `/`); `None` when
    /// the account has no base URL, that is, it is not configured. Refuses the variable names
    /// from before test and live accounts were separate. Remembers the Worker's credentials for
    /// the logs' scrubbing first.
    pub(crate) fn open(
        env: &'a Env,
        mode: Mode,
        provider: &'static str,
    ) -> Result<Option<(AccountVars<'a>, String)>> {
        crate::log::remember_env_secrets(env);
        refuse_unmoded(env, provider)?;
        let vars = AccountVars {
            env,
            mode,
            provider,
        };
        Ok(vars
            .credential("BASE_URL")?
            .map(|url| url.expose().trim_end_matches('/').to_owned())
            .map(|url| (vars, url)))
    }

    /// The account's `name`, if set.
    pub(crate) fn credential(&self, name: &str) -> Result<Option<Secret>> {
        crate::config::read(self.env, &self.mode.var(self.provider, name))
    }

    /// The account's `name`, which a configured account must have.
    pub(crate) fn required(&self, name: &str) -> Result<Secret> {
        self.credential(name)?.ok_or_else(|| {
            Error::Config(format!(
                "{} is required with {}",
                self.var(name),
                self.var("BASE_URL")
            ))
        })
    }

    /// As [`Self::required`], for a value that is no secret (an id, a public key).
    pub(crate) fn plain(&self, name: &str) -> Result<String> {
        self.required(name).map(|s| s.expose().to_owned())
    }

    /// The full name of the account's `name` (`WECHATPAY_LIVE_APIV3_KEY`), for messages.
    pub(crate) fn var(&self, name: &str) -> String {
        self.mode.var(self.provider, name)
    }

    /// The shared `{PROVIDER}_{name}` amount in `currency`, `default` when unset.
    pub(crate) fn amount(&self, name: &str, default: &str, currency: Currency) -> Result<Money> {
        let name = format!("{}_{name}", self.provider);
        let text = crate::config::read(self.env, &name)?.map(|s| s.expose().to_owned());
        Money::parse_positive(text.as_deref().unwrap_or(default), currency)
            .map_err(|e| Error::Config(format!("{name}: {e}")))
    }

    /// The shared `{PROVIDER}_TIMEOUT_MS` for each call to the provider; 10 s when unset.
    pub(crate) fn timeout(&self) -> Result<std::time::Duration> {
        let name = format!("{}_TIMEOUT_MS", self.provider);
        let ms = crate::config::read(self.env, &name)?
            .and_then(|s| s.expose().parse::<u64>().ok())
            .unwrap_or(10_000);
        Ok(std::time::Duration::from_millis(ms))
    }
}

/// The provider variable names from before test and live accounts were separate
/// (`BKASH_BASE_URL`): a Worker still configured so refuses to guess which account they are.
fn refuse_unmoded(env: &Env, provider: &str) -> Result<()> {
    let old = format!("{provider}_BASE_URL");
    if crate::config::read(env, &old)?.is_some() {
        return Err(Error::Config(format!(
            "{old} is no longer read: configure {} or {} (README, \"Going live\")",
            Mode::Test.var(provider, "*"),
            Mode::Live.var(provider, "*"),
        )));
    }
    Ok(())
}
