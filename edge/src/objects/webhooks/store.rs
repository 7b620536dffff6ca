//! The `Webhooks` object's SQL: the endpoint, events (with the exact body delivered) and every
//! delivery attempt.

use checkout_core::webhook::Event;
use serde::Deserialize;
use worker::SqlStorage;

use super::{Attempt, Endpoint};
use crate::error::Result;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS endpoint (k INTEGER PRIMARY KEY CHECK (k = 1), url TEXT NOT NULL, secret TEXT NOT NULL, created_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, next_attempt_ms INTEGER)",
    "CREATE INDEX IF NOT EXISTS events_due ON events (status, next_attempt_ms)",
    "CREATE TABLE IF NOT EXISTS attempts (event_id TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, http_status INTEGER, error TEXT, duration_ms INTEGER NOT NULL, PRIMARY KEY (event_id, n))",
];

/// Tables added after objects already held data: each is created with the query that fills it
/// from what the object already has, run once, when (and only when) the table is created.
type Backfill = fn(&SqlStorage, i64) -> Result<()>;
const DERIVED: &[(&str, &str, Backfill)] = &[
    (
        super::report::VOLUME_TABLE,
        super::report::VOLUME_SCHEMA,
        super::report::backfill_volume,
    ),
    (
        super::metrics::ROLLUP_TABLE,
        super::metrics::ROLLUP_SCHEMA,
        super::metrics::backfill_rollups,
    ),
];

fn schema_error(message: &str) {
    crate::log::event(
        crate::log::Level::Error,
        serde_json::json!({"message": format!("webhooks schema: {message}")}),
    );
}

