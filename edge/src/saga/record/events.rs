//! The merchant events a change of a session record causes. Pure: the session object calls it on
//! every write, with the record before and after, and stores the events in the same write.

use checkout_core::api::{PaymentMethod, PaymentStatus, RefundStatus, SessionStatus};
use checkout_core::webhook::EventType;
use checkout_core::ErrorCode;

use super::SessionRecord;

/// What changed between `before` and `after`, as event types with their object (JSON).
pub fn changes(
    before: &SessionRecord,
    after: &SessionRecord,
) -> Vec<(EventType, serde_json::Value)> {
    let mut events = Vec::new();
    for payment in &after.payments {
        let was = before.payments.iter().find(|p| p.id == payment.id);
        // A review resolved by a refund is told as the resolution, not as a new failure.
        let newly_failed = payment.status == PaymentStatus::Failed
            && was.is_none_or(|p| {
                p.status != PaymentStatus::Failed && p.status != PaymentStatus::RequiresReview
            });
        let authorized = |p: &super::PaymentRecord| {
            p.status == PaymentStatus::Processing
                && p.provider.as_ref().map(|l| l.stage) == Some(super::LegStage::Authorized)
        };
        let was_authorized = was.is_some_and(authorized);
        if authorized(payment) && !was_authorized {
            events.push((EventType::SessionAuthorized, session_object(after)));
        }
        if newly_failed && was_authorized {
            // Canceled by the merchant, or voided before the gateway's limit; holds released.
            events.push((EventType::SessionAuthorizationVoided, session_object(after)));
        } else if newly_failed {
            events.push((EventType::PaymentFailed, session_object(after)));
        }
        // A decline at the gateway on a leg that stays open (a later failure is told above).
        let newly_declined = payment.status == PaymentStatus::Processing
            && payment.decline.is_some()
            && was.is_none_or(|p| p.decline != payment.decline);
        if newly_declined {
            events.push((EventType::PaymentDeclined, session_object(after)));
        }
        let newly_held = payment.status == PaymentStatus::RequiresReview
            && was.is_none_or(|p| p.status != PaymentStatus::RequiresReview);
        if newly_held {
            events.push((EventType::PaymentRequiresReview, session_object(after)));
        }
        let resolved =
            |p: &super::PaymentRecord| p.review.as_ref().is_some_and(|r| r.resolution.is_some());
        if resolved(payment) && was.is_none_or(|p| !resolved(p)) {
            events.push((EventType::PaymentReviewResolved, session_object(after)));
        }
        let late_refunded = |p: &super::PaymentRecord| {
            p.late_success
                .as_ref()
                .is_some_and(|l| l.outcome == checkout_core::api::LateSuccessOutcome::Refunded)
        };
        if late_refunded(payment) && was.is_none_or(|p| !late_refunded(p)) {
            events.push((EventType::PaymentLateSuccessRefunded, session_object(after)));
        }
    }
    if after.status != before.status {
        match after.status {
            SessionStatus::Paid => events.push((EventType::SessionPaid, session_object(after))),
            SessionStatus::Expired => {
                events.push((EventType::SessionExpired, session_object(after)))
            }
            // Told by the payment's own event above.
            // Told from the leg's stage below (the stored status stays `processing`).
            SessionStatus::RequiresReview
            | SessionStatus::Open
            | SessionStatus::Processing
            | SessionStatus::Authorized => {}
        }
    }
    for refund in &after.refunds {
        let was = before.refunds.iter().find(|r| r.id == refund.id);
        if was.is_some_and(|r| r.status == refund.status) {
            continue;
        }
        let kind = match refund.status {
            RefundStatus::Succeeded => EventType::RefundSucceeded,
            RefundStatus::Failed => EventType::RefundFailed,
            RefundStatus::RequiresReview => EventType::RefundRequiresReview,
            RefundStatus::Pending => continue,
        };
        events.push((
            kind,
            serde_json::to_value(after.refund_view(refund)).unwrap_or_default(),
        ));
    }
    events
}

/// Payment attempts that finished between `before` and `after`: method, success, failure code.
pub fn outcomes(
    before: &SessionRecord,
    after: &SessionRecord,
) -> Vec<(PaymentMethod, bool, Option<ErrorCode>)> {
    after
        .payments
        .iter()
        .filter(|p| p.status != PaymentStatus::Processing)
        .filter(|p| {
            before
                .payments
                .iter()
                .find(|b| b.id == p.id)
                .is_none_or(|b| b.status == PaymentStatus::Processing)
        })
        .map(|p| {
            let succeeded = p.status == PaymentStatus::Succeeded;
            (p.method, succeeded, p.failure.as_ref().map(|f| f.code))
        })
        .collect()
}

/// The merchant's view of the session, without the client secret: an event may be logged or
/// forwarded by the merchant's systems, and the secret has no use there.
fn session_object(record: &SessionRecord) -> serde_json::Value {
    let mut view = record.merchant_view();
    view.client_secret.clear();
    serde_json::to_value(view).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use checkout_core::api::PaymentMethod;
    use checkout_core::webhook::EventType;

    use super::changes;
    use crate::saga::record::tests::record;

    const AVAILABLE: &[PaymentMethod] = &[PaymentMethod::Balance];

    fn kinds(events: &[(EventType, serde_json::Value)]) -> Vec<EventType> {
        events.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn paying_fails_and_succeeds_with_one_event_each() {
        let mut before = record();
        before
            .start_payment("k1", PaymentMethod::Balance, "pay_1".into(), 10, AVAILABLE)
            .unwrap();
        let mut failed = before.clone();
        failed
            .finish_payment(
                "pay_1",
                Err(checkout_core::error::ErrorDetail::new(
                    checkout_core::ErrorCode::InsufficientBalance,
                )),
            )
            .unwrap();
        assert_eq!(
            kinds(&changes(&before, &failed)),
            [EventType::PaymentFailed]
        );
        assert!(changes(&failed, &failed).is_empty(), "no change, no event");

        let mut retry = failed.clone();
        retry
            .start_payment("k2", PaymentMethod::Balance, "pay_2".into(), 11, AVAILABLE)
            .unwrap();
        let mut paid = retry.clone();
        paid.finish_payment("pay_2", Ok(())).unwrap();
        let events = changes(&retry, &paid);
        assert_eq!(kinds(&events), [EventType::SessionPaid]);
        assert_eq!(events[0].1["status"], "paid");
        assert_eq!(
            events[0].1["client_secret"], "",
            "no client secret in events"
        );
    }

    #[test]
    fn expiry_is_an_event() {
        let before = record();
        let mut after = before.clone();
        assert!(after.expire_if_due(after.expires_at_s));
        assert_eq!(
            kinds(&changes(&before, &after)),
            [EventType::SessionExpired]
        );
    }
}
