//! `Stripe-Signature` verification for the webhooks Stripe posts to `/v1/notifications/stripe`.
//!
//! Stripe's scheme (docs.stripe.com/webhooks/signatures, "Verify signatures manually"; the same
//! steps in Stripe's own libraries, e.g. `Stripe::Webhook::Signature.compute_signature` in
//! stripe-ruby: `OpenSSL::HMAC.hexdigest(SHA256, secret, "#{timestamp}.#{payload}")`):
//!
//! - the header is a comma-separated list of `key=value` elements: one `t` (Unix seconds) and one
//!   or more signatures under a scheme name; `v1` is the only live scheme, `v0` is a test-mode
//!   signature made with a dummy secret and must be ignored, and unknown schemes are ignored too;
//! - each `v1` is the lower-case hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint's
//!   signing secret (`whsec_...`); while a secret is being rolled Stripe sends one `v1` per
//!   secret, so any one matching is enough;
//! - the timestamp bounds replay: Stripe's libraries default to a 300 s tolerance.
//!
//! Our rules are stricter than "find something that matches", so that nothing ambiguous passes:
//! exactly one `t`, made of ASCII digits; every `v1` exactly 64 hex digits (an empty or malformed
//! one refuses the whole header, it is not skipped); the timestamp within [`TOLERANCE_S`] of our
//! clock in **both** directions (a signature from the future is as suspect as a stale one); the
//! comparison in constant time (`subtle`). Spaces around an element are tolerated, spaces inside a
//! value are not. The body is verified byte for byte as received: anything re-serialised fails.
//!
//! A replay inside the window verifies again: that is by design. Events are hints (see
//! [`super::event::EventHint`]): the edge re-reads the object from Stripe before acting, so a
//! replayed or duplicated event cannot change anything twice.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The header Stripe signs its webhooks in.
pub const HEADER: &str = "Stripe-Signature";
/// How far the signed timestamp may be from our clock, either way.
pub const TOLERANCE_S: i64 = 300;
/// Hex digits in one HMAC-SHA256.
const SIGNATURE_HEX_LEN: usize = 64;

/// Why a webhook was not believed. The variants are for logs; the sender is only told 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    MissingHeader,
    #[error("the header has no timestamp")]
    MissingTimestamp,
    #[error("the header has more than one timestamp")]
    DuplicateTimestamp,
    #[error("the timestamp is not a number of seconds")]
    MalformedTimestamp,
    #[error("the header has no v1 signature")]
    NoSignature,
    #[error("a v1 signature is empty or not 64 hex digits")]
    MalformedSignature,
    #[error("an element of the header is not key=value")]
    MalformedElement,
    #[error("the timestamp is {skew_s} s from our clock")]
    OutsideTolerance {
        /// Our clock minus the timestamp (negative: from the future).
        skew_s: i64,
    },
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    /// The decoded `v1` signatures, in header order.
    pub v1: Vec<[u8; 32]>,
}

impl SignatureHeader {
    /// Reads a header value; refuses anything ambiguous (see the module doc).
    pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for element in header.split(',') {
            let (key, value) = element
                .trim()
                .split_once('=')
                .ok_or(SignatureError::MalformedElement)?;
            match key {
                "t" if timestamp.is_some() => return Err(SignatureError::DuplicateTimestamp),
                "t" => timestamp = Some(parse_timestamp(value)?),
                "v1" => v1.push(decode_signature(value)?),
                // v0 is a test-mode signature with a dummy secret; other schemes are unknown.
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
        if v1.is_empty() {
            return Err(SignatureError::NoSignature);
        }
        Ok(SignatureHeader { timestamp, v1 })
    }
}

fn parse_timestamp(value: &str) -> Result<i64, SignatureError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    value
        .parse::<i64>()
        .map_err(|_| SignatureError::MalformedTimestamp)
}

