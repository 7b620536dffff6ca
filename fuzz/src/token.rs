//! Widget tokens: `wt1.<claims>.<HMAC>`, sent by any browser.
//!
//! Properties: verifying never panics; a token verifies only if its signature is the HMAC of its
//! claims under the key (recomputed here with `hmac` directly) and only for its session, origin
//! and lifetime; a token the edge signed verifies exactly when the rules say (computed here in
//! i128), and any one-byte change to it makes it fail. The input is a token, or the claims as
//! lines `sid`, `origin`, `iat`, `exp`, `now`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use checkout_core::token::{self, TokenError, WidgetClaims, MAX_TOKEN_LIFETIME_S};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The unit tests' key.
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
const OTHER_KEY: &[u8] = b"another-key-another-key-another-key!!";
const SID: &str = "cs_a";
const ORIGIN: &str = "https://shop.example";
const NOW_S: i64 = 1_100;

pub fn check(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    as_token(text);
    as_claims(text);
}

/// The input as a token someone sent.
fn as_token(text: &str) {
    let verified = token::verify(text, KEY, NOW_S, SID, ORIGIN);
    let Ok(claims) = verified else {
        return;
    };
    let (signed_part, signature) = text.rsplit_once('.').expect("a verified token has a dot");
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY).unwrap();
    mac.update(signed_part.as_bytes());
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .expect("its signature decodes");
    mac.verify_slice(&signature)
        .expect("a verified token carries the HMAC of its claims");
    assert_eq!((claims.sid.as_str(), claims.origin.as_str()), (SID, ORIGIN));
    assert!(NOW_S < claims.exp);
    assert!(token::verify(text, OTHER_KEY, NOW_S, SID, ORIGIN).is_err());
}

/// The input as claims the edge signs, then the token as sent back, and altered.
fn as_claims(text: &str) {
    let fields = crate::fields(text, 5);
    let sid = fields.first().copied().unwrap_or(SID);
    let origin = fields.get(1).copied().unwrap_or(ORIGIN);
    let iat = crate::integer(fields.get(2), 1_000);
    let exp = crate::integer(fields.get(3), 1_600);
    let now = crate::integer(fields.get(4), NOW_S);

    // As the edge builds them: the lifetime capped, whatever is asked.
    let built = WidgetClaims::new(sid, origin, iat, exp.wrapping_sub(iat));
    assert!(i128::from(built.exp) - i128::from(built.iat) <= i128::from(MAX_TOKEN_LIFETIME_S));

    let claims = WidgetClaims {
        sid: sid.to_owned(),
        origin: origin.to_owned(),
        iat,
        exp,
    };
    let signed = token::sign(&claims, KEY).expect("the key is long enough");
    let lifetime = i128::from(exp) - i128::from(iat);
    let expected = if now >= exp || lifetime > i128::from(MAX_TOKEN_LIFETIME_S) {
        Err(TokenError::Expired)
    } else {
        Ok(claims.clone())
    };
    assert_eq!(token::verify(&signed, KEY, now, sid, origin), expected);
    if expected.is_ok() {
        assert_eq!(
            token::verify(&signed, KEY, now, &format!("{sid}x"), origin),
            Err(TokenError::WrongSession)
        );
    }
    let mut altered = signed.into_bytes();
    let at = text.len() % altered.len();
    altered[at] ^= 1 << (text.len() % 7);
    if let Ok(altered) = String::from_utf8(altered) {
        assert!(
            token::verify(&altered, KEY, now, sid, origin).is_err(),
            "an altered token verified: {altered}"
        );
    }
}
