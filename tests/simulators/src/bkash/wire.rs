//! bKash Tokenized Checkout (v1.2.0-beta) wire format: request and answer bodies, status codes,
//! two-decimal amounts and bKash's timestamp format.
//!
//! Requests are read leniently (every field optional) so that a missing field gets bKash's own
//! refusal (`2065 Mandatory field missing`) instead of a parser error; a body that is not a JSON
//! object of strings gets `2025 Invalid request body`. Answers use bKash's camelCase names, with
//! `statusCode`/`statusMessage` on every one; errors ride on HTTP 200, as bKash's do.

use serde::{Deserialize, Serialize};

use crate::util::Civil;

/// bKash's statuses, as published in its error-code table (see the module doc of `bkash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Success,
    InvalidAppKey,
    InvalidPaymentId,
    InvalidAmount,
    InvalidCurrency,
    InvalidIntent,
    InsufficientBalance,
    InvalidRequestBody,
    RefundExceedsOriginal,
    ReverseTrxNotFound,
    InvalidInvoiceNumber,
    TransactionNotFound,
    InvalidPayerReference,
    InvalidCallbackUrl,
    InvalidPaymentState,
    PaymentAlreadyCompleted,
    InvalidMode,
    MandatoryFieldMissing,
    ExecuteAlreadyCalled,
    SystemError,
}

impl Code {
    pub fn code(self) -> &'static str {
        match self {
            Code::Success => "0000",
            Code::InvalidAppKey => "2001",
            Code::InvalidPaymentId => "2002",
            Code::InvalidAmount => "2006",
            Code::InvalidCurrency => "2007",
            Code::InvalidIntent => "2008",
            Code::InsufficientBalance => "2023",
            Code::InvalidRequestBody => "2025",
            Code::RefundExceedsOriginal => "2026",
            Code::ReverseTrxNotFound => "2028",
            Code::InvalidInvoiceNumber => "2031",
            Code::TransactionNotFound => "2033",
            Code::InvalidPayerReference => "2048",
            Code::InvalidCallbackUrl => "2049",
            Code::InvalidPaymentState => "2056",
            Code::PaymentAlreadyCompleted => "2062",
            Code::InvalidMode => "2063",
            Code::MandatoryFieldMissing => "2065",
            Code::ExecuteAlreadyCalled => "2117",
            Code::SystemError => "9999",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Code::Success => "Successful",
            Code::InvalidAppKey => "Invalid App Key",
            Code::InvalidPaymentId => "Invalid Payment ID",
            Code::InvalidAmount => "Invalid Amount",
            Code::InvalidCurrency => "Invalid Currency",
            Code::InvalidIntent => "Invalid Intent",
            Code::InsufficientBalance => "Insufficient Balance",
            Code::InvalidRequestBody => "Invalid request body",
            Code::RefundExceedsOriginal => {
                "The reversal amount cannot be greater than the original transaction amount"
            }
            Code::ReverseTrxNotFound => {
                "Reverse failed because the transaction serial number does not exist"
            }
            Code::InvalidInvoiceNumber => "Invalid merchant invoice number",
            Code::TransactionNotFound => "Transaction not found",
            Code::InvalidPayerReference => "Invalid Payer Reference",
            Code::InvalidCallbackUrl => "Invalid Merchant Callback URL",
            Code::InvalidPaymentState => "Invalid Payment State",
            Code::PaymentAlreadyCompleted => "The payment has already been completed",
            Code::InvalidMode => "Mode is not valid as per request data",
            Code::MandatoryFieldMissing => "Mandatory field missing",
            Code::ExecuteAlreadyCalled => "Payment execution already been called before",
            Code::SystemError => "System Error",
        }
    }
}

/// `statusCode` and `statusMessage`, flattened into every answer.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub status_code: String,
    pub status_message: String,
}

impl Status {
    pub fn of(code: Code) -> Status {
        Status::with_message(code, code.message())
    }

    pub fn with_message(code: Code, message: &str) -> Status {
        Status {
            status_code: code.code().to_owned(),
            status_message: message.to_owned(),
        }
    }
}

/// A refusal: only the status fields, on HTTP 200.
pub fn error_body(status: Status) -> serde_json::Value {
    serde_json::to_value(status).unwrap_or_default()
}

