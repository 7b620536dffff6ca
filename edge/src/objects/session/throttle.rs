//! The session's budget of provider calls that unauthenticated requests may cause.
//!
//! Anyone can call a session's callback URL (bKash's redirect and WeChat's H5 return carry no
//! signature), and every such call used to make the session ask the provider. The session owns
//! its state, so it keeps the count itself: at most [`CALLS_PER_WINDOW`] provider calls caused
//! by callbacks and notifications in any [`WINDOW_S`] seconds. Past that, a callback is answered
//! from the stored state (the browser still goes on to the merchant, and the alarm and the cron
//! settle the leg as they always do), and a notification is refused so the provider retries it.
//! The widget's own polling has its separate, older limit (`STATUS_QUERY_EVERY_S`); the alarm,
//! the cron and the merchant's calls are not counted here.
//!
//! The window is stored in the object's SQLite, so it survives the object being evicted. A
//! check is one `SELECT` of the window's calls; calls that have left the window are deleted when
//! a call is taken (the only time the table grows), not at every check.

use serde::Deserialize;

use super::CheckoutSession;
use crate::clock::now_s;
use crate::error::Result;

pub const THROTTLE_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS provider_call (at_s INTEGER NOT NULL)";

/// Provider calls that callbacks and notifications may cause per window. An honest payment needs
/// two or three (execute, perhaps a query; a return; a refund's notification).
pub const CALLS_PER_WINDOW: usize = 10;
/// The sliding window, in seconds.
pub const WINDOW_S: i64 = 60;

/// Whether one more call fits, given the times of the calls already made in the window.
pub fn fits(recent_s: &[i64], now_s: i64) -> bool {
    recent_s.iter().filter(|&&at| at > now_s - WINDOW_S).count() < CALLS_PER_WINDOW
}

impl CheckoutSession {
    fn recent_provider_calls(&self, now: i64) -> Result<Vec<i64>> {
        #[derive(Deserialize)]
        struct Row {
            at_s: i64,
        }
        self.ensure_side_tables()?;
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT at_s FROM provider_call WHERE at_s > ?",
                vec![(now - WINDOW_S).into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().map(|r| r.at_s).collect())
    }

    /// Whether one more provider call fits the budget. Checked, and then taken with
    /// [`CheckoutSession::take_provider_call`], in the same synchronous turn as the step that
    /// decides the call, so concurrent callbacks cannot overdraw it.
    pub(super) fn provider_call_fits(&self) -> Result<bool> {
        let now = now_s();
        Ok(fits(&self.recent_provider_calls(now)?, now))
    }

    /// Takes one provider call from the budget.
    pub(super) fn take_provider_call(&self) -> Result<()> {
        self.ensure_side_tables()?;
        let now = now_s();
        self.sql.exec(
            "DELETE FROM provider_call WHERE at_s <= ?",
            vec![(now - WINDOW_S).into()],
        )?;
        self.sql.exec(
            "INSERT INTO provider_call (at_s) VALUES (?)",
            vec![now.into()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{fits, CALLS_PER_WINDOW, WINDOW_S};

    #[test]
    fn the_budget_allows_n_calls_per_window_and_refills() {
        let now = 1_000;
        let full = vec![now; CALLS_PER_WINDOW];
        assert!(!fits(&full, now));
        assert!(fits(&full[1..], now));
        // Calls older than the window no longer count.
        assert!(fits(&full, now + WINDOW_S));
        assert!(fits(&[], now));
    }
}
