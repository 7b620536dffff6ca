//! The `Reconciler` Durable Object: the registry of sessions with an unfinished external leg or
//! refund, which the reconciliation cron walks.
//!
//! Sessions settle themselves (callbacks, alarms); this registry is the safety net that finds any
//! leg left pending past a threshold, for example when a callback never came.

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
}

/// Records whether `session_id` has something the cron must watch.
pub async fn track(env: &Env, session_id: &str, pending: bool) -> Result<()> {
    let stub = env
        .durable_object("RECONCILER")?
        .get_by_name(REGISTRY_NAME)?;
    let command = ReconcilerCommand::Track {
        session_id: session_id.to_owned(),
        pending,
    };
    rpc::call::<_, ()>(&stub, &command).await
}

/// Sessions pending for at least `older_than_ms`.
pub async fn due(env: &Env, older_than_ms: i64) -> Result<Vec<String>> {
    let stub = env
        .durable_object("RECONCILER")?
        .get_by_name(REGISTRY_NAME)?;
    rpc::call(&stub, &ReconcilerCommand::Due { older_than_ms }).await
}

#[durable_object]
pub struct Reconciler {
    sql: SqlStorage,
}

impl DurableObject for Reconciler {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(
            "CREATE TABLE IF NOT EXISTS pending (session_id TEXT PRIMARY KEY, since_ms INTEGER NOT NULL)",
            None,
        ) {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"object": "reconciler", "schema": e.to_string()}),
            );
        }
        Reconciler { sql }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let result = match rpc::command::<ReconcilerCommand>(req).await {
            Ok(command) => self.handle(command),
            Err(e) => Err(e),
        };
        rpc::reply("reconciler", result)
    }
}

impl Reconciler {
    fn handle(&self, command: ReconcilerCommand) -> Result<serde_json::Value> {
        match command {
            ReconcilerCommand::Track {
                session_id,
                pending: true,
            } => {
                self.sql.exec(
                    "INSERT INTO pending (session_id, since_ms) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    vec![session_id.into(), now_ms().into()],
                )?;
                Ok(serde_json::Value::Null)
            }
            ReconcilerCommand::Track {
                session_id,
                pending: false,
            } => {
                self.sql.exec(
                    "DELETE FROM pending WHERE session_id = ?",
                    vec![session_id.into()],
                )?;
                Ok(serde_json::Value::Null)
            }
            ReconcilerCommand::Due { older_than_ms } => {
                #[derive(Deserialize)]
                struct Row {
                    session_id: String,
                }
                let rows: Vec<Row> = self
                    .sql
                    .exec(
                        "SELECT session_id FROM pending WHERE since_ms <= ? ORDER BY since_ms LIMIT 500",
                        vec![(now_ms() - older_than_ms).into()],
                    )?
                    .to_array()?;
                let ids: Vec<String> = rows.into_iter().map(|r| r.session_id).collect();
                Ok(serde_json::to_value(ids)?)
            }
        }
    }
}
