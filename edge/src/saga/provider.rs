//! What providers answer, as plain data: the types the saga reasons about and the connectors
//! produce. No I/O here; the connectors (`crate::connectors`) re-export them.

use checkout_core::api::{NextAction, WechatFlow};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The shopper's side of a WeChat Pay prepay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatPayer {
    pub flow: WechatFlow,
    /// For H5: the shopper's address, which WeChat checks against the paying phone's.
    pub client_ip: Option<String>,
    /// For JSAPI: the shopper's openid under the merchant's app id.
    pub openid: Option<String>,
}

/// A payment started at a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The provider's id for it (bKash `paymentID`).
    pub reference: String,
    pub next_action: NextAction,
}

/// What a provider says a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProviderState {
    /// Started; the shopper has not approved yet.
    Pending,
    /// The shopper approved; completing it (bKash execute) is the merchant's step.
    Approved,
    Succeeded,
    Failed,
    Canceled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPayment {
    pub state: ProviderState,
    /// The provider's own word for the state, kept for the merchant and the logs.
    pub provider_status: String,
    pub transaction_id: Option<String>,
    pub amount: Option<Money>,
    pub invoice: Option<String>,
    /// The card's latest decline, when the gateway reports one (Stripe's `last_payment_error`).
    /// A decline alone ends nothing: the shopper may retry on the gateway's page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<Decline>,
}

/// A card declined at the gateway: what the shopper is told, and the gateway's own words, which
/// only the merchant sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    /// The shopper's code: a plain `card_declined` for a lost or stolen card, a fraud suspicion
    /// and the like (as the gateway advises, so as not to tip off a fraudster).
    pub code: ErrorCode,
    /// The issuer's reason (Stripe's `decline_code`: `lost_card`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// The gateway's error code (Stripe's `code`: `card_declined`, `expired_card`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_code: Option<String>,
}

/// What we know of a payment's other refunds at the provider: bKash's refund status reports only
/// its latest refund, without our reference, so recovery tells ours apart by elimination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherRefunds {
    /// The provider's ids of the refunds already recorded as made.
    pub made: Vec<String>,
    /// Whether another refund's provider part is also still unresolved (then the latest refund
    /// could be either one).
    pub unresolved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderRefund {
    pub refund_transaction_id: String,
    /// What the provider says was refunded, when it says.
    pub amount: Option<Money>,
    pub state: RefundState,
}

/// Where a provider's refund stands. Some providers (WeChat Pay) accept a refund and finish it
/// later, telling by notification or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundState {
    Succeeded,
    Processing,
    /// Accepted but not carried out (WeChat's CLOSED or ABNORMAL): an operator must act.
    Failed,
}

/// Why a provider call did not give the answer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ConnectorError {
    /// A definite refusal: nothing happened at the provider.
    #[error("refused by the provider ({provider_code}): {provider_message}")]
    Refused {
        code: ErrorCode,
        /// What the shopper or merchant is told.
        message: String,
        provider_code: String,
        provider_message: String,
    },
    /// The operation was already done before (a repeated execute).
    #[error("already done at the provider ({0})")]
    AlreadyDone(String),
    /// The payment is not in a state that allows the operation (e.g. execute before approval).
    #[error("invalid payment state at the provider ({0})")]
    InvalidState(String),
    /// No usable answer (timeout, 5xx, transport): the outcome is unknown.
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl From<ConnectorError> for Error {
    fn from(error: ConnectorError) -> Error {
        match error {
            ConnectorError::Refused { code, message, .. } => {
                let mut detail = ErrorDetail::new(code);
                detail.message = message;
                detail.into()
            }
            ConnectorError::AlreadyDone(_) | ConnectorError::InvalidState(_) => {
                Error::api(ErrorCode::ProviderError)
            }
            ConnectorError::Unknown(_) => Error::api(ErrorCode::ProviderUnavailable),
        }
    }
}
