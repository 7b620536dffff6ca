//! bKash Tokenized Checkout (v1.2.0-beta) wire format: request and response bodies, amounts as
//! two-decimal strings, and the mapping of bKash status codes to the checkout's error codes.
//!
//! Field names follow bKash's published API (camelCase, `statusCode`/`statusMessage`; older
//! answers use `errorCode`/`errorMessage`). Errors usually arrive with HTTP 200, so the status
//! code in the body decides, not the HTTP status.

use checkout_core::{Currency, ErrorCode, Money};
use serde::{Deserialize, Serialize};

use crate::connectors::{ConnectorError, ProviderPayment, ProviderState};

/// bKash's code for success.
pub const SUCCESS: &str = "0000";

#[derive(Debug, Serialize)]
pub struct GrantRequest<'a> {
    pub app_key: &'a str,
    pub app_secret: &'a str,
}

#[derive(Debug, Serialize)]
pub struct RefreshRequest<'a> {
    pub app_key: &'a str,
    pub app_secret: &'a str,
    pub refresh_token: &'a str,
}

#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    #[serde(flatten)]
    pub status: Status,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest<'a> {
    pub mode: &'static str,
    pub payer_reference: &'a str,
    #[serde(rename = "callbackURL")]
    pub callback_url: &'a str,
    pub amount: String,
    pub currency: &'static str,
    pub intent: &'static str,
    pub merchant_invoice_number: &'a str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateResponse {
    #[serde(flatten)]
    pub status: Status,
    #[serde(rename = "paymentID")]
    pub payment_id: Option<String>,
    #[serde(rename = "bkashURL")]
    pub bkash_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PaymentIdRequest<'a> {
    #[serde(rename = "paymentID")]
    pub payment_id: &'a str,
}

/// The answer to execute and to payment status.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    #[serde(flatten)]
    pub status: Status,
    #[serde(rename = "trxID")]
    pub trx_id: Option<String>,
    pub transaction_status: Option<String>,
    pub amount: Option<String>,
    pub merchant_invoice_number: Option<String>,
}

/// A refund, or (amount, sku and reason left out) the status of the latest refund.
#[derive(Debug, Serialize)]
pub struct RefundRequest<'a> {
    #[serde(rename = "paymentID")]
    pub payment_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(rename = "trxID")]
    pub trx_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// bKash's "transaction not found": a refund status query for a payment with no refund.
pub const NO_REFUND: &str = "2033";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    #[serde(flatten)]
    pub status: Status,
    #[serde(rename = "refundTrxID")]
    pub refund_trx_id: Option<String>,
    pub transaction_status: Option<String>,
    pub amount: Option<String>,
}

impl RefundResponse {
    pub fn into_refund(self) -> Result<crate::connectors::ProviderRefund, ConnectorError> {
        match self.refund_trx_id {
            Some(id) if self.status.is_success() => Ok(crate::connectors::ProviderRefund {
                refund_transaction_id: id,
                amount: self.amount.as_deref().and_then(amount_from_wire),
                // bKash answers a refund only once it is made.
                state: crate::connectors::RefundState::Succeeded,
            }),
            _ => Err(self.status.into_error()),
        }
    }
}

/// The status fields every answer carries, in either of bKash's two spellings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub status_code: Option<String>,
    pub status_message: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl Status {
    pub fn code(&self) -> &str {
        self.status_code
            .as_deref()
            .or(self.error_code.as_deref())
            .unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.status_message
            .as_deref()
            .or(self.error_message.as_deref())
            .unwrap_or("")
    }

    pub fn is_success(&self) -> bool {
        self.code() == SUCCESS
    }

    /// The refusal this status stands for.
    pub fn into_error(self) -> ConnectorError {
        let provider_code = self.code().to_owned();
        let provider_message = self.message().to_owned();
        let (code, message) = match provider_code.as_str() {
            // The payment was already executed (bKash answers either code for a repeat).
            "2062" | "2068" | "2117" => return ConnectorError::AlreadyDone(provider_code),
            // Execute before the shopper approved, or after a cancel.
            "2056" | "2060" => return ConnectorError::InvalidState(provider_code),
            "503" | "9999" => {
                return ConnectorError::Unknown(format!("{provider_code} {provider_message}"))
            }
            "2023" => (
                ErrorCode::PaymentDeclined,
                "Your bKash wallet does not have enough balance for this payment.",
            ),
            "2014" | "2015" | "2010" | "2016" | "2017" => (
                ErrorCode::PaymentDeclined,
                "bKash could not verify the wallet's PIN or code. No money was taken.",
            ),
            "2006" => (
                ErrorCode::AmountOutOfRange,
                "bKash does not accept this amount.",
            ),
            "2026" => (
                ErrorCode::RefundExceedsPayment,
                "bKash refused: the refund is larger than the payment.",
            ),
            _ => (
                ErrorCode::ProviderError,
                "bKash refused the request. No money was taken.",
            ),
        };
        ConnectorError::Refused {
            code,
            message: message.to_owned(),
            provider_code,
            provider_message,
        }
    }
}

