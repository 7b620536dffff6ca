//! What a change of a session record means for its audit trail. Pure: the session object calls it
//! on every write with the record before (none for the first write) and after, and appends the
//! entries in the same write.

use serde_json::{json, Value};

use super::SessionRecord;

/// The entries for the change from `before` to `after`, each an object with a `what`.
pub fn changes(before: Option<&SessionRecord>, after: &SessionRecord) -> Vec<Value> {
    let Some(before) = before else {
        return vec![json!({
            "what": "session_created", "order_id": after.request.order_id,
            "amount": after.amount.to_decimal_string(), "currency": after.amount.currency(),
            "methods": after.request.methods, "expires_at": after.expires_at_s,
        })];
    };
    let mut entries = Vec::new();
    for payment in &after.payments {
        let id = &payment.id;
        let Some(was) = before.payments.iter().find(|p| p.id == payment.id) else {
            entries.push(json!({
                "what": "payment_started", "payment_id": id, "method": payment.method,
                "amount": payment.amount.to_decimal_string(), "points": payment.points,
                "external_amount": payment.external_amount.map(|m| m.to_decimal_string()),
            }));
            continue;
        };
        let (leg, was_leg) = (payment.provider.as_ref(), was.provider.as_ref());
        if let Some(leg) = leg {
            if was_leg.map(|l| l.stage) != Some(leg.stage)
                || was_leg.and_then(|l| l.reference.clone()) != leg.reference
            {
                entries.push(json!({
                    "what": "provider_leg", "payment_id": id, "stage": leg.stage,
                    "provider_reference": leg.reference,
                }));
            }
        }
        if was.review != payment.review {
            if let Some(review) = &payment.review {
                entries.push(json!({
                    "what": "payment_review", "payment_id": id, "reason": review.reason,
                    "provider_amount": review.provider_amount.map(|m| m.to_decimal_string()),
                    "provider_order": review.provider_order, "resolution": review.resolution,
                }));
            }
        }
        if was.late_success != payment.late_success {
            if let Some(late) = &payment.late_success {
                entries.push(json!({
                    "what": "payment_late_success", "payment_id": id, "outcome": late.outcome,
                    "refund_id": late.refund_id,
                }));
            }
        }
        if was.status != payment.status {
            entries.push(json!({
                "what": format!("payment_{}", serde_json::to_value(payment.status).unwrap_or_default().as_str().unwrap_or("changed")),
                "payment_id": id,
                "failure_code": payment.failure.as_ref().map(|f| f.code),
                "provider_transaction_id": payment.provider.as_ref().and_then(|l| l.transaction_id.clone()),
            }));
        }
    }
    if before.retained_holds != after.retained_holds {
        let what = if after.retained_holds.is_some() {
            "holds_kept_for_retry"
        } else {
            "kept_holds_released"
        };
        entries.push(json!({ "what": what }));
    }
    if before.status != after.status {
        entries.push(json!({ "what": "session_status", "status": after.status }));
    }
    for refund in &after.refunds {
        match before.refunds.iter().find(|r| r.id == refund.id) {
            None => entries.push(json!({
                "what": "refund_started", "refund_id": refund.id,
                "amount": refund.amount.to_decimal_string(), "reason": refund.reason,
            })),
            Some(was) if was.status != refund.status => entries.push(json!({
                "what": "refund_status", "refund_id": refund.id, "status": refund.status,
                "failure_code": refund.failure.as_ref().map(|f| f.code),
            })),
            Some(_) => {}
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use checkout_core::api::PaymentMethod;

    use super::changes;
    use crate::saga::record::tests::record;

    fn whats(entries: &[serde_json::Value]) -> Vec<String> {
        entries
            .iter()
            .map(|e| e["what"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn each_step_of_a_payment_leaves_an_entry() {
        let created = record();
        assert_eq!(whats(&changes(None, &created)), ["session_created"]);
        let mut started = created.clone();
        started
            .start_payment(
                "k1",
                PaymentMethod::Balance,
                "pay_1".into(),
                10,
                &[PaymentMethod::Balance],
            )
            .unwrap();
        assert_eq!(
            whats(&changes(Some(&created), &started)),
            ["payment_started", "session_status"]
        );
        let mut paid = started.clone();
        paid.finish_payment("pay_1", Ok(())).unwrap();
        let entries = changes(Some(&started), &paid);
        assert_eq!(whats(&entries), ["payment_succeeded", "session_status"]);
        assert_eq!(entries[1]["status"], "paid");
        assert!(changes(Some(&paid), &paid).is_empty());
    }
}
