//! The `BkashToken` Durable Object: the one cache of bKash's id token per app key.
//!
//! bKash asks integrators to reuse an id token for its lifetime (an hour) instead of granting one
//! per call. This object grants once, refreshes shortly before expiry with the refresh token, and
//! refreshes early when a caller reports that bKash refused the current token.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Request, Response, State, Stub};

use super::rpc;
use crate::clock::now_ms;
use crate::config::Mode;
use crate::connectors::bkash::{self, BkashConfig, IssuedToken};
use crate::error::{Error, Result};

/// Refresh this long before bKash would expire the token (or a quarter of a shorter lifetime).
const REFRESH_MARGIN_MS: i64 = 60_000;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TokenCommand {
    /// A valid id token. `stale` is a token bKash just refused; if it is still the cached one, it
    /// is replaced first.
    Get { mode: Mode, stale: Option<String> },
}

#[derive(Debug, Clone)]
struct Cached {
    id_token: String,
    refresh_token: String,
    /// When to refresh rather than reuse: shortly before bKash's expiry.
    refresh_at_ms: i64,
}

/// The cache object for `app_key` of the `mode` account: a test token never serves a live call.
pub fn stub(env: &Env, mode: Mode, app_key: &str) -> Result<Stub> {
    let name = format!("{}:{app_key}", mode.as_str());
    Ok(env.durable_object("BKASH_TOKENS")?.get_by_name(&name)?)
}

#[durable_object]
pub struct BkashToken {
    env: Env,
    // Held in memory only: a token is a credential, and a fresh object simply grants a new one.
    cached: RefCell<Option<Cached>>,
}

impl DurableObject for BkashToken {
    fn new(_state: State, env: Env) -> Self {
        BkashToken {
            env,
            cached: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let result = match rpc::command::<TokenCommand>(req).await {
            Ok(TokenCommand::Get { mode, stale }) => self.token(mode, stale).await,
            Err(e) => Err(e),
        };
        rpc::reply("bkash_token", result)
    }
}

impl BkashToken {
    async fn token(&self, mode: Mode, stale: Option<String>) -> Result<String> {
        let config = BkashConfig::from_env(&self.env, mode)?
            .ok_or_else(|| Error::Config("bKash is not configured".into()))?;
        let current = self.cached.borrow().clone();
        let refused = |c: &Cached| stale.as_deref() == Some(c.id_token.as_str());
        let issued = match current {
            Some(c) if !refused(&c) && now_ms() < c.refresh_at_ms => {
                return Ok(c.id_token);
            }
            Some(c) => match bkash::refresh(&config, &c.refresh_token).await {
                Ok(issued) => issued,
                // A refresh token can expire too; start over with a grant.
                Err(_) => bkash::grant(&config).await.map_err(Error::from)?,
            },
            None => bkash::grant(&config).await.map_err(Error::from)?,
        };
        Ok(self.store(issued))
    }

    fn store(&self, issued: IssuedToken) -> String {
        let id_token = issued.id_token.clone();
        let lifetime_ms = issued.expires_in_s.max(1) * 1000;
        *self.cached.borrow_mut() = Some(Cached {
            id_token: issued.id_token,
            refresh_token: issued.refresh_token,
            refresh_at_ms: now_ms() + lifetime_ms - REFRESH_MARGIN_MS.min(lifetime_ms / 4),
        });
        id_token
    }
}
