//! The merchant's metrics: payment success rate and failure codes per method, provider latency
//! per method, and alerts on thresholds. Sessions send samples beside their events (the same
//! outbox); this object keeps them and answers `GET /v1/metrics`.
//!
//! Alerts fire as `alert` log lines (for whatever watches the logs: Workers Logpush, `wrangler
//! tail`) when a threshold is crossed, and are listed by the metrics endpoint while they hold:
//! - `failure_rate_high`: over the window, at least [`Thresholds::min_attempts`] attempts of a
//!   method and a failure rate above [`Thresholds::failure_rate_bps`] (10 % by default);
//! - `provider_latency_high`: the slowest provider call of a method in the window above
//!   [`Thresholds::provider_latency_ms`] (5 s by default).
//!
//! Cost: the alert check runs on every payment, so it never reads raw samples. Each stored sample
//! is also added, in the same turn, to a per-minute rollup row (method, minute: attempts,
//! succeeded, provider calls, slowest call); the check reads the rollups of the window, at most
//! 60 rows a method an hour, whatever the volume. `GET /v1/metrics` still answers from the raw
//! samples (its percentiles need them), through the `metric_samples_at` index. Samples older than
//! the longest window that endpoint accepts (30 days) and rollups older than twice the alert
//! window are deleted, a bounded batch per stored batch, so neither table grows with history.
//! (SQLite: an `INSERT ... RETURNING` row is returned only for a row actually inserted,
//! <https://www.sqlite.org/lang_returning.html>; `ON CONFLICT DO UPDATE` upserts,
//! <https://www.sqlite.org/lang_upsert.html>.)

use std::collections::BTreeMap;

use checkout_core::api::PaymentMethod;
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{Env, SqlStorage};

use crate::error::Result;

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS metric_samples (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, \
     kind TEXT NOT NULL, method TEXT NOT NULL, op TEXT, ms INTEGER, ok INTEGER NOT NULL, code TEXT)",
    "CREATE INDEX IF NOT EXISTS metric_samples_at ON metric_samples (at_ms)",
];

/// The per-minute rollups the alert check reads; created (and back-filled from the samples still
/// in its retention, [`backfill_rollups`]) by the store when it is new.
pub const ROLLUP_TABLE: &str = "metric_rollups";
pub const ROLLUP_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS metric_rollups (minute INTEGER NOT NULL, \
     method TEXT NOT NULL, attempts INTEGER NOT NULL, succeeded INTEGER NOT NULL, \
     provider_calls INTEGER NOT NULL, max_latency_ms INTEGER, PRIMARY KEY (minute, method))";

/// Fills a new rollup table from the samples of the last [`ROLLUP_KEEP_MS`].
pub fn backfill_rollups(sql: &SqlStorage, now_ms: i64) -> Result<()> {
    sql.exec(
        "INSERT INTO metric_rollups \
         (minute, method, attempts, succeeded, provider_calls, max_latency_ms) \
         SELECT at_ms / 60000, method, SUM(kind = 'payment_outcome'), \
           SUM(kind = 'payment_outcome' AND ok != 0), SUM(kind = 'provider_call'), \
           MAX(CASE WHEN kind = 'provider_call' THEN COALESCE(ms, 0) END) \
         FROM metric_samples WHERE at_ms >= ? GROUP BY at_ms / 60000, method",
        vec![(now_ms - ROLLUP_KEEP_MS).into()],
    )?;
    Ok(())
}

/// The window alerts look at.
pub const ALERT_WINDOW_MS: i64 = 3_600_000;
/// Rollups are kept for twice the alert window.
pub const ROLLUP_KEEP_MS: i64 = 2 * ALERT_WINDOW_MS;
/// Raw samples are kept for the longest window `GET /v1/metrics` accepts.
pub const SAMPLE_KEEP_MS: i64 = 30 * 24 * 3_600_000;
/// Rows deleted at most per stored batch, per table.
const PRUNE_BATCH: i64 = 64;
const MINUTE_MS: i64 = 60_000;

/// One measurement from a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricSample {
    /// A call to a provider and how long it took.
    ProviderCall {
        id: String,
        method: PaymentMethod,
        op: String,
        ms: i64,
        ok: bool,
        at_ms: i64,
    },
    /// A payment attempt finished.
    PaymentOutcome {
        id: String,
        method: PaymentMethod,
        succeeded: bool,
        code: Option<ErrorCode>,
        at_ms: i64,
    },
}

