//! `Checkout-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, as merchants verify our
//! deliveries with `checkout_core::webhook::verify`.
//!
//! Properties: verifying never panics, whatever the header, body, secret or clock; a delivery
//! verifies only if one of its `v1` values is the HMAC of `"<t>.<body>"` (recomputed here) and
//! `t` is within the tolerance of the clock (computed in i128); a header we signed verifies
//! exactly then. The input is lines: the header, then optionally the receiver's clock, the
//! secret and the body.

use checkout_core::webhook::{self, SignatureError, TOLERANCE_S};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_test_0123456789abcdef";
const BODY: &str = r#"{"id":"evt_1","type":"checkout_session.paid"}"#;
const NOW_S: i64 = 1_700_000_000;

pub fn check(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let fields = crate::fields(text, 4);
    let header = fields[0];
    let now = crate::integer(fields.get(1), NOW_S);
    let secret = fields.get(2).copied().unwrap_or(SECRET);
    let body = fields.get(3).copied().unwrap_or(BODY);

    if webhook::verify(secret, header, body, now).is_ok() {
        assert!(
            carries_a_valid_signature(secret, header, body, now),
            "verified without a valid signature: {header:?}"
        );
    }

    // The header we would sign at the header's timestamp, or at the clock's.
    let timestamp = header
        .split(',')
        .find_map(|part| part.trim().strip_prefix("t="))
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(now);
    let signed = webhook::sign(secret, timestamp, body);
    let fresh = (i128::from(now) - i128::from(timestamp)).abs() <= i128::from(TOLERANCE_S);
    let expected = if fresh {
        Ok(())
    } else {
        Err(SignatureError::Stale)
    };
    assert_eq!(
        webhook::verify(secret, &signed, body, now),
        expected,
        "{signed:?} at {now}"
    );
    if fresh {
        let other = format!("{body} ");
        assert_eq!(
            webhook::verify(secret, &signed, &other, now),
            Err(SignatureError::Mismatch)
        );
    }
}

/// Some `t=` in the header is fresh and some `v1=` is the HMAC over it and the body.
fn carries_a_valid_signature(secret: &str, header: &str, body: &str, now: i64) -> bool {
    let parts: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .collect();
    parts
        .iter()
        .filter(|(key, _)| *key == "t")
        .filter_map(|(_, t)| t.parse::<i64>().ok())
        .filter(|t| (i128::from(now) - i128::from(*t)).abs() <= i128::from(TOLERANCE_S))
        .any(|t| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(format!("{t}.{body}").as_bytes());
            let expected: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            parts
                .iter()
                .any(|(key, v1)| *key == "v1" && v1.eq_ignore_ascii_case(&expected))
        })
}
