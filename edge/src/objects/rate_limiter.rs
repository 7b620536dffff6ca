//! The `RateLimiter` Durable Object: the exact limit on wrong pay passwords per client address
//! (`crate::rate_limit`). One object is a **shard** holding many buckets
//! (`ip:<addr>:wrong_password`), [`SHARDS`] in all, a bucket always in the same shard: an
//! address's every guess meets the same single-threaded object, so the count stays exact, while
//! the objects stay few and warm. (One object per bucket made each new address open a new
//! SQLite file, the bulk of a payment's CPU with the limits on; docs/benchmarks.md.)
//!
//! A bucket is a sliding window of slots: a slot is reserved while fewer than `max` slots of the
//! bucket fall in the last `window_ms`, in one synchronous turn (no `await`) with the check, so
//! parallel requests cannot all pass; a refused reservation is not recorded, so a client that
//! waits out the window is served again. The slot is taken before the outcome is known, for
//! counting only failures (wrong pay passwords): [`LimiterCommand::Release`] gives it back when
//! the request turned out not to be a failure. An alarm deletes the slots whose window has passed,
//! and the object's storage once none is left.

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
};

use super::rpc;
use crate::clock::now_ms;
use crate::error::Result;

/// How many shard objects the buckets spread over.
pub const SHARDS: u64 = 64;

/// The shard object's name for `bucket`: FNV-1a (64-bit) of the bucket, modulo [`SHARDS`].
/// Stable across deployments, since a bucket must keep meeting the object that counts it.
pub fn shard_of(bucket: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bucket.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("limiter-shard:{}", hash % SHARDS)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LimiterCommand {
    /// Records a slot in `bucket` if it has room, answering the slot for a later release.
    Reserve {
        bucket: String,
        max: u32,
        window_ms: i64,
    },
    /// Removes a reserved slot: what it counted did not happen.
    Release { bucket: String, slot: i64 },
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// When refused: milliseconds until the bucket's oldest slot leaves the window.
    pub retry_after_ms: i64,
    /// The recorded slot, when allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<i64>,
}

/// Both statements in one `exec` (Cloudflare, "SQL Storage": several statements separated by
/// semicolons run in one call).
const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS slots (bucket TEXT NOT NULL, expires_ms INTEGER NOT NULL); \
     CREATE INDEX IF NOT EXISTS slots_bucket ON slots (bucket, expires_ms)";

#[durable_object]
pub struct RateLimiter {
    state: State,
    sql: SqlStorage,
    /// Whether this instance has seen its alarm set (a reservation then skips asking).
    alarm_set: std::cell::Cell<bool>,
}

impl DurableObject for RateLimiter {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"object": "rate_limiter", "schema": e.to_string()}),
            );
        }
        RateLimiter {
            state,
            sql,
            alarm_set: std::cell::Cell::new(false),
        }
    }

    async fn fetch(&self, _req: Request) -> worker::Result<Response> {
        rpc::fetch_refused()
    }

    /// Deletes the slots whose window has passed; set again for the latest one left, or the
    /// object's storage deleted when none is (an object from before the shards, keyed by one
    /// bucket, ends the same way).
    async fn alarm(&self) -> worker::Result<Response> {
        self.alarm_set.set(false);
        let now = now_ms();
        #[derive(Deserialize)]
        struct Latest {
            latest_ms: Option<i64>,
        }
        let latest = (|| -> Result<Option<i64>> {
            self.sql
                .exec("DELETE FROM slots WHERE expires_ms <= ?", vec![now.into()])?;
            let rows: Vec<Latest> = self
                .sql
                .exec("SELECT MAX(expires_ms) AS latest_ms FROM slots", None)?
                .to_array()?;
            Ok(rows.into_iter().next().and_then(|r| r.latest_ms))
        })()
        .map_err(|e| worker::Error::from(e.to_string()))?;
        match latest {
            Some(latest) => {
                self.state.storage().set_alarm(latest - now + 1).await?;
                self.alarm_set.set(true);
            }
            None => {
                self.state.storage().delete_all().await?;
                self.sql.exec(SCHEMA, None)?;
            }
        }
        Response::ok("")
    }
}

crate::serve_commands!(RateLimiter);

