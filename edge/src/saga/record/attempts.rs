//! The provider attempts a change of a session record makes known, for the merchant's index of
//! attempts that the reconciliation report walks (`objects::webhooks::attempts`). Pure: the
//! session object calls it beside `events::changes` on every write and puts what it returns in
//! its outbox in the same write, so an attempt cannot exist at a provider without reaching the
//! index (once the outbox is handed over).
//!
//! Every external attempt is indexed from the moment it is written down, before the provider is
//! asked (WeChat's `out_trade_no` is our payment id, so it can be asked about at once), and again
//! when the provider's reference becomes known (bKash's `paymentID`). Failed attempts stay in the
//! index: a provider may still hold money for them.

use checkout_core::api::PaymentMethod;
use checkout_core::Currency;
use serde::{Deserialize, Serialize};

use super::SessionRecord;

/// One attempt at a provider, as the index keeps it (keyed by the payment id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAttempt {
    pub session_id: String,
    pub payment_id: String,
    pub method: PaymentMethod,
    /// The provider's id for the payment once it answered the create call (bKash `paymentID`;
    /// WeChat's `out_trade_no`, which is the payment id).
    pub reference: Option<String>,
    /// What the provider is asked to take, in minor units of `currency`.
    pub amount_minor: i64,
    pub currency: Currency,
    /// Unix seconds; the attempt's UTC day is the report's day.
    pub created_at_s: i64,
}

/// The attempts that are new in `after`, or whose provider reference became known.
pub fn changes(before: &SessionRecord, after: &SessionRecord) -> Vec<ProviderAttempt> {
    after
        .payments
        .iter()
        .filter_map(|payment| {
            let leg = payment.provider.as_ref()?;
            let was = before.payments.iter().find(|p| p.id == payment.id);
            let known = was
                .and_then(|p| p.provider.as_ref())
                .is_some_and(|l| l.reference == leg.reference);
            if known {
                return None;
            }
            let amount = payment.provider_amount();
            Some(ProviderAttempt {
                session_id: after.id.clone(),
                payment_id: payment.id.clone(),
                method: payment.method,
                reference: leg.reference.clone(),
                amount_minor: amount.amount_minor(),
                currency: amount.currency(),
                created_at_s: payment.created_at_s,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use checkout_core::api::{NextAction, PaymentMethod};

    use super::super::tests::record;
    use super::changes;

    const AVAILABLE: &[PaymentMethod] = &[PaymentMethod::Bkash, PaymentMethod::Balance];

    #[test]
    fn an_external_attempt_is_indexed_when_written_down_and_when_its_reference_is_known() {
        let mut before = record();
        before.request.methods = vec![PaymentMethod::Bkash, PaymentMethod::Balance];
        let mut started = before.clone();
        started
            .start_payment("k1", PaymentMethod::Bkash, "pay_1".into(), 10, AVAILABLE)
            .unwrap();
        let first = changes(&before, &started);
        assert_eq!(first.len(), 1);
        assert_eq!(
            (first[0].payment_id.as_str(), first[0].reference.as_deref()),
            ("pay_1", None)
        );
        assert_eq!((first[0].amount_minor, first[0].created_at_s), (3050, 10));
        assert!(changes(&started, &started).is_empty(), "no change, no line");

        let mut created = started.clone();
        let action = NextAction::Redirect {
            url: "https://sandbox.example/pay".into(),
        };
        created
            .leg_created("pay_1", "TR0011".into(), action, 11)
            .unwrap();
        let second = changes(&started, &created);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].reference.as_deref(), Some("TR0011"));
    }

    #[test]
    fn wallet_payments_are_not_provider_attempts() {
        let before = record();
        let mut after = before.clone();
        after
            .start_payment("k1", PaymentMethod::Balance, "pay_1".into(), 10, AVAILABLE)
            .unwrap();
        assert!(changes(&before, &after).is_empty());
    }
}
