//! The `RateLimiter` Durable Object: one per bucket (`ip:<addr>:token`, `session:<id>:pay`, ...),
//! counting the bucket's hits in a sliding window.
//!
//! The window is a log of hit times: a hit is allowed while fewer than `max` hits fall in the
//! last `window_ms`, and a refused hit is not recorded, so a client that waits out the window is
//! served again. Each check is one synchronous turn of the object (no `await`), so parallel hits
//! cannot both take the last slot. An alarm clears the log once the window has passed, and
//! deletes the object's storage when nothing is left.
//!
//! A reservation ([`LimiterCommand::Reserve`]) is a hit recorded before the outcome is known,
//! for counting only failures (wrong pay passwords): it takes its slot in the same turn as the
//! check, so parallel requests cannot all pass, and [`LimiterCommand::Release`] gives the slot
//! back when the request turned out not to be a failure.

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
};

use super::rpc;
use crate::clock::now_ms;
use crate::error::Result;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum LimiterCommand {
    /// Records a hit if the bucket has room.
    Hit { max: u32, window_ms: i64 },
    /// Records a hit if the bucket has room, answering its slot for a later release.
    Reserve { max: u32, window_ms: i64 },
    /// Removes a reserved hit: what it counted did not happen.
    Release { slot: i64 },
}

/// The answer to a hit or a reservation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// When refused: milliseconds until the oldest hit leaves the window.
    pub retry_after_ms: i64,
    /// The recorded hit, for a reservation that was allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<i64>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS hits (expires_ms INTEGER NOT NULL)";

#[durable_object]
pub struct RateLimiter {
    state: State,
    sql: SqlStorage,
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
        RateLimiter { state, sql }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let result = match rpc::command::<LimiterCommand>(req).await {
            Ok(command) => self.handle(command).await,
            Err(e) => Err(e),
        };
        rpc::reply("rate_limiter", result)
    }

    /// Set for the latest expiry: by then every hit has left its window, and the bucket's storage
    /// is deleted. Hits recorded since move the alarm on.
    async fn alarm(&self) -> worker::Result<Response> {
        let now = now_ms();
        let window = self
            .window(now)
            .map_err(|e| worker::Error::from(e.to_string()))?;
        match window.latest_ms {
            Some(latest) => self.state.storage().set_alarm(latest - now + 1).await?,
            None => {
                self.state.storage().delete_all().await?;
                self.sql.exec(SCHEMA, None)?;
            }
        }
        Response::ok("")
    }
}

/// The hits still in their window.
#[derive(Deserialize)]
struct Window {
    count: i64,
    /// When the oldest hit leaves the window, freeing a slot.
    earliest_ms: Option<i64>,
    latest_ms: Option<i64>,
}

impl RateLimiter {
    async fn handle(&self, command: LimiterCommand) -> Result<serde_json::Value> {
        let (max, window_ms) = match command {
            LimiterCommand::Hit { max, window_ms } | LimiterCommand::Reserve { max, window_ms } => {
                (max, window_ms.max(1))
            }
            LimiterCommand::Release { slot } => {
                self.sql
                    .exec("DELETE FROM hits WHERE rowid = ?", vec![slot.into()])?;
                return Ok(serde_json::Value::Null);
            }
        };
        let decision = self.decide(now_ms(), max, window_ms)?;
        if decision.allowed && self.state.storage().get_alarm().await?.is_none() {
            self.state.storage().set_alarm(window_ms + 1).await?;
        }
        Ok(serde_json::to_value(decision)?)
    }

    /// The check and the record, in one synchronous turn.
    fn decide(&self, now: i64, max: u32, window_ms: i64) -> Result<Decision> {
        #[derive(Deserialize)]
        struct Inserted {
            slot: i64,
        }
        let window = self.window(now)?;
        if window.count < i64::from(max) {
            let rows: Vec<Inserted> = self
                .sql
                .exec(
                    "INSERT INTO hits (expires_ms) VALUES (?) RETURNING rowid AS slot",
                    vec![(now + window_ms).into()],
                )?
                .to_array()?;
            return Ok(Decision {
                allowed: true,
                retry_after_ms: 0,
                slot: rows.into_iter().next().map(|r| r.slot),
            });
        }
        Ok(Decision {
            allowed: false,
            retry_after_ms: (window.earliest_ms.unwrap_or(now) - now).max(1),
            slot: None,
        })
    }

    /// Drops the hits whose window has passed and describes the rest.
    fn window(&self, now: i64) -> Result<Window> {
        self.sql
            .exec("DELETE FROM hits WHERE expires_ms <= ?", vec![now.into()])?;
        let rows: Vec<Window> = self
            .sql
            .exec(
                "SELECT COUNT(*) AS count, MIN(expires_ms) AS earliest_ms, MAX(expires_ms) AS latest_ms FROM hits",
                None,
            )?
            .to_array()?;
        Ok(rows.into_iter().next().unwrap_or(Window {
            count: 0,
            earliest_ms: None,
            latest_ms: None,
        }))
    }
}
