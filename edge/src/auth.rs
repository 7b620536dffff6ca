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
pub fn widget(
    req: &Request,
    config: &Config,
    session_id: &str,
    now_s: i64,
) -> Result<WidgetClaims> {
    let bearer = http::bearer(req).ok_or_else(|| Error::api(ErrorCode::InvalidToken))?;
    let origin = http::caller_origin(req)?;
    let key = config.token_signing_key.expose().as_bytes();
    token::verify(&bearer, key, now_s, session_id, &origin).map_err(|e| Error::api(e.code()))
}
