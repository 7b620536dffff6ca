//! Refund rules of a session record. The sum of refunds, pending ones included, never exceeds
//! what was paid.

use checkout_core::api::{PaymentStatus, RefundStatus, SessionStatus};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};

use super::{RefundRecord, RefundStart, SessionRecord};
use crate::error::{Error, Result};

impl SessionRecord {
    /// Refunded or being refunded: succeeded and pending refunds.
    pub fn amount_refunded(&self) -> Money {
        let minor = self
            .refunds
            .iter()
            .filter(|r| r.status != RefundStatus::Failed)
            .map(|r| r.amount.amount_minor())
            .sum();
        Money::from_minor(minor, self.amount.currency()).unwrap_or(self.amount)
    }

    /// Records a pending refund of `amount`, or finds the one with the same key.
    pub fn start_refund(
        &mut self,
        idempotency_key: &str,
        amount: Money,
        reason: &str,
        refund_id: String,
        now_s: i64,
    ) -> Result<RefundStart> {
        if let Some(earlier) = self
            .refunds
            .iter()
            .find(|r| r.idempotency_key == idempotency_key)
        {
            if earlier.amount != amount {
                return Err(Error::api(ErrorCode::IdempotencyKeyReused));
            }
            return Ok(RefundStart::Replayed(earlier.clone()));
        }
        if self.status != SessionStatus::Paid {
            return Err(Error::api(ErrorCode::SessionNotPaid));
        }
        let payment = self
            .payments
            .iter()
            .find(|p| p.status == PaymentStatus::Succeeded)
            .ok_or_else(|| Error::Invariant("a paid session without a succeeded payment".into()))?;
        if payment.points > 0 || payment.has_holds() {
            // How a refund splits across points and balance is the mixed-payment work still to do.
            return Err(Error::api(ErrorCode::RefundNotSupported));
        }
        let left = self
            .amount_paid()
            .checked_sub(self.amount_refunded())
            .map_err(|e| Error::Invariant(format!("refunds exceed payments: {e}")))?;
        if amount.currency() != left.currency() || amount.amount_minor() > left.amount_minor() {
            return Err(Error::api_with(
                ErrorCode::RefundExceedsPayment,
                format!("At most {} is left to refund.", left.to_decimal_string()),
            ));
        }
        let refund = RefundRecord {
            id: refund_id,
            idempotency_key: idempotency_key.to_owned(),
            payment_id: payment.id.clone(),
            amount,
            reason: reason.to_owned(),
            status: RefundStatus::Pending,
            failure: None,
            provider_refund_id: None,
            created_at_s: now_s,
        };
        self.refunds.push(refund.clone());
        Ok(RefundStart::Started(refund))
    }

    /// Records a pending refund's outcome: the provider's refund id, or why it failed.
    pub fn finish_refund(
        &mut self,
        refund_id: &str,
        outcome: std::result::Result<Option<String>, ErrorDetail>,
    ) -> Result<RefundRecord> {
        let refund = self
            .refunds
            .iter_mut()
            .find(|r| r.id == refund_id && r.status == RefundStatus::Pending)
            .ok_or_else(|| Error::Invariant(format!("no pending refund {refund_id}")))?;
        match outcome {
            Ok(provider_refund_id) => {
                refund.status = RefundStatus::Succeeded;
                refund.provider_refund_id = provider_refund_id;
            }
            Err(detail) => {
                refund.status = RefundStatus::Failed;
                refund.failure = Some(detail);
            }
        }
        Ok(refund.clone())
    }
}

impl SessionRecord {
    /// Whether a refund awaits its outcome.
    pub fn refunds_pending(&self) -> bool {
        self.refunds
            .iter()
            .any(|r| r.status == RefundStatus::Pending)
    }

    /// Where the shopper goes after the provider: the merchant's return URL, naming the session so
    /// the page can show the widget's result view.
    pub fn return_url_with_session(&self) -> String {
        let url = &self.request.return_url;
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}checkout_session={}", self.id)
    }
}
