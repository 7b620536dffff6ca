//! The `CheckoutSession` Durable Object: one per session, the only writer of its status.
//!
//! A payment is a small saga. Each step is written down before its side effect:
//! - balance: the attempt is saved as `processing`, then the wallet debits it under the payment id;
//!   if the answer is lost, the alarm asks the wallet to resolve that id (the wallet fences an id it
//!   never saw, so a late debit cannot land);
//! - external (bKash): the leg is saved as `creating`, then created at the provider; on the
//!   shopper's return it is saved as `completing` before execute; a lost answer is settled by
//!   querying the provider, from the callback itself, the alarm, or the reconciliation cron.
//!
//! Either way a payment and the session's change to paid cannot come apart.

mod audit_trail;
mod external;
mod measured;
mod notification;
mod outbox;
use crate::saga::points;
mod refund;
mod throttle;

pub use crate::saga::{CallbackOutcome, NotifiedEvent};

use checkout_core::api::{
    AllocationRequest, BalanceSummary, CreateRefundRequest, PaymentMethod, SessionStatus,
    WechatFlow, WidgetSession,
};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
};

use super::session_record::{LegStage, PayStart, SessionRecord};
use super::wallet::{TransferOutcome, WalletCommand};
use super::{reconciler, rpc, wallet_stub};
use crate::clock::now_s;
use crate::config::Mode;
use crate::connectors;
use crate::crypto::{random_id, secrets_equal};
use crate::error::{Error, Result};

/// How long an attempt may stay unanswered before the alarm resolves it.
const RECOVERY_AFTER_S: i64 = 30;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SessionCommand {
    /// Stores a new session, or returns the existing one for the same order and request.
    Create { record: Box<SessionRecord> },
    /// The merchant's view, if the session belongs to `merchant_scope`.
    Retrieve { merchant_scope: String },
    /// Checks a client secret before a widget token is granted.
    AuthorizeClient { client_secret: String },
    /// The shopper's view, with the wallet balance when balance is offered.
    WidgetView,
    /// The merchant id of the session, so the Worker can check a page's origin against that
    /// merchant's list (the pay-password frame's `frame-ancestors`). Nothing else is revealed.
    MerchantId,
    /// Pays the session with one method.
    Pay {
        idempotency_key: String,
        method: PaymentMethod,
        pay_password: Option<String>,
        /// Where an external provider sends the shopper back.
        callback_url: String,
        /// A split between points and balance.
        #[serde(default)]
        allocation: Option<AllocationRequest>,
        /// Where a provider posts its server-to-server notification.
        #[serde(default)]
        notify_url: String,
        #[serde(default)]
        wechat_flow: Option<WechatFlow>,
        /// The shopper's address, for providers that check it (WeChat H5).
        #[serde(default)]
        client_ip: Option<String>,
    },
    /// A provider's notification, already verified and decrypted by the Worker with the account
    /// of mode `livemode`, which must be the session's own.
    ProviderNotification {
        /// The provider whose notification route was called; only its legs can be touched.
        provider: PaymentMethod,
        nonce: String,
        #[serde(default)]
        livemode: bool,
        event: NotifiedEvent,
    },
    /// The shopper gives up on the external payment under way (closing it at the provider).
    CancelPayment,
    /// The shopper came back from the provider; answers where to send the browser.
    ProviderCallback {
        /// The provider whose callback route was called; only its legs can be touched.
        provider: PaymentMethod,
        reference: String,
        outcome: CallbackOutcome,
    },
    /// Settles an unfinished external leg by asking its provider (the reconciliation cron).
    Reconcile,
    /// Refunds part or all of a paid session.
    Refund {
        merchant_scope: String,
        idempotency_key: String,
        request: CreateRefundRequest,
        /// Where a provider posts the refund's outcome (WeChat Pay).
        #[serde(default)]
        notify_url: Option<String>,
    },
    /// A page of the session's audit trail, if it belongs to `merchant_scope`.
    Audit {
        merchant_scope: String,
        #[serde(default)]
        page: checkout_core::api::ListPage,
    },
    /// What the provider says now about an external payment.
    ProviderStatus {
        merchant_scope: String,
        payment_id: String,
    },
}