fn decode_signature(value: &str) -> Result<[u8; 32], SignatureError> {
    if value.len() != SIGNATURE_HEX_LEN {
        return Err(SignatureError::MalformedSignature);
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(value.as_bytes().chunks_exact(2)) {
        let high = hex_digit(pair[0]).ok_or(SignatureError::MalformedSignature)?;
        let low = hex_digit(pair[1]).ok_or(SignatureError::MalformedSignature)?;
        *byte = (high << 4) | low;
    }
    Ok(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`: what a `v1` must be.
pub fn expected_signature(secret: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// A header value as Stripe would send it: `t=..,v1=..` (for the tests, the fuzz target and the
/// benchmark; the simulator signs with its own code).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signature = expected_signature(secret, timestamp, body);
    let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Verifies a webhook: the header parses, its timestamp is within [`TOLERANCE_S`] of `now_s`,
/// and one of its `v1` signatures is the HMAC of the raw `body`. Returns the signed timestamp.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &str,
    now_s: i64,
) -> Result<i64, SignatureError> {
    let header = SignatureHeader::parse(header.ok_or(SignatureError::MissingHeader)?)?;
    if now_s.abs_diff(header.timestamp) > TOLERANCE_S.unsigned_abs() {
        let skew = i128::from(now_s) - i128::from(header.timestamp);
        let skew_s = i64::try_from(skew).unwrap_or(if skew < 0 { i64::MIN } else { i64::MAX });
        return Err(SignatureError::OutsideTolerance { skew_s });
    }
    let expected = expected_signature(secret, header.timestamp, body);
    // Every candidate is compared, so the time taken does not tell which one matched.
    let matched = header
        .v1
        .iter()
        .fold(subtle::Choice::from(0), |any, candidate| {
            any | candidate.ct_eq(&expected)
        });
    if bool::from(matched) {
        Ok(header.timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
    const NOW: i64 = 1_700_000_000;

    fn hex(bytes: &[u8; 32]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn good(t: i64) -> String {
        hex(&expected_signature(SECRET, t, BODY))
    }

    fn check(header: &str) -> Result<i64, SignatureError> {
        verify(Some(header), BODY, SECRET, NOW)
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        // RFC 4231-style independent check: HMAC-SHA256("key", "1.{}") computed another way.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1.{}");
        let reference: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(expected_signature("key", 1, b"{}"), reference);
        assert_eq!(sign("key", 1, b"{}"), format!("t=1,v1={}", hex(&reference)));
    }

    #[test]
    fn a_signed_body_verifies_and_returns_its_timestamp() {
        assert_eq!(check(&sign(SECRET, NOW, BODY)), Ok(NOW));
    }

    #[test]
    fn a_forged_signature_or_another_secret_is_refused() {
        let forged = format!("t={NOW},v1={}", "ab".repeat(32));
        assert_eq!(check(&forged), Err(SignatureError::Mismatch));
        let other = sign("whsec_other", NOW, BODY);
        assert_eq!(check(&other), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_body_changed_after_signing_is_refused() {
        let header = sign(SECRET, NOW, BODY);
        let altered = br#"{"id":"evt_1","type":"checkout.session.completed" }"#;
        assert_eq!(
            verify(Some(&header), altered, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&header), b"", SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_tolerance_is_300_seconds_in_both_directions() {
        assert_eq!(check(&sign(SECRET, NOW - 300, BODY)), Ok(NOW - 300));
        assert_eq!(check(&sign(SECRET, NOW + 300, BODY)), Ok(NOW + 300));
        assert_eq!(
            check(&sign(SECRET, NOW - 301, BODY)),
            Err(SignatureError::OutsideTolerance { skew_s: 301 })
        );
        assert_eq!(
            check(&sign(SECRET, NOW + 301, BODY)),
            Err(SignatureError::OutsideTolerance { skew_s: -301 })
        );
    }

    #[test]
    fn a_replay_within_the_window_verifies_again_and_later_does_not() {
        let header = sign(SECRET, NOW, BODY);
        assert!(verify(Some(&header), BODY, SECRET, NOW + 10).is_ok());
        assert!(verify(Some(&header), BODY, SECRET, NOW + 300).is_ok());
        assert!(verify(Some(&header), BODY, SECRET, NOW + 301).is_err());
    }

    #[test]
    fn any_matching_v1_is_enough_and_v0_and_unknown_schemes_are_ignored() {
        let stale_secret = hex(&expected_signature("whsec_rolled", NOW, BODY));
        let header = format!(
            "t={NOW},v1={stale_secret},v1={},v0={}",
            good(NOW),
            "0".repeat(64)
        );
        assert_eq!(check(&header), Ok(NOW));
        let header = format!("t={NOW},v0=zz,v9=whatever,v1={}", good(NOW));
        assert_eq!(check(&header), Ok(NOW));
        // A valid signature only under v0 is not a signature.
        let header = format!("t={NOW},v0={}", good(NOW));
        assert_eq!(check(&header), Err(SignatureError::NoSignature));
    }

    #[test]
    fn hex_case_does_not_matter() {
        let header = format!("t={NOW},v1={}", good(NOW).to_ascii_uppercase());
        assert_eq!(check(&header), Ok(NOW));
    }

    #[test]
    fn a_missing_or_duplicated_timestamp_is_refused() {
        assert_eq!(
            verify(None, BODY, SECRET, NOW),
            Err(SignatureError::MissingHeader)
        );
        assert_eq!(
            check(&format!("v1={}", good(NOW))),
            Err(SignatureError::MissingTimestamp)
        );
        let twice = format!("t={NOW},t={NOW},v1={}", good(NOW));
        assert_eq!(check(&twice), Err(SignatureError::DuplicateTimestamp));
        let two_values = format!("t={},v1={},t={NOW}", NOW - 1000, good(NOW));
        assert_eq!(check(&two_values), Err(SignatureError::DuplicateTimestamp));
    }

    #[test]
    fn malformed_timestamps_are_refused() {
        for t in [
            "",
            "+1700000000",
            "-5",
            "17e8",
            "1700000000.0",
            "0x10",
            "99999999999999999999",
        ] {
            let header = format!("t={t},v1={}", good(NOW));
            assert_eq!(
                check(&header),
                Err(SignatureError::MalformedTimestamp),
                "{t}"
            );
        }
    }

    #[test]
    fn empty_short_long_or_non_hex_v1_is_refused() {
        let good = good(NOW);
        for bad in [
            String::new(),
            good[..63].to_owned(),
            format!("{good}0"),
            format!("{}g", &good[..63]),
            format!("+{}", &good[..63]),
        ] {
            let header = format!("t={NOW},v1={good},v1={bad}");
            assert_eq!(
                check(&header),
                Err(SignatureError::MalformedSignature),
                "{bad:?}"
            );
        }
        assert_eq!(check(&format!("t={NOW}")), Err(SignatureError::NoSignature));
        assert_eq!(check(""), Err(SignatureError::MalformedElement));
        assert_eq!(
            check(&format!("t={NOW},,v1={good}")),
            Err(SignatureError::MalformedElement)
        );
    }

    #[test]
    fn spaces_around_elements_pass_and_spaces_inside_values_do_not() {
        let header = format!(" t={NOW} , v1={} ", good(NOW));
        assert_eq!(check(&header), Ok(NOW));
        let header = format!("t= {NOW},v1={}", good(NOW));
        assert_eq!(check(&header), Err(SignatureError::MalformedTimestamp));
        let header = format!("t={NOW},v1= {}", good(NOW));
        assert_eq!(check(&header), Err(SignatureError::MalformedSignature));
        let header = format!("t={NOW},v1 ={}", good(NOW));
        assert_eq!(check(&header), Err(SignatureError::NoSignature));
    }

    #[test]
    fn extreme_clocks_and_timestamps_do_not_overflow() {
        let header = sign(SECRET, i64::MAX, BODY);
        assert!(matches!(
            verify(Some(&header), BODY, SECRET, i64::MIN),
            Err(SignatureError::OutsideTolerance { skew_s: i64::MIN })
        ));
        let header = sign(SECRET, 0, BODY);
        assert!(matches!(
            verify(Some(&header), BODY, SECRET, i64::MAX),
            Err(SignatureError::OutsideTolerance { skew_s: i64::MAX })
        ));
    }
}
