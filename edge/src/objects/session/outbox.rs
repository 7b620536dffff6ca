//! The session's outbox of merchant events (and the metric samples and provider attempts that
//! travel with them). An item is written in the same synchronous turn as the record change that
//! caused it (`CheckoutSession::save`), so a change can never happen without its event. It is
//! then handed to the merchant's `Webhooks` object **after the reply** (`State::wait_until`), so
//! no command waits for that hop, and deleted once that object has it.
//!
//! Every step is written down before its side effect: the item before the hand-over, the
//! hand-over before the delete. A hand-over that fails leaves the items and sets the alarm; an
//! instance that dies before its hand-over is done is covered by the alarm too, which
//! `after_commit` moves to at most `RECOVERY_AFTER_S` away while items wait ([`Delivery::backstop`])
//! and the delivery puts back to the saga's own time once done. The alarm hands the outbox over
//! first. A repeat (an alarm and a delivery at once, a delete that failed) is harmless: `Webhooks`
//! keeps an event once by its id, a metric sample once by its id, an attempt once by its payment.
//!
//! The items of one change go in one multi-row `INSERT`; a delivery reads the outbox again after
//! its delete only if something was written meanwhile ([`Delivery`] counts the writes). Once a
//! delivery has emptied the table, the instance keeps a copy of what it writes there (the items
//! and the sequence numbers the `INSERT` answers), and the next delivery hands that over instead
//! of reading the table back; at start, and after any failure, the copy is unknown and the table
//! is read.

use checkout_core::webhook::Event;
use serde::{Deserialize, Serialize};

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use worker::{Env, SqlStorage, Storage};

use super::{CheckoutSession, RECOVERY_AFTER_S};
use crate::clock::{now_ms, now_s};
use crate::crypto::random_id;
use crate::error::Result;
use crate::objects::rpc;
use crate::objects::session_record::attempts::{self, ProviderAttempt};
use crate::objects::session_record::{events, SessionRecord};
use crate::objects::webhooks::metrics::MetricSample;
use crate::objects::webhooks::{self, WebhookCommand};

/// What the outbox holds: events for the merchant, and metric samples beside them.
#[derive(Debug, Serialize, Deserialize)]
enum OutboxItem {
    Event(Event),
    Sample(MetricSample),
    /// An attempt at a provider, for the merchant's index the reconciliation report walks.
    Attempt(ProviderAttempt),
}

/// Items per `INSERT` (one bound parameter each; SQL storage binds at most 100 per statement).
const ITEMS_PER_INSERT: usize = 50;

pub const OUTBOX_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)";

impl CheckoutSession {
    /// Writes the events of the change from `before` to `after` (no I/O: same turn as the save).
    pub(super) fn record_events(
        &self,
        before: &SessionRecord,
        after: &SessionRecord,
    ) -> Result<()> {
        let mut items = Vec::new();
        for (kind, data) in events::changes(before, after) {
            let event = Event {
                id: format!("evt_{}", random_id(24)?),
                kind,
                created: now_s(),
                livemode: after.livemode,
                session_id: after.id.clone(),
                data,
            };
            items.push(OutboxItem::Event(event));
        }
        for attempt in attempts::changes(before, after) {
            items.push(OutboxItem::Attempt(attempt));
        }
        for (method, succeeded, code) in events::outcomes(before, after) {
            items.push(OutboxItem::Sample(MetricSample::PaymentOutcome {
                id: format!("ms_{}", random_id(20)?),
                method,
                succeeded,
                code,
                at_ms: now_ms(),
            }));
        }
        self.push_outbox(items)
    }

    /// Writes a metric sample; it travels to the merchant's object with the events.
    pub(super) fn record_sample(&self, sample: MetricSample) -> Result<()> {
        self.push_outbox(vec![OutboxItem::Sample(sample)])
    }

