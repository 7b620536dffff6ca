//! Refunds in the session object: recorded as pending first, then made through the wallet (balance)
//! or the provider (external), so a lost answer is resolved rather than repeated blindly.

use checkout_core::api::{CreateRefundRequest, Refund, RefundStatus};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;

use super::external::leg_reference;
use super::{CheckoutSession, RECOVERY_AFTER_S};
use crate::clock::now_s;
use crate::connectors::{ConnectorError, PaymentConnector, RefundRequest};
use crate::crypto::random_id;
use crate::error::{Error, Result};
use crate::objects::rpc;
use crate::objects::session_record::{RefundRecord, RefundStart};
use crate::objects::wallet::WalletCommand;

/// A refund's outcome: the provider's refund id, a refusal, or not known yet.
enum Made {
    Done(Option<String>),
    Refused(ErrorDetail),
    Unknown,
}

impl CheckoutSession {
    pub(super) async fn refund(
        &self,
        idempotency_key: &str,
        request: &CreateRefundRequest,
    ) -> Result<Refund> {
        let mut record = self.current()?;
        let amount = request.validate(record.amount.currency())?;
        let refund_id = format!("re_{}", random_id(24)?);
        let start =
            record.start_refund(idempotency_key, amount, &request.reason, refund_id, now_s())?;
        let refund = match start {
            RefundStart::Replayed(earlier) => return Ok(earlier.view()),
            RefundStart::Started(refund) => refund,
        };
        self.save(&record)?;
        self.schedule(&record).await?;
        self.track(&record).await?;
        let made = self.make_refund(&refund, false).await?;
        Ok(self
            .record_refund(&refund.id, made)
            .await?
            .unwrap_or(refund)
            .view())
    }

    /// Retries pending refunds whose answer was lost: safe, because each path is idempotent or
    /// checked (the wallet credit is keyed by the refund id).
    pub(super) async fn settle_refunds(&self) -> Result<()> {
        let record = self.current()?;
        let due: Vec<RefundRecord> = record
            .refunds
            .iter()
            .filter(|r| {
                r.status == RefundStatus::Pending && now_s() - r.created_at_s >= RECOVERY_AFTER_S
            })
            .cloned()
            .collect();
        for refund in due {
            let made = self.make_refund(&refund, true).await?;
            self.record_refund(&refund.id, made).await?;
        }
        Ok(())
    }

    /// Makes the refund, or, when `resolving` an earlier attempt whose answer was lost, asks the
    /// provider whether it happened: a provider refund is never sent twice.
    async fn make_refund(&self, refund: &RefundRecord, resolving: bool) -> Result<Made> {
        let record = self.current()?;
        let payment = record
            .payments
            .iter()
            .find(|p| p.id == refund.payment_id)
            .ok_or_else(|| Error::Invariant(format!("refund {} names no payment", refund.id)))?;
        if payment.provider.is_none() {
            let credit = WalletCommand::Credit {
                reference: format!("refund-{}", refund.id),
                amount: refund.amount,
            };
            return Ok(
                match rpc::call::<_, serde_json::Value>(&self.wallet(&record)?, &credit).await {
                    Ok(_) => Made::Done(None),
                    Err(Error::Api(detail)) => Made::Refused(*detail),
                    Err(_) => Made::Unknown,
                },
            );
        }
        let transaction_id = payment
            .provider
            .as_ref()
            .and_then(|l| l.transaction_id.clone())
            .ok_or_else(|| {
                Error::Invariant(format!("paid payment {} has no transaction id", payment.id))
            })?;
        let request = RefundRequest {
            reference: leg_reference(payment)?,
            transaction_id: &transaction_id,
            refund_id: &refund.id,
            amount: refund.amount,
            reason: &refund.reason,
        };
        let connector = self.connector(payment)?;
        if resolving {
            return Ok(match connector.find_refund(&request).await {
                Ok(Some(found)) => Made::Done(Some(found.refund_transaction_id)),
                Ok(None) | Err(_) => {
                    // Not found (yet): sending it again could refund twice. An operator decides.
                    worker::console_error!(
                        "{}",
                        serde_json::json!({"level": "error", "alert": "refund_unresolved", "refund_id": refund.id})
                    );
                    Made::Unknown
                }
            });
        }
        Ok(match connector.refund(&request).await {
            Ok(done) => Made::Done(Some(done.refund_transaction_id)),
            Err(ConnectorError::Refused { code, message, .. }) => {
                let mut detail = ErrorDetail::new(code);
                detail.message = message;
                Made::Refused(detail)
            }
            Err(ConnectorError::Unknown(reason)) => {
                worker::console_warn!(
                    "{}",
                    serde_json::json!({"level": "warn", "refund_id": refund.id, "provider_error": reason})
                );
                Made::Unknown
            }
            Err(_) => Made::Refused(ErrorDetail::new(ErrorCode::ProviderError)),
        })
    }

    /// Writes a refund's outcome; an unknown one stays pending for the alarm.
    async fn record_refund(&self, refund_id: &str, made: Made) -> Result<Option<RefundRecord>> {
        let outcome = match made {
            Made::Done(provider_id) => Ok(provider_id),
            Made::Refused(detail) => Err(detail),
            Made::Unknown => return Ok(None),
        };
        let mut record = self.current()?;
        let still_pending = record
            .refunds
            .iter()
            .any(|r| r.id == refund_id && r.status == RefundStatus::Pending);
        if !still_pending {
            return Ok(None);
        }
        let refund = record.finish_refund(refund_id, outcome)?;
        self.save(&record)?;
        self.schedule(&record).await?;
        self.track(&record).await?;
        Ok(Some(refund))
    }
}
