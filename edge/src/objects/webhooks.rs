//! The `Webhooks` Durable Object: one per merchant and mode. It holds the merchant's endpoint and
//! every event, and delivers them at least once, retrying with exponential back-off for up to
//! three days, driven by its alarm. The daily report (`report.rs`) is built from the same events,
//! the metrics and alerts (`metrics.rs`) from samples that travel with them, and the index of
//! provider attempts the reconciliation report walks (`attempts.rs`) from attempt lines.
//!
//! Events arrive from session objects, which store each one in their own outbox in the same write
//! as the state change that caused it and hand it over here (idempotent by event id) until this
//! object has it. Receivers deduplicate by the event id, which every attempt repeats.

pub mod attempts;
pub mod metrics;
pub mod report;
mod store;

use checkout_core::webhook::{self, Event};
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, State};

use super::rpc;
use crate::clock::now_ms;
use crate::connectors::outbound;
use crate::crypto::random_id;
use crate::error::{Error, Result};
use store::{EventRow, Store};

/// Deliveries are retried for this long after the event, then given up.
const RETRY_FOR_MS: i64 = 3 * 24 * 3600 * 1000;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 6 * 3600 * 1000;
/// Events delivered per alarm; the rest wait for the next one, moments later.
const BATCH: usize = 20;
const DELIVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WebhookCommand {
    /// Sets (or replaces, with a new secret) the endpoint; answers it with its secret.
    SetEndpoint {
        url: String,
    },
    /// Takes events and metric samples from a session's outbox; an id seen before is ignored.
    Enqueue {
        events: Vec<Event>,
        #[serde(default)]
        samples: Vec<metrics::MetricSample>,
        /// Provider attempts for the reconciliation index.
        #[serde(default)]
        attempts: Vec<crate::objects::session_record::attempts::ProviderAttempt>,
    },
    /// A page of one day's provider attempts at one method, for the reconciliation report.
    Attempts {
        day: String,
        method: checkout_core::api::PaymentMethod,
        starting_after: Option<String>,
        limit: usize,
    },
    /// Success rates, failure codes, provider latency and alerts over the last `window_s`.
    Metrics {
        window_s: i64,
    },
    List {
        limit: usize,
    },
    Get {
        id: String,
    },
    /// Delivers an event again, now.
    Resend {
        id: String,
    },
    /// The daily report between two dates (`YYYY-MM-DD`, inclusive).
    Report {
        from: String,
        to: String,
    },
}

/// The endpoint, as `POST /v1/webhook_endpoints` answers it (the only time the secret is shown).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Endpoint {
    pub url: String,
    pub secret: String,
    pub created_at: i64,
}

/// An event with where its delivery stands, for the events API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventView {
    #[serde(flatten)]
    pub event: Event,
    pub delivery: Delivery,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// `pending`, `delivered`, `failed` (gave up after three days) or `no_endpoint`.
    pub status: String,
    pub next_attempt_at: Option<i64>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub at: i64,
    /// The endpoint's HTTP status, when it answered.
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// The object for `merchant_scope` (`mode:merchant`), named by [`super::ObjectKey`].
pub fn stub(env: &Env, merchant_scope: &str) -> Result<rpc::Stub> {
    super::webhooks_stub(env, merchant_scope)
}

#[durable_object]
pub struct Webhooks {
    state: State,
    env: Env,
    store: Store,
    /// When this instance next prunes old metric samples and rollups (`metrics::record`).
    prune_at_ms: std::cell::Cell<i64>,
    /// The months' payment volumes the fees depend on (`report::Volumes`, write-through).
    volumes: report::Volumes,
}

impl DurableObject for Webhooks {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        Webhooks {
            state,
            env,
            store,
            prune_at_ms: std::cell::Cell::new(0),
            volumes: report::Volumes::default(),
        }
    }

    async fn fetch(&self, _req: Request) -> worker::Result<Response> {
        rpc::fetch_refused()
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.deliver_due().await {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "object": "webhooks", "alarm": e.to_string()}),
            );
            self.state.storage().set_alarm(30_000).await?;
        }
        Response::ok("")
    }
}

