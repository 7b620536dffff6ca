//! The checkout session's saga as a pure, deterministic state machine.
//!
//! A payment moves money in several places (the wallet's holds and debits, a provider's charge
//! and refunds) that cannot share a transaction. This module decides, from the stored
//! [`SessionRecord`] and one [`Input`], what the record becomes and which calls ([`Intent`]s)
//! must be made; the `CheckoutSession` Durable Object (`objects/session.rs`) is a thin shell that
//! persists the record **together with** its intents in one write, runs the intents, and feeds
//! every answer back in as [`Input::Answer`].
//!
//! Architecture Invariant: nothing under `saga/` does I/O. No `worker` import, no clock (time is
//! [`Ctx::now_s`]), no randomness (ids come in the input), no logging (alerts come back in
//! [`Stepped::alerts`] for the shell to log). It compiles and runs natively, which is how the
//! seeded fault simulation (`cargo xtask sim`) drives it. Merchant events and audit entries are
//! derived from the change of the record (`record/events.rs`, `record/audit.rs`), not emitted.
//!
//! The write-ahead list: `record.intents` holds every call that was decided but whose answer was
//! not yet applied. An intent has a deterministic id (`"{subject}:{kind}#{n}"`, `n` counting the
//! record's intents), so an answer is
//! matched to exactly the call it answers; an answer whose intent is no longer listed (stale,
//! duplicated, or superseded by recovery) is ignored. Intents survive restarts; on
//! [`Input::Alarm`] an intent older than [`RECOVERY_AFTER_S`] is taken as abandoned and replaced by
//! its *recovery* form:
//! - wallet `Debit` → `ResolveTransfer` (the wallet fences a transfer id it never saw);
//! - wallet `PlaceHolds` → the attempt fails and its holds group is voided (the pay password is
//!   never stored, so a hold cannot be placed again without the shopper);
//! - provider `Complete` → `Query`, provider `Refund` → `FindRefund`: **a call that moves money at
//!   a provider is never sent twice for one intent**;
//! - provider `Create` → the attempt fails (nothing can have been taken: the shopper never saw the
//!   provider's page);
//! - idempotent calls (queries, post/void holds, credits, points, close) are sent again.
//!
//! The pay password: [`WalletCall::Debit`] and [`WalletCall::PlaceHolds`] need the shopper's
//! password, which only the request that started them holds in memory. The shell attaches it; an
//! intent re-run from the list never has it, which is why recovery converts those two.

pub mod invariants;
mod machine;
pub mod points;
pub mod provider;
pub mod record;
pub mod replies;

use checkout_core::api::{
    AllocationRequest, CreateRefundRequest, PaymentMethod, PointsAdjustmentKind, ResolveAction,
    WechatFlow,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};
use serde::{Deserialize, Serialize};

pub use invariants::check_invariants;
pub use machine::{needs_tracking, next_alarm_at_s, step};
pub use provider::{
    ConnectorError, Created, Decline, OtherRefunds, ProviderPayment, ProviderRefund, ProviderState,
    RefundState, WechatPayer,
};
pub use record::SessionRecord;

/// How long a call may stay unanswered before the alarm takes it as lost and recovers it; also
/// how often a leg waiting on its provider is asked again.
pub const RECOVERY_AFTER_S: i64 = 30;
/// How long after a provider acknowledged closing a leg it is asked once more whether the
/// payment stayed unpaid (a shopper paying at that moment can get through at some providers).
pub const CLOSE_CHECK_AFTER_S: i64 = 5 * 60;
/// Holds outlive the session by this much, so a provider that completes at the last moment still
/// finds the wallet's part to post.
pub const HOLD_GRACE_S: i64 = 30 * 60;
/// An unsettled refund is retried after this long, doubling each time ...
pub const REFUND_RETRY_FIRST_S: i64 = 30;
/// ... up to this gap between attempts ...
pub const REFUND_RETRY_MAX_S: i64 = 60 * 60;
/// ... and is handed to a person (`RefundStatus::RequiresReview`) once this old.
pub const REFUND_REVIEW_AFTER_S: i64 = 24 * 60 * 60;

