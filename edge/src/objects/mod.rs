//! The Durable Objects, one file each, and how the Worker finds them.
//!
//! - [`session::CheckoutSession`]: one per checkout session; owns its status and payments.
//! - [`wallet::Wallet`]: one per (mode, merchant, customer); the only writer of balances.
//!
//! - [`bkash_token::BkashToken`]: the cache of bKash's id token, one per app key.
//! - [`reconciler::Reconciler`]: the registry of unfinished external legs the cron walks.
//! - [`rate_limiter::RateLimiter`]: 64 shards of the exact wrong-password buckets, sliding windows.
//! - [`webhooks::Webhooks`]: one per merchant and mode; the webhook endpoint, events, deliveries.
//!
//! All speak the internal [`rpc`] protocol: a JSON command in, a `Reply` out.

pub mod bkash_token;
pub mod rate_limiter;
pub mod reconciler;
pub mod rpc;
pub mod session;
pub use crate::saga::record as session_record;
pub mod wallet;
mod wallet_store;
pub mod webhooks;

use checkout_core::ErrorCode;
use worker::Env;

use self::rpc::Stub;

use crate::auth::MerchantContext;
use crate::error::{Error, Result};

const SESSIONS: &str = "SESSIONS";
const WALLETS: &str = "WALLETS";
const WEBHOOKS: &str = "WEBHOOKS";
const SESSION_ID_PREFIX: &str = "cs_";

/// What a merchant-keyed Durable Object is named after. [`ObjectKey::name`] is the only place such
/// a name is built, so two different keys can never reach the same object.
///
/// `merchant_scope` is [`MerchantContext::scope`] (`mode:merchant`): one part, and itself
/// unambiguous because the mode is `test` or `live` and never contains `:`. Merchant, customer
/// and order ids are also held to `checkout_core::api::check_id`, which forbids `:`, but the
/// encoding does not rely on it.
///
/// Migration: these names replaced `mode:merchant:order_id`, `mode:merchant:customer_id` and
/// `mode:merchant` joined with `:`, so objects written under the old names (sessions, wallets,
/// webhook endpoints) are no longer reached and public session ids changed. This project has no
/// production data yet; a deployment with data would have to copy it across before switching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKey<'a> {
    /// The `CheckoutSession` for a merchant's order.
    Session {
        merchant_scope: &'a str,
        order_id: &'a str,
    },
    /// The `Wallet` of a merchant's customer.
    Wallet {
        merchant_scope: &'a str,
        customer_id: &'a str,
    },
    /// The merchant's `Webhooks` object (endpoint, events, reports, metrics).
    Webhooks { merchant_scope: &'a str },
}

impl ObjectKey<'_> {
    /// The object's name: its kind and then each part as `<byte length>:<bytes>`, so the parts can
    /// hold any character and still never run into each other (a netstring without the comma).
    pub fn name(&self) -> String {
        let (kind, parts): (&str, &[&str]) = match self {
            ObjectKey::Session {
                merchant_scope,
                order_id,
            } => ("session", &[merchant_scope, order_id]),
            ObjectKey::Wallet {
                merchant_scope,
                customer_id,
            } => ("wallet", &[merchant_scope, customer_id]),
            ObjectKey::Webhooks { merchant_scope } => ("webhooks", &[merchant_scope]),
        };
        let mut name = String::from(kind);
        for part in parts {
            name.push('/');
            name.push_str(&part.len().to_string());
            name.push(':');
            name.push_str(part);
        }
        name
    }
}

/// The session object for a merchant's order. Its id is derived from the order, so the same order
/// always reaches the same object; the public session id is that object's id.
pub fn session_for_order(
    env: &Env,
    merchant: &MerchantContext,
    order_id: &str,
) -> Result<(String, Stub)> {
    let namespace = env.durable_object(SESSIONS)?;
    let scope = merchant.scope();
    let key = ObjectKey::Session {
        merchant_scope: &scope,
        order_id,
    };
    let object_id = namespace.id_from_name(&key.name())?;
    let session_id = format!("{SESSION_ID_PREFIX}{object_id}");
    Ok((session_id, object_id.get_stub()?.into()))
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
    Ok(object_id.get_stub()?.into())
}

/// The wallet of one customer of one merchant, in the merchant's mode.
pub fn wallet_stub(env: &Env, merchant_scope: &str, customer_id: &str) -> Result<Stub> {
    let key = ObjectKey::Wallet {
        merchant_scope,
        customer_id,
    };
    Ok(env
        .durable_object(WALLETS)?
        .get_by_name(&key.name())?
        .into())
}

