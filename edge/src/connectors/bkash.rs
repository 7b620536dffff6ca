//! bKash Tokenized Checkout (API v1.2.0-beta): grant and refresh, create, execute, query, search,
//! refund.
//!
//! Protocol as published by bKash (developer.bka.sh, "Tokenized Checkout"): every call is a JSON
//! POST under `/tokenized/checkout/`; the grant and refresh calls carry `username` and `password`
//! headers, the others `Authorization: <id_token>` and `X-APP-Key`. The id token is cached in the
//! `BkashToken` Durable Object, one per app key, and each isolate keeps a copy until the object's
//! refresh time (`bkash_token::Copies`). A call answered 401 refreshes the token once and is
//! retried once.
//!
//! Retries: only calls that are safe to repeat (grant, refresh, query, search) are retried on a
//! timeout or 5xx, with exponential back-off. Execute and refund are never repeated blindly: a lost
//! answer is resolved by asking (query), so a payment can never execute twice.

pub mod wire;

use std::time::Duration;

use checkout_core::api::NextAction;
use checkout_core::{Currency, Money};
use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::Env;

use super::outbound::{self, OutboundError};
use super::{
    ConnectorError, CreatePayment, Created, Decline, PaymentConnector, ProviderPayment,
    ProviderRefund, RefundRequest,
};
use crate::config::{Mode, Secret};
use crate::error::Result;
use crate::objects::bkash_token::{self, TokenCommand};
use crate::objects::rpc;
use wire::{PaymentIdRequest, PaymentResponse};

/// Credentials and limits, from the Worker's configuration.
#[derive(Debug, Clone)]
pub struct BkashConfig {
    /// Whose account this is: the bKash sandbox's (test) or the merchant's real one (live).
    pub mode: Mode,
    /// e.g. `https://tokenized.pay.bka.sh/v1.2.0-beta`, or the simulator.
    pub base_url: String,
    pub username: Secret,
    pub password: Secret,
    pub app_key: Secret,
    pub app_secret: Secret,
    pub min_amount: Money,
    pub max_amount: Money,
    pub timeout: Duration,
}

impl BkashConfig {
    /// The `mode` account (`BKASH_TEST_*` or `BKASH_LIVE_*`); `None` when it is not configured
    /// (the method is then unavailable to sessions of that mode). Limits and the timeout are
    /// shared by both accounts. Read once per isolate ([`super::cached_config`]).
    pub fn from_env(env: &Env, mode: Mode) -> Result<Option<BkashConfig>> {
        thread_local! {
            static CONFIGS: super::ConfigSlots<BkashConfig> = const { std::cell::RefCell::new([None, None]) };
        }
        super::cached_config(&CONFIGS, mode, || BkashConfig::read_env(env, mode))
    }

    fn read_env(env: &Env, mode: Mode) -> Result<Option<BkashConfig>> {
        let Some((vars, base_url)) = super::AccountVars::open(env, mode, "BKASH")? else {
            return Ok(None);
        };
        Ok(Some(BkashConfig {
            mode,
            base_url,
            username: vars.required("USERNAME")?,
            password: vars.required("PASSWORD")?,
            app_key: vars.required("APP_KEY")?,
            app_secret: vars.required("APP_SECRET")?,
            min_amount: vars.amount("MIN_AMOUNT", "1.00", Currency::BDT)?,
            max_amount: vars.amount("MAX_AMOUNT", "25000.00", Currency::BDT)?,
            timeout: vars.timeout()?,
        }))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/tokenized/checkout/{path}", self.base_url)
    }
}

/// A fresh token, as the grant and refresh calls return it.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id_token: String,
    pub refresh_token: String,
    pub expires_in_s: i64,
}

/// `token/grant`, retried on timeouts and 5xx.
pub async fn grant(config: &BkashConfig) -> Result<IssuedToken, ConnectorError> {
    let body = wire::GrantRequest {
        app_key: config.app_key.expose(),
        app_secret: config.app_secret.expose(),
    };
    token_call(config, "token/grant", &body).await
}

