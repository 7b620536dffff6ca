//! Who is calling: a merchant by secret key, or a widget by signed token.

use checkout_core::token::{self, WidgetClaims};
use checkout_core::ErrorCode;
use worker::Request;

use crate::config::{Config, LIVE_KEY_PREFIX};
use crate::crypto::secrets_equal;
use crate::error::{Error, Result};
use crate::http;

/// An authenticated merchant, and whether it acts in live or test mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantContext {
    pub merchant_id: String,
    pub merchant_name: String,
    pub livemode: bool,
    pub points: Option<checkout_core::allocation::PointsRules>,
    pub wallet_priority: [checkout_core::api::PaymentMethod; 2],
}

impl MerchantContext {
    /// Test and live objects never share a Durable Object: the mode is part of every name.
    /// `mode:merchant` is unambiguous (the mode is `test` or `live`); it is one part of an
    /// object's name, never joined to other ids by hand (`objects::ObjectKey`).
    pub fn scope(&self) -> String {
        let mode = if self.livemode { "live" } else { "test" };
        format!("{mode}:{}", self.merchant_id)
    }
}

/// Authenticates `Authorization: Bearer sk_...` against every configured key.
pub fn merchant(req: &Request, config: &Config) -> Result<MerchantContext> {
    let key = http::bearer(req).ok_or_else(|| Error::api(ErrorCode::InvalidApiKey))?;
    merchant_for_key(config, &key).ok_or_else(|| Error::api(ErrorCode::InvalidApiKey))
}

/// Compares the key with every configured key in constant time, without stopping at a match, so
/// timing says nothing about which merchant or how much of a key matched.
pub fn merchant_for_key(config: &Config, key: &str) -> Option<MerchantContext> {
    let mut found = None;
    for merchant in &config.merchants {
        for candidate in &merchant.secret_keys {
            if secrets_equal(candidate.expose().as_bytes(), key.as_bytes()) {
                found = Some(MerchantContext {
                    merchant_id: merchant.id.clone(),
                    merchant_name: merchant.name.clone(),
                    livemode: key.starts_with(LIVE_KEY_PREFIX),
                    points: merchant.points,
                    wallet_priority: merchant.wallet_priority,
                });
            }
        }
    }
    found
}

/// Verifies the widget token on `req` for `session_id` and the request's origin.
///
/// The pay-password frame (`handlers::frame`) runs on the Worker's own origin inside a merchant's
/// page, and pays with the token that page holds: a request from the Worker's own origin names
/// the embedding page in [`PARENT_ORIGIN_HEADER`], and the token must be bound to that page.
/// Only the Worker's own pages can send `Origin` = the Worker's origin from a browser.
pub fn widget(
    req: &Request,
    config: &Config,
    session_id: &str,
    now_s: i64,
) -> Result<WidgetClaims> {
    let bearer = http::bearer(req).ok_or_else(|| Error::api(ErrorCode::InvalidToken))?;
    let origin = http::caller_origin(req)?;
    let parent = req.headers().get(PARENT_ORIGIN_HEADER)?;
    let expected = token_origin(&origin, &http::own_origin(req)?, parent.as_deref());
    let key = config.token_signing_key.expose().as_bytes();
    token::verify(&bearer, key, now_s, session_id, expected).map_err(|e| Error::api(e.code()))
}

/// The header in which the pay-password frame names the page that embeds it.
pub const PARENT_ORIGIN_HEADER: &str = "Checkout-Parent-Origin";

/// The origin a request's token must be bound to: the caller's own, except that the Worker's own
/// pages (the pay-password frame) act for the page they name as their parent.
pub fn token_origin<'a>(caller: &'a str, own: &str, parent: Option<&'a str>) -> &'a str {
    match parent {
        Some(parent) if caller == own && !parent.is_empty() => parent,
        _ => caller,
    }
}

#[cfg(test)]
mod tests {
    use super::token_origin;

    const OWN: &str = "https://checkout.example";

    #[test]
    fn the_frame_on_the_own_origin_acts_for_its_parent() {
        let parent = Some("https://shop.example");
        assert_eq!(token_origin(OWN, OWN, parent), "https://shop.example");
        assert_eq!(token_origin(OWN, OWN, None), OWN);
        assert_eq!(token_origin(OWN, OWN, Some("")), OWN);
    }

    #[test]
    fn another_origin_cannot_borrow_a_parent() {
        let evil = "https://evil.example";
        assert_eq!(token_origin(evil, OWN, Some("https://shop.example")), evil);
    }
}