/// When alerts fire; Worker variables override the defaults.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub failure_rate_bps: i64,
    pub min_attempts: i64,
    pub provider_latency_ms: i64,
}

impl Thresholds {
    pub fn from_env(env: &Env) -> Thresholds {
        let read = |name: &str, default: i64| {
            crate::config::read(env, name)
                .ok()
                .flatten()
                .and_then(|s| s.expose().parse().ok())
                .unwrap_or(default)
        };
        Thresholds {
            failure_rate_bps: read("ALERT_FAILURE_RATE_BPS", 1_000),
            min_attempts: read("ALERT_MIN_ATTEMPTS", 5),
            provider_latency_ms: read("ALERT_PROVIDER_LATENCY_MS", 5_000),
        }
    }
}

/// One method's figures over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodMetrics {
    pub attempts: i64,
    pub succeeded: i64,
    pub failed: i64,
    /// Succeeded over attempts, in basis points (9,000 = 90 %).
    pub success_rate_bps: Option<i64>,
    pub failure_codes: BTreeMap<String, i64>,
    pub provider_calls: i64,
    pub provider_latency_ms: Option<Latency>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: i64,
    pub p95: i64,
    pub max: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub alert: String,
    pub method: PaymentMethod,
    pub value: i64,
    pub threshold: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    pub window_s: i64,
    pub methods: BTreeMap<String, MethodMetrics>,
    pub alerts: Vec<Alert>,
}

/// Stores a batch of samples (each once, its minute's rollup with it), prunes what is past its
/// retention, then fires every alert a sample of the batch trips. The alert check reads the
/// window's rollups, never the samples.
pub fn record(
    sql: &SqlStorage,
    samples: &[MetricSample],
    thresholds: Thresholds,
    now_ms: i64,
    prune_at_ms: &std::cell::Cell<i64>,
) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    for sample in samples {
        // A replayed sample (same id) is not counted twice.
        if store(sql, sample)? {
            add_to_rollup(sql, sample)?;
        }
    }
    if now_ms >= prune_at_ms.get() {
        // A batch that came back full may have left more behind: the next hand-over prunes
        // again. Otherwise nothing was past its retention, and what passes it within a minute is
        // taken then (at most a batch of each a minute while that keeps up; more, batch by batch).
        let full = prune(sql, now_ms)?;
        prune_at_ms.set(if full {
            now_ms
        } else {
            now_ms + PRUNE_EVERY_MS
        });
    }
    // Only a slow call or a failed payment can trip an alert: a batch of neither (a payment
    // that succeeded, the usual hand-over) does not read the window.
    if !samples.iter().any(|s| may_trip(s, thresholds)) {
        return Ok(());
    }
    let counts = window_from_rollups(&rollups_since(sql, minute_of(now_ms - ALERT_WINDOW_MS))?);
    for alert in &alerts_of(&counts, thresholds)? {
        if samples.iter().any(|s| trips(s, alert, thresholds)) {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"alert": alert.alert, "method": alert.method.as_str(),
                    "value": alert.value, "threshold": alert.threshold}),
            );
        }
    }
    Ok(())
}

/// Whether `sample` is one that makes `alert` hold: a slow call, or a failed payment, of the
/// alert's method and kind.
fn trips(sample: &MetricSample, alert: &Alert, thresholds: Thresholds) -> bool {
    let (method, kind) = match sample {
        MetricSample::ProviderCall { method, .. } => (method, "provider_latency_high"),
        MetricSample::PaymentOutcome { method, .. } => (method, "failure_rate_high"),
    };
    may_trip(sample, thresholds) && *method == alert.method && alert.alert == kind
}

/// Whether `sample` could make some alert hold: a call slower than the threshold, or a payment
/// that failed. [`trips`] holds only where this does.
fn may_trip(sample: &MetricSample, thresholds: Thresholds) -> bool {
    match sample {
        MetricSample::ProviderCall { ms, .. } => *ms > thresholds.provider_latency_ms,
        MetricSample::PaymentOutcome { succeeded, .. } => !succeeded,
    }
}