/// `token/refresh`, retried on timeouts and 5xx.
pub async fn refresh(
    config: &BkashConfig,
    refresh_token: &str,
) -> Result<IssuedToken, ConnectorError> {
    let body = wire::RefreshRequest {
        app_key: config.app_key.expose(),
        app_secret: config.app_secret.expose(),
        refresh_token,
    };
    token_call(config, "token/refresh", &body).await
}

async fn token_call<B: Serialize>(
    config: &BkashConfig,
    path: &str,
    body: &B,
) -> Result<IssuedToken, ConnectorError> {
    let headers = [
        ("username", config.username.expose()),
        ("password", config.password.expose()),
    ];
    let answer: wire::TokenResponse = with_retries(|| post(config, path, &headers, body)).await?;
    match (answer.id_token, answer.refresh_token) {
        (Some(id_token), Some(refresh_token)) if answer.status.is_success() => Ok(IssuedToken {
            id_token,
            refresh_token,
            expires_in_s: answer.expires_in.unwrap_or(3600),
        }),
        _ => Err(answer.status.into_error()),
    }
}

/// The bKash connector, for one Worker's credentials.
pub struct Bkash {
    config: BkashConfig,
    env: Env,
}

impl Bkash {
    pub fn from_env(env: &Env, mode: Mode) -> Result<Option<Bkash>> {
        Ok(BkashConfig::from_env(env, mode)?.map(|config| Bkash {
            config,
            env: env.clone(),
        }))
    }

    pub fn amount_limits(&self) -> (Money, Money) {
        (self.config.min_amount, self.config.max_amount)
    }

    /// `general/searchTransaction`: a completed transaction by its trxID.
    pub async fn search(&self, trx_id: &str) -> Result<serde_json::Value, ConnectorError> {
        let body = serde_json::json!({ "trxID": trx_id });
        let answer: serde_json::Value = self.call("general/searchTransaction", &body, true).await?;
        Ok(answer)
    }

    /// An id token: this isolate's copy while it is fresh, else the cache object's; `stale`
    /// names one the provider just refused.
    async fn token(&self, stale: Option<String>) -> Result<String, ConnectorError> {
        thread_local! {
            static COPIES: std::cell::RefCell<bkash_token::Copies> =
                std::cell::RefCell::new(bkash_token::Copies::default());
        }
        let mode = self.config.mode;
        match &stale {
            None => {
                let now = crate::clock::now_ms();
                if let Some(copy) = COPIES.with(|c| c.borrow().fresh(mode, now)) {
                    return Ok(copy);
                }
            }
            Some(refused) => COPIES.with(|c| c.borrow_mut().drop_refused(mode, refused)),
        }
        let stub = bkash_token::stub(&self.env, self.config.mode, self.config.app_key.expose())
            .map_err(|e| ConnectorError::Unknown(e.to_string()))?;
        let command = TokenCommand::Get {
            mode: self.config.mode,
            stale,
        };
        let answer: bkash_token::IdToken = rpc::call(&stub, &command)
            .await
            .map_err(|e| ConnectorError::Unknown(format!("token cache: {e}")))?;
        COPIES.with(|c| c.borrow_mut().keep(mode, answer.clone()));
        Ok(answer.id_token)
    }

    /// An authorised call; a 401 refreshes the token once and retries once.
    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        safe_to_repeat: bool,
    ) -> Result<R, ConnectorError> {
        let mut token = self.token(None).await?;
        for attempt in 0..2 {
            let headers = [
                ("Authorization", token.as_str()),
                ("X-APP-Key", self.config.app_key.expose()),
            ];
            let result = if safe_to_repeat {
                with_retries(|| post(&self.config, path, &headers, body)).await
            } else {
                post(&self.config, path, &headers, body).await
            };
            match result {
                Err(CallError::Unauthorized) if attempt == 0 => {
                    token = self.token(Some(token)).await?;
                }
                other => return other.map_err(CallError::into_connector_error),
            }
        }
        Err(ConnectorError::Unknown(
            "bKash refused a freshly refreshed token".into(),
        ))
    }

    async fn payment_call(
        &self,
        path: &str,
        reference: &str,
        safe: bool,
    ) -> Result<ProviderPayment, ConnectorError> {
        let answer: PaymentResponse = self
            .call(
                path,
                &PaymentIdRequest {
                    payment_id: reference,
                },
                safe,
            )
            .await?;
        if answer.status.is_success() {
            Ok(answer.into_payment())
        } else {
            Err(answer.status.into_error())
        }
    }
}