    /// Writes `items` in order, in one statement per [`ITEMS_PER_INSERT`], and keeps them in
    /// the in-memory copy ([`Delivery::copy`]) with the sequence numbers the insert answered.
    fn push_outbox(&self, items: Vec<OutboxItem>) -> Result<()> {
        #[derive(Deserialize)]
        struct Inserted {
            seq: i64,
        }
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let chunk: Vec<OutboxItem> = items.by_ref().take(ITEMS_PER_INSERT).collect();
            let values = vec!["(?)"; chunk.len()].join(", ");
            let bindings = chunk
                .iter()
                .map(|item| Ok(serde_json::to_string(item)?.into()))
                .collect::<Result<Vec<_>>>()?;
            // Counted before the write: a delivery under way must read again whatever happens.
            self.delivery.written.set(self.delivery.written.get() + 1);
            self.delivery.pending.set(true);
            let inserted: Result<Vec<Inserted>> = self
                .sql
                .exec(
                    &format!("INSERT INTO outbox (event) VALUES {values} RETURNING seq"),
                    bindings,
                )
                .and_then(|cursor| cursor.to_array())
                .map_err(Into::into);
            match inserted {
                Ok(rows) if rows.len() == chunk.len() => {
                    if let Some(copy) = self.delivery.copy.borrow_mut().as_mut() {
                        copy.extend(rows.into_iter().map(|r| r.seq).zip(chunk));
                    }
                }
                other => {
                    // What the table holds is no longer known here: the next delivery reads it.
                    self.delivery.copy.replace(None);
                    other?;
                }
            }
        }
        Ok(())
    }

    /// Hands the outbox to the merchant's `Webhooks` object after the reply: the object stays
    /// alive for it (`State::wait_until`). One delivery at a time; it also takes what later
    /// commands write while it runs.
    pub(super) fn deliver_after_reply(&self) {
        if let Some(job) = self.delivery_job() {
            self.state.wait_until(job.run());
        }
    }

    /// Hands the outbox over now (the alarm: nothing waits for it).
    pub(super) async fn flush_outbox(&self) {
        if let Some(job) = self.delivery_job() {
            job.run().await;
        }
    }

    /// A delivery, if items may be waiting and none is running.
    fn delivery_job(&self) -> Option<DeliveryJob> {
        if self.delivery.running.get() || !self.delivery.pending.get() {
            return None;
        }
        // No record, no merchant to hand anything to (and nothing was written).
        let scope = self
            .with_stored(|record| record.map(|r| r.merchant_scope.clone()))
            .ok()??;
        self.delivery.running.set(true);
        Some(DeliveryJob {
            sql: self.sql.clone(),
            env: self.env.clone(),
            storage: self.state.storage(),
            alarm: self.alarm.clone(),
            scope,
            shared: self.delivery.clone(),
        })
    }
}

/// What the object and its deliveries share (one object runs one event at a time, so `Cell`s).
#[derive(Clone)]
pub(super) struct Delivery {
    /// A delivery is running.
    running: Rc<Cell<bool>>,
    /// Items may be waiting: set by every write to the outbox, and at start (not known yet).
    pending: Rc<Cell<bool>>,
    /// Writes to the outbox so far: a delivery that saw no new one since its read has emptied it.
    written: Rc<Cell<u64>>,
    /// The saga's own alarm time (`None`: no alarm), when [`Delivery::backstop`] moved the alarm
    /// before it; put back once the outbox is delivered.
    restore: Rc<Cell<Option<Option<i64>>>>,
    /// The outbox's rows (sequence number, item) as this instance wrote them, when it knows them
    /// all: `None` at start and after any failure, until a delivery has read the table and
    /// emptied it. A delivery then hands these over without reading the table back (one
    /// `SELECT` and the items' parse fewer per change). The table stays the source of truth:
    /// what this copy holds was written there in the same turn.
    copy: Rc<RefCell<Option<Rows>>>,
}

/// Outbox rows: each item with its sequence number, in order.
type Rows = Vec<(i64, OutboxItem)>;

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            running: Rc::new(Cell::new(false)),
            pending: Rc::new(Cell::new(true)),
            written: Rc::new(Cell::new(0)),
            restore: Rc::new(Cell::new(None)),
            copy: Rc::new(RefCell::new(None)),
        }
    }
}

