//! What the session object answers, built from the record after the saga has run its intents.

use checkout_core::api::{PaymentStatus, Refund};
use checkout_core::ErrorCode;

use super::record::SessionRecord;
use crate::error::{Error, Result};

/// The answer to a pay request with `idempotency_key`: `Ok` while the attempt is processing
/// (the shopper approves at the provider, or the wallet's answer is awaited) or paid; the
/// attempt's error once it failed.
pub fn pay_outcome(record: &SessionRecord, idempotency_key: &str) -> Result<()> {
    let payment = record
        .payments
        .iter()
        .find(|p| p.idempotency_key == idempotency_key)
        .ok_or_else(|| Error::Invariant("a pay request left no attempt".into()))?;
    match payment.status {
        PaymentStatus::Succeeded => Ok(()),
        PaymentStatus::Processing if payment.provider.is_none() => {
            // The wallet did not answer: the alarm resolves the attempt.
            Err(Error::api_with(
                ErrorCode::PaymentInProgress,
                "The payment's outcome is not known yet; the session will show it shortly.",
            ))
        }
        PaymentStatus::Processing | PaymentStatus::Authorized => Ok(()),
        PaymentStatus::Failed => Err(payment
            .failure
            .clone()
            .map_or_else(|| Error::api(ErrorCode::PaymentDeclined), Error::from)),
        PaymentStatus::RequiresReview => Err(Error::api(ErrorCode::PaymentRequiresReview)),
    }
}

/// The answer to a cancel: `Ok` once nothing is under way.
pub fn cancel_outcome(record: &SessionRecord) -> Result<()> {
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
    Ok(())
}

/// The refund with `idempotency_key`, as the merchant sees it.
pub fn refund_view(record: &SessionRecord, idempotency_key: &str) -> Result<Refund> {
    record
        .refunds
        .iter()
        .find(|r| r.idempotency_key == idempotency_key)
        .map(|r| record.refund_view(r))
        .ok_or_else(|| Error::Invariant("a refund request left no refund".into()))
}