impl PaymentConnector for Bkash {
    async fn create(&self, request: &CreatePayment<'_>) -> Result<Created, ConnectorError> {
        let body = wire::CreateRequest {
            mode: "0011",
            payer_reference: request.payer_reference,
            callback_url: &request.callback_url,
            amount: wire::amount_to_wire(request.amount),
            currency: "BDT",
            intent: "sale",
            merchant_invoice_number: request.invoice,
        };
        // Not repeated: a lost create leaves at most an unused bKash payment, which expires.
        let answer: wire::CreateResponse = self.call("create", &body, false).await?;
        match (answer.payment_id, answer.bkash_url) {
            (Some(reference), Some(url)) if answer.status.is_success() => Ok(Created {
                reference,
                next_action: NextAction::Redirect { url },
            }),
            _ => Err(answer.status.into_error()),
        }
    }

    async fn complete(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        self.payment_call("execute", reference, false).await
    }

    async fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        self.payment_call("payment/status", reference, true).await
    }

    /// bKash offers no cancel: a created payment that is never executed takes nothing, and
    /// expires at bKash by itself.
    async fn cancel(&self, _reference: &str) -> Result<Option<Decline>, ConnectorError> {
        Ok(None)
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<ProviderRefund, ConnectorError> {
        let body = wire::RefundRequest {
            payment_id: request.reference,
            amount: Some(wire::amount_to_wire(request.amount)),
            trx_id: request.transaction_id,
            sku: Some(request.refund_id),
            reason: Some(request.reason),
        };
        let answer: wire::RefundResponse = self.call("payment/refund", &body, false).await?;
        answer.into_refund()
    }

    /// bKash's refund status (`payment/refund` with only the payment and transaction ids) reports
    /// its latest refund, without our `sku`; [`claim_latest_refund`] decides whether it is ours.
    async fn find_refund(
        &self,
        request: &RefundRequest<'_>,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        let latest = self
            .latest_refund(request.reference, request.transaction_id)
            .await?;
        Ok(latest.and_then(|refund| claim_latest_refund(refund, request)))
    }
}

impl Bkash {
    /// The latest refund of a payment, as bKash's refund status reports it (the only refund it
    /// reports: it names neither our reference nor earlier refunds).
    pub async fn latest_refund(
        &self,
        reference: &str,
        transaction_id: &str,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        let body = wire::RefundRequest {
            payment_id: reference,
            amount: None,
            trx_id: transaction_id,
            sku: None,
            reason: None,
        };
        let answer: wire::RefundResponse = self.call("payment/refund", &body, true).await?;
        if answer.status.code() == wire::NO_REFUND {
            return Ok(None);
        }
        answer.into_refund().map(Some)
    }
}

/// Whether bKash's latest refund of a payment is the one `request` describes, whose answer was
/// lost. Amount alone cannot tell two equal partial refunds apart, so it must also be none of the
/// refunds already recorded with their bKash ids, and no other refund of the payment may be
/// unresolved (the latest could then be either). Anything doubtful is not claimed: the refund
/// stays pending for an operator rather than borrowing another refund's id.
pub fn claim_latest_refund(
    latest: ProviderRefund,
    request: &RefundRequest<'_>,
) -> Option<ProviderRefund> {
    let known = request.others.made.contains(&latest.refund_transaction_id);
    let ours = latest.amount == Some(request.amount) && !known && !request.others.unresolved;
    ours.then_some(latest)
}

#[cfg(test)]
mod tests {
    use checkout_core::{Currency, Money};

