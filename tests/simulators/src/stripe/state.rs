//! The simulator's state and the state machines of its objects ([`super::objects`]), with no
//! I/O: every change returns the events it causes ([`Emit`]), which the driver
//! renders and delivers.
//!
//! Lifecycles, as Stripe documents them:
//! - Session: `open` → `complete` (paid, authorized, or async pending) or `expired` (by
//!   `expires_at` or the expire call). Since API version 2022-08-01 a payment-mode session has no
//!   PaymentIntent until the shopper's first attempt.
//! - PaymentIntent: `requires_payment_method` → (`requires_action` while 3-D Secure is pending)
//!   → `requires_capture` (manual capture) or `succeeded`, or `processing` (async) →
//!   `succeeded`; a decline or failed authentication goes back to `requires_payment_method`
//!   with `last_payment_error`; `canceled` from any state but `succeeded`.
//! - Refund: `pending` → `succeeded` after the configured delay.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::cards::Outcome;
use super::control::{DeliverySnapshot, Faults};
use crate::util::{random_string, ALNUM};

pub use super::objects::{
    CaptureMethod, Card, CardError, Charge, LineItem, PaymentIntent, PaymentStatus, PiStatus,
    Refund, RefundStatus, Session, SessionStatus,
};

/// An object an event carries, rendered when the event is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRef {
    Session(String),
    PaymentIntent(String),
    Charge(String),
    Refund(String),
}

/// An event to emit: its type and its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emit {
    pub kind: &'static str,
    pub object: ObjectRef,
}

fn emit(kind: &'static str, object: ObjectRef) -> Emit {
    Emit { kind, object }
}

/// One stored idempotent answer.
#[derive(Debug, Clone)]
pub struct Saved {
    pub endpoint: String,
    pub params: Value,
    pub status: u16,
    pub body: String,
    pub request_id: String,
    pub saved_ms: u64,
}

/// The outcome of a shopper's attempt on the hosted page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Paid or authorized: the shopper goes to this `success_url`.
    Completed(String),
    Declined(CardError),
    /// A 3-D Secure challenge is pending.
    Challenge,
}

/// Why a session cannot be paid now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayError {
    UnknownSession,
    Expired,
    Complete,
    /// The PaymentIntent was canceled (by the merchant) or is not in a payable state.
    NotPayable,
    NoChallenge,
}

impl std::fmt::Display for PayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PayError::UnknownSession => "unknown checkout session",
            PayError::Expired => "the checkout session has expired",
            PayError::Complete => "the checkout session is already complete",
            PayError::NotPayable => "the payment can no longer be made",
            PayError::NoChallenge => "no 3-D Secure challenge is pending",
        })
    }
}

/// Everything the simulator holds.
#[derive(Default)]
pub struct State {
    pub sessions: HashMap<String, Session>,
    pub intents: HashMap<String, PaymentIntent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    /// Refund ids in creation order (lists answer newest first).
    pub refund_order: Vec<String>,
    pub idempotency: HashMap<String, Saved>,
    pub in_flight: Vec<String>,
    /// Every event created, as sent, oldest first.
    pub events: Vec<Value>,
    pub deliveries: Vec<DeliverySnapshot>,
    pub faults: Faults,
    pub webhook_endpoint: Option<String>,
    /// Events held back by `withhold_events`, until released.
    pub withheld: Vec<Value>,
    /// Events held back by `out_of_order_events`, and when the last one arrived.
    pub reorder: Vec<Value>,
    pub reorder_last_ms: u64,
}

/// A Stripe-looking id: `prefix` plus 24 alphanumerics.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_string(24, ALNUM))
}

