//! A WeChat Pay notification's resource once decrypted: the transaction or refund JSON the edge
//! turns into a payment outcome (`wechat::notification_event`).
//!
//! Properties: never panics; a payment is believed only from `TRANSACTION.SUCCESS` for our
//! `mchid` and `appid`; its amount is exactly the resource's fen in CNY when that is a valid
//! amount, and none otherwise; a refund only from a `REFUND.*` event. The input is the event
//! type, a newline, the plaintext.

use checkout_core::money::MAX_AMOUNT_MINOR;
use checkout_core::Currency;
use checkout_edge::connectors::wechat::{notification_event, NotificationError, NotificationEvent};
use checkout_edge::connectors::ProviderState;
use serde_json::Value;

const MCHID: &str = "1900009191";
const APPID: &str = "wxd678efh567hg6787";

pub fn check(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let (event_type, plaintext) = text.split_once('\n').unwrap_or((text, ""));
    let event = notification_event(event_type, plaintext, MCHID, APPID);
    let reference = serde_json::from_str::<Value>(plaintext).ok();
    let field = |name: &str| reference.as_ref().and_then(|r| r[name].as_str());
    match event {
        Ok(NotificationEvent::Payment(payment)) => {
            assert_eq!(event_type, "TRANSACTION.SUCCESS");
            assert_eq!((field("mchid"), field("appid")), (Some(MCHID), Some(APPID)));
            assert_eq!(payment.invoice.as_deref(), field("out_trade_no"));
            let amount = &reference.as_ref().unwrap()["amount"];
            let in_cny = amount["currency"].as_str().unwrap_or("CNY") == "CNY";
            let fen = amount["total"]
                .as_i64()
                .filter(|fen| in_cny && (0..=MAX_AMOUNT_MINOR).contains(fen));
            assert_eq!(payment.amount.map(|m| m.amount_minor()), fen);
            assert!(payment.amount.is_none_or(|m| m.currency() == Currency::CNY));
            let paid = matches!(field("trade_state"), Some("SUCCESS" | "REFUND"));
            assert_eq!(payment.state == ProviderState::Succeeded, paid);
        }
        Ok(NotificationEvent::Refund { out_refund_no }) => {
            assert!(event_type.starts_with("REFUND."));
            assert_eq!(Some(out_refund_no.as_str()), field("out_refund_no"));
        }
        Err(NotificationError::ForeignMerchant) => {
            assert_eq!(event_type, "TRANSACTION.SUCCESS");
            assert_ne!((field("mchid"), field("appid")), (Some(MCHID), Some(APPID)));
        }
        Err(_) => {}
    }
}