/// Stores a sample once; whether it was new.
fn store(sql: &SqlStorage, sample: &MetricSample) -> Result<bool> {
    let (id, at_ms, kind, method, op, ms, ok, code) = match sample {
        MetricSample::ProviderCall {
            id,
            method,
            op,
            ms,
            ok,
            at_ms,
        } => (
            id,
            *at_ms,
            "provider_call",
            *method,
            Some(op.clone()),
            Some(*ms),
            *ok,
            None,
        ),
        MetricSample::PaymentOutcome {
            id,
            method,
            succeeded,
            code,
            at_ms,
        } => (
            id,
            *at_ms,
            "payment_outcome",
            *method,
            None,
            None,
            *succeeded,
            code.map(|c| c.as_str().to_owned()),
        ),
    };
    #[derive(Deserialize)]
    struct Inserted {
        #[allow(dead_code)]
        id: String,
    }
    let inserted: Vec<Inserted> = sql
        .exec(
            "INSERT OR IGNORE INTO metric_samples (id, at_ms, kind, method, op, ms, ok, code) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            vec![
                id.as_str().into(),
                at_ms.into(),
                kind.into(),
                method.as_str().into(),
                op.into(),
                ms.into(),
                // workerd binds a boolean as the text "true"; SQLite wants an integer here.
                i64::from(ok).into(),
                code.into(),
            ],
        )?
        .to_array()?;
    Ok(!inserted.is_empty())
}

/// The minute (since the epoch) a time falls in.
pub fn minute_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(MINUTE_MS)
}

/// One minute's figures for one method, as a rollup row holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Rollup {
    pub minute: i64,
    pub method: String,
    pub attempts: i64,
    pub succeeded: i64,
    pub provider_calls: i64,
    pub max_latency_ms: Option<i64>,
}

impl Rollup {
    /// What one sample adds to its minute.
    pub fn of(sample: &MetricSample) -> Rollup {
        match sample {
            MetricSample::ProviderCall {
                method, ms, at_ms, ..
            } => Rollup {
                minute: minute_of(*at_ms),
                method: method.as_str().to_owned(),
                provider_calls: 1,
                max_latency_ms: Some(*ms),
                ..Rollup::default()
            },
            MetricSample::PaymentOutcome {
                method,
                succeeded,
                at_ms,
                ..
            } => Rollup {
                minute: minute_of(*at_ms),
                method: method.as_str().to_owned(),
                attempts: 1,
                succeeded: i64::from(*succeeded),
                ..Rollup::default()
            },
        }
    }
}

fn add_to_rollup(sql: &SqlStorage, sample: &MetricSample) -> Result<()> {
    let delta = Rollup::of(sample);
    sql.exec(
        "INSERT INTO metric_rollups (minute, method, attempts, succeeded, provider_calls, max_latency_ms) \
         VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (minute, method) DO UPDATE SET \
           attempts = attempts + excluded.attempts, \
           succeeded = succeeded + excluded.succeeded, \
           provider_calls = provider_calls + excluded.provider_calls, \
           max_latency_ms = MAX(COALESCE(max_latency_ms, excluded.max_latency_ms), \
                                COALESCE(excluded.max_latency_ms, max_latency_ms))",
        vec![
            delta.minute.into(),
            delta.method.as_str().into(),
            delta.attempts.into(),
            delta.succeeded.into(),
            delta.provider_calls.into(),
            delta.max_latency_ms.into(),
        ],
    )?;
    Ok(())
}

fn rollups_since(sql: &SqlStorage, minute: i64) -> Result<Vec<Rollup>> {
    Ok(sql
        .exec(
            "SELECT minute, method, attempts, succeeded, provider_calls, max_latency_ms \
             FROM metric_rollups WHERE minute >= ?",
            vec![minute.into()],
        )?
        .to_array()?)
}

/// How often an instance prunes when its last batches were not full.
const PRUNE_EVERY_MS: i64 = 60_000;