/// What a [`WebhookCommand`] answers, one variant per kind of command. Untagged: each is written
/// as its own JSON, so a caller reads the type it expects (`rpc::call::<_, Endpoint>` and so on).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum WebhookAnswer {
    /// `SetEndpoint`: the endpoint with its new secret.
    Endpoint(Endpoint),
    /// `Enqueue`: nothing (`null`).
    Done,
    /// `List`: the most recent events.
    Events(Vec<EventView>),
    /// `Metrics`.
    Metrics(Box<metrics::Metrics>),
    /// `Attempts`: a page of the provider attempts of a day.
    Attempts(attempts::AttemptPage),
    /// `Report`: a row per day.
    Report(Vec<report::ReportRow>),
    /// `Get` and `Resend`: one event.
    Event(EventView),
}

crate::serve_commands!(Webhooks);

impl rpc::Commands for Webhooks {
    const NAME: &'static str = "webhooks";
    type Command = WebhookCommand;
    type Answer = WebhookAnswer;

    async fn run(&self, command: WebhookCommand, _source: Option<&str>) -> Result<WebhookAnswer> {
        let answer = match command {
            WebhookCommand::SetEndpoint { url } => {
                let endpoint = Endpoint {
                    url,
                    secret: format!("whsec_{}", random_id(32)?),
                    created_at: now_ms() / 1000,
                };
                self.store.set_endpoint(&endpoint)?;
                WebhookAnswer::Endpoint(endpoint)
            }
            WebhookCommand::Enqueue {
                events,
                samples,
                attempts: provider_attempts,
            } => {
                let thresholds = metrics::Thresholds::from_env(&self.env);
                metrics::record(
                    self.store.sql(),
                    &samples,
                    thresholds,
                    now_ms(),
                    &self.prune_at_ms,
                )?;
                attempts::record(self.store.sql(), &provider_attempts)?;
                let has_endpoint = self.store.endpoint()?.is_some();
                let fees = crate::config::read(&self.env, "FEE_SCHEDULE")?;
                let schedules = report::Schedules::parse(fees.as_ref().map(|s| s.expose()))?;
                for event in &events {
                    // A repeat of a handed-over event changes nothing, report included.
                    if self.store.insert_event(event, has_endpoint, now_ms())? {
                        report::record(self.store.sql(), &self.volumes, event, &schedules)?;
                    }
                }
                self.schedule().await?;
                WebhookAnswer::Done
            }
            WebhookCommand::List { limit } => {
                let rows = self.store.recent_events(limit.clamp(1, 100))?;
                let views: Result<Vec<EventView>> = rows.iter().map(|r| self.view(r)).collect();
                WebhookAnswer::Events(views?)
            }
            WebhookCommand::Metrics { window_s } => {
                let thresholds = metrics::Thresholds::from_env(&self.env);
                let window_ms = window_s.clamp(60, 30 * 24 * 3600) * 1000;
                WebhookAnswer::Metrics(Box::new(metrics::summarize(
                    self.store.sql(),
                    window_ms,
                    thresholds,
                    now_ms(),
                )?))
            }
            WebhookCommand::Attempts {
                day,
                method,
                starting_after,
                limit,
            } => WebhookAnswer::Attempts(attempts::page(
                self.store.sql(),
                &day,
                method,
                starting_after.as_deref(),
                limit.clamp(1, 100),
            )?),
            WebhookCommand::Report { from, to } => {
                WebhookAnswer::Report(report::daily(self.store.sql(), &from, &to)?)
            }
            WebhookCommand::Get { id } => WebhookAnswer::Event(self.view(&self.event(&id)?)?),
            WebhookCommand::Resend { id } => {
                self.event(&id)?;
                if self.store.endpoint()?.is_none() {
                    return Err(Error::api_with(
                        ErrorCode::InvalidParameter,
                        "Set a webhook endpoint before resending events.",
                    ));
                }
                self.store.make_due(&id, now_ms())?;
                self.schedule().await?;
                WebhookAnswer::Event(self.view(&self.event(&id)?)?)
            }
        };
        Ok(answer)
    }
}

impl Webhooks {
    fn event(&self, id: &str) -> Result<EventRow> {
        self.store
            .event(id)?
            .ok_or_else(|| Error::api(ErrorCode::NotFound))
    }