/// A pay request as the session object receives it.
#[derive(Debug)]
struct PayCommand {
    method: PaymentMethod,
    pay_password: Option<String>,
    callback_url: String,
    allocation: Option<AllocationRequest>,
    notify_url: String,
    wechat_flow: Option<WechatFlow>,
    client_ip: Option<String>,
}

#[durable_object]
pub struct CheckoutSession {
    state: State,
    env: Env,
    sql: SqlStorage,
    /// When the widget's status view last asked the provider, so polling cannot flood it.
    last_status_query_s: std::cell::Cell<i64>,
    /// The requests being served, for the audit trail.
    in_flight: audit_trail::InFlight,
}

impl DurableObject for CheckoutSession {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        // One row holds the whole record, so every change is a single atomic write.
        for schema in [
            "CREATE TABLE IF NOT EXISTS session (k INTEGER PRIMARY KEY CHECK (k = 1), record TEXT NOT NULL)",
            notification::NONCE_SCHEMA,
            outbox::OUTBOX_SCHEMA,
            audit_trail::AUDIT_SCHEMA,
            throttle::THROTTLE_SCHEMA,
        ] {
            if let Err(e) = sql.exec(schema, None) {
                let message = format!("session schema: {e}");
                crate::log::event(crate::log::Level::Error, serde_json::json!({ "message": message }));
            }
        }
        CheckoutSession {
            state,
            env,
            sql,
            last_status_query_s: std::cell::Cell::new(0),
            in_flight: audit_trail::InFlight::default(),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let source = req
            .headers()
            .get(rpc::REQUEST_ID_HEADER)
            .ok()
            .flatten()
            .unwrap_or_else(|| "internal".to_owned());
        let result = match rpc::command::<SessionCommand>(req).await {
            Ok(command) => {
                let (op, rule) = audit_trail::op_of(&command);
                let changes = self.in_flight.changes();
                self.in_flight.enter(&source);
                let result = self.handle(command).await;
                self.in_flight.leave(&source);
                if rule.audits(self.in_flight.changes() != changes) {
                    self.audit_command(&op, &source, &result);
                }
                result
            }
            Err(e) => Err(e),
        };
        self.flush_outbox().await;
        rpc::reply("session", result)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.in_flight.enter("alarm");
        let outcome = self.on_alarm().await;
        self.in_flight.leave("alarm");
        self.flush_outbox().await;
        if let Err(e) = outcome {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "object": "session", "alarm": e.to_string()}),
            );
            // Try again soon rather than leave an attempt unresolved.
            self.state
                .storage()
                .set_alarm(RECOVERY_AFTER_S * 1000)
                .await?;
        }
        Response::ok("")
    }
}

