//! The `CheckoutSession` Durable Object: one per session, the only writer of its status.
//!
//! A payment is a small saga across two objects. The attempt is written down as `processing`
//! before the wallet is asked to debit, with the payment id as the wallet transfer id. If the
//! answer is lost (a crash, an eviction), the alarm asks the wallet to resolve that transfer id:
//! posted means paid; unknown is fenced in the wallet, so a late debit can never land, and the
//! attempt fails. The debit and the session's change to paid therefore cannot come apart.

use checkout_core::api::{BalanceSummary, PaymentMethod, SessionStatus, WidgetSession};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Request, Response, SqlStorage, State,
};

use super::session_record::{PayStart, SessionRecord};
use super::wallet::{TransferOutcome, WalletCommand};
use super::{rpc, wallet_stub};
use crate::clock::now_s;
use crate::crypto::{random_id, secrets_equal};
use crate::error::{Error, Result};

/// How long an attempt may stay `processing` before the alarm resolves it with the wallet.
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
    /// Pays the session with one method.
    Pay {
        idempotency_key: String,
        method: PaymentMethod,
        pay_password: Option<String>,
    },
}

#[durable_object]
pub struct CheckoutSession {
    state: State,
    env: Env,
    sql: SqlStorage,
}

impl DurableObject for CheckoutSession {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        // One row holds the whole record, so every change is a single atomic write.
        if let Err(e) = sql.exec(
            "CREATE TABLE IF NOT EXISTS session (k INTEGER PRIMARY KEY CHECK (k = 1), record TEXT NOT NULL)",
            None,
        ) {
            worker::console_error!("session schema: {e}");
        }
        CheckoutSession { state, env, sql }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let result = match rpc::command::<SessionCommand>(req).await {
            Ok(command) => self.handle(command).await,
            Err(e) => Err(e),
        };
        rpc::reply("session", result)
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.on_alarm().await {
            worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "object": "session", "alarm": e.to_string()})
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
                let record = self.current()?;
                if record.merchant_scope != merchant_scope {
                    return Err(Error::api(ErrorCode::NotFound));
                }
                to_json(record.merchant_view())
            }
            SessionCommand::AuthorizeClient { client_secret } => {
                let record = self.current()?;
                if !secrets_equal(record.client_secret.as_bytes(), client_secret.as_bytes()) {
                    return Err(Error::api(ErrorCode::InvalidClientSecret));
                }
                to_json(())
            }
            SessionCommand::WidgetView => to_json(self.widget_view().await?),
            SessionCommand::Pay {
                idempotency_key,
                method,
                pay_password,
            } => to_json(self.pay(&idempotency_key, method, pay_password).await?),
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
        Ok(record.merchant_view())
    }

    async fn widget_view(&self) -> Result<WidgetSession> {
        let record = self.current()?;
        let balance = self.balance_summary(&record).await?;
        Ok(record.widget_view(balance))
    }

    async fn balance_summary(&self, record: &SessionRecord) -> Result<Option<BalanceSummary>> {
        if !record.request.methods.contains(&PaymentMethod::Balance) {
            return Ok(None);
        }
        let command = WalletCommand::Summary {
            currency: record.amount.currency(),
        };
        Ok(Some(rpc::call(&self.wallet(record)?, &command).await?))
    }

    async fn pay(
        &self,
        idempotency_key: &str,
        method: PaymentMethod,
        pay_password: Option<String>,
    ) -> Result<WidgetSession> {
        let mut record = self.current()?;
        let payment_id = format!("pay_{}", random_id(24)?);
        let payment = match record.start_payment(idempotency_key, method, payment_id, now_s())? {
            PayStart::Replayed(earlier) => return self.replayed(record, earlier.failure).await,
            PayStart::Started(payment) => payment,
        };
        self.save(&record)?;
        self.schedule(&record).await?;

        let debit = WalletCommand::Debit {
            transfer_id: payment.id.clone(),
            amount: payment.amount,
            pay_password,
        };
        let outcome = rpc::call::<_, ()>(&self.wallet(&record)?, &debit).await;

        let mut record = self.current()?;
        let still_processing = record
            .processing_payment()
            .is_some_and(|p| p.id == payment.id);
        let failure = match outcome {
            Ok(()) => None,
            Err(Error::Api(detail)) => Some(*detail),
            // The outcome is unknown: leave the attempt processing for the alarm to resolve.
            Err(internal) => return Err(internal),
        };
        if still_processing {
            record.finish_payment(&payment.id, failure.clone().map_or(Ok(()), Err))?;
            self.save(&record)?;
            self.schedule(&record).await?;
        }
        self.replayed(record, failure).await
    }

    /// The answer to a pay request: the session on success, the attempt's error on failure.
    async fn replayed(
        &self,
        record: SessionRecord,
        failure: Option<ErrorDetail>,
    ) -> Result<WidgetSession> {
        match failure {
            Some(detail) => Err(detail.into()),
            None => {
                let balance = self.balance_summary(&record).await?;
                Ok(record.widget_view(balance))
            }
        }
    }

    async fn on_alarm(&self) -> Result<()> {
        let Some(mut record) = self.load()? else {
            return Ok(());
        };
        let now = now_s();
        if let Some(payment) = record.processing_payment().cloned() {
            if now - payment.created_at_s >= RECOVERY_AFTER_S {
                let resolve = WalletCommand::Resolve {
                    transfer_id: payment.id.clone(),
                };
                let outcome: TransferOutcome = rpc::call(&self.wallet(&record)?, &resolve).await?;
                record = self.current()?;
                if record
                    .processing_payment()
                    .is_some_and(|p| p.id == payment.id)
                {
                    record.finish_payment(&payment.id, outcome.into_result())?;
                    self.save(&record)?;
                }
            }
        }
        if record.expire_if_due(now) {
            self.save(&record)?;
        }
        self.schedule(&record).await
    }

    /// Sets the alarm to the next thing that must happen: resolving an attempt, or expiry.
    async fn schedule(&self, record: &SessionRecord) -> Result<()> {
        let storage = self.state.storage();
        let now = now_s();
        let due_s = match record.status {
            _ if record.processing_payment().is_some() => now + RECOVERY_AFTER_S,
            SessionStatus::Open => record.expires_at_s,
            _ => return Ok(storage.delete_alarm().await?),
        };
        storage.set_alarm((due_s - now).max(0) * 1000).await?;
        Ok(())
    }

    fn wallet(&self, record: &SessionRecord) -> Result<worker::Stub> {
        wallet_stub(
            &self.env,
            &record.merchant_scope,
            &record.request.customer_id,
        )
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

    fn save(&self, record: &SessionRecord) -> Result<()> {
        self.sql.exec(
            "INSERT INTO session (k, record) VALUES (1, ?) ON CONFLICT (k) DO UPDATE SET record = excluded.record",
            vec![serde_json::to_string(record)?.into()],
        )?;
        Ok(())
    }
}

fn to_json<T: Serialize>(value: T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(value)?)
}
