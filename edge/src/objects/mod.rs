//! The Durable Objects, one file each, and how the Worker finds them.
//!
//! - [`session::CheckoutSession`]: one per checkout session; owns its status and payments.
//! - [`wallet::Wallet`]: one per (mode, merchant, customer); the only writer of balances.
//!
//! - [`bkash_token::BkashToken`]: the cache of bKash's id token, one per app key.
//! - [`reconciler::Reconciler`]: the registry of unfinished external legs the cron walks.
//! - [`rate_limiter::RateLimiter`]: one per rate-limit bucket, a sliding window of hits.
//! - [`webhooks::Webhooks`]: one per merchant and mode; the webhook endpoint, events, deliveries.
//!
//! All speak the internal [`rpc`] protocol: a JSON command in, a `Reply` out.

pub mod bkash_token;
pub mod rate_limiter;
pub mod reconciler;
pub mod rpc;
pub mod session;
pub mod session_record;
pub mod wallet;
mod wallet_store;
pub mod webhooks;

use checkout_core::ErrorCode;
use worker::{Env, Stub};

use crate::auth::MerchantContext;
use crate::error::{Error, Result};

const SESSIONS: &str = "SESSIONS";
const WALLETS: &str = "WALLETS";
const SESSION_ID_PREFIX: &str = "cs_";

/// The session object for a merchant's order. Its id is derived from the order, so the same order
/// always reaches the same object; the public session id is that object's id.
pub fn session_for_order(
    env: &Env,
    merchant: &MerchantContext,
    order_id: &str,
) -> Result<(String, Stub)> {
    let namespace = env.durable_object(SESSIONS)?;
    let object_id = namespace.id_from_name(&format!("{}:{order_id}", merchant.scope()))?;
    let session_id = format!("{SESSION_ID_PREFIX}{object_id}");
    Ok((session_id, object_id.get_stub()?))
}

/// The session object for a public session id, or `not_found` for anything malformed.
pub fn session_by_id(env: &Env, session_id: &str) -> Result<Stub> {
    let hex = session_id
        .strip_prefix(SESSION_ID_PREFIX)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
    let namespace = env.durable_object(SESSIONS)?;
    let object_id = namespace
        .id_from_string(hex)
        .map_err(|_| Error::api(ErrorCode::NotFound))?;
    Ok(object_id.get_stub()?)
}

/// The wallet of one customer of one merchant, in the merchant's mode.
pub fn wallet_stub(env: &Env, merchant_scope: &str, customer_id: &str) -> Result<Stub> {
    let namespace = env.durable_object(WALLETS)?;
    Ok(namespace.get_by_name(&format!("{merchant_scope}:{customer_id}"))?)
}
