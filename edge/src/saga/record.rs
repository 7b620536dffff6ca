//! A checkout session's stored state and the rules for changing it. No I/O: the session object
//! loads a record, calls these methods, and saves it in the same synchronous turn.

use checkout_core::allocation::PointsRules;
use checkout_core::api::{
    BalanceSummary, CheckoutSession, CreateSessionRequest, NextAction, Payment, PaymentLeg,
    PaymentMethod, PaymentStatus, PointsSummary, Refund, RefundStatus, SessionStatus,
    WidgetSession,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Everything a session object stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: String,
    /// `mode:merchant_id`; a merchant can only see sessions of its own scope.
    pub merchant_scope: String,
    pub merchant_name: String,
    pub livemode: bool,
    pub request: CreateSessionRequest,
    pub amount: Money,
    pub client_secret: String,
    pub status: SessionStatus,
    pub created_at_s: i64,
    pub expires_at_s: i64,
    pub payments: Vec<PaymentRecord>,
    #[serde(default)]
    pub refunds: Vec<RefundRecord>,
    /// The merchant's points rules when the session was created; they hold for its lifetime.
    #[serde(default)]
    pub points_rules: Option<PointsRules>,
    /// Wallet holds kept after a failed external leg, so a retry of the external part finds the
    /// points and balance still reserved. Voided when the shopper pays another way or time is up.
    #[serde(default)]
    pub retained_holds: Option<RetainedHolds>,
    /// Which of points and balance the widget suggests first (the merchant's choice).
    #[serde(default = "checkout_core::api::default_wallet_priority")]
    pub wallet_priority: [PaymentMethod; 2],
    /// The saga's write-ahead list: calls decided and not yet answered (`crate::saga`).
    #[serde(default)]
    pub intents: Vec<crate::saga::Intent>,
    /// The number of intents ever issued, which numbers the next one's id.
    #[serde(default)]
    pub intent_seq: u64,
}

/// A group of wallet holds waiting for a retry of the external leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetainedHolds {
    pub group: String,
    pub points: i64,
    pub wallet_amount: Money,
}

/// One payment attempt, keyed by the idempotency key the client chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: String,
    pub idempotency_key: String,
    pub method: PaymentMethod,
    pub amount: Money,
    pub status: PaymentStatus,
    pub failure: Option<ErrorDetail>,
    pub created_at_s: i64,
    /// The provider's side, for external methods.
    #[serde(default)]
    pub provider: Option<ProviderLeg>,
    /// Loyalty points paying part of `amount`; the rest is the method's.
    #[serde(default)]
    pub points: i64,
    /// For a split with an external method: the store balance held for it.
    #[serde(default)]
    pub wallet_amount: Option<Money>,
    /// For a split with an external method: what the provider is asked for.
    #[serde(default)]
    pub external_amount: Option<Money>,
    /// The wallet group holding this payment's legs when it took over an earlier attempt's.
    #[serde(default)]
    pub holds_group: Option<String>,
    /// Why the payment is (or was) held for review: the provider took something else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// A provider success that arrived after this attempt had ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_success: Option<checkout_core::api::LateSuccess>,
    /// When to ask the provider once more about a leg it acknowledged closing: a shopper paying
    /// at that very moment can still get through at some providers, and that money must not
    /// depend on one notification arriving. `None` once the provider has answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_check_at_s: Option<i64>,
    /// The card's latest decline at the gateway (the shopper may retry on its page), kept for
    /// the merchant's view and for the failure once the leg ends unpaid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<crate::saga::Decline>,
}

/// A payment held for review: what the provider said it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub reason: checkout_core::api::ReviewReason,
    pub provider_amount: Option<Money>,
    pub provider_order: Option<String>,
    /// The provider's transaction, needed to refund it.
    pub transaction_id: Option<String>,
    pub resolution: Option<checkout_core::api::ResolveAction>,
    pub resolved_at_s: Option<i64>,
}

impl PaymentRecord {
    /// Whether the wallet holds part of this external payment (points or balance).
    pub fn has_holds(&self) -> bool {
        self.points > 0 || self.wallet_amount.is_some_and(|a| !a.is_zero())
    }

    /// The wallet group that holds this payment's points and balance.
    pub fn holds_group(&self) -> String {
        self.holds_group.clone().unwrap_or_else(|| self.id.clone())
    }

    /// Whether this is a card authorization waiting for the merchant's capture or cancel.
    pub fn is_authorized(&self) -> bool {
        self.status == PaymentStatus::Processing
            && self.provider.as_ref().map(|l| l.stage) == Some(LegStage::Authorized)
    }

    /// What the provider is asked to take.
    pub fn provider_amount(&self) -> Money {
        self.external_amount.unwrap_or(self.amount)
    }
}