    fn view(&self, row: &EventRow) -> Result<EventView> {
        Ok(EventView {
            event: serde_json::from_str(&row.body)?,
            delivery: Delivery {
                status: row.status.clone(),
                next_attempt_at: row.next_attempt_ms.map(|ms| ms / 1000),
                attempts: self.store.attempts(&row.id)?,
            },
        })
    }

    /// Delivers what is due, then sets the alarm for the next attempt.
    async fn deliver_due(&self) -> Result<()> {
        let Some(endpoint) = self.store.endpoint()? else {
            return Ok(());
        };
        for row in self.store.due_events(now_ms(), BATCH)? {
            self.deliver(&endpoint, &row).await?;
        }
        self.schedule().await
    }

    async fn deliver(&self, endpoint: &Endpoint, row: &EventRow) -> Result<()> {
        let started = now_ms();
        let signature = webhook::sign(&endpoint.secret, started / 1000, &row.body);
        let headers = [
            (webhook::SIGNATURE_HEADER, signature.as_str()),
            ("Checkout-Event-Id", row.id.as_str()),
            ("User-Agent", "checkout-webhooks/1"),
        ];
        let answer = outbound::send(
            Method::Post,
            &endpoint.url,
            &headers,
            Some(&row.body),
            DELIVERY_TIMEOUT,
        )
        .await;
        let (http_status, error) = match &answer {
            Ok(answer) => (Some(answer.status), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let attempt = Attempt {
            at: started / 1000,
            http_status,
            error,
            duration_ms: now_ms() - started,
        };
        let delivered = http_status.is_some_and(|s| (200..300).contains(&s));
        let tried = self.store.attempt_count(&row.id)? + 1;
        let next = next_attempt_ms(row.created_ms, now_ms(), tried, self.first_backoff_ms());
        self.store
            .record_attempt(&row.id, &attempt, delivered, next)?;
        if !delivered && next.is_none() {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "alert": "webhook_given_up", "event_id": row.id, "attempts": tried}),
            );
        }
        Ok(())
    }

    fn first_backoff_ms(&self) -> i64 {
        crate::config::read(&self.env, "WEBHOOK_FIRST_RETRY_MS")
            .ok()
            .flatten()
            .and_then(|s| s.expose().parse().ok())
            .unwrap_or(30_000)
    }

    async fn schedule(&self) -> Result<()> {
        let storage = self.state.storage();
        if self.store.endpoint()?.is_none() {
            return Ok(());
        }
        match self.store.next_due_ms()? {
            Some(due) => storage.set_alarm((due - now_ms()).max(1)).await?,
            None => storage.delete_alarm().await?,
        }
        Ok(())
    }
}

/// When to try again after `tried` failed attempts: `first` ms, doubling to at most six hours,
/// until three days after the event; `None` once that is over.
pub fn next_attempt_ms(created_ms: i64, now_ms: i64, tried: u32, first_ms: i64) -> Option<i64> {
    let doubling = 1_i64 << tried.saturating_sub(1).min(30);
    let wait = first_ms.saturating_mul(doubling).min(MAX_BACKOFF_MS);
    let next = now_ms + wait;
    (next <= created_ms + RETRY_FOR_MS).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_for_three_days() {
        let first = 30_000;
        assert_eq!(next_attempt_ms(0, 0, 1, first), Some(30_000));
        assert_eq!(next_attempt_ms(0, 0, 2, first), Some(60_000));
        assert_eq!(next_attempt_ms(0, 0, 5, first), Some(480_000));
        assert_eq!(next_attempt_ms(0, 0, 40, first), Some(MAX_BACKOFF_MS));
        let almost_three_days = RETRY_FOR_MS - 1_000;
        assert_eq!(next_attempt_ms(0, almost_three_days, 12, first), None);
        // Counting the attempts a persistently failing endpoint gets.
        let (mut now, mut tried) = (0, 0);
        while let Some(next) = next_attempt_ms(0, now, tried + 1, first) {
            now = next;
            tried += 1;
        }
        assert!(
            (15..=25).contains(&tried),
            "{tried} retries over three days"
        );
    }
}
