//! The client secret a merchant hands its page: self-verifying, so trading it for a widget token
//! needs no call to the session's Durable Object.
//!
//! Format: `{session_id}_secret_{merchant_id}.{valid_until_s}.{base64url(HMAC-SHA256(key, m))}`
//! with `m = "cs1\0" + session_id + "\0" + merchant_id + "\0" + valid_until_s`. The key is the
//! edge's token signing key (a Worker secret); the `cs1` prefix keeps these MACs apart from the
//! widget token's (`token`), whose signed part always starts `wt1.`. The MAC is checked in
//! constant time before any part is trusted.
//!
//! Secrets made before this format (`{session_id}_secret_{merchant_id}.{random}`) do not verify
//! here; the edge still accepts them by asking the session object, which stores every secret it
//! handed out.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::token::MIN_SIGNING_KEY_LEN;

const SEPARATOR: &str = "_secret_";
const DOMAIN: &[u8] = b"cs1\0";

/// What a verified secret names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub session_id: String,
    pub merchant_id: String,
    pub valid_until_s: i64,
}

/// Why a secret was not accepted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not in this format (an older secret, or not a secret at all): only the session that
    /// keeps it can tell.
    NotThisFormat,
    /// In this format, but the MAC does not match or the secret is past its time.
    Invalid,
}

/// The client secret for `session_id` of `merchant_id`, good until `valid_until_s`. `None` if
/// the key is shorter than the widget token's minimum.
pub fn issue(
    key: &[u8],
    session_id: &str,
    merchant_id: &str,
    valid_until_s: i64,
) -> Option<String> {
    let tag = mac(key, session_id, merchant_id, valid_until_s)?
        .finalize()
        .into_bytes();
    Some(format!(
        "{session_id}{SEPARATOR}{merchant_id}.{valid_until_s}.{}",
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// Checks a secret made by [`issue`] with `key`, at `now_s`.
pub fn verify(key: &[u8], secret: &str, now_s: i64) -> Result<ClientSecret, Refusal> {
    let (session_id, tail) = secret.split_once(SEPARATOR).ok_or(Refusal::NotThisFormat)?;
    let mut parts = tail.rsplitn(3, '.');
    let (Some(tag), Some(until), Some(merchant_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::NotThisFormat);
    };
    let valid_until_s: i64 = until.parse().map_err(|_| Refusal::NotThisFormat)?;
    // An older secret's random tail is 32 characters, never the 32 bytes of a MAC.
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .ok()
        .filter(|tag| tag.len() == 32)
        .ok_or(Refusal::NotThisFormat)?;
    mac(key, session_id, merchant_id, valid_until_s)
        .ok_or(Refusal::Invalid)?
        .verify_slice(&tag)
        .map_err(|_| Refusal::Invalid)?;
    if now_s > valid_until_s {
        return Err(Refusal::Invalid);
    }
    Ok(ClientSecret {
        session_id: session_id.to_owned(),
        merchant_id: merchant_id.to_owned(),
        valid_until_s,
    })
}

fn mac(
    key: &[u8],
    session_id: &str,
    merchant_id: &str,
    valid_until_s: i64,
) -> Option<Hmac<Sha256>> {
    if key.len() < MIN_SIGNING_KEY_LEN {
        return None;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    for part in [
        DOMAIN,
        session_id.as_bytes(),
        b"\0",
        merchant_id.as_bytes(),
        b"\0",
        valid_until_s.to_string().as_bytes(),
    ] {
        mac.update(part);
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
    const SESSION: &str = "cs_0123abcd";

    #[test]
    fn an_issued_secret_verifies_until_its_time() {
        let secret = issue(KEY, SESSION, "m_demo", 1_000).unwrap();
        let verified = verify(KEY, &secret, 1_000).unwrap();
        assert_eq!(verified.session_id, SESSION);
        assert_eq!(verified.merchant_id, "m_demo");
        assert_eq!(verify(KEY, &secret, 1_001), Err(Refusal::Invalid));
    }

    #[test]
    fn any_changed_part_or_key_is_refused() {
        let secret = issue(KEY, SESSION, "m_demo", 1_000).unwrap();
        let other_key = b"another-key-another-key-another-key-42";
        assert_eq!(verify(other_key, &secret, 0), Err(Refusal::Invalid));
        for (from, to) in [
            (SESSION, "cs_0123abce"),
            ("m_demo", "m_other"),
            (".1000.", ".9000."),
        ] {
            let forged = secret.replacen(from, to, 1);
            assert_eq!(verify(KEY, &forged, 0), Err(Refusal::Invalid), "{forged}");
        }
        let (head, tag) = secret.rsplit_once('.').unwrap();
        let first = if tag.starts_with('A') { 'B' } else { 'A' };
        let flipped = format!("{head}.{first}{}", &tag[1..]);
        assert_eq!(verify(KEY, &flipped, 0), Err(Refusal::Invalid));
    }

    #[test]
    fn an_older_secret_is_not_this_format() {
        for old in [
            "cs_1_secret_m_demo.AbCdEf0123",
            // A merchant id with a dot and digits, then an older secret's 32 random characters.
            "cs_1_secret_m.123.AbCdEf0123AbCdEf0123AbCdEf0123Ab",
            "cs_1_secret_x",
            "no separator",
        ] {
            assert_eq!(verify(KEY, old, 0), Err(Refusal::NotThisFormat), "{old}");
        }
    }

    #[test]
    fn a_short_key_issues_nothing() {
        assert_eq!(issue(b"short", SESSION, "m", 1), None);
    }
}