/// bKash amounts: a decimal string with exactly two places, in BDT.
pub fn amount_to_wire(amount: Money) -> String {
    amount.to_decimal_string()
}

pub fn amount_from_wire(text: &str) -> Option<Money> {
    Money::parse_non_negative(text, Currency::BDT).ok()
}

impl PaymentResponse {
    /// The payment as the rest of the edge sees it.
    pub fn into_payment(self) -> ProviderPayment {
        let provider_status = self.transaction_status.unwrap_or_default();
        let state = match provider_status.as_str() {
            "Completed" => ProviderState::Succeeded,
            "Cancelled" | "Canceled" => ProviderState::Canceled,
            "Failed" | "Expired" => ProviderState::Failed,
            "Authorized" => ProviderState::Approved,
            // Initiated, Authorized, Pending and anything new: not final.
            _ => ProviderState::Pending,
        };
        ProviderPayment {
            state,
            provider_status,
            transaction_id: self.trx_id,
            amount: self.amount.as_deref().and_then(amount_from_wire),
            invoice: self.merchant_invoice_number,
            decline: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_go_out_with_two_decimals() {
        let amount = Money::from_minor(10_050, Currency::BDT).unwrap();
        assert_eq!(amount_to_wire(amount), "100.50");
        assert_eq!(amount_from_wire("100.50"), Some(amount));
        assert_eq!(amount_from_wire("1.234"), None);
    }

    #[test]
    fn a_completed_execute_answer_is_a_success() {
        let json = r#"{"statusCode":"0000","statusMessage":"Successful","paymentID":"TR0011ABC",
            "trxID":"8M2A59MID7","transactionStatus":"Completed","amount":"100.50",
            "currency":"BDT","merchantInvoiceNumber":"pay_1"}"#;
        let answer: PaymentResponse = serde_json::from_str(json).unwrap();
        assert!(answer.status.is_success());
        let payment = answer.into_payment();
        assert_eq!(payment.state, ProviderState::Succeeded);
        assert_eq!(payment.transaction_id.as_deref(), Some("8M2A59MID7"));
        assert_eq!(payment.amount.unwrap().amount_minor(), 10_050);
    }

    #[test]
    fn older_error_fields_are_read_too() {
        let json = r#"{"errorCode":"2023","errorMessage":"Insufficient Balance"}"#;
        let answer: PaymentResponse = serde_json::from_str(json).unwrap();
        assert!(!answer.status.is_success());
        let ConnectorError::Refused { code, .. } = answer.status.into_error() else {
            panic!("expected a refusal");
        };
        assert_eq!(code, ErrorCode::PaymentDeclined);
    }

    #[test]
    fn repeats_and_early_executes_are_told_apart() {
        let status = |code: &str| Status {
            status_code: Some(code.into()),
            ..Status::default()
        };
        assert!(matches!(
            status("2062").into_error(),
            ConnectorError::AlreadyDone(_)
        ));
        assert!(matches!(
            status("2117").into_error(),
            ConnectorError::AlreadyDone(_)
        ));
        assert!(matches!(
            status("2056").into_error(),
            ConnectorError::InvalidState(_)
        ));
        assert!(matches!(
            status("9999").into_error(),
            ConnectorError::Unknown(_)
        ));
    }
}
