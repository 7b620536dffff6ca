//! The session's outbox of merchant events (and the metric samples that travel with them). An event is written in the same synchronous turn as
//! the record change that caused it (`CheckoutSession::save`), so a change can never happen
//! without its event; it is then handed to the merchant's `Webhooks` object, which delivers it,
//! and kept here until that object has it.

use checkout_core::webhook::Event;
use serde::{Deserialize, Serialize};

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

pub const OUTBOX_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)";

impl CheckoutSession {
    /// Writes the events of the change from `before` to `after` (no I/O: same turn as the save).
    pub(super) fn record_events(
        &self,
        before: &SessionRecord,
        after: &SessionRecord,
    ) -> Result<()> {
        for (kind, data) in events::changes(before, after) {
            let event = Event {
                id: format!("evt_{}", random_id(24)?),
                kind,
                created: now_s(),
                livemode: after.livemode,
                session_id: after.id.clone(),
                data,
            };
            self.push_outbox(&OutboxItem::Event(event))?;
        }
        for attempt in attempts::changes(before, after) {
            self.push_outbox(&OutboxItem::Attempt(attempt))?;
        }
        for (method, succeeded, code) in events::outcomes(before, after) {
            self.record_sample(MetricSample::PaymentOutcome {
                id: format!("ms_{}", random_id(20)?),
                method,
                succeeded,
                code,
                at_ms: now_ms(),
            })?;
        }
        Ok(())
    }

    /// Writes a metric sample; it travels to the merchant's object with the events.
    pub(super) fn record_sample(&self, sample: MetricSample) -> Result<()> {
        self.push_outbox(&OutboxItem::Sample(sample))
    }

    fn push_outbox(&self, item: &OutboxItem) -> Result<()> {
        self.outbox_empty.set(false);
        self.sql.exec(
            "INSERT INTO outbox (event) VALUES (?)",
            vec![serde_json::to_string(item)?.into()],
        )?;
        Ok(())
    }

    /// Hands the outbox to the merchant's `Webhooks` object. On failure the events stay, and the
    /// alarm tries again.
    pub(super) async fn flush_outbox(&self) {
        if let Err(e) = self.try_flush_outbox().await {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "object": "session", "outbox": e.to_string()}),
            );
            crate::objects::alarm_within(&self.state.storage(), RECOVERY_AFTER_S * 1000).await;
        }
    }

    async fn try_flush_outbox(&self) -> Result<()> {
        // Every write goes through `push_outbox`, which clears the flag first.
        if self.outbox_empty.get() {
            return Ok(());
        }
        let Some((items, last)) = crate::objects::read_outbox::<OutboxItem>(&self.sql)? else {
            self.outbox_empty.set(true);
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
        let scope = self.current()?.merchant_scope;
        let stub = webhooks::stub(&self.env, &scope)?;
        rpc::call::<_, ()>(
            &stub,
            &WebhookCommand::Enqueue {
                events,
                samples,
                attempts,
            },
        )
        .await?;
        crate::objects::clear_outbox(&self.sql, last)
    }
}
