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
//! Delivery uses a plain HTTP/1.1 client on a `TcpStream` (the edge runs on `http://` locally);
//! an `https://` notify URL is recorded as a transport error.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use super::control::DeliverySnapshot;
use super::crypto::{self, encrypt_resource, signing_key};
use super::wire::{beijing_time, new_uuid};
use super::Shared;
use crate::util::{random_string, unix_millis, ALNUM};

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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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
        let now_s = (unix_millis() / 1000) as i64;
        let (id, body) = envelope(
            &shared.config.api_v3_key,
            event_type,
            original_type,
            plaintext,
            now_s,
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
    let (first_attempt, first_delay) = if now {
        if attempt(shared, &job, 1) {
            return;
        }
        match shared.config.retry_schedule.first() {
            Some(gap) => (2, *gap),
            None => return,
        }
    } else {
        (1, delay)
    };
    let shared = shared.clone();
    let _ = thread::Builder::new()
        .name("wechat-notify".into())
        .spawn(move || retry_loop(&shared, &job, first_attempt, first_delay));
}

/// Attempt `n` is followed, if unacknowledged, by `retry_schedule[n - 1]` of waiting.
pub(crate) fn retry_loop(shared: &Shared, job: &Job, mut number: u32, mut delay: Duration) {
    loop {
        if !shared.sleep(delay) || attempt(shared, job, number) {
            return;
        }
        match shared.config.retry_schedule.get(number as usize - 1) {
            Some(gap) => delay = *gap,
            None => return,
        }
        number += 1;
    }
}

/// One delivery (twice under `duplicate_notifications`); true once acknowledged.
fn attempt(shared: &Shared, job: &Job, number: u32) -> bool {
    let faults = shared.lock().faults.clone();
    if faults.withhold_notifications {
        return false;
    }
    let mut headers = shared.signed_headers(&job.body, &faults);
    headers.push(("Content-Type".into(), "application/json".into()));
    let copies = if faults.duplicate_notifications { 2 } else { 1 };
    let mut acknowledged = false;
    for copy in 1..=copies {
        let sent_at_ms = unix_millis();
        let outcome = post(&job.url, &headers, &job.body);
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

/// POSTs `body` to an `http://` URL and returns the status code the server answered with.
fn post(url: &str, headers: &[(String, String)], body: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the simulator delivers to http:// notify URLs only")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolve {authority}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, DELIVERY_TIMEOUT)
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_read_timeout(Some(DELIVERY_TIMEOUT));
    let _ = stream.set_write_timeout(Some(DELIVERY_TIMEOUT));
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: Mozilla/4.0\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .and_then(|()| stream.flush())
        .map_err(|e| format!("send: {e}"))?;
    let mut status_line = String::new();
    BufReader::new(&stream)
        .read_line(&mut status_line)
        .map_err(|e| format!("no answer: {e}"))?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {:?}", status_line.trim_end()))
}