impl CheckoutSession {
    async fn handle(&self, command: SessionCommand) -> Result<serde_json::Value> {
        match command {
            SessionCommand::Create { record } => to_json(self.create(*record).await?),
            SessionCommand::Retrieve { merchant_scope } => {
                to_json(self.owned_by(&merchant_scope)?.merchant_view())
            }
            SessionCommand::AuthorizeClient { client_secret } => {
                let record = self.current()?;
                if !secrets_equal(record.client_secret.as_bytes(), client_secret.as_bytes()) {
                    return Err(Error::api(ErrorCode::InvalidClientSecret));
                }
                to_json(())
            }
            SessionCommand::MerchantId => {
                let record = self.current()?;
                let (_mode, merchant_id) = record
                    .merchant_scope
                    .split_once(':')
                    .ok_or_else(|| Error::Invariant("a session scope without a mode".into()))?;
                to_json(merchant_id)
            }
            SessionCommand::WidgetView => {
                self.refresh_from_provider().await?;
                let record = self.current()?;
                to_json(self.widget_view(record).await?)
            }
            SessionCommand::Pay {
                idempotency_key,
                method,
                pay_password,
                callback_url,
                allocation,
                notify_url,
                wechat_flow,
                client_ip,
            } => {
                let request = PayCommand {
                    method,
                    pay_password,
                    callback_url,
                    allocation,
                    notify_url,
                    wechat_flow,
                    client_ip,
                };
                to_json(self.pay(&idempotency_key, request).await?)
            }
            SessionCommand::ProviderNotification {
                provider,
                nonce,
                livemode,
                event,
            } => {
                // A sandbox account's notification never settles a live session, nor the reverse.
                if self.current()?.livemode != livemode {
                    return Err(Error::api(ErrorCode::NotificationUnverified));
                }
                to_json(self.provider_notification(provider, &nonce, event).await?)
            }
            SessionCommand::CancelPayment => to_json(self.cancel_payment().await?),
            SessionCommand::ProviderCallback {
                provider,
                reference,
                outcome,
            } => to_json(
                self.provider_callback(provider, &reference, outcome)
                    .await?,
            ),
            SessionCommand::Reconcile => {
                self.reconcile().await?;
                let mut record = self.current()?;
                if record.status == SessionStatus::Expired {
                    self.release_retained(&mut record).await?;
                    self.schedule(&record).await?;
                }
                to_json(())
            }
            SessionCommand::Refund {
                merchant_scope,
                idempotency_key,
                request,
                notify_url,
            } => {
                self.owned_by(&merchant_scope)?;
                to_json(self.refund(&idempotency_key, &request, notify_url).await?)
            }
            SessionCommand::Audit {
                merchant_scope,
                page,
            } => {
                self.owned_by(&merchant_scope)?;
                to_json(self.audit_trail(page)?)
            }
            SessionCommand::ProviderStatus {
                merchant_scope,
                payment_id,
            } => {
                self.owned_by(&merchant_scope)?;
                to_json(self.provider_status(&payment_id).await?)
            }
        }
    }

    async fn create(&self, record: SessionRecord) -> Result<checkout_core::api::CheckoutSession> {
        if let Some(existing) = self.load()? {
            let same = existing.merchant_scope == record.merchant_scope
                && existing.request == record.request;
            return if same {
                Ok(existing.merchant_view())
            } else {
                Err(Error::api(ErrorCode::OrderConflict))
            };
        }
        self.save(&record)?;
        self.schedule(&record).await?;
        // The cron's safety net for the alarm; losing it only loses the net.
        if let Err(e) =
            reconciler::file_expiry(&self.env, &record.id, record.expires_at_s * 1000).await
        {
            crate::log::event(
                crate::log::Level::Warn,
                serde_json::json!({"object": "session", "session_id": record.id, "expiry_filing": e.to_string()}),
            );
        }
        Ok(record.merchant_view())
    }

    async fn widget_view(&self, record: SessionRecord) -> Result<WidgetSession> {
        let balance = self.balance_summary(&record).await?;
        let mut view = record.widget_view(balance);
        for method in &record.request.methods {
            if let Some(connector) =
                connectors::Connector::for_method(*method, &self.env, Mode::of(record.livemode))?
            {
                let (min, max) = connector.amount_limits();
                view.method_limits.push(checkout_core::api::MethodLimit {
                    method: *method,
                    min_minor: min.amount_minor(),
                    max_minor: max.amount_minor(),
                });
            }
        }
        Ok(view)
    }

    async fn balance_summary(&self, record: &SessionRecord) -> Result<Option<BalanceSummary>> {
        let methods = &record.request.methods;
        if !methods.contains(&PaymentMethod::Balance) && !methods.contains(&PaymentMethod::Points) {
            return Ok(None);
        }
        let command = WalletCommand::Summary {
            currency: record.amount.currency(),
        };
        Ok(Some(rpc::call(&self.wallet(record)?, &command).await?))
    }