/// An external payment's progress at its provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderLeg {
    /// The provider's id (bKash `paymentID`), once created.
    pub reference: Option<String>,
    /// Where the shopper must go to approve (records written before `next_action` existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// What the shopper must do to approve: a redirect, a QR code, WeChat's pay sheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    /// The provider's transaction id (bKash `trxID`), once completed.
    pub transaction_id: Option<String>,
    pub stage: LegStage,
    /// When the leg entered its stage, unix seconds.
    pub stage_since_s: i64,
    /// For an authorization: when it is voided unless captured (before the gateway's limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void_at_s: Option<i64>,
    /// For an authorization: the amount of the capture under way (the merchant's, or the whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<Money>,
    /// The create call to make once the wallet's holds are placed (kept only until then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<crate::saga::CreateCall>,
}

/// Where an external payment stands while it is processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegStage {
    /// The create call is under way; nothing can have been taken.
    Creating,
    /// Created; the shopper is at the provider.
    AwaitingShopper,
    /// The shopper approved and the completing call (bKash execute) was sent.
    Completing,
    /// The provider took its part; the wallet's holds for the rest are being posted.
    PostingHolds,
    /// A card authorization (manual capture): nothing is taken until the merchant captures; the
    /// wallet's part stays held. Voided at `void_at_s` unless captured.
    Authorized,
}

/// A refund, keyed by the merchant's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub id: String,
    pub idempotency_key: String,
    pub payment_id: String,
    pub amount: Money,
    pub reason: String,
    pub status: RefundStatus,
    pub failure: Option<ErrorDetail>,
    pub provider_refund_id: Option<String>,
    pub created_at_s: i64,
    /// How the refund splits across the payment's legs (`refunds::split_refund`).
    #[serde(default)]
    pub parts: Option<RefundParts>,
    /// Started by the checkout itself (a late success or a resolved review gives back what the
    /// provider took), not by the merchant: not counted in the session's `amount_refunded`.
    #[serde(default)]
    pub automatic: bool,
    /// The provider's part is made; only the wallet's parts may be left.
    #[serde(default)]
    pub provider_done: bool,
    /// Attempts to settle it so far, for the back-off.
    #[serde(default)]
    pub attempts: u32,
    /// When the alarm tries to settle it again, unix seconds.
    #[serde(default)]
    pub next_attempt_at_s: Option<i64>,
    /// Where the provider posts the refund's outcome (kept for a retry).
    #[serde(default)]
    pub notify_url: Option<String>,
}

/// A refund's share of each leg of the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundParts {
    pub external: Money,
    pub balance: Money,
    pub points: i64,
}

/// What a refund request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStart {
    Started(RefundRecord),
    Replayed(RefundRecord),
}

/// What a pay request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStart {
    /// A new attempt, now recorded as processing; its side effect may run.
    Started(PaymentRecord),
    /// The key was seen before; this is the first attempt's outcome.
    Replayed(PaymentRecord),
}

impl SessionRecord {
    /// Marks an open session expired once its time is up. Returns whether it changed.
    pub fn expire_if_due(&mut self, now_s: i64) -> bool {
        if self.status == SessionStatus::Open && now_s >= self.expires_at_s {
            self.status = SessionStatus::Expired;
            return true;
        }
        false
    }

    /// Records a new processing attempt, or finds the earlier attempt with the same key.
    pub fn start_payment(
        &mut self,
        idempotency_key: &str,
        method: PaymentMethod,
        payment_id: String,
        now_s: i64,
        available: &[PaymentMethod],
    ) -> Result<PayStart> {
        if let Some(earlier) = self
            .payments
            .iter()
            .find(|p| p.idempotency_key == idempotency_key)
        {
            return replay(earlier, method);
        }
        self.ensure_payable(method, available)?;
        let external = !matches!(method, PaymentMethod::Balance | PaymentMethod::Points);
        let payment = PaymentRecord {
            id: payment_id,
            idempotency_key: idempotency_key.to_owned(),
            method,
            amount: self.amount,
            status: PaymentStatus::Processing,
            failure: None,
            created_at_s: now_s,
            points: 0,
            wallet_amount: None,
            external_amount: None,
            holds_group: None,
            review: None,
            late_success: None,
            close_check_at_s: None,
            decline: None,
            provider: external.then_some(ProviderLeg {
                reference: None,
                redirect_url: None,
                next_action: None,
                transaction_id: None,
                stage: LegStage::Creating,
                stage_since_s: now_s,
                void_at_s: None,
                capture_amount: None,
                create: None,
            }),
        };
        self.payments.push(payment.clone());
        self.status = SessionStatus::Processing;
        Ok(PayStart::Started(payment))
    }

