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
//!
//! Writing costs one statement per record write and one per command: the entries of one change
//! go in one multi-row `INSERT` (SQL storage binds parameters to one statement only, Cloudflare
//! "SQL Storage", `exec`, so several statements in one `exec` could not carry them), and the
//! row count and last entry that the bound and the repeat rule need are kept in memory
//! ([`Tail`], write-through, read once per instance in one statement), where each append used to
//! read both first (three statements per entry).

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

/// The rows in the trail and the last row's entry, as this instance last read or wrote them
/// (`None`: not read yet, or a write failed). Only this object writes its trail, one event at a
/// time, so the copy stays the stored tail.
#[derive(Debug, Default)]
pub struct Tail(RefCell<Option<(i64, Option<String>)>>);

/// Rows per `INSERT` (three bound parameters each; SQL storage binds at most 100 per statement).
const ROWS_PER_INSERT: usize = 30;

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
        let entries = audit::changes(before, after);
        let texts: Vec<String> = entries
            .into_iter()
            .map(|entry| entry_text(json!({"kind": "change"}), entry))
            .collect();
        for _ in &texts {
            self.in_flight.changed();
        }
        self.append_entries(texts, &self.in_flight.ids())
    }

    /// Appends a finding (`kind: "finding"`), e.g. reconciliation's disagreement with a provider.
    pub(super) fn audit_finding(&self, entry: Value) -> Result<()> {
        let text = entry_text(json!({"kind": "finding"}), entry);
        self.append_entries(vec![text], &self.in_flight.ids())
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
            let text = entry_text(json!({"kind": "request"}), entry);
            if let Err(e) = self.append_entries(vec![text], &[source.to_owned()]) {
                crate::log::event(
                    crate::log::Level::Error,
                    json!({"object": "session", "audit": e.to_string()}),
                );
            }
        }
    }

    /// Appends `texts` (entries as JSON text), in order, for `request_ids`: an entry equal to the
    /// one before it (the last row, or the previous one here) is counted on that row instead;
    /// past [`MAX_ROWS`] the rest is counted on one `truncated` row. One statement per run of new
    /// rows (usually all of them), one per repeat.
    fn append_entries(&self, texts: Vec<String>, request_ids: &[String]) -> Result<()> {
        if texts.is_empty() {
            return Ok(());
        }
        let appended = self.try_append(texts, request_ids);
        if appended.is_err() {
            // Whatever was written, the next append reads the stored tail again.
            self.audit_tail.0.replace(None);
        }
        appended
    }

    fn try_append(&self, texts: Vec<String>, request_ids: &[String]) -> Result<()> {
        let (rows, last) = self.audit_tail()?;
        let ids = serde_json::to_string(request_ids)?;
        let now = now_ms();
        let (writes, tail) = plan(rows, last, texts);
        for write in writes {
            match write {
                Write::Insert(texts) => self.insert_audit_rows(&texts, &ids, now)?,
                Write::Repeat => {
                    self.sql.exec(
                        "UPDATE audit SET repeats = repeats + 1, last_at_ms = ?, \
                         last_request_ids = ? WHERE seq = (SELECT MAX(seq) FROM audit)",
                        vec![now.into(), ids.as_str().into()],
                    )?;
                }
            }
        }
        self.audit_tail.0.replace(Some(tail));
        Ok(())
    }

    /// The row count and the last entry, from memory or (once per instance) one statement.
    fn audit_tail(&self) -> Result<(i64, Option<String>)> {
        if let Some(tail) = self.audit_tail.0.borrow().clone() {
            return Ok(tail);
        }
        #[derive(Deserialize)]
        struct Row {
            n: i64,
            entry: Option<String>,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT (SELECT COUNT(*) FROM audit) AS n, \
                 (SELECT entry FROM audit ORDER BY seq DESC LIMIT 1) AS entry",
                None,
            )?
            .to_array()?;
        let tail = rows
            .into_iter()
            .next()
            .map_or((0, None), |r| (r.n, r.entry));
        self.audit_tail.0.replace(Some(tail.clone()));
        Ok(tail)
    }

    /// Inserts `texts` as new rows, in order, in as few statements as the binding limit allows.
    fn insert_audit_rows(&self, texts: &[String], ids: &str, now: i64) -> Result<()> {
        for chunk in texts.chunks(ROWS_PER_INSERT) {
            let values = vec!["(?, ?, ?)"; chunk.len()].join(", ");
            let mut bindings = Vec::with_capacity(3 * chunk.len());
            for text in chunk {
                bindings.push(now.into());
                bindings.push(ids.into());
                bindings.push(text.as_str().into());
            }
            self.sql.exec(
                &format!("INSERT INTO audit (at_ms, request_ids, entry) VALUES {values}"),
                bindings,
            )?;
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

/// One write to the trail: new rows, or one more repeat of the last row.
#[derive(Debug, PartialEq, Eq)]
enum Write {
    Insert(Vec<String>),
    Repeat,
}

/// The writes that append `texts` to a trail of `rows` rows whose last entry is `last`, in
/// order, and the trail's tail after them: an entry equal to the one before it is a repeat of
/// that row, and once the trail holds `MAX_ROWS - 1` rows every entry becomes the `truncated`
/// one (one last row, then its repeats).
fn plan(
    mut rows: i64,
    mut last: Option<String>,
    texts: Vec<String>,
) -> (Vec<Write>, (i64, Option<String>)) {
    let mut writes = Vec::new();
    let mut new_rows: Vec<String> = Vec::new();
    for text in texts {
        let text = if rows >= MAX_ROWS - 1 {
            json!({"kind": "truncated", "what": "audit_truncated"}).to_string()
        } else {
            text
        };
        if last.as_deref() == Some(text.as_str()) {
            // The rows before it first, so the repeat is counted on the row it repeats.
            if !new_rows.is_empty() {
                writes.push(Write::Insert(std::mem::take(&mut new_rows)));
            }
            writes.push(Write::Repeat);
        } else {
            new_rows.push(text.clone());
            rows += 1;
        }
        last = Some(text);
    }
    if !new_rows.is_empty() {
        writes.push(Write::Insert(new_rows));
    }
    (writes, (rows, last))
}

/// An entry as stored: `head` (its kind) with the entry's fields after it.
fn entry_text(mut head: Value, entry: Value) -> String {
    if let (Value::Object(head), Value::Object(entry)) = (&mut head, entry) {
        head.extend(entry);
    }
    head.to_string()
}

#[cfg(test)]
mod tests {
    use super::{plan, Write, MAX_ROWS};

    fn texts(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| (*e).to_owned()).collect()
    }

    #[test]
    fn a_changes_entries_are_one_insert_and_a_repeat_counts_on_its_row() {
        let (writes, tail) = plan(3, Some("a".into()), texts(&["b", "c"]));
        assert_eq!(writes, [Write::Insert(texts(&["b", "c"]))]);
        assert_eq!(tail, (5, Some("c".into())));
        // The same callback again: counted on the last row, no new row.
        let (writes, tail) = plan(5, Some("c".into()), texts(&["c"]));
        assert_eq!(writes, [Write::Repeat]);
        assert_eq!(tail, (5, Some("c".into())));
        // A repeat within one batch: the rows before it are written first.
        let (writes, tail) = plan(0, None, texts(&["x", "x", "y"]));
        assert_eq!(
            writes,
            [
                Write::Insert(texts(&["x"])),
                Write::Repeat,
                Write::Insert(texts(&["y"]))
            ]
        );
        assert_eq!(tail, (2, Some("y".into())));
    }

    #[test]
    fn a_full_trail_ends_in_one_truncated_row_that_counts_the_rest() {
        let (writes, tail) = plan(MAX_ROWS - 2, Some("a".into()), texts(&["b", "c", "d"]));
        let truncated =
            serde_json::json!({"kind": "truncated", "what": "audit_truncated"}).to_string();
        assert_eq!(
            writes,
            [
                Write::Insert(vec!["b".to_owned(), truncated.clone()]),
                Write::Repeat
            ]
        );
        assert_eq!(tail, (MAX_ROWS, Some(truncated)));
    }
}