/// Deletes a bounded batch of samples and of rollups past their retention (by index); whether
/// either batch was full (more may be left).
fn prune(sql: &SqlStorage, now_ms: i64) -> Result<bool> {
    let samples = sql.exec(
        "DELETE FROM metric_samples WHERE id IN \
         (SELECT id FROM metric_samples WHERE at_ms < ? ORDER BY at_ms LIMIT ?)",
        vec![(now_ms - SAMPLE_KEEP_MS).into(), PRUNE_BATCH.into()],
    )?;
    let rollups = sql.exec(
        "DELETE FROM metric_rollups WHERE rowid IN \
         (SELECT rowid FROM metric_rollups WHERE minute < ? LIMIT ?)",
        vec![
            minute_of(now_ms - ROLLUP_KEEP_MS).into(),
            PRUNE_BATCH.into(),
        ],
    )?;
    let batch = PRUNE_BATCH as usize;
    Ok(samples.rows_written() >= batch || rollups.rows_written() >= batch)
}

/// One method's counts over a window: what the alerts are decided on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub attempts: i64,
    pub succeeded: i64,
    pub max_latency_ms: Option<i64>,
}

/// The window's counts per method, from its minutes' rollups.
pub fn window_from_rollups(rollups: &[Rollup]) -> BTreeMap<String, WindowCounts> {
    let mut counts: BTreeMap<String, WindowCounts> = BTreeMap::new();
    for rollup in rollups {
        let entry = counts.entry(rollup.method.clone()).or_default();
        entry.attempts += rollup.attempts;
        entry.succeeded += rollup.succeeded;
        entry.max_latency_ms = entry.max_latency_ms.max(rollup.max_latency_ms);
    }
    counts
}

/// The alerts that hold for these counts, per method in name order: the failure rate first.
pub fn alerts_of(
    counts: &BTreeMap<String, WindowCounts>,
    thresholds: Thresholds,
) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    for (name, count) in counts {
        let method: PaymentMethod =
            serde_json::from_value(serde_json::Value::String(name.clone()))?;
        if let Some(rate) = success_rate_bps(count.attempts, count.succeeded) {
            let failure_bps = 10_000 - rate;
            if count.attempts >= thresholds.min_attempts
                && failure_bps > thresholds.failure_rate_bps
            {
                alerts.push(Alert {
                    alert: "failure_rate_high".into(),
                    method,
                    value: failure_bps,
                    threshold: thresholds.failure_rate_bps,
                });
            }
        }
        if let Some(max) = count.max_latency_ms {
            if max > thresholds.provider_latency_ms {
                alerts.push(Alert {
                    alert: "provider_latency_high".into(),
                    method,
                    value: max,
                    threshold: thresholds.provider_latency_ms,
                });
            }
        }
    }
    Ok(alerts)
}

/// Succeeded over attempts in basis points; none without attempts.
pub fn success_rate_bps(attempts: i64, succeeded: i64) -> Option<i64> {
    (attempts > 0).then(|| succeeded * 10_000 / attempts)
}

/// p50, p95 and max of some latencies (nearest rank, rounding down); none of none.
pub fn latency_of(samples: &mut [i64]) -> Option<Latency> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    Some(Latency {
        p50: at(50),
        p95: at(95),
        max: samples[samples.len() - 1],
    })
}

/// A raw sample as `GET /v1/metrics` reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct SampleRow {
    pub kind: String,
    pub method: String,
    pub ms: Option<i64>,
    pub ok: i64,
    pub code: Option<String>,
}

/// The figures of a window's raw samples, and the alerts that hold.
pub fn metrics_of(rows: Vec<SampleRow>, window_ms: i64, thresholds: Thresholds) -> Result<Metrics> {
    let mut methods: BTreeMap<String, MethodMetrics> = BTreeMap::new();
    let mut latencies: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in rows {
        let entry = methods.entry(row.method.clone()).or_default();
        if row.kind == "provider_call" {
            entry.provider_calls += 1;
            latencies
                .entry(row.method)
                .or_default()
                .push(row.ms.unwrap_or(0));
            continue;
        }
        entry.attempts += 1;
        if row.ok != 0 {
            entry.succeeded += 1;
        } else {
            entry.failed += 1;
            *entry
                .failure_codes
                .entry(row.code.unwrap_or_else(|| "unknown".into()))
                .or_default() += 1;
        }
    }
    let mut counts = BTreeMap::new();
    for (name, entry) in methods.iter_mut() {
        entry.success_rate_bps = success_rate_bps(entry.attempts, entry.succeeded);
        entry.provider_latency_ms = latencies.get_mut(name).and_then(|l| latency_of(l));
        counts.insert(
            name.clone(),
            WindowCounts {
                attempts: entry.attempts,
                succeeded: entry.succeeded,
                max_latency_ms: entry.provider_latency_ms.map(|l| l.max),
            },
        );
    }
    Ok(Metrics {
        window_s: window_ms / 1000,
        alerts: alerts_of(&counts, thresholds)?,
        methods,
    })
}

