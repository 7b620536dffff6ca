//! Refunds in the session object: recorded as pending first, then made through the wallet (balance)
//! or the provider (external), so a lost answer is resolved rather than repeated blindly.

use checkout_core::api::{CreateRefundRequest, PointsAdjustmentKind, Refund, RefundStatus};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};

use super::external::leg_reference;
use super::{CheckoutSession, RECOVERY_AFTER_S};
use crate::clock::now_s;
use crate::connectors::{
    ConnectorError, PaymentConnector, ProviderRefund, RefundRequest, RefundState,
};
use crate::crypto::random_id;
use crate::error::{Error, Result};
use crate::objects::rpc;
use crate::objects::session_record::{PaymentRecord, RefundParts, RefundRecord, RefundStart};
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
        notify_url: Option<String>,
    ) -> Result<Refund> {
        let mut record = self.current()?;
        let amount = request.validate(record.amount.currency())?;
        let refund_id = format!("re_{}", random_id(24)?);
        let start =
            record.start_refund(idempotency_key, amount, &request.reason, refund_id, now_s())?;
        let refund = match start {
            RefundStart::Replayed(earlier) => return Ok(record.refund_view(&earlier)),
            RefundStart::Started(refund) => refund,
        };
        self.save(&record)?;
        self.schedule(&record).await?;
        self.track(&record).await?;
        let made = self.make_refund(&refund, false, notify_url).await?;
        let refund = self
            .record_refund(&refund.id, made)
            .await?
            .unwrap_or(refund);
        Ok(self.current()?.refund_view(&refund))
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
            let made = self.make_refund(&refund, true, None).await?;
            self.record_refund(&refund.id, made).await?;
        }
        Ok(())
    }

    /// Settles one pending refund now, by asking the provider (its notification said it moved).
    /// Only a refund of `provider`'s own payment: a notification never touches another provider's.
    pub(super) async fn settle_refund(
        &self,
        provider: checkout_core::api::PaymentMethod,
        refund_id: &str,
    ) -> Result<()> {
        let record = self.current()?;
        let Some(refund) = record.refunds.iter().find(|r| r.id == refund_id).cloned() else {
            return Err(Error::api(ErrorCode::NotFound));
        };
        let provider_matches = record
            .payments
            .iter()
            .any(|p| p.id == refund.payment_id && p.method == provider);
        if !provider_matches {
            return Err(Error::api(ErrorCode::NotFound));
        }
        if refund.status != RefundStatus::Pending {
            return Ok(());
        }
        let made = self.make_refund(&refund, true, None).await?;
        self.record_refund(&refund.id, made).await?;
        Ok(())
    }

    /// Makes the refund leg by leg: the provider's part first, then the wallet's (balance and
    /// points, idempotent by the refund id). When `resolving` an earlier attempt whose answer was
    /// lost, the provider is asked whether it made its part: a provider refund is never sent twice.
    async fn make_refund(
        &self,
        refund: &RefundRecord,
        resolving: bool,
        notify_url: Option<String>,
    ) -> Result<Made> {
        let record = self.current()?;
        let payment = record
            .payments
            .iter()
            .find(|p| p.id == refund.payment_id)
            .ok_or_else(|| Error::Invariant(format!("refund {} names no payment", refund.id)))?;
        let parts = refund
            .parts
            .unwrap_or_else(|| legacy_parts(payment, refund));
        let mut provider_refund_id = None;
        if !parts.external.is_zero() {
            match self
                .refund_provider_part(payment, refund, parts.external, resolving, notify_url)
                .await?
            {
                Made::Done(id) => provider_refund_id = id,
                other => return Ok(other),
            }
        }
        let wallet = self.wallet(&record)?;
        let reference = format!("refund-{}", refund.id);
        let mut calls = Vec::new();
        if !parts.balance.is_zero() {
            calls.push(WalletCommand::Credit {
                reference: reference.clone(),
                amount: parts.balance,
            });
        }
        if parts.points > 0 {
            calls.push(WalletCommand::AdjustPoints {
                reference,
                points: parts.points,
                kind: PointsAdjustmentKind::Credit,
            });
        }
        let mut given_back = !parts.external.is_zero();
        for call in calls {
            match rpc::call::<_, serde_json::Value>(&wallet, &call).await {
                Ok(_) => given_back = true,
                // Nothing was given back yet: the whole refund can still be refused.
                Err(Error::Api(detail)) if !given_back => return Ok(Made::Refused(*detail)),
                Err(error) => {
                    // Part is back but not all: leave it pending and retry (idempotent by id).
                    crate::log::event(
                        crate::log::Level::Error,
                        serde_json::json!({"level": "error", "alert": "refund_wallet_part_pending", "refund_id": refund.id, "error": error.to_string()}),
                    );
                    return Ok(Made::Unknown);
                }
            }
        }
        Ok(Made::Done(provider_refund_id))
    }

    async fn refund_provider_part(
        &self,
        payment: &PaymentRecord,
        refund: &RefundRecord,
        amount: Money,
        resolving: bool,
        notify_url: Option<String>,
    ) -> Result<Made> {
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
            amount,
            reason: &refund.reason,
            payment_amount: payment.provider_amount(),
            notify_url,
            others: self.current()?.other_provider_refunds(refund),
        };
        let connector = self.connector(payment)?;
        if resolving {
            return Ok(match connector.find_refund(&request).await {
                Ok(Some(found)) => made_by_provider(found, &refund.id),
                Ok(None) | Err(_) => {
                    // Not found (yet): sending it again could refund twice. An operator decides.
                    crate::log::event(
                        crate::log::Level::Error,
                        serde_json::json!({"level": "error", "alert": "refund_unresolved", "refund_id": refund.id}),
                    );
                    Made::Unknown
                }
            });
        }
        Ok(match connector.refund(&request).await {
            Ok(answer) => made_by_provider(answer, &refund.id),
            Err(ConnectorError::Refused { code, message, .. }) => {
                let mut detail = ErrorDetail::new(code);
                detail.message = message;
                Made::Refused(detail)
            }
            Err(ConnectorError::Unknown(reason)) => {
                crate::log::event(
                    crate::log::Level::Warn,
                    serde_json::json!({"level": "warn", "refund_id": refund.id, "provider_error": reason}),
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

/// A provider's refund: done, still under way (settled later by its notification or a query), or
/// accepted but not carried out, which an operator must resolve with the provider.
fn made_by_provider(refund: ProviderRefund, refund_id: &str) -> Made {
    match refund.state {
        RefundState::Succeeded => Made::Done(Some(refund.refund_transaction_id)),
        RefundState::Processing => Made::Unknown,
        RefundState::Failed => {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"level": "error", "alert": "provider_refund_failed", "refund_id": refund_id,
                    "provider_refund_id": refund.refund_transaction_id}),
            );
            let mut detail = ErrorDetail::new(ErrorCode::ProviderError);
            detail.message = "The provider could not return the money to the payer's account; \
                              contact its support with the refund id."
                .into();
            Made::Refused(detail)
        }
    }
}

/// Refunds recorded before parts existed went all to the payment's one leg.
fn legacy_parts(payment: &PaymentRecord, refund: &RefundRecord) -> RefundParts {
    let zero = Money::zero(refund.amount.currency());
    let external = payment.provider.is_some();
    RefundParts {
        external: if external { refund.amount } else { zero },
        balance: if external { zero } else { refund.amount },
        points: 0,
    }
}