impl State {
    /// Sessions past `expires_at` become `expired`, their PaymentIntents canceled.
    pub fn expire_due(&mut self, now: i64) -> Vec<Emit> {
        let due: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.status == SessionStatus::Open && s.expires_at <= now)
            .map(|s| s.id.clone())
            .collect();
        due.iter().flat_map(|id| self.expire(id, now)).collect()
    }

    /// Expires an open session (the caller checked it is open).
    pub fn expire(&mut self, session_id: &str, now: i64) -> Vec<Emit> {
        let Some(session) = self.sessions.get_mut(session_id) else {
            return Vec::new();
        };
        if session.status != SessionStatus::Open {
            return Vec::new();
        }
        session.status = SessionStatus::Expired;
        let mut emits = Vec::new();
        if let Some(pi) = session
            .payment_intent
            .clone()
            .and_then(|id| self.intents.get_mut(&id))
        {
            if pi.status != PiStatus::Canceled && pi.status != PiStatus::Succeeded {
                pi.status = PiStatus::Canceled;
                pi.canceled_at = Some(now);
                pi.cancellation_reason = Some("abandoned");
                pi.pending_card = None;
                emits.push(emit(
                    "payment_intent.canceled",
                    ObjectRef::PaymentIntent(pi.id.clone()),
                ));
            }
        }
        emits.push(emit(
            "checkout.session.expired",
            ObjectRef::Session(session_id.to_owned()),
        ));
        emits
    }

    /// The session's PaymentIntent, created at the first attempt.
    fn intent_for(&mut self, session_id: &str, now: i64) -> Result<String, PayError> {
        let session = self
            .sessions
            .get_mut(session_id)
            .ok_or(PayError::UnknownSession)?;
        match session.status {
            SessionStatus::Expired => return Err(PayError::Expired),
            SessionStatus::Complete => return Err(PayError::Complete),
            SessionStatus::Open if session.expires_at <= now => return Err(PayError::Expired),
            SessionStatus::Open => {}
        }
        if let Some(id) = &session.payment_intent {
            return Ok(id.clone());
        }
        let id = new_id("pi_");
        let pi = PaymentIntent {
            client_secret: format!("{id}_secret_{}", random_string(25, ALNUM)),
            id: id.clone(),
            created: now,
            session: session_id.to_owned(),
            amount: session.amount_total,
            currency: session.currency.clone(),
            status: PiStatus::RequiresPaymentMethod,
            capture_method: session.capture_method,
            amount_capturable: 0,
            amount_received: 0,
            latest_charge: None,
            last_payment_error: None,
            payment_method: None,
            metadata: session.pi_metadata.clone(),
            description: session.pi_description.clone(),
            canceled_at: None,
            cancellation_reason: None,
            pending_card: None,
            captures: 0,
            attempts: Vec::new(),
        };
        session.payment_intent = Some(id.clone());
        self.intents.insert(id.clone(), pi);
        Ok(id)
    }

    /// A shopper's attempt with a checked card. `pay_async` makes an approved payment
    /// `processing` until [`State::settle_async`] (Checkout's delayed-notification flow).
    pub fn attempt(
        &mut self,
        session_id: &str,
        card: Card,
        outcome: Outcome,
        pay_async: bool,
        now: i64,
    ) -> Result<(Attempt, Vec<Emit>), PayError> {
        let pi_id = self.intent_for(session_id, now)?;
        let pi = self.intents.get_mut(&pi_id).ok_or(PayError::NotPayable)?;
        if !matches!(
            pi.status,
            PiStatus::RequiresPaymentMethod | PiStatus::RequiresAction
        ) {
            return Err(PayError::NotPayable);
        }
        let pm = new_id("pm_");
        pi.payment_method = Some(pm.clone());
        match outcome {
            Outcome::Decline(error) => {
                pi.attempts
                    .push((card.last4.clone(), error.code.to_owned()));
                Ok((
                    Attempt::Declined(error.clone()),
                    self.fail(&pi_id, error, pm),
                ))
            }
            Outcome::Challenge => {
                pi.attempts
                    .push((card.last4.clone(), "requires_action".into()));
                pi.status = PiStatus::RequiresAction;
                pi.pending_card = Some(card);
                pi.last_payment_error = None;
                Ok((Attempt::Challenge, Vec::new()))
            }
            Outcome::Approve => {
                pi.attempts.push((card.last4.clone(), "approved".into()));
                Ok(self.approve(session_id, &pi_id, card, pm, pay_async, now))
            }
        }
    }

    /// The shopper completes (`passed`) or fails the 3-D Secure challenge.
    pub fn challenge(
        &mut self,
        session_id: &str,
        passed: bool,
        now: i64,
    ) -> Result<(Attempt, Vec<Emit>), PayError> {
        let pi_id = self.intent_for(session_id, now)?;
        let pi = self.intents.get_mut(&pi_id).ok_or(PayError::NotPayable)?;
        if pi.status != PiStatus::RequiresAction {
            return Err(PayError::NoChallenge);
        }
        let card = pi.pending_card.take().ok_or(PayError::NoChallenge)?;
        let pm = pi.payment_method.clone().unwrap_or_else(|| new_id("pm_"));
        if passed {
            pi.attempts.push((card.last4.clone(), "3ds_passed".into()));
            return Ok(self.approve(session_id, &pi_id, card, pm, false, now));
        }
        pi.attempts.push((card.last4, "3ds_failed".into()));
        let error = CardError::authentication_failed();
        Ok((
            Attempt::Declined(error.clone()),
            self.fail(&pi_id, error, pm),
        ))
    }

    fn fail(&mut self, pi_id: &str, error: CardError, pm: String) -> Vec<Emit> {
        if let Some(pi) = self.intents.get_mut(pi_id) {
            pi.status = PiStatus::RequiresPaymentMethod;
            pi.pending_card = None;
            pi.last_payment_error = Some((error, pm));
        }
        vec![emit(
            "payment_intent.payment_failed",
            ObjectRef::PaymentIntent(pi_id.to_owned()),
        )]
    }

    fn approve(
        &mut self,
        session_id: &str,
        pi_id: &str,
        card: Card,
        pm: String,
        pay_async: bool,
        now: i64,
    ) -> (Attempt, Vec<Emit>) {
        let mut emits = Vec::new();
        let charge_id = new_id("ch_");
        let Some(pi) = self.intents.get_mut(pi_id) else {
            return (Attempt::Challenge, emits);
        };
        let manual = pi.capture_method == CaptureMethod::Manual;
        let charge = Charge {
            id: charge_id.clone(),
            created: now,
            payment_intent: pi_id.to_owned(),
            payment_method: pm,
            amount: pi.amount,
            amount_captured: if manual || pay_async { 0 } else { pi.amount },
            amount_refunded: 0,
            captured: !manual && !pay_async,
            currency: pi.currency.clone(),
            card,
            status: if pay_async { "pending" } else { "succeeded" },
        };
        pi.latest_charge = Some(charge_id.clone());
        pi.last_payment_error = None;
        pi.pending_card = None;
        let paid = if pay_async {
            pi.status = PiStatus::Processing;
            false
        } else if manual {
            pi.status = PiStatus::RequiresCapture;
            pi.amount_capturable = pi.amount;
            emits.push(emit(
                "payment_intent.amount_capturable_updated",
                ObjectRef::PaymentIntent(pi_id.to_owned()),
            ));
            false
        } else {
            pi.status = PiStatus::Succeeded;
            pi.amount_received = pi.amount;
            true
        };
        self.charges.insert(charge_id, charge);
        let success_url = match self.sessions.get_mut(session_id) {
            Some(session) => {
                session.status = SessionStatus::Complete;
                session.payment_status = if paid {
                    PaymentStatus::Paid
                } else {
                    PaymentStatus::Unpaid
                };
                session
                    .success_url
                    .replace("{CHECKOUT_SESSION_ID}", &session.id)
            }
            None => String::new(),
        };
        emits.push(emit(
            "checkout.session.completed",
            ObjectRef::Session(session_id.to_owned()),
        ));
        (Attempt::Completed(success_url), emits)
    }

    /// A `processing` payment settles: succeeded or failed.
    pub fn settle_async(&mut self, pi_id: &str, succeeded: bool) -> Result<Vec<Emit>, PayError> {
        let pi = self
            .intents
            .get_mut(pi_id)
            .ok_or(PayError::UnknownSession)?;
        if pi.status != PiStatus::Processing {
            return Err(PayError::NotPayable);
        }
        let session_id = pi.session.clone();
        let charge = pi
            .latest_charge
            .clone()
            .and_then(|c| self.charges.get_mut(&c));
        if succeeded {
            pi.status = PiStatus::Succeeded;
            pi.amount_received = pi.amount;
            if let Some(charge) = charge {
                charge.status = "succeeded";
                charge.captured = true;
                charge.amount_captured = charge.amount;
            }
            if let Some(s) = self.sessions.get_mut(&session_id) {
                s.payment_status = PaymentStatus::Paid;
            }
            return Ok(vec![emit(
                "checkout.session.async_payment_succeeded",
                ObjectRef::Session(session_id),
            )]);
        }
        if let Some(charge) = charge {
            charge.status = "failed";
        }
        let pm = pi.payment_method.clone().unwrap_or_default();
        let mut emits = self.fail(
            pi_id,
            CardError::card(
                "card_declined",
                Some("generic_decline"),
                "Your card has been declined.",
            ),
            pm,
        );
        emits.push(emit(
            "checkout.session.async_payment_failed",
            ObjectRef::Session(session_id),
        ));
        Ok(emits)
    }

    /// Captures `amount` (≤ `amount_capturable`, checked by the caller); the rest is released.
    pub fn capture(&mut self, pi_id: &str, amount: i64) -> Vec<Emit> {
        let Some(pi) = self.intents.get_mut(pi_id) else {
            return Vec::new();
        };
        pi.status = PiStatus::Succeeded;
        pi.amount_received = amount;
        pi.amount_capturable = 0;
        pi.captures += 1;
        let session_id = pi.session.clone();
        if let Some(charge) = pi
            .latest_charge
            .clone()
            .and_then(|c| self.charges.get_mut(&c))
        {
            charge.captured = true;
            charge.amount_captured = amount;
            // The uncaptured remainder is released, shown as refunded on the charge.
            charge.amount_refunded = charge.amount - amount;
        }
        if let Some(s) = self.sessions.get_mut(&session_id) {
            s.payment_status = PaymentStatus::Paid;
        }
        Vec::new()
    }

    /// Cancels a PaymentIntent (the caller checked its status); an authorization is released.
    pub fn cancel(&mut self, pi_id: &str, reason: &'static str, now: i64) -> Vec<Emit> {
        let Some(pi) = self.intents.get_mut(pi_id) else {
            return Vec::new();
        };
        let was_authorized = pi.status == PiStatus::RequiresCapture;
        pi.status = PiStatus::Canceled;
        pi.canceled_at = Some(now);
        pi.cancellation_reason = Some(reason);
        pi.amount_capturable = 0;
        pi.pending_card = None;
        if was_authorized {
            if let Some(charge) = pi
                .latest_charge
                .clone()
                .and_then(|c| self.charges.get_mut(&c))
            {
                charge.amount_refunded = charge.amount;
            }
        }
        vec![emit(
            "payment_intent.canceled",
            ObjectRef::PaymentIntent(pi_id.to_owned()),
        )]
    }

    /// What can still be refunded of a PaymentIntent's charge.
    pub fn refundable(&self, pi_id: &str) -> Option<(String, i64)> {
        let pi = self.intents.get(pi_id)?;
        let charge = self.charges.get(pi.latest_charge.as_ref()?)?;
        if pi.status != PiStatus::Succeeded || !charge.captured {
            return None;
        }
        Some((
            charge.id.clone(),
            charge.amount_captured - self.refunded(&charge.id),
        ))
    }

    /// The sum of a charge's refunds.
    pub fn refunded(&self, charge_id: &str) -> i64 {
        self.refunds
            .values()
            .filter(|r| r.charge == charge_id)
            .map(|r| r.amount)
            .sum()
    }

    /// Creates a pending refund (the caller checked the amount).
    pub fn refund(
        &mut self,
        pi_id: &str,
        charge_id: &str,
        amount: i64,
        metadata: Map<String, Value>,
        reason: Option<String>,
        now: i64,
    ) -> (String, Vec<Emit>) {
        let id = new_id("re_");
        let currency = self
            .intents
            .get(pi_id)
            .map(|pi| pi.currency.clone())
            .unwrap_or_default();
        self.refunds.insert(
            id.clone(),
            Refund {
                id: id.clone(),
                created: now,
                amount,
                currency,
                charge: charge_id.to_owned(),
                payment_intent: pi_id.to_owned(),
                status: RefundStatus::Pending,
                metadata,
                reason,
            },
        );
        self.refund_order.push(id.clone());
        let refunded = self.refunded(charge_id);
        if let Some(charge) = self.charges.get_mut(charge_id) {
            charge.amount_refunded = (charge.amount - charge.amount_captured) + refunded;
        }
        let emits = vec![emit(
            "charge.refunded",
            ObjectRef::Charge(charge_id.to_owned()),
        )];
        (id, emits)
    }

    /// A pending refund succeeds.
    pub fn settle_refund(&mut self, refund_id: &str) -> Vec<Emit> {
        match self.refunds.get_mut(refund_id) {
            Some(r) if r.status == RefundStatus::Pending => {
                r.status = RefundStatus::Succeeded;
                vec![emit(
                    "refund.updated",
                    ObjectRef::Refund(refund_id.to_owned()),
                )]
            }
            _ => Vec::new(),
        }
    }
}
