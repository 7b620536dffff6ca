//! Payment and refund notifications ("支付成功回调通知", "退款结果回调通知"): the signed, encrypted
//! envelope, and delivery with WeChat's retries.
//!
//! The envelope is `{id, create_time, resource_type:"encrypt-resource", event_type, summary,
//! resource:{original_type, algorithm:"AEAD_AES_256_GCM", ciphertext, associated_data, nonce}}`
//! with the `Wechatpay-*` headers. The merchant acknowledges with 200 or 204; anything else, a
//! timeout (5 s here) or a failed connection is retried on the configured schedule (WeChat's is
//! 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h), with the same `id` and body and fresh
//! `Wechatpay-*` headers (new timestamp and nonce) each time.
//!
//! Delivery (a plain HTTP/1.1 POST, and the waiting between retries) is the common
//! [`crate::common::delivery`]; what is sent, what counts as acknowledged and the schedule are
//! WeChat's and stay here. An `https://` notify URL is recorded as a transport error.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use super::control::DeliverySnapshot;
use super::crypto::{self, encrypt_resource, signing_key};
use super::wire::{beijing_time, new_uuid};
use super::Shared;
use crate::common::delivery;
use crate::http::find_header;
use crate::util::{random_string, unix_millis, unix_seconds, ALNUM};

/// How long the merchant has to answer one delivery.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// How far back `stale_timestamp` puts `Wechatpay-Timestamp`.
pub(crate) const STALE_BY_S: i64 = 600;

/// A signed, encrypted notification exactly as the simulator posts it, so tests can forge
/// tampered, stale, wrongly keyed or mismatched ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNotification {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl SignedNotification {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The envelope for `plaintext`, encrypted with `api_v3_key` (associated data = `original_type`),
/// and signed by the platform key at `timestamp` (Unix seconds). `event_type` is
/// `TRANSACTION.SUCCESS` or `REFUND.SUCCESS`; `original_type` `transaction` or `refund`.
pub fn build_notification(
    platform_private_key_pem: &str,
    platform_public_key_id: &str,
    api_v3_key: &str,
    event_type: &str,
    original_type: &str,
    plaintext: &Value,
    timestamp: i64,
) -> SignedNotification {
    let key = signing_key(platform_private_key_pem).unwrap_or_else(|e| panic!("{e}"));
    let (_, body) = envelope(api_v3_key, event_type, original_type, plaintext, timestamp);
    let mut headers =
        crypto::wechatpay_headers(&key, platform_public_key_id, timestamp, &body, false);
    headers.push(("Content-Type".into(), "application/json".into()));
    SignedNotification { headers, body }
}

/// A new notification's id and body.
fn envelope(
    api_v3_key: &str,
    event_type: &str,
    original_type: &str,
    plaintext: &Value,
    timestamp: i64,
) -> (String, String) {
    let id = new_uuid();
    let nonce = random_string(12, ALNUM);
    let ciphertext = encrypt_resource(api_v3_key, &nonce, original_type, &plaintext.to_string());
    let summary = if event_type.starts_with("REFUND") {
        "退款成功"
    } else {
        "支付成功"
    };
    let body = json!({
        "id": id, "create_time": beijing_time(timestamp),
        "resource_type": "encrypt-resource", "event_type": event_type, "summary": summary,
        "resource": {
            "original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext, "associated_data": original_type, "nonce": nonce,
        },
    });
    (id, body.to_string())
}

/// One notification to deliver until acknowledged or out of retries.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub id: String,
    pub event_type: &'static str,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    pub url: String,
    pub body: String,
}

impl Job {
    /// Encrypts `plaintext` once; every attempt sends this same body.
    pub fn new(
        shared: &Shared,
        event_type: &'static str,
        plaintext: &Value,
        url: &str,
        out_trade_no: &str,
        out_refund_no: Option<&str>,
    ) -> Job {
        let original_type = if out_refund_no.is_some() {
            "refund"
        } else {
            "transaction"
        };
        let (id, body) = envelope(
            &shared.config.api_v3_key,
            event_type,
            original_type,
            plaintext,
            unix_seconds(),
        );
        Job {
            id,
            event_type,
            out_trade_no: out_trade_no.to_owned(),
            out_refund_no: out_refund_no.map(str::to_owned),
            url: url.to_owned(),
            body,
        }
    }
}

/// Starts delivering `job`: the first attempt right here when `now` (the caller waits for it),
/// else after `delay` on a background thread; retries always run in the background.
pub(crate) fn dispatch(shared: &Arc<Shared>, job: Job, now: bool, delay: Duration) {
    if now && attempt(shared, &job, 1) {
        return;
    }
    let shared = shared.clone();
    let _ = thread::Builder::new()
        .name("wechat-notify".into())
        .spawn(move || {
            if now {
                retry(&shared, &job);
            } else {
                deliver(&shared, &job, delay);
            }
        });
}

/// The first attempt after `delay`, then the retries; returns when acknowledged, out of
/// retries, or stopped.
pub(crate) fn deliver(shared: &Shared, job: &Job, delay: Duration) {
    if shared.stop.sleep(delay) && !attempt(shared, job, 1) {
        retry(shared, job);
    }
}

/// Attempt `n` is followed, if unacknowledged, by `retry_schedule[n - 1]` of waiting.
fn retry(shared: &Shared, job: &Job) {
    let schedule = &shared.config.retry_schedule;
    delivery::retry(
        &shared.stop,
        1,
        |done| schedule.get(done as usize - 1).copied(),
        |number| attempt(shared, job, number),
    );
}

/// One delivery (twice under `duplicate_notifications`); true once acknowledged.
fn attempt(shared: &Shared, job: &Job, number: u32) -> bool {
    let faults = shared.lock().faults.clone();
    if faults.withhold_notifications {
        return false;
    }
    let mut headers = shared.signed_headers(&job.body, &faults);
    headers.push(("Content-Type".into(), "application/json".into()));
    let rest: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let copies = if faults.duplicate_notifications { 2 } else { 1 };
    let mut acknowledged = false;
    for copy in 1..=copies {
        let sent_at_ms = unix_millis();
        let headers = delivery::Headers {
            lead: &[("User-Agent", "Mozilla/4.0")],
            rest: &rest,
        };
        let outcome = delivery::post(&job.url, headers, &job.body, DELIVERY_TIMEOUT);
        let ok = matches!(outcome, Ok(200 | 204));
        acknowledged |= ok;
        shared.lock().deliveries.push(DeliverySnapshot {
            notification_id: job.id.clone(),
            event_type: job.event_type.into(),
            out_trade_no: job.out_trade_no.clone(),
            out_refund_no: job.out_refund_no.clone(),
            url: job.url.clone(),
            attempt: number,
            copy,
            status: outcome.as_ref().ok().copied(),
            error: outcome.err(),
            acknowledged: ok,
            sent_at_ms,
        });
    }
    acknowledged
}