/// What the shell looked up for this step: the time and the Worker's configuration. Everything
/// the machine knows about the world beyond the record comes in here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// Now, unix seconds.
    pub now_s: i64,
    /// The session's methods usable on this Worker now (points only with points rules).
    pub available: Vec<PaymentMethod>,
    /// Each external method's per-payment amount limits at its provider.
    pub limits: Vec<MethodLimits>,
    /// Whether a provider call caused by an unauthenticated request (a callback, a notification)
    /// still fits the session's budget (`objects/session/throttle.rs`). When it does not, a
    /// callback is answered from the record and a refund notification is refused. Consulted
    /// only for `Callback` and `Notification` inputs (the shell reads the budget only for those).
    pub stranger_call_allowed: bool,
    /// How long a card authorization may wait for the merchant's capture before it is voided
    /// (before the gateway's own limit: Stripe cancels after 7 days).
    pub authorization_void_after_s: i64,
}

/// The default of [`Ctx::authorization_void_after_s`]: 6 days 20 hours, four hours inside
/// Stripe's 7 days.
pub const AUTHORIZATION_VOID_AFTER_S: i64 = 6 * 24 * 60 * 60 + 20 * 60 * 60;

/// An external method's per-payment amount limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodLimits {
    pub method: PaymentMethod,
    pub min: Money,
    pub max: Money,
}

/// One thing that happened to the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// The shopper pays (the shell generated `payment_id`).
    Pay(PayInput),
    /// The shopper gives up on the external payment waiting for them.
    Cancel,
    /// The shopper came back from `provider`, whose redirect claims `outcome` (a hint only).
    Callback {
        provider: PaymentMethod,
        reference: String,
        outcome: CallbackOutcome,
    },
    /// A provider's verified notification (the shell has checked its signature, nonce and mode).
    Notification {
        provider: PaymentMethod,
        event: NotifiedEvent,
    },
    /// The merchant refunds (the shell generated `refund_id`).
    Refund(RefundInput),
    /// The merchant captures the card authorization, whole (`None`) or `amount` of the card's
    /// part.
    Capture { amount: Option<Money> },
    /// The merchant voids the card authorization (its wallet holds are voided with it).
    VoidAuthorization,
    /// The merchant decides about a payment held for review.
    ResolvePayment {
        payment_id: String,
        action: ResolveAction,
    },
    /// The widget polls the session's status: a leg awaiting the shopper is queried.
    StatusPoll,
    /// The session's alarm fired: recover abandoned intents, ask providers, retry refunds, expire.
    Alarm,
    /// The reconciliation cron: settle an unfinished external leg by asking its provider.
    Reconcile,
    /// The answer to the intent `intent_id`.
    Answer { intent_id: String, answer: Answer },
}

/// A pay request, as the machine sees it (the password stays with the shell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayInput {
    pub idempotency_key: String,
    pub method: PaymentMethod,
    /// A fresh id from the shell; used only if this is a new attempt.
    pub payment_id: String,
    #[serde(default)]
    pub allocation: Option<AllocationRequest>,
    /// Where an external provider sends the shopper back.
    pub callback_url: String,
    /// Where a provider posts its notification.
    pub notify_url: String,
    #[serde(default)]
    pub wechat_flow: Option<WechatFlow>,
    #[serde(default)]
    pub client_ip: Option<String>,
}

/// A refund request, as the machine sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundInput {
    pub idempotency_key: String,
    /// A fresh id from the shell; used only if this is a new refund.
    pub refund_id: String,
    pub request: CreateRefundRequest,
    /// Where a provider posts the refund's outcome (WeChat Pay).
    #[serde(default)]
    pub notify_url: Option<String>,
}

