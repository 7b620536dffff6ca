//! Provider notifications (WeChat Pay's signed, encrypted server-to-server calls), the shopper
//! giving up on an external payment, and the widget's live status.
//!
//! The Worker has already verified a notification's signature and timestamp and decrypted it; the
//! session refuses a nonce it has seen (a replay), checks the transaction against the leg it
//! names (amount, currency and order number, in `settle`), and applies it once.

use checkout_core::api::{PaymentMethod, PaymentStatus, WidgetSession};
use checkout_core::ErrorCode;
use serde::Deserialize;

use super::external::{leg_reference, Settle};
use super::CheckoutSession;
use crate::clock::now_s;
use crate::connectors::{PaymentConnector, ProviderPayment, ProviderState};
use crate::error::{Error, Result};
use crate::objects::session_record::LegStage;

/// Nonces of acknowledged notifications. WeChat refuses a timestamp more than five minutes off,
/// so a nonce older than that can be forgotten; ten minutes leaves room for clock skew.
pub const NONCE_SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS notification_nonce (nonce TEXT PRIMARY KEY, seen_at_s INTEGER NOT NULL)";
const NONCE_MEMORY_S: i64 = 10 * 60;
/// The widget's status view asks the provider at most this often.
const STATUS_QUERY_EVERY_S: i64 = 3;

use crate::saga::NotifiedEvent;

impl CheckoutSession {
    pub(super) async fn provider_notification(
        &self,
        provider: PaymentMethod,
        nonce: &str,
        event: NotifiedEvent,
    ) -> Result<()> {
        if self.nonce_seen(nonce)? {
            return Err(Error::api(ErrorCode::NotificationReplayed));
        }
        match event {
            NotifiedEvent::Payment { payment } => self.payment_notified(provider, payment).await?,
            NotifiedEvent::Refund { refund_id } => {
                if !self.take_provider_call()? {
                    // Refused, not acknowledged: the provider retries on its schedule.
                    return Err(Error::api(ErrorCode::RateLimited));
                }
                self.settle_refund(provider, &refund_id).await?
            }
        }
        // Remembered only once applied: a notification that failed half-way must be retried.
        self.remember_nonce(nonce)
    }

    async fn payment_notified(
        &self,
        provider: PaymentMethod,
        notified: ProviderPayment,
    ) -> Result<()> {
        let record = self.current()?;
        let reference = notified.invoice.clone().unwrap_or_default();
        let payment = record
            .payment_by_reference(provider, &reference)
            .cloned()
            .ok_or_else(|| Error::api(ErrorCode::UnknownProviderPayment))?;
        match payment.status {
            PaymentStatus::Processing => self.settle(&payment, Ok(notified), Settle::Observe).await,
            PaymentStatus::Succeeded => Ok(()),
            PaymentStatus::Failed if notified.state == ProviderState::Succeeded => {
                // Paid at the provider after the attempt ended here (its close was lost): the
                // money must go back. Acknowledged, so the provider stops; an operator refunds.
                crate::log::event(
                    crate::log::Level::Error,
                    serde_json::json!({"level": "error", "alert": "provider_paid_after_attempt_ended",
                        "payment_id": payment.id, "provider_transaction_id": notified.transaction_id}),
                );
                Ok(())
            }
            PaymentStatus::Failed | PaymentStatus::RequiresReview => Ok(()),
        }
    }

    /// The shopper gives up on the external payment waiting for them. Idempotent: with nothing
    /// under way it just answers the session.
    pub(super) async fn cancel_payment(&self) -> Result<WidgetSession> {
        let record = self.current()?;
        if let Some(payment) = record.processing_payment().cloned() {
            let stage = payment.provider.as_ref().map(|l| l.stage);
            if stage != Some(LegStage::AwaitingShopper) {
                return Err(Error::api(ErrorCode::PaymentInProgress));
            }
            self.end_unpaid_leg(&payment, ErrorCode::PaymentCanceled)
                .await?;
        }
        let record = self.current()?;
        if let Some(payment) = record.processing_payment() {
            // The provider did not answer the close: the shopper is told it is still under way.
            return Err(Error::api_with(
                ErrorCode::ProviderUnavailable,
                format!(
                    "Payment {} could not be canceled yet; try again.",
                    payment.id
                ),
            ));
        }
        self.widget_view(record).await
    }

    /// Asks the provider about a leg the shopper is approving, so a widget showing a QR code
    /// sees it paid without waiting for the notification. At most every few seconds.
    pub(super) async fn refresh_from_provider(&self) -> Result<()> {
        let now = now_s();
        if now - self.last_status_query_s.get() < STATUS_QUERY_EVERY_S {
            return Ok(());
        }
        let record = self.current()?;
        let Some(payment) = record.processing_payment().cloned() else {
            return Ok(());
        };
        if payment.provider.as_ref().map(|l| l.stage) != Some(LegStage::AwaitingShopper) {
            return Ok(());
        }
        self.last_status_query_s.set(now);
        let connector = self.connector(&payment)?;
        let answer = connector.query(leg_reference(&payment)?).await;
        self.settle(&payment, answer, Settle::Observe).await
    }

    fn nonce_seen(&self, nonce: &str) -> Result<bool> {
        #[derive(Deserialize)]
        struct Row {
            #[allow(dead_code)]
            seen_at_s: i64,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT seen_at_s FROM notification_nonce WHERE nonce = ?",
                vec![nonce.into()],
            )?
            .to_array()?;
        Ok(!rows.is_empty())
    }

    fn remember_nonce(&self, nonce: &str) -> Result<()> {
        let now = now_s();
        self.sql.exec(
            "DELETE FROM notification_nonce WHERE seen_at_s < ?",
            vec![(now - NONCE_MEMORY_S).into()],
        )?;
        self.sql.exec(
            "INSERT OR IGNORE INTO notification_nonce (nonce, seen_at_s) VALUES (?, ?)",
            vec![nonce.into(), now.into()],
        )?;
        Ok(())
    }
}
