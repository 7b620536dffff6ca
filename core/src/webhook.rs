//! Webhooks to the merchant: the event envelope, the event types, and the signature.
//!
//! Every delivery carries `Checkout-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the
//! HMAC is keyed by the endpoint's secret and covers `"<t>.<raw body>"`. A receiver recomputes it
//! over the raw bytes it received, compares in constant time, and refuses a `t` more than
//! [`TOLERANCE_S`] from its clock, so a captured delivery cannot be replayed later. This module is
//! the Rust sample in `docs/webhooks.md`: merchants on Rust can depend on `checkout-core` and call
//! [`verify`].

use hmac::digest::CtOutput;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Checkout-Signature";
/// How far a delivery's timestamp may be from the receiver's clock.
pub const TOLERANCE_S: i64 = 5 * 60;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "checkout_session.paid")]
    SessionPaid,
    /// A payment attempt failed; the session stays open for another attempt.
    #[serde(rename = "checkout_session.payment_failed")]
    PaymentFailed,
    /// A card was declined at the gateway while the payment stays open: the shopper may try
    /// another card on the gateway's page. The payment's `decline_code` and `gateway_code` say
    /// why; `checkout_session.payment_failed` follows only if the shopper gives up.
    #[serde(rename = "checkout_session.payment_declined")]
    PaymentDeclined,
    #[serde(rename = "checkout_session.expired")]
    SessionExpired,
    /// A card payment was authorized (manual capture); the merchant captures or cancels it.
    #[serde(rename = "checkout_session.authorized")]
    SessionAuthorized,
    /// An authorization was voided: canceled by the merchant, or nobody captured it in time.
    /// The wallet's held part was released with it.
    #[serde(rename = "checkout_session.authorization_voided")]
    SessionAuthorizationVoided,
    #[serde(rename = "refund.succeeded")]
    RefundSucceeded,
    #[serde(rename = "refund.failed")]
    RefundFailed,
    /// A refund's outcome at the provider could not be settled within the retry window.
    #[serde(rename = "refund.requires_review")]
    RefundRequiresReview,
    /// A provider took money that does not match a payment; the session is held until resolved.
    #[serde(rename = "checkout_session.payment_requires_review")]
    PaymentRequiresReview,
    /// The merchant resolved a payment held for review.
    #[serde(rename = "checkout_session.payment_review_resolved")]
    PaymentReviewResolved,
    /// A provider success came after the attempt had ended and could not pay the session; it is
    /// refunded automatically (the object names the refund).
    #[serde(rename = "payment.late_success_refunded")]
    PaymentLateSuccessRefunded,
    /// Wrong pay passwords locked a customer's wallet, for a time or (`hard_locked`) until the
    /// merchant unlocks it.
    #[serde(rename = "customer.pay_password_locked")]
    PayPasswordLocked,
    /// The merchant lifted a lockout.
    #[serde(rename = "customer.pay_password_unlocked")]
    PayPasswordUnlocked,
    /// The merchant set or replaced a customer's pay password (which also lifts any lockout).
    #[serde(rename = "customer.pay_password_reset")]
    PayPasswordReset,
}

/// One event, as delivered and as the events API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_...`, the same on every delivery attempt: receivers deduplicate by it.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Unix seconds, when the state change happened.
    pub created: i64,
    pub livemode: bool,
    /// The checkout session the event is about; absent for a customer's events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_id: String,
    /// The object after the change: the checkout session, or the refund.
    pub data: serde_json::Value,
}

/// Why a delivery was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// The header value for `body` signed with `secret` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    format!(
        "t={timestamp},v1={}",
        hex(&mac(secret, timestamp, body).into_bytes())
    )
}

/// Checks a delivery: the header's timestamp within [`TOLERANCE_S`] of `now`, and one of its
/// `v1` signatures matching `body` under `secret`.
///
/// Total over every input: no timestamp or clock overflows (the distance is taken as unsigned),
/// a `v1` must be plain hex (no sign), and the body is hashed once however many `v1` the header
/// carries.
pub fn verify(secret: &str, header: &str, body: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > TOLERANCE_S.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    let matches = signatures.iter().any(|candidate| {
        unhex(candidate)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .is_some_and(|bytes| CtOutput::new(bytes.into()) == expected)
    });
    matches.then_some(()).ok_or(SignatureError::Mismatch)
}