    async fn pay(&self, idempotency_key: &str, request: PayCommand) -> Result<WidgetSession> {
        let mut record = self.current()?;
        let payment_id = format!("pay_{}", random_id(24)?);
        let available = self.available_methods(&record)?;
        let start = record.start_payment(
            idempotency_key,
            request.method,
            payment_id,
            now_s(),
            &available,
        )?;
        let mut payment = match start {
            PayStart::Replayed(earlier) => return self.outcome_view(record, earlier.failure).await,
            PayStart::Started(payment) => payment,
        };
        if payment.provider.is_some() {
            if let Some(split) = &request.allocation {
                let (points, wallet, rest) =
                    points::external_split(&record, request.method, split)?;
                record.set_external_split(&payment.id, points, wallet, rest)?;
                payment.points = points;
                payment.wallet_amount = Some(wallet);
                payment.external_amount = Some(rest);
            }
            return self.pay_external(record, payment, request).await;
        }
        // Refused splits return before anything is saved: the attempt never existed.
        let (points, balance_part) =
            points::points_split(&record, request.method, request.allocation.as_ref())?;
        if points > 0 {
            record.set_points(&payment.id, points)?;
            payment.points = points;
        }
        self.save(&record)?;
        // Paying from the wallet directly: holds kept for a bKash retry are no longer wanted.
        self.release_retained(&mut record).await?;
        self.schedule(&record).await?;

        let debit = WalletCommand::Debit {
            transfer_id: payment.id.clone(),
            amount: balance_part,
            points,
            pay_password: request.pay_password,
        };
        let failure = match rpc::call::<_, ()>(&self.wallet(&record)?, &debit).await {
            Ok(()) => None,
            Err(Error::Api(detail)) => Some(*detail),
            // The outcome is unknown: leave the attempt processing for the alarm to resolve.
            Err(internal) => return Err(internal),
        };
        let record = self
            .finish(&payment.id, failure.clone().map_or(Ok(()), Err), None)
            .await?;
        self.outcome_view(record, failure).await
    }

    /// The methods this session can be paid with on this Worker now.
    fn available_methods(&self, record: &SessionRecord) -> Result<Vec<PaymentMethod>> {
        let mut available = Vec::new();
        for method in &record.request.methods {
            let usable = match method {
                PaymentMethod::Points => record.points_rules.is_some(),
                other => connectors::is_available(*other, &self.env, Mode::of(record.livemode))?,
            };
            if usable {
                available.push(*method);
            }
        }
        Ok(available)
    }

    /// Records a processing payment's outcome, if it is still processing, and returns the record.
    async fn finish(
        &self,
        payment_id: &str,
        outcome: std::result::Result<(), ErrorDetail>,
        transaction_id: Option<String>,
    ) -> Result<SessionRecord> {
        let mut record = self.current()?;
        let still_processing = record
            .processing_payment()
            .is_some_and(|p| p.id == payment_id);
        if still_processing {
            record.set_transaction_id(payment_id, transaction_id).ok();
            record.finish_payment(payment_id, outcome)?;
            self.save(&record)?;
            self.schedule(&record).await?;
        }
        Ok(record)
    }

    /// The answer to a pay request: the session on success, the attempt's error on failure.
    async fn outcome_view(
        &self,
        record: SessionRecord,
        failure: Option<ErrorDetail>,
    ) -> Result<WidgetSession> {
        match failure {
            Some(detail) => Err(detail.into()),
            None => self.widget_view(record).await,
        }
    }

