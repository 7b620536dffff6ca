//! PaymentIntent endpoints (retrieve, capture, cancel) and refunds (create, retrieve, list).

use std::sync::Arc;

use serde_json::{json, Value};

use super::sessions::expands;
use super::Outcome;
use crate::stripe::form::Params;
use crate::stripe::state::{PiStatus, SessionStatus, State};
use crate::stripe::wire::{self, ApiError};
use crate::stripe::{now_s, publish, Shared};

pub(super) fn retrieve_intent(shared: &Shared, id: &str, p: &Params) -> Result<Value, ApiError> {
    p.only(&["expand"])?;
    let expand_charge = expands(p)?.iter().any(|e| e == "latest_charge");
    let state = shared.lock();
    let pi = state
        .intents
        .get(id)
        .ok_or_else(|| ApiError::missing("payment_intent", id, "intent"))?;
    Ok(wire::payment_intent(&state, pi, expand_charge))
}

pub(super) fn capture(shared: &Shared, id: &str, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&[
            "amount_to_capture",
            "expand",
            "metadata",
            "final_capture",
            "statement_descriptor",
        ])?;
        let amount = p.int("amount_to_capture")?;
        let mut state = shared.lock();
        let pi = state
            .intents
            .get(id)
            .ok_or_else(|| ApiError::missing("payment_intent", id, "intent"))?;
        if pi.status != PiStatus::RequiresCapture {
            return Err(ApiError::state(
                "payment_intent_unexpected_state",
                &format!(
                    "This PaymentIntent could not be captured because it has a status of {}. \
                     Only a PaymentIntent with one of the following statuses may be captured: \
                     requires_capture.",
                    pi.status.as_str()
                ),
            ));
        }
        let capturable = pi.amount_capturable;
        let amount = amount.unwrap_or(capturable);
        if amount < 1 {
            return Err(ApiError::param(
                "parameter_invalid_integer",
                "amount_to_capture must be greater than 0.",
                "amount_to_capture",
            ));
        }
        if amount > capturable {
            return Err(ApiError::param(
                "amount_too_large",
                &format!("The amount to capture ({amount}) is greater than the amount capturable ({capturable})."),
                "amount_to_capture",
            ));
        }
        let emits = state.capture(id, amount);
        let lose = state.faults.lose_capture_answers > 0;
        if lose {
            state.faults.lose_capture_answers -= 1;
        }
        let expand_charge = expands(p)?.iter().any(|e| e == "latest_charge");
        Ok((
            wire::payment_intent(&state, &state.intents[id], expand_charge),
            emits,
            lose,
        ))
    })();
    Outcome::with_events(result)
}

pub(super) fn cancel(shared: &Shared, id: &str, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&["cancellation_reason", "expand"])?;
        let reason = match p.str("cancellation_reason")? {
            None => None,
            Some("duplicate") => Some("duplicate"),
            Some("fraudulent") => Some("fraudulent"),
            Some("requested_by_customer") => Some("requested_by_customer"),
            Some("abandoned") => Some("abandoned"),
            Some(other) => {
                return Err(ApiError::invalid(
                    &format!("Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned (got {other})"),
                    Some("cancellation_reason"),
                ))
            }
        };
        let mut state = shared.lock();
        let pi = state
            .intents
            .get(id)
            .ok_or_else(|| ApiError::missing("payment_intent", id, "intent"))?;
        if matches!(pi.status, PiStatus::Succeeded | PiStatus::Canceled) {
            return Err(ApiError::state(
                "payment_intent_unexpected_state",
                &format!(
                    "You cannot cancel this PaymentIntent because it has a status of {}. Only a \
                     PaymentIntent with one of the following statuses may be canceled: \
                     requires_payment_method, requires_capture, requires_confirmation, \
                     requires_action, processing.",
                    pi.status.as_str()
                ),
            ));
        }
        let open = state
            .sessions
            .get(&pi.session)
            .is_some_and(|s| s.status == SessionStatus::Open);
        if open {
            return Err(ApiError::state(
                "payment_intent_unexpected_state",
                "You cannot cancel the PaymentIntent for a Checkout Session. Expire the Checkout \
                 Session instead.",
            ));
        }
        let emits = state.cancel(id, reason.unwrap_or("requested_by_customer"), now_s());
        if reason.is_none() {
            if let Some(pi) = state.intents.get_mut(id) {
                pi.cancellation_reason = None;
            }
        }
        Ok((
            wire::payment_intent(&state, &state.intents[id], false),
            emits,
        ))
    })();
    Outcome::with_events(result.map(|(value, emits)| (value, emits, false)))
}

