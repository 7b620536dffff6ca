//! The session's audit trail: append-only, one row per thing that happened: each command that
//! could change the session (with its outcome) and each change of the record (what changed),
//! with the time and the Worker request ids behind it.
//!
//! Changes are attributed to every request in flight in this object when they were written
//! (usually one; two when a request arrived while another awaited a provider), or to `alarm`.
//! Rows are only ever inserted.

use std::cell::RefCell;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{CheckoutSession, SessionCommand};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::objects::session_record::{audit, SessionRecord};

pub const AUDIT_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
     at_ms INTEGER NOT NULL, request_ids TEXT NOT NULL, entry TEXT NOT NULL)";

/// The requests this object is serving right now.
#[derive(Debug, Default)]
pub struct InFlight(RefCell<Vec<String>>);

impl InFlight {
    pub fn enter(&self, source: &str) {
        self.0.borrow_mut().push(source.to_owned());
    }

    pub fn leave(&self, source: &str) {
        let mut sources = self.0.borrow_mut();
        if let Some(at) = sources.iter().position(|s| s == source) {
            sources.remove(at);
        }
    }

    fn ids(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// The command's name, and whether it can change the session (only those are audited).
pub fn op_of(command: &SessionCommand) -> (String, bool) {
    let op = serde_json::to_value(command)
        .ok()
        .and_then(|v| v["op"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let changes = !matches!(
        command,
        SessionCommand::Retrieve { .. }
            | SessionCommand::AuthorizeClient { .. }
            | SessionCommand::ProviderStatus { .. }
            | SessionCommand::Audit { .. }
    );
    (op, changes)
}

impl CheckoutSession {
    /// Appends the entries of a record change (same turn as the write).
    pub(super) fn audit_changes(
        &self,
        before: Option<&SessionRecord>,
        after: &SessionRecord,
    ) -> Result<()> {
        for entry in audit::changes(before, after) {
            self.append_audit(json!({"kind": "change"}), entry, self.in_flight.ids())?;
        }
        Ok(())
    }

    /// Appends a finding (`kind: "finding"`), e.g. reconciliation's disagreement with a provider.
    pub(super) fn audit_finding(&self, entry: Value) -> Result<()> {
        self.append_audit(json!({"kind": "finding"}), entry, self.in_flight.ids())
    }

    /// Appends a command's outcome: `ok`, or the error code it answered.
    pub(super) fn audit_command<T>(&self, op: &str, source: &str, result: &Result<T>) {
        let outcome = match result {
            Ok(_) => "ok".to_owned(),
            Err(Error::Api(detail)) => detail.code.as_str().to_owned(),
            Err(_) => "internal_error".to_owned(),
        };
        let entry = json!({"what": "command", "op": op, "outcome": outcome});
        // Only a session that exists has a trail; a failed create leaves none.
        let exists = self.load().ok().flatten().is_some();
        if exists {
            if let Err(e) =
                self.append_audit(json!({"kind": "request"}), entry, vec![source.to_owned()])
            {
                crate::log::event(
                    crate::log::Level::Error,
                    json!({"object": "session", "audit": e.to_string()}),
                );
            }
        }
    }

    fn append_audit(&self, mut head: Value, entry: Value, request_ids: Vec<String>) -> Result<()> {
        if let (Value::Object(head), Value::Object(entry)) = (&mut head, entry) {
            head.extend(entry);
        }
        self.sql.exec(
            "INSERT INTO audit (at_ms, request_ids, entry) VALUES (?, ?, ?)",
            vec![
                now_ms().into(),
                serde_json::to_string(&request_ids)?.into(),
                head.to_string().into(),
            ],
        )?;
        Ok(())
    }

    /// The whole trail, oldest first.
    pub(super) fn audit_trail(&self) -> Result<Vec<Value>> {
        #[derive(Deserialize)]
        struct Row {
            seq: i64,
            at_ms: i64,
            request_ids: String,
            entry: String,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT seq, at_ms, request_ids, entry FROM audit ORDER BY seq",
                None,
            )?
            .to_array()?;
        rows.into_iter()
            .map(|row| {
                let mut entry: Value = serde_json::from_str(&row.entry)?;
                entry["seq"] = row.seq.into();
                entry["at_ms"] = row.at_ms.into();
                entry["request_ids"] = serde_json::from_str(&row.request_ids)?;
                Ok(entry)
            })
            .collect()
    }
}
