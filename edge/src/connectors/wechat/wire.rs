//! WeChat Pay API v3 JSON shapes, and their meaning for the checkout.
//!
//! Field names and values are WeChat's (pay.weixin.qq.com, "API v3", 直连商户: Native/H5/JSAPI
//! 下单, 查询订单, 关闭订单, 退款, 支付通知). Amounts are integers in fen.

use checkout_core::{Currency, ErrorCode, Money};
use serde::{Deserialize, Serialize};

use crate::connectors::{ConnectorError, ProviderPayment, ProviderState};

#[derive(Debug, Serialize)]
pub struct PrepayRequest<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub description: &'a str,
    pub out_trade_no: &'a str,
    /// RFC 3339 in Beijing time: WeChat refuses payment after it.
    pub time_expire: String,
    pub notify_url: &'a str,
    pub amount: PrepayAmount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer<'a>>,
}

#[derive(Debug, Serialize)]
pub struct PrepayAmount {
    pub total: i64,
    pub currency: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SceneInfo<'a> {
    pub payer_client_ip: &'a str,
    pub h5_info: H5Info,
}

#[derive(Debug, Serialize)]
pub struct H5Info {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Payer<'a> {
    pub openid: &'a str,
}

/// What a prepay answers: one of the three, by product.
#[derive(Debug, Deserialize)]
pub struct PrepayResponse {
    pub code_url: Option<String>,
    pub h5_url: Option<String>,
    pub prepay_id: Option<String>,
}

/// WeChat's error body for any 4xx or 5xx.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// What a refusal means for the checkout. Only codes that promise nothing happened are
    /// refusals; busy and system errors leave the outcome unknown.
    pub fn into_error(self, http_status: u16) -> ConnectorError {
        match self.code.as_str() {
            "ORDERPAID" | "ORDER_PAID" => ConnectorError::AlreadyDone(self.describe()),
            "ORDER_CLOSED" | "OUT_TRADE_NO_USED" | "ORDER_NOT_EXIST" | "RESOURCE_NOT_EXISTS" => {
                ConnectorError::InvalidState(self.describe())
            }
            "SYSTEM_ERROR" | "FREQUENCY_LIMITED" | "BANK_ERROR" => {
                ConnectorError::Unknown(self.describe())
            }
            _ if http_status >= 500 || http_status == 429 => {
                ConnectorError::Unknown(self.describe())
            }
            _ => ConnectorError::Refused {
                code: ErrorCode::ProviderError,
                message: "WeChat Pay refused the request.".into(),
                provider_message: self.message.clone(),
                provider_code: self.code,
            },
        }
    }

    fn describe(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

/// A transaction as the query answers it and the notification carries it.
#[derive(Debug, Clone, Deserialize)]
pub struct Transaction {
    pub mchid: String,
    pub appid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    pub trade_state: String,
    #[serde(default)]
    pub trade_state_desc: Option<String>,
    #[serde(default)]
    pub amount: Option<TransactionAmount>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TransactionAmount {
    #[serde(default)]
    pub total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

impl Transaction {
    /// The checkout's view. An amount in any currency but CNY is no amount we asked for.
    pub fn into_payment(self) -> ProviderPayment {
        let amount = self.amount.as_ref().and_then(|a| {
            let yuan = a.currency.as_deref().unwrap_or("CNY") == "CNY";
            yuan.then(|| {
                a.total
                    .and_then(|fen| Money::from_minor(fen, Currency::CNY).ok())
            })
            .flatten()
        });
        ProviderPayment {
            state: trade_state(&self.trade_state),
            provider_status: self.trade_state,
            transaction_id: self.transaction_id,
            amount,
            invoice: Some(self.out_trade_no),
            decline: None,
        }
    }
}

/// `trade_state`: SUCCESS and REFUND were paid; NOTPAY and USERPAYING wait for the shopper;
/// CLOSED and REVOKED ended unpaid; PAYERROR failed. WeChat has no separate completion step.
pub fn trade_state(state: &str) -> ProviderState {
    match state {
        "SUCCESS" | "REFUND" => ProviderState::Succeeded,
        "CLOSED" | "REVOKED" => ProviderState::Canceled,
        "PAYERROR" => ProviderState::Failed,
        _ => ProviderState::Pending,
    }
}

#[derive(Debug, Serialize)]
pub struct CloseRequest<'a> {
    pub mchid: &'a str,
}

#[derive(Debug, Serialize)]
pub struct RefundRequest<'a> {
    pub out_trade_no: &'a str,
    pub out_refund_no: &'a str,
    pub reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<&'a str>,
    pub amount: RefundAmount,
}

#[derive(Debug, Serialize)]
pub struct RefundAmount {
    pub refund: i64,
    pub total: i64,
    pub currency: &'static str,
}

/// A refund as the refund call, the refund query and the refund notification give it.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub out_refund_no: String,
    #[serde(default)]
    pub refund_id: Option<String>,
    /// `status` in answers, `refund_status` in notifications.
    #[serde(alias = "refund_status")]
    pub status: String,
    #[serde(default)]
    pub amount: Option<RefundAnswerAmount>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefundAnswerAmount {
    #[serde(default)]
    pub refund: Option<i64>,
}

/// The notification envelope; the transaction or refund is in the encrypted `resource`.
#[derive(Debug, Deserialize)]
pub struct Notification {
    pub id: String,
    pub event_type: String,
    pub resource: EncryptedResource,
}

#[derive(Debug, Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
}

