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

use std::collections::BTreeMap;

use checkout_core::api::PaymentMethod;
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{Env, SqlStorage};

use crate::error::Result;

pub const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS metric_samples (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, \
     kind TEXT NOT NULL, method TEXT NOT NULL, op TEXT, ms INTEGER, ok INTEGER NOT NULL, code TEXT)";

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

/// Stores a batch of samples (each once), then fires every alert a sample of the batch trips. The
/// window is summarized once per batch, not once per sample.
pub fn record(
    sql: &SqlStorage,
    samples: &[MetricSample],
    thresholds: Thresholds,
    now_ms: i64,
) -> Result<()> {
    for sample in samples {
        store(sql, sample)?;
    }
    if samples.is_empty() {
        return Ok(());
    }
    let window = summarize(sql, ALERT_WINDOW_MS, thresholds, now_ms)?;
    for alert in &window.alerts {
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

/// Whether `sample` is one that makes `alert` hold: a slow call, or a failed payment.
fn trips(sample: &MetricSample, alert: &Alert, thresholds: Thresholds) -> bool {
    match sample {
        MetricSample::ProviderCall { method, ms, .. } => {
            *method == alert.method
                && alert.alert == "provider_latency_high"
                && *ms > thresholds.provider_latency_ms
        }
        MetricSample::PaymentOutcome {
            method, succeeded, ..
        } => *method == alert.method && alert.alert == "failure_rate_high" && !succeeded,
    }
}

fn store(sql: &SqlStorage, sample: &MetricSample) -> Result<()> {
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
    sql.exec(
        "INSERT OR IGNORE INTO metric_samples (id, at_ms, kind, method, op, ms, ok, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
    )?;
    Ok(())
}

/// The window alerts look at.
pub const ALERT_WINDOW_MS: i64 = 3_600_000;

/// The figures over the last `window_ms`, and the alerts that hold.
pub fn summarize(
    sql: &SqlStorage,
    window_ms: i64,
    thresholds: Thresholds,
    now_ms: i64,
) -> Result<Metrics> {
    #[derive(Deserialize)]
    struct Row {
        kind: String,
        method: String,
        ms: Option<i64>,
        ok: i64,
        code: Option<String>,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT kind, method, ms, ok, code FROM metric_samples WHERE at_ms >= ? ORDER BY at_ms",
            vec![(now_ms - window_ms).into()],
        )?
        .to_array()?;
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
    let mut alerts = Vec::new();
    for (name, entry) in methods.iter_mut() {
        let method: PaymentMethod =
            serde_json::from_value(serde_json::Value::String(name.clone()))?;
        if entry.attempts > 0 {
            let rate = entry.succeeded * 10_000 / entry.attempts;
            entry.success_rate_bps = Some(rate);
            let failure_bps = 10_000 - rate;
            if entry.attempts >= thresholds.min_attempts
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
        if let Some(samples) = latencies.get_mut(name) {
            samples.sort_unstable();
            let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
            let latency = Latency {
                p50: at(50),
                p95: at(95),
                max: *samples.last().unwrap_or(&0),
            };
            if latency.max > thresholds.provider_latency_ms {
                alerts.push(Alert {
                    alert: "provider_latency_high".into(),
                    method,
                    value: latency.max,
                    threshold: thresholds.provider_latency_ms,
                });
            }
            entry.provider_latency_ms = Some(latency);
        }
    }
    Ok(Metrics {
        window_s: window_ms / 1000,
        methods,
        alerts,
    })
}
