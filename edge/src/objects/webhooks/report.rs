//! The merchant's daily report, built from the same events the webhooks deliver: each paid
//! session adds one line per leg, each succeeded refund one line per leg it went back to. Fees
//! are computed when a payment line is written, from the method's tiered schedule and the
//! month's volume before it (`checkout_core::fees`).
//!
//! That volume is kept running in `month_volume` (one row per month, method and currency), added
//! to in the same turn as a payment line is inserted, and only when the insert actually inserted
//! (lines are keyed by event id and leg, so a replayed event adds nothing). An object that had
//! report lines before the table existed fills it once from them when it creates it. Reading the
//! fee's volume is then one primary-key row, not a sum over the month's lines; `daily` reads
//! lines by the `report_lines_day` index.

use std::collections::HashMap;

use checkout_core::api::PaymentMethod;
use checkout_core::fees::{default_schedule, FeeSchedule};
use checkout_core::webhook::{Event, EventType};
use checkout_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use worker::SqlStorage;

use crate::clock::utc_date;
use crate::error::{Error, Result};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS report_lines (event_id TEXT NOT NULL, seq INTEGER NOT NULL, \
     day TEXT NOT NULL, month TEXT NOT NULL, method TEXT NOT NULL, kind TEXT NOT NULL, currency TEXT NOT NULL, \
     amount_minor INTEGER NOT NULL, fee_minor INTEGER NOT NULL, PRIMARY KEY (event_id, seq))",
    "CREATE INDEX IF NOT EXISTS report_lines_day ON report_lines (day)",
];

/// The running payment volume of each month, method and currency, created (and back-filled from
/// `report_lines` with [`backfill_volume`]) by the store when it is new.
pub const VOLUME_TABLE: &str = "month_volume";
pub const VOLUME_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS month_volume (month TEXT NOT NULL, \
     method TEXT NOT NULL, currency TEXT NOT NULL, volume_minor INTEGER NOT NULL, \
     PRIMARY KEY (month, method, currency))";

/// Fills a new `month_volume` from the report lines already kept.
pub fn backfill_volume(sql: &SqlStorage, _now_ms: i64) -> Result<()> {
    sql.exec(
        "INSERT INTO month_volume (month, method, currency, volume_minor) \
         SELECT month, method, currency, SUM(amount_minor) FROM report_lines WHERE kind = 'payment' \
         GROUP BY month, method, currency",
        None,
    )?;
    Ok(())
}

/// One day's figures for one method and currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub date: String,
    pub method: PaymentMethod,
    pub currency: Currency,
    pub payments: i64,
    pub gross: String,
    pub refunds: i64,
    pub refunded: String,
    pub fees: String,
    /// Gross, less refunds and fees.
    pub net: String,
}

/// A leg of a paid session or of a refund, as the event's object lists it.
#[derive(Debug, Deserialize)]
struct Leg {
    method: PaymentMethod,
    amount: String,
}

#[derive(Debug, Deserialize)]
struct PaidSession {
    currency: Currency,
    payments: Vec<PaidPayment>,
}

#[derive(Debug, Deserialize)]
struct PaidPayment {
    status: String,
    #[serde(default)]
    legs: Vec<Leg>,
}

#[derive(Debug, Deserialize)]
struct RefundObject {
    currency: Currency,
    #[serde(default)]
    legs: Vec<Leg>,
    /// The checkout's own refund of money never counted as paid: no report line.
    #[serde(default)]
    automatic: bool,
}

/// Fee schedules: the `FEE_SCHEDULE` override (`{"bkash": [tiers], ...}`) or the defaults.
pub struct Schedules(HashMap<PaymentMethod, FeeSchedule>);

impl Schedules {
    pub fn parse(json: Option<&str>) -> Result<Schedules> {
        let overrides = match json {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| Error::Config(format!("FEE_SCHEDULE: {e}")))?,
            None => HashMap::new(),
        };
        Ok(Schedules(overrides))
    }

    fn of(&self, method: PaymentMethod) -> FeeSchedule {
        self.0
            .get(&method)
            .cloned()
            .unwrap_or_else(|| default_schedule(method))
    }
}

/// Each month's payment volume per method and currency, as this instance last read or wrote it.
/// A payment's fee depends on the month's volume before it, which was otherwise read on every
/// payment. Write-through: the object runs one command at a time and is the only writer of
/// `month_volume`, an entry is added to only after its write succeeded and forgotten when the
/// write failed, and a new instance starts empty.
#[derive(Debug, Default)]
pub struct Volumes(std::cell::RefCell<HashMap<VolumeKey, i64>>);

type VolumeKey = (String, String, Currency);

impl Volumes {
    /// The month's volume so far for `method` and `currency`.
    fn get(&self, sql: &SqlStorage, key: &VolumeKey) -> Result<i64> {
        if let Some(volume) = self.0.borrow().get(key) {
            return Ok(*volume);
        }
        let volume = month_volume(sql, &key.0, &key.1, key.2)?;
        self.0.borrow_mut().insert(key.clone(), volume);
        Ok(volume)
    }

