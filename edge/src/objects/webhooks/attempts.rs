//! The merchant's index of provider attempts: one row per external payment attempt (failed ones
//! included), keyed by the payment id and read by UTC day and method. Fed from the session
//! objects' outboxes (`session_record::attempts`), so it holds every attempt a session wrote
//! down since this table existed; the reconciliation report (`crate::reconciliation`) walks it
//! a page at a time. A repeated hand-over changes nothing; a later line only fills in the
//! provider's reference.

use checkout_core::api::PaymentMethod;
use checkout_core::Currency;
use serde::{Deserialize, Serialize};
use worker::SqlStorage;

use crate::clock::utc_date;
use crate::error::{Error, Result};
use crate::objects::session_record::attempts::ProviderAttempt;

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS provider_attempts (payment_id TEXT PRIMARY KEY, day TEXT NOT NULL, \
     method TEXT NOT NULL, session_id TEXT NOT NULL, reference TEXT, currency TEXT NOT NULL, \
     amount_minor INTEGER NOT NULL, created_at_s INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS provider_attempts_day ON provider_attempts (day, method, payment_id)",
];

/// Writes (or completes) the index rows of attempts handed over by a session.
pub fn record(sql: &SqlStorage, attempts: &[ProviderAttempt]) -> Result<()> {
    for attempt in attempts {
        sql.exec(
            "INSERT INTO provider_attempts (payment_id, day, method, session_id, reference, currency, amount_minor, created_at_s) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (payment_id) DO UPDATE SET reference = COALESCE(excluded.reference, reference)",
            vec![
                attempt.payment_id.as_str().into(),
                utc_date(attempt.created_at_s).into(),
                attempt.method.as_str().into(),
                attempt.session_id.as_str().into(),
                attempt.reference.as_deref().into(),
                attempt.currency.to_string().into(),
                attempt.amount_minor.into(),
                attempt.created_at_s.into(),
            ],
        )?;
    }
    Ok(())
}

/// A page of one day's attempts at one provider, ordered by payment id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptPage {
    pub attempts: Vec<ProviderAttempt>,
    pub has_more: bool,
}

/// Up to `limit` attempts of `day` (`YYYY-MM-DD`) at `method`, after the payment id
/// `starting_after` if given; read by the `provider_attempts_day` index.
pub fn page(
    sql: &SqlStorage,
    day: &str,
    method: PaymentMethod,
    starting_after: Option<&str>,
    limit: usize,
) -> Result<AttemptPage> {
    #[derive(Deserialize)]
    struct Row {
        payment_id: String,
        session_id: String,
        reference: Option<String>,
        currency: String,
        amount_minor: i64,
        created_at_s: i64,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT payment_id, session_id, reference, currency, amount_minor, created_at_s \
             FROM provider_attempts WHERE day = ? AND method = ? AND payment_id > ? \
             ORDER BY payment_id LIMIT ?",
            vec![
                day.into(),
                method.as_str().into(),
                starting_after.unwrap_or("").into(),
                (limit as i64 + 1).into(),
            ],
        )?
        .to_array()?;
    let has_more = rows.len() > limit;
    let attempts = rows
        .into_iter()
        .take(limit)
        .map(|r| {
            let currency: Currency = r
                .currency
                .parse()
                .map_err(|_| Error::Invariant(format!("attempt currency {}", r.currency)))?;
            Ok(ProviderAttempt {
                session_id: r.session_id,
                payment_id: r.payment_id,
                method,
                reference: r.reference,
                amount_minor: r.amount_minor,
                currency,
                created_at_s: r.created_at_s,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(AttemptPage { attempts, has_more })
}