impl rpc::Commands for RateLimiter {
    const NAME: &'static str = "rate_limiter";
    type Command = LimiterCommand;
    /// A reservation's [`Decision`]; nothing (`null`) for a release.
    type Answer = Option<Decision>;

    async fn run(&self, command: LimiterCommand, _source: Option<&str>) -> Result<Self::Answer> {
        match command {
            LimiterCommand::Reserve {
                bucket,
                max,
                window_ms,
            } => {
                let window_ms = window_ms.max(1);
                let decision = self.reserve(&bucket, now_ms(), max, window_ms)?;
                if decision.allowed && !self.alarm_set.get() {
                    let storage = self.state.storage();
                    if storage.get_alarm().await?.is_none() {
                        storage.set_alarm(window_ms + 1).await?;
                    }
                    self.alarm_set.set(true);
                }
                Ok(Some(decision))
            }
            LimiterCommand::Release { bucket, slot } => {
                self.sql.exec(
                    "DELETE FROM slots WHERE rowid = ? AND bucket = ?",
                    vec![slot.into(), bucket.into()],
                )?;
                Ok(None)
            }
        }
    }
}

/// The check and the record in one statement, so in one synchronous turn: a slot is inserted
/// only while fewer than `max` of the bucket's slots are unexpired. Expired slots are not
/// deleted here but counted out by `expires_ms > now`; the alarm deletes them. (It used to be a
/// `DELETE`, a `SELECT COUNT` and an `INSERT`, three statements on every payment with the limits
/// on; docs/benchmarks.md.) SQLite runs `INSERT ... SELECT ... WHERE` with a `RETURNING` clause
/// since 3.35.
const RESERVE: &str = "INSERT INTO slots (bucket, expires_ms) \
     SELECT ?1, ?2 WHERE (SELECT COUNT(*) FROM slots WHERE bucket = ?1 AND expires_ms > ?3) < ?4 \
     RETURNING rowid AS slot";

/// When a full bucket's oldest unexpired slot leaves the window (only asked on a refusal).
const EARLIEST: &str =
    "SELECT MIN(expires_ms) AS earliest_ms FROM slots WHERE bucket = ? AND expires_ms > ?";

impl RateLimiter {
    /// Reserves a slot in `bucket` if it has room; otherwise says when it will.
    fn reserve(&self, bucket: &str, now: i64, max: u32, window_ms: i64) -> Result<Decision> {
        #[derive(Deserialize)]
        struct Inserted {
            slot: i64,
        }
        #[derive(Deserialize)]
        struct Earliest {
            earliest_ms: Option<i64>,
        }
        let inserted: Vec<Inserted> = self
            .sql
            .exec(
                RESERVE,
                vec![
                    bucket.into(),
                    (now + window_ms).into(),
                    now.into(),
                    i64::from(max).into(),
                ],
            )?
            .to_array()?;
        if let Some(inserted) = inserted.into_iter().next() {
            return Ok(Decision {
                allowed: true,
                retry_after_ms: 0,
                slot: Some(inserted.slot),
            });
        }
        let earliest: Vec<Earliest> = self
            .sql
            .exec(EARLIEST, vec![bucket.into(), now.into()])?
            .to_array()?;
        let earliest_ms = earliest.into_iter().next().and_then(|e| e.earliest_ms);
        Ok(Decision {
            allowed: false,
            retry_after_ms: (earliest_ms.unwrap_or(now) - now).max(1),
            slot: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_always_meets_the_same_shard_and_buckets_spread() {
        assert_eq!(
            shard_of("ip:203.0.113.7:wrong_password"),
            shard_of("ip:203.0.113.7:wrong_password")
        );
        // FNV-1a of the empty string is the offset basis.
        assert_eq!(
            shard_of(""),
            format!("limiter-shard:{}", 0xcbf2_9ce4_8422_2325_u64 % SHARDS)
        );
        let shards: std::collections::HashSet<String> = (0..1000)
            .map(|n| shard_of(&format!("ip:10.0.{}.{}:wrong_password", n / 256, n % 256)))
            .collect();
        assert!(shards.len() > SHARDS as usize / 2, "{}", shards.len());
        assert!(shards.iter().all(|s| s
            .strip_prefix("limiter-shard:")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            < SHARDS));
    }
}