/// The merchant's webhooks object, in the merchant's mode.
pub fn webhooks_stub(env: &Env, merchant_scope: &str) -> Result<Stub> {
    let key = ObjectKey::Webhooks { merchant_scope };
    Ok(env
        .durable_object(WEBHOOKS)?
        .get_by_name(&key.name())?
        .into())
}

/// The items of an object's `outbox` table (`seq`, `event` as JSON) not yet handed over, with the
/// last sequence number read; `None` when it is empty. The session and the wallet each keep one,
/// written in the same turn as the change it reports, and cleared with [`clear_outbox`] once the
/// merchant's `Webhooks` object has the items.
pub fn read_outbox<E: serde::de::DeserializeOwned>(
    sql: &worker::SqlStorage,
) -> Result<Option<(Vec<E>, i64)>> {
    #[derive(serde::Deserialize)]
    struct Row {
        seq: i64,
        event: String,
    }
    let rows: Vec<Row> = sql
        .exec("SELECT seq, event FROM outbox ORDER BY seq", None)?
        .to_array()?;
    let Some(last) = rows.last().map(|r| r.seq) else {
        return Ok(None);
    };
    let items = rows
        .iter()
        .map(|r| serde_json::from_str(&r.event))
        .collect::<std::result::Result<_, _>>()?;
    Ok(Some((items, last)))
}

/// Drops the outbox items up to `last`, which the `Webhooks` object has accepted.
pub fn clear_outbox(sql: &worker::SqlStorage, last: i64) -> Result<()> {
    sql.exec("DELETE FROM outbox WHERE seq <= ?", vec![last.into()])?;
    Ok(())
}

/// Makes sure the object's alarm fires within `delay_ms`: an alarm already due by then is kept,
/// a later one (or none) is moved to now + `delay_ms`. Best effort: the caller has logged why it
/// wants a retry, and the next command tries again.
pub async fn alarm_within(storage: &worker::Storage, delay_ms: i64) {
    let retry_at = crate::clock::now_ms() + delay_ms;
    let earlier = storage
        .get_alarm()
        .await
        .ok()
        .flatten()
        .is_some_and(|at| at <= retry_at);
    if !earlier {
        let _ = storage.set_alarm(delay_ms).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::ObjectKey;

    /// Parts chosen to collide under a `:`-join: separators, digits that look like length
    /// prefixes, empty strings, and the review's `acme` / `acme:outlet` pair.
    const PARTS: [&str; 12] = [
        "",
        ":",
        "a",
        "a:",
        ":a",
        "acme",
        "acme:outlet",
        "outlet:alice",
        "outlet",
        "alice",
        "1:a",
        "5:acme",
    ];

    fn all_keys() -> Vec<ObjectKey<'static>> {
        let mut keys = Vec::new();
        for merchant_scope in PARTS {
            keys.push(ObjectKey::Webhooks { merchant_scope });
            for id in PARTS {
                keys.push(ObjectKey::Session {
                    merchant_scope,
                    order_id: id,
                });
                keys.push(ObjectKey::Wallet {
                    merchant_scope,
                    customer_id: id,
                });
            }
        }
        keys
    }

    #[test]
    fn distinct_keys_never_encode_equal() {
        let mut seen: HashMap<String, ObjectKey> = HashMap::new();
        for key in all_keys() {
            if let Some(earlier) = seen.insert(key.name(), key) {
                panic!("{earlier:?} and {key:?} share the name {}", key.name());
            }
        }
        assert_eq!(seen.len(), PARTS.len() * (1 + 2 * PARTS.len()));
    }

    #[test]
    fn the_reviews_collision_is_two_objects() {
        // `acme` asking for customer `outlet:alice` against `acme:outlet`'s customer `alice`:
        // the same string once joined with `:`.
        let asked = ObjectKey::Wallet {
            merchant_scope: "test:acme",
            customer_id: "outlet:alice",
        };
        let victim = ObjectKey::Wallet {
            merchant_scope: "test:acme:outlet",
            customer_id: "alice",
        };
        assert_ne!(asked.name(), victim.name());
        assert_eq!(victim.name(), "wallet/16:test:acme:outlet/5:alice");
    }

    #[test]
    fn kinds_never_share_a_name() {
        let session = ObjectKey::Session {
            merchant_scope: "test:m",
            order_id: "x",
        };
        let wallet = ObjectKey::Wallet {
            merchant_scope: "test:m",
            customer_id: "x",
        };
        assert_ne!(session.name(), wallet.name());
    }
}