/// `token/grant` and `token/refresh` bodies (refresh adds `refresh_token`).
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    pub refresh_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenAnswer {
    #[serde(rename = "statusCode")]
    pub status_code: String,
    #[serde(rename = "statusMessage")]
    pub status_message: String,
    pub id_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    pub mode: Option<String>,
    pub payer_reference: Option<String>,
    #[serde(rename = "callbackURL")]
    pub callback_url: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub intent: Option<String>,
    pub merchant_invoice_number: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAnswer {
    #[serde(rename = "paymentID")]
    pub payment_id: String,
    #[serde(rename = "bkashURL")]
    pub bkash_url: String,
    #[serde(rename = "callbackURL")]
    pub callback_url: String,
    #[serde(rename = "successCallbackURL")]
    pub success_callback_url: String,
    #[serde(rename = "failureCallbackURL")]
    pub failure_callback_url: String,
    #[serde(rename = "cancelledCallbackURL")]
    pub cancelled_callback_url: String,
    pub amount: String,
    pub intent: String,
    pub currency: String,
    pub payment_create_time: String,
    pub transaction_status: String,
    pub merchant_invoice_number: String,
    #[serde(flatten)]
    pub status: Status,
}

/// Execute and payment/status take only the payment's id.
#[derive(Debug, Default, Deserialize)]
pub struct PaymentIdRequest {
    #[serde(rename = "paymentID")]
    pub payment_id: Option<String>,
}

/// The answer to execute and to payment/status; fields that do not apply yet are left out.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAnswer {
    #[serde(rename = "paymentID")]
    pub payment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_create_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_execute_time: Option<String>,
    #[serde(rename = "trxID", skip_serializing_if = "Option::is_none")]
    pub trx_id: Option<String>,
    pub transaction_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<String>,
    pub amount: String,
    pub currency: String,
    pub intent: String,
    pub merchant_invoice_number: String,
    pub payer_reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_msisdn: Option<String>,
    #[serde(flatten)]
    pub status: Status,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchRequest {
    #[serde(rename = "trxID")]
    pub trx_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchAnswer {
    #[serde(rename = "trxID")]
    pub trx_id: String,
    pub transaction_status: String,
    pub transaction_type: String,
    pub amount: String,
    pub currency: String,
    pub customer_msisdn: String,
    pub organization_short_code: String,
    pub initiation_time: String,
    pub completed_time: String,
    #[serde(flatten)]
    pub status: Status,
}

/// `payment/refund`; with only `paymentID` and `trxID` it asks for the refund status.
#[derive(Debug, Default, Deserialize)]
pub struct RefundRequest {
    #[serde(rename = "paymentID")]
    pub payment_id: Option<String>,
    pub amount: Option<String>,
    #[serde(rename = "trxID")]
    pub trx_id: Option<String>,
    pub sku: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundAnswer {
    pub completed_time: String,
    pub transaction_status: String,
    #[serde(rename = "originalTrxID")]
    pub original_trx_id: String,
    #[serde(rename = "refundTrxID")]
    pub refund_trx_id: String,
    pub amount: String,
    pub currency: String,
    pub charge: String,
    #[serde(flatten)]
    pub status: Status,
}

/// Paisa (1/100 taka) from bKash's decimal string: digits, then at most two decimals.
/// bKash itself sends whole amounts without decimals ("15"), so those are accepted too.
pub fn parse_amount(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || whole.len() > 12 || (text.contains('.') && !digits(fraction)) {
        return None;
    }
    if fraction.len() > 2 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    Some(whole * 100 + fraction)
}

/// Paisa as bKash writes amounts it computes itself: two decimals.
pub fn format_amount(paisa: i64) -> String {
    format!("{}.{:02}", paisa / 100, paisa % 100)
}

/// Bangladesh time (UTC+6, no daylight saving), as bKash stamps every time it returns.
pub const DHAKA_OFFSET_S: i64 = 6 * 3600;

/// bKash's timestamp shape: `2024-01-15T10:30:45:123 GMT+0600` (milliseconds after a colon).
pub fn bkash_time(unix_millis: u64) -> String {
    let c = Civil::from_unix_millis(unix_millis, DHAKA_OFFSET_S);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}:{:03} GMT+0600",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_take_at_most_two_decimals() {
        assert_eq!(parse_amount("100.50"), Some(10_050));
        assert_eq!(parse_amount("15"), Some(1_500));
        assert_eq!(parse_amount("0.5"), Some(50));
        for bad in ["1.234", "", ".5", "1.", "-1", "+1", "1e3", "1,00", " 1"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(format_amount(10_050), "100.50");
        assert_eq!(format_amount(7), "0.07");
    }

    #[test]
    fn times_are_dhaka_local_with_millis_after_a_colon() {
        assert_eq!(
            bkash_time(1_705_293_045_123),
            "2024-01-15T10:30:45:123 GMT+0600"
        );
    }

    #[test]
    fn statuses_flatten_into_answers() {
        let body = error_body(Status::of(Code::ExecuteAlreadyCalled));
        assert_eq!(body["statusCode"], "2117");
        assert_eq!(body.as_object().unwrap().len(), 2);
    }
}