/// Creates `table` if it is missing, and then, in the same synchronous turn (no other request
/// runs in between), fills it from the object's existing rows.
fn create_derived(sql: &SqlStorage, table: &str, schema: &str, backfill: &Backfill) -> Result<()> {
    #[derive(Deserialize)]
    struct Found {
        #[allow(dead_code)]
        name: String,
    }
    let found: Vec<Found> = sql
        .exec(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![table.into()],
        )?
        .to_array()?;
    if !found.is_empty() {
        return Ok(());
    }
    sql.exec(schema, None)?;
    backfill(sql, crate::clock::now_ms())
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventRow {
    pub id: String,
    pub created_ms: i64,
    pub body: String,
    pub status: String,
    pub next_attempt_ms: Option<i64>,
}

pub struct Store {
    sql: SqlStorage,
    /// The endpoint row as last read or written (`None`: not read yet; write-through, only
    /// [`Store::set_endpoint`] writes it, and a failed write forgets it). Every hand-over of a
    /// session's outbox asked for it twice.
    endpoint: std::cell::RefCell<Option<Option<Endpoint>>>,
}

impl Store {
    pub fn open(sql: SqlStorage) -> Store {
        // One `exec` of every statement (Cloudflare, "SQL Storage": several statements separated
        // by semicolons run in one call), not one call each.
        let statements: Vec<&str> = SCHEMA
            .iter()
            .chain(super::report::SCHEMA)
            .chain(super::metrics::SCHEMA)
            .chain(super::attempts::SCHEMA)
            .copied()
            .collect();
        if let Err(e) = sql.exec(&statements.join(";"), None) {
            schema_error(&e.to_string());
        }
        for (table, schema, backfill) in DERIVED {
            if let Err(e) = create_derived(&sql, table, schema, backfill) {
                schema_error(&e.to_string());
            }
        }
        Store {
            sql,
            endpoint: std::cell::RefCell::new(None),
        }
    }

    pub fn sql(&self) -> &SqlStorage {
        &self.sql
    }

    pub fn endpoint(&self) -> Result<Option<Endpoint>> {
        if let Some(known) = self.endpoint.borrow().as_ref() {
            return Ok(known.clone());
        }
        let rows: Vec<Endpoint> = self
            .sql
            .exec(
                "SELECT url, secret, created_at FROM endpoint WHERE k = 1",
                None,
            )?
            .to_array()?;
        let endpoint = rows.into_iter().next();
        self.endpoint.replace(Some(endpoint.clone()));
        Ok(endpoint)
    }

    pub fn set_endpoint(&self, endpoint: &Endpoint) -> Result<()> {
        let written = self.sql.exec(
            "INSERT INTO endpoint (k, url, secret, created_at) VALUES (1, ?, ?, ?) \
             ON CONFLICT (k) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at",
            vec![
                endpoint.url.as_str().into(),
                endpoint.secret.as_str().into(),
                endpoint.created_at.into(),
            ],
        );
        self.endpoint
            .replace(written.is_ok().then(|| Some(endpoint.clone())));
        written?;
        Ok(())
    }

    /// Stores an event once: due now with an endpoint, kept for a later resend without one.
    /// Whether it was new (an id seen before is ignored, in the same statement).
    pub fn insert_event(&self, event: &Event, has_endpoint: bool, now_ms: i64) -> Result<bool> {
        let (status, next): (&str, Option<i64>) = if has_endpoint {
            ("pending", Some(now_ms))
        } else {
            ("no_endpoint", None)
        };
        let cursor = self.sql.exec(
            "INSERT OR IGNORE INTO events (id, created_ms, body, status, next_attempt_ms) VALUES (?, ?, ?, ?, ?)",
            vec![
                event.id.as_str().into(),
                (event.created * 1000).into(),
                serde_json::to_string(event)?.into(),
                status.into(),
                next.into(),
            ],
        )?;
        // Cloudflare, "SQL Storage": a cursor's `rowsWritten`; an ignored insert writes none.
        Ok(cursor.rows_written() > 0)
    }

    pub fn event(&self, id: &str) -> Result<Option<EventRow>> {
        let rows: Vec<EventRow> = self
            .sql
            .exec(
                "SELECT id, created_ms, body, status, next_attempt_ms FROM events WHERE id = ?",
                vec![id.into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().next())
    }

    pub fn recent_events(&self, limit: usize) -> Result<Vec<EventRow>> {
        Ok(self
            .sql
            .exec(
                "SELECT id, created_ms, body, status, next_attempt_ms FROM events ORDER BY created_ms DESC, id LIMIT ?",
                vec![(limit as i64).into()],
            )?
            .to_array()?)
    }

    pub fn due_events(&self, now_ms: i64, limit: usize) -> Result<Vec<EventRow>> {
        Ok(self
            .sql
            .exec(
                "SELECT id, created_ms, body, status, next_attempt_ms FROM events \
                 WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY next_attempt_ms LIMIT ?",
                vec![now_ms.into(), (limit as i64).into()],
            )?
            .to_array()?)
    }

    pub fn next_due_ms(&self) -> Result<Option<i64>> {
        #[derive(Deserialize)]
        struct Row {
            due: Option<i64>,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT MIN(next_attempt_ms) AS due FROM events WHERE status = 'pending'",
                None,
            )?
            .to_array()?;
        Ok(rows.into_iter().next().and_then(|r| r.due))
    }

    pub fn make_due(&self, id: &str, now_ms: i64) -> Result<()> {
        self.sql.exec(
            "UPDATE events SET status = 'pending', next_attempt_ms = ? WHERE id = ?",
            vec![now_ms.into(), id.into()],
        )?;
        Ok(())
    }

    pub fn attempt_count(&self, id: &str) -> Result<u32> {
        #[derive(Deserialize)]
        struct Row {
            n: i64,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT COUNT(*) AS n FROM attempts WHERE event_id = ?",
                vec![id.into()],
            )?
            .to_array()?;
        Ok(rows.first().map_or(0, |r| r.n as u32))
    }

    /// Writes an attempt and the event's new state in one turn.
    pub fn record_attempt(
        &self,
        id: &str,
        attempt: &Attempt,
        delivered: bool,
        next_attempt_ms: Option<i64>,
    ) -> Result<()> {
        let n = self.attempt_count(id)? + 1;
        self.sql.exec(
            "INSERT INTO attempts (event_id, n, at, http_status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                id.into(),
                i64::from(n).into(),
                attempt.at.into(),
                attempt.http_status.map(i64::from).into(),
                attempt.error.clone().into(),
                attempt.duration_ms.into(),
            ],
        )?;
        let (status, next) = match (delivered, next_attempt_ms) {
            (true, _) => ("delivered", None),
            (false, Some(next)) => ("pending", Some(next)),
            (false, None) => ("failed", None),
        };
        self.sql.exec(
            "UPDATE events SET status = ?, next_attempt_ms = ? WHERE id = ?",
            vec![status.into(), next.into(), id.into()],
        )?;
        Ok(())
    }

    pub fn attempts(&self, id: &str) -> Result<Vec<Attempt>> {
        #[derive(Deserialize)]
        struct Row {
            at: i64,
            http_status: Option<i64>,
            error: Option<String>,
            duration_ms: i64,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT at, http_status, error, duration_ms FROM attempts WHERE event_id = ? ORDER BY n",
                vec![id.into()],
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| Attempt {
                at: r.at,
                http_status: r.http_status.map(|s| s as u16),
                error: r.error,
                duration_ms: r.duration_ms,
            })
            .collect())
    }
}
