//! The widget token: a short-lived credential the edge signs for the browser.
//!
//! Format: `wt1.<base64url(claims JSON)>.<base64url(HMAC-SHA256(key, "wt1." + claims part))>`.
//! The token is scoped to one checkout session and to the origin of the embedding page, and lives
//! at most [`MAX_TOKEN_LIFETIME_S`] seconds. Only the edge holds the signing key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::ErrorCode;

const PREFIX: &str = "wt1.";

/// The longest a widget token may live.
pub const MAX_TOKEN_LIFETIME_S: i64 = 15 * 60;

/// Signing keys shorter than this are refused, so a misconfigured edge fails loudly.
pub const MIN_SIGNING_KEY_LEN: usize = 32;

/// What a widget token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetClaims {
    /// The checkout session the token may act on.
    pub sid: String,
    /// The origin of the page that embeds the widget, e.g. `https://shop.example`.
    pub origin: String,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the signing key is too short")]
    WeakKey,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is for another session")]
    WrongSession,
    #[error("the token is for another origin")]
    WrongOrigin,
}

impl TokenError {
    pub fn code(self) -> ErrorCode {
        match self {
            TokenError::WeakKey => ErrorCode::InternalError,
            TokenError::Malformed | TokenError::BadSignature => ErrorCode::InvalidToken,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::WrongSession | TokenError::WrongOrigin => ErrorCode::TokenScopeMismatch,
        }
    }
}

impl WidgetClaims {
    /// Claims for `sid` and `origin`, valid from `now_s` for `lifetime_s` (capped at 15 minutes).
    pub fn new(sid: &str, origin: &str, now_s: i64, lifetime_s: i64) -> WidgetClaims {
        WidgetClaims {
            sid: sid.to_owned(),
            origin: origin.to_owned(),
            iat: now_s,
            exp: now_s.saturating_add(lifetime_s.clamp(1, MAX_TOKEN_LIFETIME_S)),
        }
    }
}

/// Signs `claims` into a token string.
pub fn sign(claims: &WidgetClaims, key: &[u8]) -> Result<String, TokenError> {
    let json = serde_json::to_vec(claims).map_err(|_| TokenError::Malformed)?;
    let signed_part = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
    let signature = mac(key, &signed_part)?.finalize().into_bytes();
    Ok(format!(
        "{signed_part}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// Verifies the signature and expiry of `token`, then its scope.
///
/// The signature is checked first and in constant time, so nothing about a forged token's claims
/// is ever trusted or revealed.
pub fn verify(
    token: &str,
    key: &[u8],
    now_s: i64,
    expected_sid: &str,
    expected_origin: &str,
) -> Result<WidgetClaims, TokenError> {
    let claims = verify_signature(token, key)?;
    let lifetime_s = claims.exp.checked_sub(claims.iat);
    if now_s >= claims.exp || lifetime_s.is_none_or(|l| l > MAX_TOKEN_LIFETIME_S) {
        return Err(TokenError::Expired);
    }
    if claims.sid != expected_sid {
        return Err(TokenError::WrongSession);
    }
    if claims.origin != expected_origin {
        return Err(TokenError::WrongOrigin);
    }
    Ok(claims)
}

fn verify_signature(token: &str, key: &[u8]) -> Result<WidgetClaims, TokenError> {
    if !token.starts_with(PREFIX) {
        return Err(TokenError::Malformed);
    }
    let (signed_part, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    mac(key, signed_part)?
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let claims_part = &signed_part[PREFIX.len()..];
    let json = URL_SAFE_NO_PAD
        .decode(claims_part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)
}

fn mac(key: &[u8], signed_part: &str) -> Result<Hmac<Sha256>, TokenError> {
    if key.len() < MIN_SIGNING_KEY_LEN {
        return Err(TokenError::WeakKey);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| TokenError::WeakKey)?;
    mac.update(signed_part.as_bytes());
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
    const ORIGIN: &str = "https://shop.example";

    fn token_at(now_s: i64) -> String {
        sign(&WidgetClaims::new("cs_a", ORIGIN, now_s, 600), KEY).unwrap()
    }

    #[test]
    fn a_fresh_token_verifies_for_its_session_and_origin() {
        let claims = verify(&token_at(1_000), KEY, 1_100, "cs_a", ORIGIN).unwrap();
        assert_eq!(claims.sid, "cs_a");
        assert_eq!(claims.exp, 1_600);
    }

    #[test]
    fn a_token_expires_at_its_exp() {
        let token = token_at(1_000);
        assert_eq!(
            verify(&token, KEY, 1_600, "cs_a", ORIGIN),
            Err(TokenError::Expired)
        );
        assert!(verify(&token, KEY, 1_599, "cs_a", ORIGIN).is_ok());
    }

    #[test]
    fn lifetime_is_capped_at_fifteen_minutes() {
        let claims = WidgetClaims::new("cs_a", ORIGIN, 0, 86_400);
        assert_eq!(claims.exp, MAX_TOKEN_LIFETIME_S);
    }

    #[test]
    fn a_token_is_scoped_to_one_session_and_one_origin() {
        let token = token_at(1_000);
        assert_eq!(
            verify(&token, KEY, 1_001, "cs_b", ORIGIN),
            Err(TokenError::WrongSession)
        );
        assert_eq!(
            verify(&token, KEY, 1_001, "cs_a", "https://evil.example"),
            Err(TokenError::WrongOrigin)
        );
        assert_eq!(
            TokenError::WrongSession.code(),
            ErrorCode::TokenScopeMismatch
        );
    }

    #[test]
    fn a_forged_or_tampered_token_is_refused() {
        let token = token_at(1_000);
        let other_key = b"another-key-another-key-another-key!!";
        assert_eq!(
            verify(&token, other_key, 1_001, "cs_a", ORIGIN),
            Err(TokenError::BadSignature)
        );

        // Swap in claims for another session but keep the old signature.
        let forged_claims = WidgetClaims::new("cs_b", ORIGIN, 1_000, 600);
        let forged_part = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap());
        let signature = token.rsplit_once('.').unwrap().1;
        let forged = format!("{PREFIX}{forged_part}.{signature}");
        assert_eq!(
            verify(&forged, KEY, 1_001, "cs_b", ORIGIN),
            Err(TokenError::BadSignature)
        );

        for junk in ["", "wt1.", "wt1..", "Bearer x", "wt1.abc.!!!", "wt2.a.b"] {
            assert!(verify(junk, KEY, 1_001, "cs_a", ORIGIN).is_err(), "{junk}");
        }
    }

    #[test]
    fn claims_issued_at_the_end_of_time_saturate() {
        // `now_s + lifetime` overflowed here; found by the `token` fuzz target
        // (fuzz/seeds/token/crash_iat_overflow).
        let claims = WidgetClaims::new("cs_a", ORIGIN, i64::MAX, 600);
        assert_eq!(claims.exp, i64::MAX);
    }

    #[test]
    fn a_token_spanning_all_time_is_expired_not_an_overflow() {
        // `exp - iat` overflowed here.
        let forever = WidgetClaims {
            sid: "cs_a".into(),
            origin: ORIGIN.into(),
            iat: i64::MIN,
            exp: i64::MAX,
        };
        let token = sign(&forever, KEY).unwrap();
        assert_eq!(
            verify(&token, KEY, 0, "cs_a", ORIGIN),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_short_signing_key_is_refused() {
        let claims = WidgetClaims::new("cs_a", ORIGIN, 0, 60);
        assert_eq!(sign(&claims, b"short"), Err(TokenError::WeakKey));
    }
}
