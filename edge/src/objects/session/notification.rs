//! The nonces of provider notifications (WeChat Pay's signed, encrypted server-to-server calls).
//!
//! The Worker has already verified a notification's signature and timestamp and decrypted it; the
//! session refuses a nonce it has seen (a replay), and the saga checks the transaction against the
//! leg it names (amount and order number) and applies it once.

use checkout_core::api::PaymentMethod;
use serde::Deserialize;

use super::CheckoutSession;
use crate::clock::now_s;
use crate::error::Result;
use crate::saga::{self, Input, NotifiedEvent};

/// Nonces of acknowledged notifications. WeChat refuses a timestamp more than five minutes off,
/// so a nonce older than that can be forgotten; ten minutes leaves room for clock skew.
pub const NONCE_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS notification_nonce (nonce TEXT PRIMARY KEY, seen_at_s INTEGER NOT NULL)";
const NONCE_MEMORY_S: i64 = 10 * 60;
/// Nonces past [`NONCE_MEMORY_S`] are deleted at most this often per instance (on the first
/// notification after a start, then on the first one this long after the last clean-up), not on
/// every notification: the table holds at most the nonces of the last 11 minutes, and a nonce
/// kept a little longer only refuses a replay WeChat would refuse anyway.
const NONCE_PRUNE_EVERY_S: i64 = 60;
/// The widget's status view asks the provider at most this often.
pub const STATUS_QUERY_EVERY_S: i64 = 3;

impl CheckoutSession {
    /// Creates the tables only provider notifications and callbacks use (nonces, the provider
    /// call budget), once per instance, before their first use: most sessions never need them,
    /// and every table made at start costs each new session object its SQLite work.
    /// The same call deletes the nonces past their memory (the instance's first clean-up): no
    /// bound parameter, the cutoff is a number this code formats, so the statements can share one
    /// `exec` (Cloudflare, "SQL Storage": parameters bind to the last statement only).
    pub(super) fn ensure_side_tables(&self) -> Result<()> {
        if !self.side_tables.get() {
            let now = now_s();
            let prune = format!(
                "DELETE FROM notification_nonce WHERE seen_at_s < {}",
                now - NONCE_MEMORY_S
            );
            let schema = [NONCE_SCHEMA, super::throttle::THROTTLE_SCHEMA, &prune].join(";");
            self.sql.exec(&schema, None)?;
            self.side_tables.set(true);
            self.nonces_pruned_s.set(now);
        }
        Ok(())
    }

    /// Applies a verified notification. One that would change nothing (a duplicate, or a
    /// repeat about a leg already settled: the saga issues no intent, raises no alert and leaves
    /// the record as it is) is answered from a dry step on a copy of the record, with no write
    /// and no alarm call: the alarm was set from this same record when it last changed (and an
    /// alarm that fired re-arms itself in its own step). Anything else is driven as before.
    pub(super) async fn apply_notification(
        &self,
        provider: PaymentMethod,
        event: NotifiedEvent,
    ) -> Result<()> {
        let input = Input::Notification { provider, event };
        let record = self.current()?;
        let ctx = self.ctx(&record, &input)?;
        let mut stepped_record = record.clone();
        let stepped = saga::step(&mut stepped_record, input.clone(), &ctx)?;
        if stepped.intents.is_empty() && stepped.alerts.is_empty() && stepped_record == record {
            return Ok(());
        }
        // The same turn as the look above (no await in between): its context still holds, and
        // the stranger-call budget is not read twice.
        self.drive_with(input, None, Some(ctx)).await?;
        Ok(())
    }

    pub(super) fn nonce_seen(&self, nonce: &str) -> Result<bool> {
        #[derive(Deserialize)]
        struct Row {
            #[allow(dead_code)]
            seen_at_s: i64,
        }
        self.ensure_side_tables()?;
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT seen_at_s FROM notification_nonce WHERE nonce = ?",
                vec![nonce.into()],
            )?
            .to_array()?;
        Ok(!rows.is_empty())
    }

    pub(super) fn remember_nonce(&self, nonce: &str) -> Result<()> {
        let now = now_s();
        if now - self.nonces_pruned_s.get() >= NONCE_PRUNE_EVERY_S {
            self.sql.exec(
                "DELETE FROM notification_nonce WHERE seen_at_s < ?",
                vec![(now - NONCE_MEMORY_S).into()],
            )?;
            self.nonces_pruned_s.set(now);
        }
        self.sql.exec(
            "INSERT OR IGNORE INTO notification_nonce (nonce, seen_at_s) VALUES (?, ?)",
            vec![nonce.into(), now.into()],
        )?;
        Ok(())
    }
}