/// Unix seconds as RFC 3339 in Beijing time (UTC+8, no daylight saving), as WeChat writes times.
pub fn beijing_time(unix_s: i64) -> String {
    const BEIJING: chrono::FixedOffset = match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(offset) => offset,
        None => panic!("UTC+8 is a valid offset"),
    };
    crate::clock::utc(unix_s)
        .with_timezone(&BEIJING)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_beijing_time() {
        // 2018-06-08T10:34:56+08:00 is the example in WeChat's prepay documentation.
        assert_eq!(beijing_time(1_528_425_296), "2018-06-08T10:34:56+08:00");
        // 16:00 UTC is midnight of the next day in Beijing.
        assert_eq!(beijing_time(1_528_387_200), "2018-06-08T00:00:00+08:00");
        assert_eq!(beijing_time(0), "1970-01-01T08:00:00+08:00");
        assert_eq!(beijing_time(951_782_400), "2000-02-29T08:00:00+08:00");
    }

    #[test]
    fn trade_states_map_to_what_they_promise() {
        assert_eq!(trade_state("SUCCESS"), ProviderState::Succeeded);
        assert_eq!(trade_state("REFUND"), ProviderState::Succeeded);
        assert_eq!(trade_state("NOTPAY"), ProviderState::Pending);
        assert_eq!(trade_state("USERPAYING"), ProviderState::Pending);
        assert_eq!(trade_state("CLOSED"), ProviderState::Canceled);
        assert_eq!(trade_state("PAYERROR"), ProviderState::Failed);
    }

    #[test]
    fn only_safe_codes_are_refusals() {
        let error = |code: &str, status| {
            ErrorBody {
                code: code.into(),
                message: "m".into(),
            }
            .into_error(status)
        };
        assert!(matches!(
            error("ORDERPAID", 400),
            ConnectorError::AlreadyDone(_)
        ));
        assert!(matches!(
            error("SYSTEM_ERROR", 500),
            ConnectorError::Unknown(_)
        ));
        assert!(matches!(
            error("PARAM_ERROR", 400),
            ConnectorError::Refused { .. }
        ));
        assert!(matches!(
            error("ORDER_NOT_EXIST", 404),
            ConnectorError::InvalidState(_)
        ));
    }

    #[test]
    fn a_foreign_currency_is_no_amount() {
        let json = r#"{"mchid":"1","appid":"wx","out_trade_no":"pay_1","trade_state":"SUCCESS",
            "amount":{"total":100,"currency":"USD"}}"#;
        let transaction: Transaction = serde_json::from_str(json).unwrap();
        assert_eq!(transaction.into_payment().amount, None);
    }
}