    fn ensure_payable(&self, method: PaymentMethod, available: &[PaymentMethod]) -> Result<()> {
        match self.status {
            SessionStatus::Open => {}
            SessionStatus::Processing | SessionStatus::Authorized => {
                return Err(Error::api(ErrorCode::PaymentInProgress))
            }
            SessionStatus::Paid => return Err(Error::api(ErrorCode::SessionNotOpen)),
            SessionStatus::Expired => return Err(Error::api(ErrorCode::SessionExpired)),
            SessionStatus::RequiresReview => {
                return Err(Error::api(ErrorCode::PaymentRequiresReview))
            }
        }
        if !self.request.methods.contains(&method) {
            return Err(Error::api(ErrorCode::MethodNotAllowedForSession));
        }
        if !available.contains(&method) {
            return Err(Error::api(ErrorCode::PaymentMethodUnavailable));
        }
        Ok(())
    }

    /// Records the outcome of a processing attempt: paid on success, open again on a failure.
    pub fn finish_payment(
        &mut self,
        payment_id: &str,
        outcome: std::result::Result<(), ErrorDetail>,
    ) -> Result<()> {
        let payment = self.processing_mut(payment_id)?;
        match outcome {
            Ok(()) => {
                payment.status = PaymentStatus::Succeeded;
                if let Some(leg) = payment.provider.as_mut() {
                    leg.redirect_url = None;
                    leg.next_action = None;
                }
                self.status = SessionStatus::Paid;
            }
            Err(detail) => {
                payment.status = PaymentStatus::Failed;
                payment.failure = Some(detail);
                if let Some(leg) = payment.provider.as_mut() {
                    leg.redirect_url = None;
                    leg.next_action = None;
                }
                self.status = SessionStatus::Open;
            }
        }
        Ok(())
    }

    /// The attempt `payment_id`, which must still be processing.
    pub(crate) fn processing_mut(&mut self, payment_id: &str) -> Result<&mut PaymentRecord> {
        self.payments
            .iter_mut()
            .find(|p| p.id == payment_id && p.status == PaymentStatus::Processing)
            .ok_or_else(|| Error::Invariant(format!("no processing payment {payment_id}")))
    }

    /// The attempt whose outcome is not yet known, if any.
    pub fn processing_payment(&self) -> Option<&PaymentRecord> {
        self.payments
            .iter()
            .find(|p| p.status == PaymentStatus::Processing)
    }

    pub fn amount_paid(&self) -> Money {
        let paid = self
            .payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .map(|p| p.amount.amount_minor())
            .sum();
        Money::from_minor(paid, self.amount.currency()).unwrap_or(self.amount)
    }

    pub fn merchant_view(&self) -> CheckoutSession {
        let r = &self.request;
        CheckoutSession {
            id: self.id.clone(),
            livemode: self.livemode,
            order_id: r.order_id.clone(),
            amount: self.amount.to_decimal_string(),
            currency: self.amount.currency(),
            description: r.description.clone(),
            customer_id: r.customer_id.clone(),
            methods: r.methods.clone(),
            return_url: r.return_url.clone(),
            status: self.status_view(),
            client_secret: self.client_secret.clone(),
            amount_paid: self.amount_paid().to_decimal_string(),
            created_at: self.created_at_s,
            expires_at: self.expires_at_s,
            payments: self.payment_views(),
            amount_refunded: self.amount_refunded().to_decimal_string(),
            refunds: self.refunds.iter().map(|r| self.refund_view(r)).collect(),
        }
    }

    pub fn widget_view(&self, balance: Option<BalanceSummary>) -> WidgetSession {
        let points = match (self.points_rules, &balance) {
            (Some(rules), Some(summary))
                if self.request.methods.contains(&PaymentMethod::Points) =>
            {
                Some(PointsSummary {
                    available: summary.points_available,
                    rules,
                    priority: self.wallet_priority,
                })
            }
            _ => None,
        };
        // Balance is shown only where it is offered; points ride on the same wallet read.
        let balance = balance.filter(|_| self.request.methods.contains(&PaymentMethod::Balance));
        let r = &self.request;
        // The gateway's decline codes are the merchant's: the shopper is told `failure_code`
        // only (a lost or stolen card is a plain decline to them).
        let mut payments = self.payment_views();
        for payment in &mut payments {
            payment.decline_code = None;
            payment.gateway_code = None;
        }
        WidgetSession {
            id: self.id.clone(),
            merchant_name: self.merchant_name.clone(),
            order_id: r.order_id.clone(),
            description: r.description.clone(),
            amount_minor: self.amount.amount_minor(),
            currency: self.amount.currency(),
            status: self.status_view(),
            methods: r.methods.clone(),
            return_url: r.return_url.clone(),
            expires_at: self.expires_at_s,
            balance,
            points,
            payments,
            next_action: self.next_action(),
            method_limits: Vec::new(),
        }
    }

