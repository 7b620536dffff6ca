//! The invariants every reachable record keeps. The machine keeps them by construction (each is
//! enforced where ARCHITECTURE.md says); the simulation checks them after every step.

use checkout_core::api::{PaymentStatus, RefundStatus, SessionStatus};

use super::{Call, WalletCall};
use crate::saga::record::SessionRecord;

/// `Err` names the first invariant `record` breaks.
pub fn check_invariants(record: &SessionRecord) -> Result<(), String> {
    let succeeded = record
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .count();
    if succeeded > 1 {
        return Err(format!("session {} paid {succeeded} times", record.id));
    }
    if (record.status == SessionStatus::Paid) != (succeeded == 1) {
        return Err(format!(
            "session {} is {:?} with {succeeded} succeeded payments",
            record.id, record.status
        ));
    }
    let paid = record.amount_paid();
    if paid.amount_minor() > record.amount.amount_minor() {
        return Err(format!(
            "amount_paid {paid} exceeds amount {}",
            record.amount
        ));
    }
    let processing = record
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Processing)
        .count();
    if processing > 1 {
        return Err(format!("{processing} payments processing at once"));
    }
    if (record.status == SessionStatus::Processing) != (processing == 1) {
        return Err(format!(
            "session is {:?} with {processing} processing payments",
            record.status
        ));
    }
    let unresolved_review = record.payments.iter().any(|p| {
        p.status == PaymentStatus::RequiresReview
            && p.review.as_ref().is_some_and(|r| r.resolution.is_none())
    });
    if record.status == SessionStatus::RequiresReview && !unresolved_review {
        return Err("session requires review without a payment held for review".into());
    }
    // Merchant refunds never exceed what was paid.
    let refunded = record.amount_refunded();
    if refunded.amount_minor() > paid.amount_minor() {
        return Err(format!("refunds {refunded} exceed what was paid {paid}"));
    }
    // Automatic refunds never exceed what the provider took for their payment.
    for payment in &record.payments {
        let automatic: i64 = record
            .refunds
            .iter()
            .filter(|r| r.automatic && r.payment_id == payment.id)
            .filter(|r| r.status != RefundStatus::Failed)
            .map(|r| r.amount.amount_minor())
            .sum();
        if automatic == 0 {
            continue;
        }
        if payment.status == PaymentStatus::Succeeded {
            return Err(format!(
                "payment {} succeeded and is refunded automatically",
                payment.id
            ));
        }
        let taken = payment
            .review
            .as_ref()
            .and_then(|r| r.provider_amount)
            .unwrap_or(payment.provider_amount());
        if automatic > taken.amount_minor() {
            return Err(format!(
                "automatic refunds of {} exceed what the provider took",
                payment.id
            ));
        }
    }
    // No holds group is both being posted and being voided.
    for intent in &record.intents {
        if let Call::Wallet {
            call: WalletCall::PostHolds { group },
        } = &intent.call
        {
            let voided = record.intents.iter().any(|i| {
                matches!(&i.call, Call::Wallet { call: WalletCall::VoidHolds { group: g } } if g == group)
            });
            let retained = record
                .retained_holds
                .as_ref()
                .is_some_and(|h| &h.group == group);
            if voided || retained {
                return Err(format!("holds group {group} posted and voided or kept"));
            }
        }
    }
    let mut ids: Vec<&str> = record.intents.iter().map(|i| i.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err("two intents share an id".into());
    }
    Ok(())
}
