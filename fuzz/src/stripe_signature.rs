//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=..][,v0=..]`, as the edge
//! verifies Stripe's webhooks (`checkout_edge::connectors::stripe::signature::verify`), and the
//! event body it then reads as a hint (`event::parse_event`).
//!
//! Properties: neither ever panics, whatever the header, body, secret or clock. A webhook
//! verifies only if its header has exactly one `t` of plain digits, within 300 s of the clock
//! either way (computed in i128), every `v1` is 64 hex digits, and one `v1` is the HMAC of
//! `"<t>.<body>"` recomputed here. A header we sign verifies exactly when fresh, and no longer
//! with a changed body or a second `t`. An event that parses has non-empty ids. The input is
//! lines: the header, then optionally the receiver's clock, the secret and the body.

use checkout_edge::connectors::stripe::signature::{self, SignatureError, TOLERANCE_S};
use checkout_edge::connectors::stripe::event;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_test_0123456789abcdef";
const BODY: &str = r#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_test_1","object":"checkout.session"}}}"#;
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

    if let Ok(t) = signature::verify(Some(header), body.as_bytes(), secret, now) {
        assert!(
            validly_signed(header, body, secret, now, t),
            "verified without a valid signature: {header:?} at {now}"
        );
    }

    // What we would sign at the header's timestamp, or at the clock's.
    let timestamp = header
        .split(',')
        .find_map(|part| part.trim().strip_prefix("t="))
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|t| *t >= 0)
        .unwrap_or(now.max(0));
    let signed = signature::sign(secret, timestamp, body.as_bytes());
    let fresh = distance(now, timestamp) <= i128::from(TOLERANCE_S);
    let verdict = signature::verify(Some(&signed), body.as_bytes(), secret, now);
    if fresh {
        assert_eq!(verdict, Ok(timestamp), "{signed:?} at {now}");
        let altered = format!("{body} ");
        assert_eq!(
            signature::verify(Some(&signed), altered.as_bytes(), secret, now),
            Err(SignatureError::Mismatch)
        );
        let twice = format!("{signed},t={timestamp}");
        assert_eq!(
            signature::verify(Some(&twice), body.as_bytes(), secret, now),
            Err(SignatureError::DuplicateTimestamp)
        );
    } else {
        assert!(
            matches!(verdict, Err(SignatureError::OutsideTolerance { .. })),
            "{signed:?} at {now}: {verdict:?}"
        );
    }

    if let Ok(hint) = event::parse_event(body.as_bytes()) {
        assert!(!hint.event_id.is_empty() && !hint.object_id.is_empty());
    }
}

fn distance(now: i64, t: i64) -> i128 {
    (i128::from(now) - i128::from(t)).abs()
}

/// The header, read independently: exactly one `t` (digits, equal to `t`, fresh), every `v1`
/// 64 hex digits, one of them the HMAC over `"<t>.<body>"`.
fn validly_signed(header: &str, body: &str, secret: &str, now: i64, t: i64) -> bool {
    let parts: Vec<(&str, &str)> = header
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .collect();
    let timestamps: Vec<&str> = parts
        .iter()
        .filter(|(k, _)| *k == "t")
        .map(|(_, v)| *v)
        .collect();
    let one_t = timestamps.len() == 1
        && timestamps[0].bytes().all(|b| b.is_ascii_digit())
        && timestamps[0].parse::<i64>().ok() == Some(t);
    let signatures: Vec<&str> = parts
        .iter()
        .filter(|(k, _)| *k == "v1")
        .map(|(_, v)| *v)
        .collect();
    let well_formed = signatures
        .iter()
        .all(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    one_t
        && distance(now, t) <= i128::from(TOLERANCE_S)
        && well_formed
        && signatures.iter().any(|v| v.eq_ignore_ascii_case(&expected))
}