pub(super) fn create_refund(shared: &Arc<Shared>, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&[
            "payment_intent",
            "charge",
            "amount",
            "metadata",
            "reason",
            "expand",
            "instructions_email",
        ])?;
        let reason = refund_reason(p)?;
        let metadata = p.metadata("metadata")?;
        let amount = p.int("amount")?;
        let mut state = shared.lock();
        let pi_id = refund_target(&state, p)?;
        let (charge_id, left) = state.refundable(&pi_id).ok_or_else(|| {
            ApiError::state(
                "payment_intent_unexpected_state",
                "This PaymentIntent does not have a successful charge to refund.",
            )
        })?;
        if left <= 0 {
            return Err(ApiError::state(
                "charge_already_refunded",
                &format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let amount = refund_amount(amount, left)?;
        let (refund_id, emits) =
            state.refund(&pi_id, &charge_id, amount, metadata, reason, now_s());
        let lose = state.faults.lose_refund_answers > 0;
        if lose {
            state.faults.lose_refund_answers -= 1;
        }
        let value = wire::refund(&state.refunds[&refund_id]);
        Ok((value, refund_id, emits, lose))
    })();
    Outcome::with_events(result.map(|(value, refund_id, emits, lose)| {
        settle_later(shared, refund_id);
        (value, emits, lose)
    }))
}

fn refund_reason(p: &Params) -> Result<Option<String>, ApiError> {
    match p.str("reason")? {
        None => Ok(None),
        Some(r @ ("duplicate" | "fraudulent" | "requested_by_customer")) => Ok(Some(r.to_owned())),
        Some(other) => Err(ApiError::invalid(
            &format!(
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer \
                 (got {other})"
            ),
            Some("reason"),
        )),
    }
}

/// The PaymentIntent a refund is for: `payment_intent`, or the one behind `charge`.
fn refund_target(state: &State, p: &Params) -> Result<String, ApiError> {
    match (p.str("payment_intent")?, p.str("charge")?) {
        (Some(pi), _) if state.intents.contains_key(pi) => Ok(pi.to_owned()),
        (Some(pi), _) => Err(ApiError::missing("payment_intent", pi, "payment_intent")),
        (None, Some(ch)) => state
            .charges
            .get(ch)
            .map(|c| c.payment_intent.clone())
            .ok_or_else(|| ApiError::missing("charge", ch, "charge")),
        (None, None) => Err(ApiError::invalid(
            "One of the following params should be provided for this request: payment_intent \
             or charge.",
            None,
        )),
    }
}

/// `amount` (default: all that is left), at least 1 and at most what is left.
fn refund_amount(amount: Option<i64>, left: i64) -> Result<i64, ApiError> {
    let amount = amount.unwrap_or(left);
    if amount < 1 {
        return Err(ApiError::param(
            "parameter_invalid_integer",
            "Refund amount must be greater than 0.",
            "amount",
        ));
    }
    if amount > left {
        return Err(ApiError::param(
            "amount_too_large",
            &format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
            ),
            "amount",
        ));
    }
    Ok(amount)
}

/// After `refund_delay` the refund succeeds (`refund.updated`).
fn settle_later(shared: &Arc<Shared>, refund_id: String) {
    let (stop, delay) = (shared.stop.clone(), shared.config.refund_delay);
    let shared = shared.clone();
    stop.after("stripe-refund", delay, move || {
        let emits = shared.lock().settle_refund(&refund_id);
        publish(&shared, emits, None);
    });
}

pub(super) fn retrieve_refund(shared: &Shared, id: &str, p: &Params) -> Result<Value, ApiError> {
    p.only(&["expand"])?;
    let state = shared.lock();
    let r = state
        .refunds
        .get(id)
        .ok_or_else(|| ApiError::missing("refund", id, "refund"))?;
    Ok(wire::refund(r))
}

pub(super) fn list_refunds(shared: &Shared, p: &Params) -> Result<Value, ApiError> {
    p.only(&[
        "payment_intent",
        "charge",
        "limit",
        "expand",
        "starting_after",
        "ending_before",
        "created",
    ])?;
    let limit = p.int("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit must be between 1 and 100.",
            Some("limit"),
        ));
    }
    let (pi, charge) = (p.str("payment_intent")?, p.str("charge")?);
    let state = shared.lock();
    let data: Vec<Value> = state
        .refund_order
        .iter()
        .rev()
        .filter_map(|id| state.refunds.get(id))
        .filter(|r| pi.is_none_or(|pi| r.payment_intent == pi))
        .filter(|r| charge.is_none_or(|c| r.charge == c))
        .map(wire::refund)
        .collect();
    let has_more = data.len() as i64 > limit;
    let mut value = wire::list(
        "/v1/refunds",
        data.into_iter().take(limit as usize).collect(),
    );
    value["has_more"] = json!(has_more);
    Ok(value)
}