/// What the provider's redirect claims. It proves nothing: only the provider's own answer does.
/// `Success` starts the completion (bKash execute, which bKash itself refuses for a payment the
/// shopper did not approve); the others are hints that make the session ask the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    Success,
    Failure,
    Cancel,
    /// The shopper is back and the redirect claims nothing (WeChat H5): ask the provider.
    Returned,
}

/// What a verified notification says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotifiedEvent {
    /// A payment's transaction, as the provider reports it.
    Payment { payment: ProviderPayment },
    /// A refund changed at the provider; `refund_id` is ours.
    Refund { refund_id: String },
    /// Something about payment `payment_id` (ours) changed at the provider, which says no more
    /// (Stripe's events are hints): the payment and its pending refunds are asked again.
    Changed { payment_id: String },
}

/// The final state of a transfer id, as the wallet's `Resolve` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    Posted,
    Aborted,
}

impl TransferOutcome {
    pub fn into_result(self) -> std::result::Result<(), ErrorDetail> {
        match self {
            TransferOutcome::Posted => Ok(()),
            TransferOutcome::Aborted => Err(aborted()),
        }
    }
}

/// The refusal of a transfer the wallet fenced or aborted: nothing moved.
pub fn aborted() -> ErrorDetail {
    let mut detail = ErrorDetail::new(ErrorCode::InternalError);
    detail.message = "The payment could not be completed. No money was moved.".into();
    detail
}

/// The answer to one intent. `Lost` is no answer at all (a timeout, an object that failed): the
/// call may or may not have acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// The wallet did it (debit, holds placed/posted/voided, credit, points).
    WalletOk,
    /// The wallet refused, and did nothing (password, funds, a fenced id).
    WalletRefused(ErrorDetail),
    /// The wallet's word on a transfer id (the answer to `ResolveTransfer`).
    Transfer(TransferOutcome),
    /// The provider created the payment (the answer to `Create`).
    Created(Created),
    /// The provider's word on a payment (the answer to `Complete` and `Query`).
    Payment(ProviderPayment),
    /// The provider closed the payment (the answer to `Close`), with the card's last decline if
    /// the gateway reported one before closing (read before its session was expired).
    Closed {
        #[serde(default)]
        decline: Option<Decline>,
    },
    /// The provider's refund (the answer to `Refund`).
    Refund(ProviderRefund),
    /// The provider's refund matching ours, if it made one (the answer to `FindRefund`).
    FoundRefund(Option<ProviderRefund>),
    /// The provider answered with an error (a refusal, already done, invalid state, unknown).
    ProviderError(ConnectorError),
    /// No answer.
    Lost,
}

/// A call decided by the machine and written down before it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// `"{subject}:{kind}#{n}"`, e.g. `"pay_x:complete#3"`, `"re_y:provider_refund#7"`, where `n`
    /// counts the record's intents (`SessionRecord::intent_seq`).
    pub id: String,
    /// The payment, refund or holds group the call is about.
    pub subject: String,
    pub call: Call,
    /// How its answer is applied.
    #[serde(default)]
    pub why: Why,
    /// When it was decided, unix seconds.
    pub issued_at_s: i64,
    /// 1 for the first call of its kind for its subject, counting recoveries.
    pub attempt: u32,
}

impl Intent {
    /// Whether the shell must attach the shopper's pay password (only the request that decided
    /// the intent has it).
    pub fn needs_password(&self) -> bool {
        matches!(
            self.call,
            Call::Wallet {
                call: WalletCall::Debit { .. } | WalletCall::PlaceHolds { .. }
            }
        )
    }

    /// Whether the call moves money at a provider (sent at most once per intent id).
    pub fn moves_provider_money(&self) -> bool {
        matches!(
            self.call,
            Call::Provider {
                call: ProviderCall::Complete { .. }
                    | ProviderCall::Capture { .. }
                    | ProviderCall::Refund(_),
                ..
            }
        )
    }
}