    /// The payments as clients see them, each with its legs.
    fn payment_views(&self) -> Vec<Payment> {
        self.payments
            .iter()
            .map(|payment| {
                let mut view = payment.view();
                view.legs = self.leg_views(payment);
                view
            })
            .collect()
    }

    fn leg_views(&self, payment: &PaymentRecord) -> Vec<PaymentLeg> {
        let Ok(parts) = self.legs(payment) else {
            return Vec::new();
        };
        let total = payment.amount;
        let points_value = total
            .checked_sub(parts.external)
            .and_then(|rest| rest.checked_sub(parts.balance))
            .unwrap_or(Money::zero(total.currency()));
        let leg = |method, amount: Money, points| PaymentLeg {
            method,
            amount: amount.to_decimal_string(),
            status: payment.status,
            points,
        };
        let mut legs = Vec::new();
        if payment.points > 0 {
            legs.push(leg(
                PaymentMethod::Points,
                points_value,
                Some(payment.points),
            ));
        }
        if !parts.balance.is_zero() {
            legs.push(leg(PaymentMethod::Balance, parts.balance, None));
        }
        if !parts.external.is_zero() {
            legs.push(leg(payment.method, parts.external, None));
        }
        legs
    }

    /// The status clients see: `authorized` while a card authorization waits for the merchant
    /// (stored as a processing payment whose leg is [`LegStage::Authorized`]).
    pub fn status_view(&self) -> SessionStatus {
        match self.processing_payment() {
            Some(p) if p.is_authorized() => SessionStatus::Authorized,
            _ => self.status,
        }
    }

    /// Whether payments of `method` in this session are authorized now and captured later.
    pub fn manual_capture(&self, method: PaymentMethod) -> bool {
        method == PaymentMethod::Card
            && self.request.capture == Some(checkout_core::api::CaptureMode::Manual)
    }

    /// A redirect while the shopper still has to approve at the provider.
    fn next_action(&self) -> Option<NextAction> {
        let leg = self.processing_payment()?.provider.as_ref()?;
        let action = leg.next_action.clone().or_else(|| {
            let url = leg.redirect_url.clone()?;
            Some(NextAction::Redirect { url })
        })?;
        (leg.stage == LegStage::AwaitingShopper).then_some(action)
    }
}

fn replay(earlier: &PaymentRecord, method: PaymentMethod) -> Result<PayStart> {
    if earlier.method != method {
        return Err(Error::api(ErrorCode::IdempotencyKeyReused));
    }
    if earlier.status == PaymentStatus::Processing {
        return Err(Error::api(ErrorCode::PaymentInProgress));
    }
    Ok(PayStart::Replayed(earlier.clone()))
}

impl PaymentRecord {
    pub fn view(&self) -> Payment {
        Payment {
            id: self.id.clone(),
            method: self.method,
            amount: self.amount.to_decimal_string(),
            currency: self.amount.currency(),
            status: if self.is_authorized() {
                PaymentStatus::Authorized
            } else {
                self.status
            },
            failure_code: self.failure.as_ref().map(|f| f.code),
            created_at: self.created_at_s,
            provider_reference: self.provider.as_ref().and_then(|l| l.reference.clone()),
            provider_transaction_id: self
                .provider
                .as_ref()
                .and_then(|l| l.transaction_id.clone()),
            points: (self.points > 0).then_some(self.points),
            legs: Vec::new(),
            review: self
                .review
                .as_ref()
                .map(|r| checkout_core::api::PaymentReview {
                    reason: r.reason,
                    provider_amount: r.provider_amount.map(|a| a.to_decimal_string()),
                    provider_order: r.provider_order.clone(),
                    resolution: r.resolution,
                    resolved_at: r.resolved_at_s,
                }),
            late_success: self.late_success.clone(),
            decline_code: self.decline.as_ref().and_then(|d| d.decline_code.clone()),
            gateway_code: self.decline.as_ref().and_then(|d| d.gateway_code.clone()),
        }
    }
}

impl RefundRecord {
    pub fn view(&self) -> Refund {
        Refund {
            id: self.id.clone(),
            payment_id: self.payment_id.clone(),
            amount: self.amount.to_decimal_string(),
            currency: self.amount.currency(),
            reason: self.reason.clone(),
            status: self.status,
            failure_code: self.failure.as_ref().map(|f| f.code),
            provider_refund_id: self.provider_refund_id.clone(),
            created_at: self.created_at_s,
            legs: Vec::new(),
            automatic: self.automatic,
        }
    }
}

pub mod attempts;
pub mod audit;
pub mod events;
mod provider_leg;
mod refunds;

#[cfg(test)]
pub(crate) mod tests;