    /// Adds `amount` to the month's volume, in storage and here.
    fn add(&self, sql: &SqlStorage, key: &VolumeKey, amount: i64) -> Result<()> {
        let written = sql.exec(
            "INSERT INTO month_volume (month, method, currency, volume_minor) VALUES (?, ?, ?, ?) \
             ON CONFLICT (month, method, currency) DO UPDATE SET volume_minor = volume_minor + excluded.volume_minor",
            vec![
                key.0.as_str().into(),
                key.1.as_str().into(),
                key.2.to_string().into(),
                amount.into(),
            ],
        );
        let mut known = self.0.borrow_mut();
        match written {
            Ok(_) => {
                if let Some(volume) = known.get_mut(key) {
                    *volume += amount;
                }
                Ok(())
            }
            Err(e) => {
                known.remove(key);
                Err(e.into())
            }
        }
    }
}

/// Writes the report lines of a newly stored event.
pub fn record(
    sql: &SqlStorage,
    volumes: &Volumes,
    event: &Event,
    schedules: &Schedules,
) -> Result<()> {
    let (kind, currency, legs) = match event.kind {
        EventType::SessionPaid => {
            let session: PaidSession = serde_json::from_value(event.data.clone())?;
            let legs = session
                .payments
                .into_iter()
                .find(|p| p.status == "succeeded")
                .map(|p| p.legs)
                .unwrap_or_default();
            ("payment", session.currency, legs)
        }
        EventType::RefundSucceeded => {
            let refund: RefundObject = serde_json::from_value(event.data.clone())?;
            if refund.automatic {
                return Ok(());
            }
            ("refund", refund.currency, refund.legs)
        }
        _ => return Ok(()),
    };
    let day = utc_date(event.created);
    let month = day[..7].to_owned();
    for (seq, leg) in legs.iter().enumerate() {
        let amount = Money::parse_non_negative(&leg.amount, currency)
            .map_err(|e| Error::Invariant(format!("event {} leg amount: {e}", event.id)))?
            .amount_minor();
        let method = method_name(leg.method);
        let volume_key = (month.clone(), method.clone(), currency);
        let fee = if kind == "payment" {
            let before = volumes.get(sql, &volume_key)?;
            schedules.of(leg.method).fee_minor(amount, before)
        } else {
            0
        };
        #[derive(Deserialize)]
        struct Inserted {
            #[allow(dead_code)]
            seq: i64,
        }
        let inserted: Vec<Inserted> = sql
            .exec(
                "INSERT OR IGNORE INTO report_lines (event_id, seq, day, month, method, kind, currency, amount_minor, fee_minor) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                vec![
                    event.id.as_str().into(),
                    (seq as i64).into(),
                    day.as_str().into(),
                    month.as_str().into(),
                    method.as_str().into(),
                    kind.into(),
                    currency.to_string().into(),
                    amount.into(),
                    fee.into(),
                ],
            )?
            .to_array()?;
        // Only a line that is new adds to the month's volume: a replay adds nothing.
        if kind == "payment" && !inserted.is_empty() {
            volumes.add(sql, &volume_key, amount)?;
        }
    }
    Ok(())
}

/// The month's payment volume so far for a method and currency: one row by primary key.
fn month_volume(sql: &SqlStorage, month: &str, method: &str, currency: Currency) -> Result<i64> {
    #[derive(Deserialize)]
    struct Row {
        volume_minor: i64,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT volume_minor FROM month_volume WHERE month = ? AND method = ? AND currency = ?",
            vec![month.into(), method.into(), currency.to_string().into()],
        )?
        .to_array()?;
    Ok(rows.first().map_or(0, |r| r.volume_minor))
}

/// Per day, method and currency between `from` and `to` (inclusive, `YYYY-MM-DD`).
pub fn daily(sql: &SqlStorage, from: &str, to: &str) -> Result<Vec<ReportRow>> {
    #[derive(Deserialize)]
    struct Row {
        day: String,
        method: String,
        currency: String,
        payments: i64,
        gross: i64,
        refunds: i64,
        refunded: i64,
        fees: i64,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT day, method, currency, \
               SUM(kind = 'payment') AS payments, \
               SUM(CASE WHEN kind = 'payment' THEN amount_minor ELSE 0 END) AS gross, \
               SUM(kind = 'refund') AS refunds, \
               SUM(CASE WHEN kind = 'refund' THEN amount_minor ELSE 0 END) AS refunded, \
               SUM(fee_minor) AS fees \
             FROM report_lines WHERE day >= ? AND day <= ? \
             GROUP BY day, method, currency ORDER BY day, method, currency",
            vec![from.into(), to.into()],
        )?
        .to_array()?;
    rows.into_iter()
        .map(|r| {
            let currency: Currency = r
                .currency
                .parse()
                .map_err(|_| Error::Invariant(format!("report currency {}", r.currency)))?;
            let method: PaymentMethod =
                serde_json::from_value(serde_json::Value::String(r.method.clone()))?;
            let money = |minor: i64| -> String {
                let sign = if minor < 0 { "-" } else { "" };
                Money::from_minor(minor.abs(), currency)
                    .map(|m| format!("{sign}{}", m.to_decimal_string()))
                    .unwrap_or_default()
            };
            Ok(ReportRow {
                date: r.day,
                method,
                currency,
                payments: r.payments,
                gross: money(r.gross),
                refunds: r.refunds,
                refunded: money(r.refunded),
                fees: money(r.fees),
                net: money(r.gross - r.refunded - r.fees),
            })
        })
        .collect()
}

fn method_name(method: PaymentMethod) -> String {
    method.as_str().to_owned()
}