    use super::claim_latest_refund;
    use crate::connectors::{OtherRefunds, ProviderRefund, RefundRequest, RefundState};

    fn bdt(minor: i64) -> Money {
        Money::from_minor(minor, Currency::BDT).unwrap()
    }

    fn latest(id: &str, minor: i64) -> ProviderRefund {
        ProviderRefund {
            refund_transaction_id: id.into(),
            amount: Some(bdt(minor)),
            state: RefundState::Succeeded,
        }
    }

    fn lost_refund(others: OtherRefunds) -> RefundRequest<'static> {
        RefundRequest {
            reference: "TR0011",
            transaction_id: "TRX1",
            refund_id: "re_2",
            amount: bdt(1_000),
            reason: "r",
            payment_amount: bdt(5_000),
            notify_url: None,
            others,
        }
    }

    #[test]
    fn an_equal_earlier_refund_is_never_taken_for_the_lost_one() {
        let others = OtherRefunds {
            made: vec!["RF1".into()],
            unresolved: false,
        };
        assert!(claim_latest_refund(latest("RF1", 1_000), &lost_refund(others)).is_none());
    }

    #[test]
    fn a_new_refund_of_our_amount_is_ours() {
        let others = OtherRefunds {
            made: vec!["RF1".into()],
            unresolved: false,
        };
        let found = claim_latest_refund(latest("RF2", 1_000), &lost_refund(others)).unwrap();
        assert_eq!(found.refund_transaction_id, "RF2");
    }

    #[test]
    fn another_amount_or_another_unresolved_refund_is_not_claimed() {
        let none = OtherRefunds::default();
        assert!(claim_latest_refund(latest("RF2", 999), &lost_refund(none)).is_none());
        let two_lost = OtherRefunds {
            made: Vec::new(),
            unresolved: true,
        };
        assert!(claim_latest_refund(latest("RF2", 1_000), &lost_refund(two_lost)).is_none());
    }
}

/// How one HTTP exchange with bKash went.
#[derive(Debug)]
enum CallError {
    /// 401/403: the id token was refused.
    Unauthorized,
    /// A timeout, a 5xx, a broken connection or an unreadable body: the outcome is unknown.
    Unknown(String),
}

impl CallError {
    fn into_connector_error(self) -> ConnectorError {
        match self {
            CallError::Unauthorized => ConnectorError::Unknown("bKash refused the token".into()),
            CallError::Unknown(reason) => ConnectorError::Unknown(reason),
        }
    }
}

impl From<CallError> for ConnectorError {
    fn from(error: CallError) -> ConnectorError {
        error.into_connector_error()
    }
}

async fn post<B: Serialize, R: DeserializeOwned>(
    config: &BkashConfig,
    path: &str,
    headers: &[(&str, &str)],
    body: &B,
) -> Result<R, CallError> {
    let json = serde_json::to_string(body).map_err(|e| CallError::Unknown(e.to_string()))?;
    let answer = outbound::post_json(&config.url(path), headers, &json, config.timeout)
        .await
        .map_err(|e: OutboundError| CallError::Unknown(format!("{path}: {e}")))?;
    match answer.status {
        401 | 403 => Err(CallError::Unauthorized),
        500.. => Err(CallError::Unknown(format!(
            "{path}: HTTP {}",
            answer.status
        ))),
        _ => serde_json::from_str(&answer.body).map_err(|_| {
            // A 4xx without bKash's JSON still says "no"; keep its status for the logs.
            CallError::Unknown(format!(
                "{path}: HTTP {} with an unreadable body",
                answer.status
            ))
        }),
    }
}

/// bKash's safe calls, repeated on unknown outcomes ([`outbound::with_retries`]).
async fn with_retries<R, F, Fut>(call: F) -> Result<R, CallError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<R, CallError>>,
{
    let unknown = |error: &CallError| match error {
        CallError::Unknown(reason) => Some(reason.clone()),
        CallError::Unauthorized => None,
    };
    outbound::with_retries("bkash", outbound::SAFE_ATTEMPTS, unknown, call).await
}