/// The figures over the last `window_ms` from the raw samples (by the `at_ms` index), and the
/// alerts that hold: what `GET /v1/metrics` answers.
pub fn summarize(
    sql: &SqlStorage,
    window_ms: i64,
    thresholds: Thresholds,
    now_ms: i64,
) -> Result<Metrics> {
    let rows: Vec<SampleRow> = sql
        .exec(
            "SELECT kind, method, ms, ok, code FROM metric_samples WHERE at_ms >= ? ORDER BY at_ms",
            vec![(now_ms - window_ms).into()],
        )?
        .to_array()?;
    metrics_of(rows, window_ms, thresholds)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        failure_rate_bps: 1_000,
        min_attempts: 3,
        provider_latency_ms: 400,
    };

    fn outcome(n: usize, method: PaymentMethod, succeeded: bool, at_ms: i64) -> MetricSample {
        MetricSample::PaymentOutcome {
            id: format!("o{n}"),
            method,
            succeeded,
            code: (!succeeded).then_some(ErrorCode::IncorrectPayPassword),
            at_ms,
        }
    }

    fn call(n: usize, method: PaymentMethod, ms: i64, at_ms: i64) -> MetricSample {
        MetricSample::ProviderCall {
            id: format!("c{n}"),
            method,
            op: "prepay".into(),
            ms,
            ok: true,
            at_ms,
        }
    }

    fn row(sample: &MetricSample) -> SampleRow {
        match sample {
            MetricSample::ProviderCall { method, ms, .. } => SampleRow {
                kind: "provider_call".into(),
                method: method.as_str().into(),
                ms: Some(*ms),
                ok: 1,
                code: None,
            },
            MetricSample::PaymentOutcome {
                method,
                succeeded,
                code,
                ..
            } => SampleRow {
                kind: "payment_outcome".into(),
                method: method.as_str().into(),
                ms: None,
                ok: i64::from(*succeeded),
                code: code.map(|c| c.as_str().into()),
            },
        }
    }

    /// What the rollup table holds after these samples: one row per (minute, method).
    fn rolled_up(samples: &[MetricSample]) -> Vec<Rollup> {
        let mut rows: BTreeMap<(i64, String), Rollup> = BTreeMap::new();
        for sample in samples {
            let delta = Rollup::of(sample);
            let row = rows
                .entry((delta.minute, delta.method.clone()))
                .or_insert_with(|| Rollup {
                    minute: delta.minute,
                    method: delta.method.clone(),
                    ..Rollup::default()
                });
            row.attempts += delta.attempts;
            row.succeeded += delta.succeeded;
            row.provider_calls += delta.provider_calls;
            row.max_latency_ms = row.max_latency_ms.max(delta.max_latency_ms);
        }
        rows.into_values().collect()
    }

    #[test]
    fn a_sample_trips_an_alert_only_where_it_may_so_a_batch_that_may_not_skips_the_window() {
        let samples = [
            outcome(0, PaymentMethod::Balance, true, 0),
            outcome(1, PaymentMethod::Balance, false, 0),
            outcome(2, PaymentMethod::WechatPay, false, 0),
            call(3, PaymentMethod::WechatPay, T.provider_latency_ms, 0),
            call(4, PaymentMethod::WechatPay, T.provider_latency_ms + 1, 0),
            call(5, PaymentMethod::Bkash, 5_000, 0),
        ];
        let alerts: Vec<Alert> = [PaymentMethod::Balance, PaymentMethod::WechatPay]
            .into_iter()
            .flat_map(|method| {
                ["failure_rate_high", "provider_latency_high"].map(|kind| Alert {
                    alert: kind.into(),
                    method,
                    value: 0,
                    threshold: 0,
                })
            })
            .collect();
        for sample in &samples {
            for alert in &alerts {
                assert!(
                    !trips(sample, alert, T) || may_trip(sample, T),
                    "{sample:?} trips {alert:?}"
                );
            }
        }
        // A paid payment and a call within the threshold cannot trip anything.
        assert!(!may_trip(&samples[0], T));
        assert!(!may_trip(&samples[3], T));
        // A failed payment and a slow call may, and trip their own method's alert of their kind.
        assert!(trips(&samples[1], &alerts[0], T));
        assert!(!trips(&samples[1], &alerts[1], T));
        assert!(!trips(&samples[1], &alerts[2], T));
        assert!(trips(&samples[4], &alerts[3], T));
    }

    #[test]
    fn rollups_raise_the_same_alerts_as_the_raw_samples() {
        let mut samples = Vec::new();
        // Balance over three minutes: 1 of 4 succeeded; WeChat: calls up to 600 ms, all paid.
        for n in 0..4 {
            samples.push(outcome(
                n,
                PaymentMethod::Balance,
                n == 0,
                n as i64 * 50_000,
            ));
        }
        for (n, ms) in [120, 600, 80, 90].into_iter().enumerate() {
            samples.push(call(n, PaymentMethod::WechatPay, ms, n as i64 * 70_000));
            samples.push(outcome(
                10 + n,
                PaymentMethod::WechatPay,
                true,
                n as i64 * 70_000,
            ));
        }
        let raw = metrics_of(samples.iter().map(row).collect(), 3_600_000, T).unwrap();
        let rollups = rolled_up(&samples);
        assert!(
            rollups.len() < samples.len(),
            "one row per minute and method"
        );
        let from_rollups = alerts_of(&window_from_rollups(&rollups), T).unwrap();
        assert_eq!(from_rollups, raw.alerts);
        let kinds: Vec<(&str, PaymentMethod)> = raw
            .alerts
            .iter()
            .map(|a| (a.alert.as_str(), a.method))
            .collect();
        assert_eq!(
            kinds,
            [
                ("failure_rate_high", PaymentMethod::Balance),
                ("provider_latency_high", PaymentMethod::WechatPay)
            ]
        );
        assert_eq!(raw.alerts[0].value, 7_500);
        assert_eq!(raw.alerts[1].value, 600);
    }

    #[test]
    fn too_few_attempts_or_fast_calls_raise_nothing() {
        let samples = [
            outcome(0, PaymentMethod::Balance, false, 0),
            outcome(1, PaymentMethod::Balance, false, 1),
            call(2, PaymentMethod::Bkash, 400, 2),
        ];
        let counts = window_from_rollups(&rolled_up(&samples));
        assert_eq!(counts["balance"].attempts, 2);
        assert_eq!(counts["bkash"].max_latency_ms, Some(400));
        assert_eq!(alerts_of(&counts, T).unwrap(), []);
    }

    #[test]
    fn a_sample_falls_in_its_minute() {
        assert_eq!(minute_of(0), 0);
        assert_eq!(minute_of(59_999), 0);
        assert_eq!(minute_of(60_000), 1);
        assert_eq!(minute_of(-1), -1);
        let delta = Rollup::of(&outcome(0, PaymentMethod::Bkash, true, 125_000));
        assert_eq!((delta.minute, delta.attempts, delta.succeeded), (2, 1, 1));
        assert_eq!(delta.max_latency_ms, None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(latency_of(&mut []), None);
        let mut one = [7];
        assert_eq!(
            latency_of(&mut one),
            Some(Latency {
                p50: 7,
                p95: 7,
                max: 7
            })
        );
        let mut hundred: Vec<i64> = (1..=100).rev().collect();
        assert_eq!(
            latency_of(&mut hundred),
            Some(Latency {
                p50: 51,
                p95: 96,
                max: 100
            })
        );
        assert_eq!(success_rate_bps(3, 1), Some(3_333));
        assert_eq!(success_rate_bps(0, 0), None);
    }

    #[test]
    fn raw_figures_count_failure_codes() {
        let samples = [
            outcome(0, PaymentMethod::Balance, true, 0),
            outcome(1, PaymentMethod::Balance, false, 0),
            outcome(2, PaymentMethod::Balance, false, 0),
        ];
        let m = metrics_of(samples.iter().map(row).collect(), 60_000, T).unwrap();
        let balance = &m.methods["balance"];
        assert_eq!(
            (balance.attempts, balance.succeeded, balance.failed),
            (3, 1, 2)
        );
        assert_eq!(balance.failure_codes["incorrect_pay_password"], 2);
        assert_eq!(m.window_s, 60);
    }
}