/// Why an intent was issued, which decides how its answer is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Observe: final statuses end the leg; approved or pending leave it where it is.
    #[default]
    Observe,
    /// The provider refused our execute as not executable: a pending or approved answer sends the
    /// leg back to waiting for the shopper.
    ExecuteRefused,
    /// Reconciliation: an approved but uncompleted payment is completed now.
    Reconcile,
    /// Closing an unpaid leg, which then fails with `code`.
    Close { code: ErrorCode },
    /// After a close answered "already done": only a success changes anything.
    AfterClose,
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Call {
    /// The session's customer's wallet.
    Wallet { call: WalletCall },
    /// The payment method's provider, with the session's mode's account.
    Provider {
        method: PaymentMethod,
        call: ProviderCall,
    },
}

/// A wallet command (`objects/wallet.rs` `WalletCommand`), without the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WalletCall {
    /// Takes `amount` of balance and `points` under `transfer_id`; needs the password.
    Debit {
        transfer_id: String,
        amount: Money,
        points: i64,
    },
    /// Whether `transfer_id` was posted; fences it if it never arrived.
    ResolveTransfer {
        transfer_id: String,
    },
    /// Holds a split's balance and points; needs the password.
    PlaceHolds {
        group: String,
        amount: Money,
        points: i64,
        expires_at_ms: i64,
    },
    PostHolds {
        group: String,
    },
    VoidHolds {
        group: String,
    },
    /// Gives balance back, once per reference.
    Credit {
        reference: String,
        amount: Money,
    },
    /// Gives points back, once per reference.
    AdjustPoints {
        reference: String,
        points: i64,
        kind: PointsAdjustmentKind,
    },
}

/// A provider call (`connectors::PaymentConnector`), as owned data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ProviderCall {
    Create(CreateCall),
    /// Completes an approved payment (bKash execute). Moves money.
    Complete {
        reference: String,
    },
    Query {
        reference: String,
    },
    /// Makes an unpaid payment unpayable.
    Close {
        reference: String,
    },
    /// Captures an authorized card payment (`transaction_id` is the gateway's intent), whole or
    /// `amount`. Moves money: sent once per intent; a lost answer is settled by a query.
    Capture {
        payment_id: String,
        transaction_id: String,
        amount: Option<Money>,
    },
    /// Voids an authorization (idempotent at the gateway).
    Void {
        payment_id: String,
        transaction_id: String,
    },
    /// Moves money back.
    Refund(RefundCall),
    /// Whether the provider made the refund.
    FindRefund(RefundCall),
}

/// `connectors::CreatePayment` as owned data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCall {
    pub invoice: String,
    #[serde(default)]
    pub session_id: String,
    pub amount: Money,
    pub payer_reference: String,
    pub callback_url: String,
    pub notify_url: String,
    pub description: String,
    pub expires_at_s: i64,
    pub wechat: Option<WechatPayer>,
    /// Authorize only; the merchant captures later (cards with `capture: "manual"`).
    #[serde(default)]
    pub manual_capture: bool,
}

/// `connectors::RefundRequest` as owned data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundCall {
    pub reference: String,
    pub transaction_id: String,
    pub refund_id: String,
    pub amount: Money,
    pub reason: String,
    pub payment_amount: Money,
    pub notify_url: Option<String>,
    pub others: OtherRefunds,
}

/// Something an operator must see now: the shell logs it as an `alert` line. Returned by
/// `step` through [`Stepped::alerts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// A stable name (`provider_mismatch`, `refund_requires_review`, ...).
    pub alert: String,
    pub subject: String,
    pub detail: String,
}

/// What one step decided: the intents to run now (in order, one at a time) and any alerts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stepped {
    pub intents: Vec<Intent>,
    pub alerts: Vec<Alert>,
}

#[cfg(test)]
mod tests;
