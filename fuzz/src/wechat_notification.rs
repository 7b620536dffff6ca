//! A WeChat Pay notification as it arrives: the `Wechatpay-*` headers and the JSON envelope.
//!
//! What the edge does before any cryptography: reads the four headers, checks the key id and
//! the timestamp's freshness (`SignedHeaders::check`), builds the signed message, and reads the
//! envelope (`wire::Notification`). Properties: never panics, whatever the headers, body or clock;
//! a timestamp passes only if it is the header's integer, for our key, within five minutes of the
//! clock (computed in i128). The input is header lines `Name: value`, a blank line, the body.

use checkout_edge::connectors::wechat::signature::{
    response_message, SignedHeaders, VerifyError, MAX_SKEW_S,
};
use checkout_edge::connectors::wechat::wire;

const PLATFORM_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const NOW_S: i64 = 1_700_000_000;

pub fn check(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let lines: Vec<(&str, &str)> = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim(), value.trim()))
        .collect();
    let get = |name: &str| {
        lines
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| (*v).to_owned())
    };
    if let Ok(headers) = SignedHeaders::read(get) {
        // The Worker's clock, and clocks no Worker has: a check must not depend on sane ones.
        for now in [NOW_S, 0, i64::MIN, i64::MAX] {
            freshness(&headers, now);
        }
        let message = response_message(&headers.timestamp, &headers.nonce, body);
        assert!(message.ends_with(&format!("{body}\n")));
    }
    if let Ok(envelope) = serde_json::from_str::<wire::Notification>(body) {
        let reference: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(reference["id"].as_str(), Some(envelope.id.as_str()));
        assert_eq!(
            reference["resource"]["ciphertext"].as_str(),
            Some(envelope.resource.ciphertext.as_str())
        );
    }
}

fn freshness(headers: &SignedHeaders, now: i64) {
    let checked = headers.check(PLATFORM_KEY_ID, now);
    let timestamp = headers.timestamp.parse::<i64>().ok();
    let fresh = timestamp
        .is_some_and(|t| (i128::from(now) - i128::from(t)).abs() <= i128::from(MAX_SKEW_S));
    match checked {
        Ok(t) => {
            assert_eq!(headers.serial, PLATFORM_KEY_ID);
            assert_eq!(Some(t), timestamp);
            assert!(fresh, "{t} passed at {now}");
        }
        Err(VerifyError::UnknownSerial(_)) => assert_ne!(headers.serial, PLATFORM_KEY_ID),
        Err(VerifyError::Stale { .. }) => assert!(!fresh, "{timestamp:?} refused at {now}"),
        Err(other) => panic!("unexpected {other:?}"),
    }
}