impl Delivery {
    /// The alarm time for the saga's `due` while items may wait for their hand-over: at most
    /// `RECOVERY_AFTER_S` away, so an instance that dies before delivering cannot strand them.
    pub(super) fn backstop(&self, due: Option<i64>, now_s: i64) -> Option<i64> {
        self.restore.set(None);
        if !self.pending.get() {
            return due;
        }
        let backstop = now_s + RECOVERY_AFTER_S;
        match due {
            Some(at) if at <= backstop => due,
            _ => {
                self.restore.set(Some(due));
                Some(backstop)
            }
        }
    }
}

/// One hand-over of the outbox, owning what it needs (it outlives the request).
struct DeliveryJob {
    sql: SqlStorage,
    env: Env,
    storage: Storage,
    alarm: super::alarm::Alarm,
    scope: String,
    shared: Delivery,
}

impl DeliveryJob {
    async fn run(self) {
        let outcome = self.deliver_all().await;
        self.shared.running.set(false);
        match outcome {
            Ok(()) => {
                // Emptied in the same turn as the last read found nothing, or as the last delete
                // after which nothing had been written.
                self.shared.pending.set(false);
                if let Some(due) = self.shared.restore.take() {
                    if let Err(e) = self.alarm.write(&self.storage, due).await {
                        crate::log::event(
                            crate::log::Level::Warn,
                            serde_json::json!({"object": "session", "outbox_alarm": e.to_string()}),
                        );
                    }
                }
            }
            Err(e) => {
                crate::log::event(
                    crate::log::Level::Error,
                    serde_json::json!({"level": "error", "object": "session", "outbox": e.to_string()}),
                );
                // Moved without `Alarm::write`: what it was is no longer known.
                self.alarm.forget();
                crate::objects::alarm_within(&self.storage, RECOVERY_AFTER_S * 1000).await;
            }
        }
    }

    /// Hands over and deletes batches until the outbox is empty: after a delete, it is read again
    /// only if something was written since the read (the delete and this check are one turn).
    async fn deliver_all(&self) -> Result<()> {
        let delivered = self.deliver_batches().await;
        let mut copy = self.shared.copy.borrow_mut();
        match delivered {
            // The table is empty (the last delete and this are one turn): known from here on.
            Ok(()) => *copy = Some(Vec::new()),
            Err(_) => *copy = None,
        }
        delivered
    }

    /// The rows to hand over and the last one's sequence number: the in-memory copy's when it is
    /// known (taken: what is written meanwhile goes into a fresh one), else the table's.
    fn take_rows(&self) -> Result<Option<(Vec<OutboxItem>, i64)>> {
        let taken = self.shared.copy.borrow_mut().as_mut().map(std::mem::take);
        match taken {
            Some(rows) => Ok(rows
                .last()
                .map(|(last, _)| *last)
                .map(|last| (rows.into_iter().map(|(_, item)| item).collect(), last))),
            None => crate::objects::read_outbox::<OutboxItem>(&self.sql),
        }
    }

    async fn deliver_batches(&self) -> Result<()> {
        loop {
            let seen = self.shared.written.get();
            let Some((items, last)) = self.take_rows()? else {
                return Ok(());
            };
            let (mut events, mut samples, mut attempts) = (Vec::new(), Vec::new(), Vec::new());
            for item in items {
                match item {
                    OutboxItem::Event(event) => events.push(event),
                    OutboxItem::Sample(sample) => samples.push(sample),
                    OutboxItem::Attempt(attempt) => attempts.push(attempt),
                }
            }
            let stub = webhooks::stub(&self.env, &self.scope)?;
            rpc::call::<_, ()>(
                &stub,
                &WebhookCommand::Enqueue {
                    events,
                    samples,
                    attempts,
                },
            )
            .await?;
            crate::objects::clear_outbox(&self.sql, last)?;
            if self.shared.written.get() == seen {
                return Ok(());
            }
        }
    }
}
