//! The `BkashToken` Durable Object: the one cache of bKash's id token per app key.
//!
//! bKash asks integrators to reuse an id token for its lifetime (an hour) instead of granting one
//! per call. This object grants once, refreshes shortly before expiry with the refresh token, and
//! refreshes early when a caller reports that bKash refused the current token.
//!
//! Each isolate keeps a copy of the answer ([`Copies`]) until the time this object will refresh
//! it, so a bKash call costs no object hop while the token is fresh (the object was one
//! sequential call before every create, execute, query and refund). bKash still sees one grant
//! per lifetime per app key: only this object grants and refreshes. A copy that bKash refuses is
//! reported as `stale` and replaced by the object's answer.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Request, Response, State};

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

/// The object's answer: a valid id token, and when the object will refresh it (until then an
/// isolate may reuse it without asking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdToken {
    pub id_token: String,
    pub refresh_at_ms: i64,
}

/// An isolate's copies of the object's answers, one per account (test, live). Pure: the caller
/// gives the time.
#[derive(Debug, Default)]
pub struct Copies {
    slots: [Option<IdToken>; 2],
}

impl Copies {
    /// The copy for `mode`, if the object would still hand out the same token at `now_ms`.
    pub fn fresh(&self, mode: Mode, now_ms: i64) -> Option<String> {
        self.slots[mode.index()]
            .as_ref()
            .filter(|copy| now_ms < copy.refresh_at_ms)
            .map(|copy| copy.id_token.clone())
    }

    /// Keeps the object's latest answer for `mode`.
    pub fn keep(&mut self, mode: Mode, answer: IdToken) {
        self.slots[mode.index()] = Some(answer);
    }

    /// Drops the copy for `mode` if it is `refused` (bKash answered 401 to it).
    pub fn drop_refused(&mut self, mode: Mode, refused: &str) {
        let slot = &mut self.slots[mode.index()];
        if slot.as_ref().is_some_and(|copy| copy.id_token == refused) {
            *slot = None;
        }
    }
}

#[derive(Debug, Clone)]
struct Cached {
    id_token: String,
    refresh_token: String,
    /// When to refresh rather than reuse: shortly before bKash's expiry.
    refresh_at_ms: i64,
}

/// The cache object for `app_key` of the `mode` account: a test token never serves a live call.
pub fn stub(env: &Env, mode: Mode, app_key: &str) -> Result<rpc::Stub> {
    let name = format!("{}:{app_key}", mode.as_str());
    Ok(env
        .durable_object("BKASH_TOKENS")?
        .get_by_name(&name)?
        .into())
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

    async fn fetch(&self, _req: Request) -> worker::Result<Response> {
        rpc::fetch_refused()
    }
}

crate::serve_commands!(BkashToken);

impl rpc::Commands for BkashToken {
    const NAME: &'static str = "bkash_token";
    type Command = TokenCommand;
    type Answer = IdToken;

    async fn run(&self, command: TokenCommand, _source: Option<&str>) -> Result<IdToken> {
        let TokenCommand::Get { mode, stale } = command;
        self.token(mode, stale).await
    }
}

impl BkashToken {
    async fn token(&self, mode: Mode, stale: Option<String>) -> Result<IdToken> {
        let config = BkashConfig::from_env(&self.env, mode)?
            .ok_or_else(|| Error::Config("bKash is not configured".into()))?;
        let current = self.cached.borrow().clone();
        let refused = |c: &Cached| stale.as_deref() == Some(c.id_token.as_str());
        let issued = match current {
            Some(c) if !refused(&c) && now_ms() < c.refresh_at_ms => {
                return Ok(IdToken {
                    id_token: c.id_token,
                    refresh_at_ms: c.refresh_at_ms,
                });
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

    fn store(&self, issued: IssuedToken) -> IdToken {
        let lifetime_ms = issued.expires_in_s.max(1) * 1000;
        let answer = IdToken {
            id_token: issued.id_token,
            refresh_at_ms: now_ms() + lifetime_ms - REFRESH_MARGIN_MS.min(lifetime_ms / 4),
        };
        *self.cached.borrow_mut() = Some(Cached {
            id_token: answer.id_token.clone(),
            refresh_token: issued.refresh_token,
            refresh_at_ms: answer.refresh_at_ms,
        });
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::{Copies, IdToken};
    use crate::config::Mode;

    fn answer(id: &str, refresh_at_ms: i64) -> IdToken {
        IdToken {
            id_token: id.into(),
            refresh_at_ms,
        }
    }

    #[test]
    fn a_copy_serves_until_the_objects_refresh_time_and_per_account() {
        let mut copies = Copies::default();
        assert_eq!(copies.fresh(Mode::Test, 0), None);
        copies.keep(Mode::Test, answer("t1", 1_000));
        assert_eq!(copies.fresh(Mode::Test, 999).as_deref(), Some("t1"));
        assert_eq!(
            copies.fresh(Mode::Test, 1_000),
            None,
            "the object refreshes then"
        );
        assert_eq!(
            copies.fresh(Mode::Live, 0),
            None,
            "a test token never serves live"
        );
    }

    #[test]
    fn a_refused_copy_is_dropped_and_another_is_kept() {
        let mut copies = Copies::default();
        copies.keep(Mode::Live, answer("old", 1_000));
        copies.drop_refused(Mode::Live, "other");
        assert_eq!(copies.fresh(Mode::Live, 0).as_deref(), Some("old"));
        copies.drop_refused(Mode::Live, "old");
        assert_eq!(copies.fresh(Mode::Live, 0), None);
        copies.keep(Mode::Live, answer("new", 2_000));
        assert_eq!(copies.fresh(Mode::Live, 0).as_deref(), Some("new"));
    }
}