    async fn on_alarm(&self) -> Result<()> {
        let Some(record) = self.load()? else {
            return Ok(());
        };
        let now = now_s();
        if let Some(payment) = record.processing_payment().cloned() {
            match payment.provider.as_ref().map(|l| l.stage) {
                None if now - payment.created_at_s >= RECOVERY_AFTER_S => {
                    self.resolve_wallet_payment(&record, &payment.id).await?;
                }
                Some(_) => self.reconcile().await?,
                None => {}
            }
        }
        self.settle_refunds().await?;
        let mut record = self.current()?;
        if record.expire_if_due(now) {
            self.save(&record)?;
        }
        if record.status == SessionStatus::Expired {
            self.release_retained(&mut record).await?;
        }
        self.schedule(&record).await
    }

    async fn resolve_wallet_payment(&self, record: &SessionRecord, payment_id: &str) -> Result<()> {
        let resolve = WalletCommand::Resolve {
            transfer_id: payment_id.to_owned(),
        };
        let outcome: TransferOutcome = rpc::call(&self.wallet(record)?, &resolve).await?;
        self.finish(payment_id, outcome.into_result(), None).await?;
        Ok(())
    }

    /// Sets the alarm to the next thing that must happen: resolving an attempt, or expiry.
    async fn schedule(&self, record: &SessionRecord) -> Result<()> {
        let storage = self.state.storage();
        let now = now_s();
        let due_s = match (record.status, record.processing_payment()) {
            (_, Some(payment)) => match payment.provider.as_ref() {
                None => payment.created_at_s + RECOVERY_AFTER_S,
                Some(leg) if leg.stage == LegStage::AwaitingShopper => {
                    // The shopper is at the provider: check back at expiry, or soon if past it.
                    record
                        .expires_at_s
                        .max(leg.stage_since_s + RECOVERY_AFTER_S)
                }
                Some(leg) => leg.stage_since_s + RECOVERY_AFTER_S,
            },
            _ if record.refunds_pending() => now + RECOVERY_AFTER_S,
            (SessionStatus::Open, None) => record.expires_at_s,
            _ => return Ok(storage.delete_alarm().await?),
        };
        storage.set_alarm((due_s - now).max(1) * 1000).await?;
        Ok(())
    }

    fn wallet(&self, record: &SessionRecord) -> Result<worker::Stub> {
        wallet_stub(
            &self.env,
            &record.merchant_scope,
            &record.request.customer_id,
        )
    }

    fn owned_by(&self, merchant_scope: &str) -> Result<SessionRecord> {
        let record = self.current()?;
        if record.merchant_scope != merchant_scope {
            return Err(Error::api(ErrorCode::NotFound));
        }
        Ok(record)
    }

    /// The stored record, expired first if its time is up.
    fn current(&self) -> Result<SessionRecord> {
        let mut record = self
            .load()?
            .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
        if record.expire_if_due(now_s()) {
            self.save(&record)?;
        }
        Ok(record)
    }

    fn load(&self) -> Result<Option<SessionRecord>> {
        #[derive(Deserialize)]
        struct Row {
            record: String,
        }
        let rows: Vec<Row> = self
            .sql
            .exec("SELECT record FROM session WHERE k = 1", None)?
            .to_array()?;
        rows.first()
            .map(|row| serde_json::from_str(&row.record).map_err(Error::from))
            .transpose()
    }

    /// Writes the record, and in the same turn the merchant events and the audit entries its
    /// change causes.
    fn save(&self, record: &SessionRecord) -> Result<()> {
        let before = self.load()?;
        if let Some(before) = &before {
            self.record_events(before, record)?;
        }
        self.audit_changes(before.as_ref(), record)?;
        self.sql.exec(
            "INSERT INTO session (k, record) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET record = excluded.record",
            vec![serde_json::to_string(record)?.into()],
        )?;
        Ok(())
    }

    /// Tells the reconciliation registry whether this session has a leg the cron must watch.
    async fn track(&self, record: &SessionRecord) -> Result<()> {
        let pending = record
            .processing_payment()
            .is_some_and(|p| p.provider.is_some())
            || record.refunds_pending();
        reconciler::track(&self.env, &record.id, pending).await
    }
}

fn to_json<T: Serialize>(value: T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}