fn new_mac(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length")
}

/// The HMAC over `"<timestamp>.<body>"`; comparing two is constant-time.
fn mac(secret: &str, timestamp: i64, body: &str) -> CtOutput<Hmac<Sha256>> {
    new_mac(secret)
        .chain_update(format!("{timestamp}.{body}").as_bytes())
        .finalize()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digits only: `u8::from_str_radix` alone would take `+6` for `06`.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef";
    const BODY: &str = r#"{"id":"evt_1","type":"checkout_session.paid"}"#;

    #[test]
    fn a_signed_delivery_verifies_within_the_tolerance() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(SECRET, &header, BODY, 1_700_000_000), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, 1_700_000_300), Ok(()));
    }

    #[test]
    fn a_replayed_old_delivery_is_stale() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, 1_700_000_301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn another_body_secret_or_timestamp_does_not_match() {
        let header = sign(SECRET, 1_700_000_000, BODY);
        let now = 1_700_000_000;
        assert_eq!(
            verify(SECRET, &header, &BODY.replace("paid", "expired"), now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_other", &header, BODY, now),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(
            verify(SECRET, &moved, BODY, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, "v1=abc", BODY, now),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Computed independently with Node:
        // crypto.createHmac('sha256', 'key').update('1700000000.{}').digest('hex')
        assert_eq!(
            sign("key", 1_700_000_000, "{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn extreme_timestamps_and_clocks_are_stale_not_an_overflow() {
        // `now - t` overflowed here (a panic in debug builds, a wrong answer in release);
        // found by the `webhook` fuzz target (fuzz/seeds/webhook/crash_timestamp_overflow).
        let header = format!("t={},v1={}", i64::MIN, "00".repeat(32));
        assert_eq!(
            verify(SECRET, &header, BODY, 1_700_000_000),
            Err(SignatureError::Stale)
        );
        let signed = sign(SECRET, i64::MIN, BODY);
        for now in [1, i64::MAX] {
            assert_eq!(
                verify(SECRET, &signed, BODY, now),
                Err(SignatureError::Stale)
            );
        }
        let signed = sign(SECRET, i64::MAX, BODY);
        for now in [-1, i64::MIN] {
            assert_eq!(
                verify(SECRET, &signed, BODY, now),
                Err(SignatureError::Stale)
            );
        }
        let signed = sign(SECRET, i64::MIN, BODY);
        assert_eq!(verify(SECRET, &signed, BODY, i64::MIN), Ok(()));
    }

    #[test]
    fn a_signature_with_a_sign_in_its_hex_is_refused() {
        // `u8::from_str_radix("+6", 16)` is 6: "…ed4+6bb…" read as the valid "…ed406bb…".
        // Found by the `webhook` fuzz target (fuzz/seeds/webhook/crash_signed_hex).
        let header = sign("key", 1_700_000_000, "{}");
        assert!(header.contains("ed406bb"));
        let now = 1_700_000_000;
        assert_eq!(verify("key", &header, "{}", now), Ok(()));
        let signed_hex = header.replace("ed406bb", "ed4+6bb");
        assert_eq!(
            verify("key", &signed_hex, "{}", now),
            Err(SignatureError::Mismatch)
        );
        let upper = header.replace("v1=9d", "v1=9D");
        assert_eq!(verify("key", &upper, "{}", now), Ok(()));
    }

    #[test]
    fn a_valid_signature_among_many_invalid_ones_verifies() {
        let mut header = sign(SECRET, 1_700_000_000, BODY);
        header.insert_str(0, &"v1=00,".repeat(1_000));
        assert_eq!(verify(SECRET, &header, BODY, 1_700_000_000), Ok(()));
    }

    #[test]
    fn event_types_have_dotted_names() {
        let json = serde_json::to_string(&EventType::RefundSucceeded).unwrap();
        assert_eq!(json, "\"refund.succeeded\"");
    }
}
