//! The `Reconciler` Durable Object: the registry of sessions with an unfinished external leg or
//! refund, which the reconciliation cron walks.
//!
//! Sessions settle themselves (callbacks, alarms); this registry is the safety net that finds any
//! leg left pending past a threshold, for example when a callback never came. Instances named
//! `expiring:<hour>` file sessions by the hour they expire in, so the cron also expires any
//! session whose own alarm did not.

use serde::{Deserialize, Serialize};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
};

use super::rpc;
use crate::clock::now_ms;
use crate::error::Result;

/// The one registry instance.
const REGISTRY_NAME: &str = "pending-legs";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ReconcilerCommand {
    /// Adds (`pending`) or removes a session.
    Track { session_id: String, pending: bool },
    /// Sessions pending for at least `older_than_ms`.
    Due { older_than_ms: i64 },
    /// In an hour bucket: a session that expires at `expires_at_ms` unless paid.
    Expiring {
        session_id: String,
        expires_at_ms: i64,
    },
    /// In an hour bucket: its sessions whose expiry has passed.
    Expired { now_ms: i64 },
    /// In an hour bucket: a session the cron has visited.
    Forget { session_id: String },
}

/// Sessions are also filed by the hour they expire in, one registry object per hour, so the cron
/// can expire any whose own alarm did not (a safety net) without one object holding them all.
fn expiry_bucket(env: &Env, expires_at_ms: i64) -> Result<rpc::Stub> {
    let hour = expires_at_ms.div_euclid(3_600_000);
    Ok(env
        .durable_object("RECONCILER")?
        .get_by_name(&format!("expiring:{hour}"))?
        .into())
}

/// Files a new session under the hour it expires in.
pub async fn file_expiry(env: &Env, session_id: &str, expires_at_ms: i64) -> Result<()> {
    let command = ReconcilerCommand::Expiring {
        session_id: session_id.to_owned(),
        expires_at_ms,
    };
    rpc::call::<_, ()>(&expiry_bucket(env, expires_at_ms)?, &command).await
}

/// Sessions past their expiry, from the buckets of the last `hours` hours up to now.
pub async fn expired(env: &Env, now_ms: i64, hours: i64) -> Result<Vec<(i64, String)>> {
    let mut found = Vec::new();
    for back in (0..=hours).rev() {
        let bucket_ms = now_ms - back * 3_600_000;
        let stub = expiry_bucket(env, bucket_ms)?;
        let ids: Vec<String> = rpc::call(&stub, &ReconcilerCommand::Expired { now_ms }).await?;
        found.extend(ids.into_iter().map(|id| (bucket_ms, id)));
    }
    Ok(found)
}

/// Removes a visited session from its bucket.
pub async fn forget_expired(env: &Env, bucket_ms: i64, session_id: &str) -> Result<()> {
    let command = ReconcilerCommand::Forget {
        session_id: session_id.to_owned(),
    };
    rpc::call::<_, ()>(&expiry_bucket(env, bucket_ms)?, &command).await
}

/// The one registry of sessions with a leg pending.
fn registry(env: &Env) -> Result<rpc::Stub> {
    Ok(env
        .durable_object("RECONCILER")?
        .get_by_name(REGISTRY_NAME)?
        .into())
}

/// Records whether `session_id` has something the cron must watch.
pub async fn track(env: &Env, session_id: &str, pending: bool) -> Result<()> {
    let stub = registry(env)?;
    let command = ReconcilerCommand::Track {
        session_id: session_id.to_owned(),
        pending,
    };
    rpc::call::<_, ()>(&stub, &command).await
}

/// Sessions pending for at least `older_than_ms`.
pub async fn due(env: &Env, older_than_ms: i64) -> Result<Vec<String>> {
    let stub = registry(env)?;
    rpc::call(&stub, &ReconcilerCommand::Due { older_than_ms }).await
}

#[durable_object]
pub struct Reconciler {
    sql: SqlStorage,
}

impl DurableObject for Reconciler {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        for schema in [
            "CREATE TABLE IF NOT EXISTS pending (session_id TEXT PRIMARY KEY, since_ms INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS expiring (session_id TEXT PRIMARY KEY, expires_at_ms INTEGER NOT NULL)",
        ] {
            if let Err(e) = sql.exec(schema, None) {
                crate::log::event(
                    crate::log::Level::Error,
                    serde_json::json!({"object": "reconciler", "schema": e.to_string()}),
                );
            }
        }
        Reconciler { sql }
    }

    async fn fetch(&self, _req: Request) -> worker::Result<Response> {
        rpc::fetch_refused()
    }
}

crate::serve_commands!(Reconciler);

impl rpc::Commands for Reconciler {
    const NAME: &'static str = "reconciler";
    type Command = ReconcilerCommand;
    /// The session ids a query found; nothing (`null`) for a change.
    type Answer = Option<Vec<String>>;

    async fn run(&self, command: ReconcilerCommand, _source: Option<&str>) -> Result<Self::Answer> {
        match command {
            ReconcilerCommand::Track {
                session_id,
                pending: true,
            } => {
                self.sql.exec(
                    "INSERT INTO pending (session_id, since_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    vec![session_id.into(), now_ms().into()],
                )?;
                Ok(None)
            }
            ReconcilerCommand::Track {
                session_id,
                pending: false,
            } => {
                self.sql.exec(
                    "DELETE FROM pending WHERE session_id = ?",
                    vec![session_id.into()],
                )?;
                Ok(None)
            }
            ReconcilerCommand::Due { older_than_ms } => self.session_ids(
                "SELECT session_id FROM pending WHERE since_ms <= ? ORDER BY since_ms LIMIT 500",
                now_ms() - older_than_ms,
            ),
            ReconcilerCommand::Expiring {
                session_id,
                expires_at_ms,
            } => {
                self.sql.exec(
                    "INSERT INTO expiring (session_id, expires_at_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    vec![session_id.into(), expires_at_ms.into()],
                )?;
                Ok(None)
            }
            ReconcilerCommand::Expired { now_ms } => self.session_ids(
                "SELECT session_id FROM expiring WHERE expires_at_ms <= ? ORDER BY expires_at_ms LIMIT 500",
                now_ms,
            ),
            ReconcilerCommand::Forget { session_id } => {
                self.sql.exec(
                    "DELETE FROM expiring WHERE session_id = ?",
                    vec![session_id.into()],
                )?;
                Ok(None)
            }
        }
    }
}

impl Reconciler {
    /// The session ids a `SELECT session_id ... <= ?` query finds.
    fn session_ids(&self, query: &str, bound: i64) -> Result<Option<Vec<String>>> {
        #[derive(Deserialize)]
        struct Row {
            session_id: String,
        }
        let rows: Vec<Row> = self.sql.exec(query, vec![bound.into()])?.to_array()?;
        Ok(Some(rows.into_iter().map(|r| r.session_id).collect()))
    }
}
