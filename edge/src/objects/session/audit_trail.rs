//! The session's audit trail: append-only, one row per thing that happened: each command that
//! could change the session (with its outcome) and each change of the record (what changed),
//! with the time and the Worker request ids behind it.
//!
//! Changes are attributed to every request in flight in this object when they were written
//! (usually one; two when a request arrived while another awaited a provider), or to `alarm`.
//!
//! The trail is bounded, because anyone can call a session's callback URL: an entry identical to
//! the last one (the same repeated callback and outcome) is not added again but counted on that
//! row (`repeats`, with the time and request ids of the latest), and past [`MAX_ROWS`] rows one
//! final `truncated` row counts what was no longer kept. Rows are otherwise only ever inserted.
//! It is read a page at a time ([`ListPage`]), by `seq`.
//!
//! Reads write nothing: the widget's status poll (`widget_view`) is on the trail only when it
//! changed the session (a WeChat query that settled the payment), and then with the changes it
//! made; a poll that changed nothing appends no row and bumps no counter.

use std::cell::{Cell, RefCell};

use checkout_core::api::{List, ListPage};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{CheckoutSession, SessionCommand};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::objects::session_record::{audit, SessionRecord};

pub const AUDIT_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
     at_ms INTEGER NOT NULL, request_ids TEXT NOT NULL, entry TEXT NOT NULL, \
     repeats INTEGER NOT NULL DEFAULT 1, last_at_ms INTEGER, last_request_ids TEXT)";

/// The most rows a session's trail keeps, the `truncated` row included. An honest session
/// writes a few dozen.
pub const MAX_ROWS: i64 = 500;

/// The requests this object is serving right now, and how many record changes it has put on the
/// trail (so a read can tell whether it changed anything).
#[derive(Debug, Default)]
pub struct InFlight(RefCell<Vec<String>>, Cell<u64>);

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

    /// Counts a change of the record that went on the trail.
    fn changed(&self) {
        self.1.set(self.1.get() + 1);
    }

    /// How many record changes went on the trail since the object started.
    pub fn changes(&self) -> u64 {
        self.1.get()
    }
}

/// When a command's own `request` entry goes on the trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditRule {
    /// Commands that can change the session: always, with their outcome.
    Always,
    /// Reads that may settle a payment on the way (the widget's status poll): only when they
    /// changed the session (put a change on the trail).
    IfChanged,
    /// Pure reads: never.
    Never,
}

impl AuditRule {
    pub fn audits(self, changed: bool) -> bool {
        match self {
            AuditRule::Always => true,
            AuditRule::IfChanged => changed,
            AuditRule::Never => false,
        }
    }
}

/// The command's name, and when it is audited.
pub fn op_of(command: &SessionCommand) -> (&'static str, AuditRule) {
    let rule = match command {
        SessionCommand::Retrieve { .. }
        | SessionCommand::AuthorizeClient { .. }
        | SessionCommand::ProviderStatus { .. }
        | SessionCommand::Audit { .. } => AuditRule::Never,
        SessionCommand::WidgetView { .. } => AuditRule::IfChanged,
        _ => AuditRule::Always,
    };
    (command.name(), rule)
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
            self.in_flight.changed();
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
        let exists = self.with_stored(|record| record.is_some()).unwrap_or(false);
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
        #[derive(Deserialize)]
        struct Last {
            seq: i64,
            entry: String,
        }
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        if let (Value::Object(head), Value::Object(entry)) = (&mut head, entry) {
            head.extend(entry);
        }
        let rows: Vec<Count> = self
            .sql
            .exec("SELECT COUNT(*) AS n FROM audit", None)?
            .to_array()?;
        let full = rows.first().is_some_and(|c| c.n >= MAX_ROWS - 1);
        let text = if full {
            json!({"kind": "truncated", "what": "audit_truncated"}).to_string()
        } else {
            head.to_string()
        };
        let ids = serde_json::to_string(&request_ids)?;
        let last: Vec<Last> = self
            .sql
            .exec(
                "SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1",
                None,
            )?
            .to_array()?;
        match last.first() {
            Some(last) if last.entry == text => {
                self.sql.exec(
                    "UPDATE audit SET repeats = repeats + 1, last_at_ms = ?, last_request_ids = ? \
                     WHERE seq = ?",
                    vec![now_ms().into(), ids.into(), last.seq.into()],
                )?;
            }
            _ => {
                self.sql.exec(
                    "INSERT INTO audit (at_ms, request_ids, entry) VALUES (?, ?, ?)",
                    vec![now_ms().into(), ids.into(), text.into()],
                )?;
            }
        }
        Ok(())
    }

    /// One page of the trail, oldest first: the entries after `page.starting_after`.
    pub(super) fn audit_trail(&self, page: ListPage) -> Result<List<Value>> {
        #[derive(Deserialize)]
        struct Row {
            seq: i64,
            at_ms: i64,
            request_ids: String,
            entry: String,
            repeats: i64,
            last_at_ms: Option<i64>,
            last_request_ids: Option<String>,
        }
        let limit = i64::from(page.limit);
        let mut rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT seq, at_ms, request_ids, entry, repeats, last_at_ms, last_request_ids \
                 FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                vec![page.starting_after.unwrap_or(0).into(), (limit + 1).into()],
            )?
            .to_array()?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(page.limit as usize);
        let data = rows
            .into_iter()
            .map(|row| {
                let mut entry: Value = serde_json::from_str(&row.entry)?;
                entry["seq"] = row.seq.into();
                entry["at_ms"] = row.at_ms.into();
                entry["request_ids"] = serde_json::from_str(&row.request_ids)?;
                if row.repeats > 1 {
                    entry["repeats"] = row.repeats.into();
                    entry["last_at_ms"] = row.last_at_ms.into();
                    if let Some(ids) = &row.last_request_ids {
                        entry["last_request_ids"] = serde_json::from_str(ids)?;
                    }
                }
                Ok(entry)
            })
            .collect::<Result<Vec<Value>>>()?;
        Ok(List::new(data, has_more))
    }
}
