//! Simulated bKash (Tokenized Checkout), WeChat Pay (API v3) and Stripe (cards), answering in the connectors'
//! own types (`checkout_edge::connectors`), on their own clock (the world's plus a skew).
//!
//! Modelled after the providers' rules as `docs` and `../shared/notes/providers.md` state them and
//! the HTTP simulators in `tests/simulators/` play them (no code is shared with either):
//! - bKash: `create` → the shopper approves (`Authorized`) or cancels on the hosted page →
//!   `execute` completes once (a second execute answers 2062, "already completed"; an execute
//!   before approval answers 2056); `payment/status` queries; `payment/refund` refunds (not
//!   idempotent: each call is a new refund), and the same call without an amount reports only the
//!   payment's latest refund, without our reference. bKash has no close.
//! - WeChat Pay: prepay by `out_trade_no` (our payment id); the shopper pays, which takes the
//!   money at once and sends a `TRANSACTION.SUCCESS` notification; query by `out_trade_no`;
//!   `close` refuses a paid order; a refund is idempotent by `out_refund_no`, answers PROCESSING
//!   and turns SUCCESS later, told by a `REFUND.SUCCESS` notification or a query.
//! - Stripe: a Checkout Session per payment (`cs_test_…`, `client_reference_id` our payment id);
//!   create answers a redirect to the hosted page. A declined card leaves the session open (the
//!   shopper may try another or leave); it expires by itself at its `expires_at`. Paying with
//!   `capture_method=automatic` makes the PaymentIntent `succeeded`; with `manual` it is
//!   `requires_capture` until the merchant captures (whole or less, once: a captured intent
//!   refuses another capture) or cancels it, and it is canceled by itself after 7 days
//!   (<https://docs.stripe.com/payments/place-a-hold-on-a-payment-method>, "capture later":
//!   customer-initiated card authorizations last 7 days; capture less than the hold, once).
//!   Expire refuses a complete session (the connector then reads it and voids an authorization).
//!   A refund is keyed by our refund id (Idempotency-Key: a repeat is the same refund), pending
//!   then succeeded; listing the intent's refunds finds ours. Every change sends an event, which
//!   the shell turns into `NotifiedEvent::Changed` (a hint).
//!
//! Each provider keeps what it holds for us per payment (taken minus refunded, refunds by state)
//! and counts every money-moving call (bKash execute, Stripe capture, any refund) per intent,
//! so the world can check that none was sent twice.

use std::collections::BTreeMap;

use checkout_core::api::NextAction;
use checkout_core::{ErrorCode, Money};
use checkout_edge::connectors::{
    ConnectorError, Created, Decline, ProviderPayment, ProviderRefund, ProviderState, RefundState,
};

/// The provider of a simulated payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Which {
    Bkash,
    Wechat,
    /// Stripe: a Checkout Session per payment, charged at once or authorized for a capture.
    Card,
}

/// Where a payment stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayState {
    /// Created; the shopper has not acted.
    Initiated,
    /// bKash only: the shopper approved; the merchant must execute.
    Authorized,
    /// The money is taken.
    Paid,
    /// The shopper canceled or the wallet could not pay.
    Failed,
    /// Closed (WeChat) or expired: it can no longer be paid.
    Closed,
    /// Card only: the authorization was canceled (voided) or lapsed; nothing was taken.
    Voided,
}

#[derive(Debug, Clone)]
pub struct SimRefund {
    pub provider_id: String,
    /// Our refund id (bKash's `sku`, WeChat's `out_refund_no`).
    pub ours: String,
    pub amount_minor: i64,
    pub succeeded: bool,
    /// Provider time at which a processing refund succeeds.
    pub settles_at_s: i64,
}

#[derive(Debug, Clone)]
pub struct SimPayment {
    pub reference: String,
    /// Our payment id, as we sent it.
    pub invoice: String,
    pub asked: Money,
    pub state: PayState,
    /// What the provider took (a faulty provider may take another amount than asked).
    pub taken_minor: i64,
    /// What the provider reports as the order, when it takes the money (normally `invoice`).
    pub reported_invoice: String,
    pub transaction_id: Option<String>,
    /// Provider time after which the shopper can no longer pay.
    pub expires_at_s: i64,
    pub refunds: Vec<SimRefund>,
    /// A fault chosen at create: when paid, take `asked + delta` and report `reported_invoice`.
    pub mismatch: Option<Mismatch>,
    /// The shopper was already paying when the order was closed, and WeChat let it through.
    pub paying_through_close: bool,
    /// Card: authorize only (`capture_method=manual`), the merchant captures.
    pub manual_capture: bool,
    /// Card: the last attempt on the hosted page was declined (the session stays open).
    pub declined: bool,
    /// Card: provider time of the authorization (it lapses `authorization_life_s` later).
    pub authorized_at_s: Option<i64>,
    /// Card: a capture landed / the authorization was voided (never both).
    pub captured: bool,
    pub voided: bool,
}

/// A provider that takes another amount or reports another order than it was asked for.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub delta_minor: i64,
    pub invoice: Option<String>,
}

impl SimPayment {
    /// What the provider holds for us now: taken minus refunds (made or under way).
    pub fn held_minor(&self) -> i64 {
        self.taken_minor - self.refunds.iter().map(|r| r.amount_minor).sum::<i64>()
    }

    fn answer(&self) -> ProviderPayment {
        if self.reference.starts_with("cs_test_") {
            return self.card_answer();
        }
        let (state, word) = match (self.state, self.which_word()) {
            (PayState::Initiated, w) => (ProviderState::Pending, w.0),
            (PayState::Authorized, w) => (ProviderState::Approved, w.1),
            (PayState::Paid, w) => (ProviderState::Succeeded, w.2),
            (PayState::Failed, w) => (ProviderState::Failed, w.3),
            // bKash's "Expired" is a failure to the connector; WeChat's CLOSED a cancel.
            (PayState::Closed, w) if w.4 == "Expired" => (ProviderState::Failed, w.4),
            (PayState::Closed | PayState::Voided, w) => (ProviderState::Canceled, w.4),
        };
        let paid = self.state == PayState::Paid;
        let amount = if paid {
            Money::from_minor(self.taken_minor, self.asked.currency()).ok()
        } else {
            Some(self.asked)
        };
        ProviderPayment {
            state,
            provider_status: word.to_owned(),
            transaction_id: self.transaction_id.clone(),
            amount,
            invoice: Some(if paid {
                self.reported_invoice.clone()
            } else {
                self.invoice.clone()
            }),
            decline: None,
        }
    }

    /// As the connector reads a Checkout Session with its PaymentIntent expanded
    /// (`client_reference_id` is our payment id; `amount_capturable` while authorized,
    /// `amount_received` once captured).
    fn card_answer(&self) -> ProviderPayment {
        let (state, status) = match self.state {
            PayState::Initiated => (
                ProviderState::Pending,
                "open/unpaid/requires_payment_method",
            ),
            PayState::Authorized => (ProviderState::Approved, "complete/unpaid/requires_capture"),
            PayState::Paid => (ProviderState::Succeeded, "complete/paid/succeeded"),
            PayState::Voided => (ProviderState::Canceled, "complete/unpaid/canceled"),
            PayState::Closed | PayState::Failed if self.declined => (
                ProviderState::Failed,
                "expired/unpaid/requires_payment_method",
            ),
            PayState::Closed | PayState::Failed => (ProviderState::Canceled, "expired/unpaid/"),
        };
        let amount = match self.state {
            PayState::Paid => Money::from_minor(self.taken_minor, self.asked.currency()).ok(),
            _ => Some(self.asked),
        };
        ProviderPayment {
            state,
            provider_status: status.to_owned(),
            transaction_id: self.transaction_id.clone(),
            amount,
            invoice: Some(self.invoice.clone()),
            decline: self.decline(),
        }
    }

    /// Card: the last attempt's decline (the intent's `last_payment_error`), as the connector
    /// reads it: a plain decline for the shopper, the issuer's reason for the merchant.
    pub fn decline(&self) -> Option<Decline> {
        (self.reference.starts_with("cs_test_") && self.declined).then(|| Decline {
            code: ErrorCode::CardDeclined,
            decline_code: Some("generic_decline".into()),
            gateway_code: Some("card_declined".into()),
        })
    }

    /// As the connector reads a PaymentIntent alone (after a capture or a cancel).
    fn card_intent(&self) -> ProviderPayment {
        let mut answer = self.card_answer();
        answer.provider_status = match self.state {
            PayState::Paid => "succeeded",
            PayState::Authorized => "requires_capture",
            _ => "canceled",
        }
        .to_owned();
        answer
    }

    fn which_word(
        &self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        if self.reference.starts_with("TR") {
            ("Initiated", "Authorized", "Completed", "Failed", "Expired")
        } else {
            ("NOTPAY", "NOTPAY", "SUCCESS", "PAYERROR", "CLOSED")
        }
    }
}

/// How long past the session's end a bKash payment that was never executed lives: then bKash
/// expires it by itself (modelled; bKash has no close).
pub const BKASH_UNEXECUTED_LIFE_S: i64 = 30 * 60;

/// How long a card authorization lives at Stripe before it is canceled by itself (7 days for
/// online card payments, per Stripe's "Place a hold on a payment method").
pub const CARD_AUTHORIZATION_LIFE_S: i64 = 7 * 24 * 3600;

/// A notification the provider sends (WeChat's server-to-server calls).
#[derive(Debug, Clone)]
pub enum Notice {
    Paid(ProviderPayment),
    Refund {
        refund_id: String,
    },
    /// A Stripe event about our payment `payment_id` (a hint: the session asks again).
    Changed {
        payment_id: String,
    },
}

/// A money-moving call as the provider received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MoneyCall {
    Execute,
    Capture,
    Refund,
}

/// One simulated provider account.
#[derive(Debug, Clone)]
pub struct Provider {
    pub which: Which,
    /// Seconds the provider's clock is ahead of the session's (negative: behind).
    pub skew_s: i64,
    pub payments: BTreeMap<String, SimPayment>,
    /// Every money-moving call received, per intent.
    pub calls_per_intent: BTreeMap<(String, MoneyCall), u32>,
    /// Broken invariants seen as calls arrive (a call twice for one intent, a second execute,
    /// a refund beyond what was taken).
    pub violations: Vec<String>,
    /// Our payment id → the provider's reference.
    pub by_invoice: BTreeMap<String, String>,
    /// Notifications produced and not yet handed to the world.
    pub outbox: Vec<Notice>,
    /// Card: how long an uncaptured authorization lives (normally
    /// [`CARD_AUTHORIZATION_LIFE_S`]; shorter under [`crate::faults::Fault::AuthorizationLapsedEarly`]).
    pub authorization_life_s: i64,
    next_id: u64,
}

impl Provider {
    pub fn new(which: Which, skew_s: i64) -> Provider {
        Provider {
            which,
            skew_s,
            payments: BTreeMap::new(),
            calls_per_intent: BTreeMap::new(),
            violations: Vec::new(),
            by_invoice: BTreeMap::new(),
            outbox: Vec::new(),
            authorization_life_s: CARD_AUTHORIZATION_LIFE_S,
            next_id: 0,
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:06}", self.next_id)
    }

    /// The provider's own time for the world's `now_s`.
    pub fn clock(&self, now_s: i64) -> i64 {
        now_s + self.skew_s
    }

    /// bKash expires the payments nobody executed, some time after the session's end.
    pub fn expire_unexecuted(&mut self, now_s: i64) {
        if self.which == Which::Card {
            return self.expire_card(now_s);
        }
        if self.which != Which::Bkash {
            return;
        }
        let provider_now = self.clock(now_s);
        for p in self.payments.values_mut() {
            let open = matches!(p.state, PayState::Initiated | PayState::Authorized);
            if open && provider_now >= p.expires_at_s + BKASH_UNEXECUTED_LIFE_S {
                p.state = PayState::Closed;
            }
        }
    }

    /// Stripe expires an open Checkout Session at its `expires_at`, and cancels an uncaptured
    /// authorization after `authorization_life_s`; each sends an event.
    fn expire_card(&mut self, now_s: i64) {
        let provider_now = self.clock(now_s);
        let life = self.authorization_life_s;
        let mut notices = Vec::new();
        for p in self.payments.values_mut() {
            let lapsed = p
                .authorized_at_s
                .is_some_and(|at| provider_now >= at + life);
            let ended = match p.state {
                PayState::Initiated if provider_now >= p.expires_at_s => PayState::Closed,
                PayState::Authorized if lapsed => PayState::Voided,
                _ => continue,
            };
            p.state = ended;
            p.voided |= ended == PayState::Voided;
            notices.push(Notice::Changed {
                payment_id: p.invoice.clone(),
            });
        }
        self.outbox.extend(notices);
    }

    /// Starts a payment (bKash create, WeChat prepay). WeChat keys it by our id: a second prepay
    /// with the same id and amount returns the same order; with another amount it is refused.
    pub fn create(
        &mut self,
        invoice: &str,
        amount: Money,
        expires_at_s: i64,
        mismatch: Option<Mismatch>,
    ) -> Result<Created, ConnectorError> {
        self.create_with(invoice, amount, expires_at_s, mismatch, false)
    }

    /// [`Provider::create`], for a card authorize-only (`manual_capture`) when asked.
    pub fn create_with(
        &mut self,
        invoice: &str,
        amount: Money,
        expires_at_s: i64,
        mismatch: Option<Mismatch>,
        manual_capture: bool,
    ) -> Result<Created, ConnectorError> {
        let reference = match self.which {
            Which::Bkash => self.id("TR0011"),
            // Each create is a new Checkout Session (the connector's idempotency key is per
            // intent, and a lost create is not repeated: the leg's query or expiry settles it).
            Which::Card => self.id("cs_test_"),
            Which::Wechat => {
                if let Some(existing) = self.payments.get(invoice) {
                    return match existing.asked == amount {
                        true => Ok(created(Which::Wechat, invoice)),
                        false => Err(refused("OUT_TRADE_NO_USED")),
                    };
                }
                invoice.to_owned()
            }
        };
        let payment = SimPayment {
            reference: reference.clone(),
            invoice: invoice.to_owned(),
            asked: amount,
            state: PayState::Initiated,
            taken_minor: 0,
            reported_invoice: invoice.to_owned(),
            transaction_id: None,
            expires_at_s,
            refunds: Vec::new(),
            mismatch,
            paying_through_close: false,
            manual_capture,
            declined: false,
            authorized_at_s: None,
            captured: false,
            voided: false,
        };
        self.payments.insert(reference.clone(), payment);
        self.by_invoice
            .insert(invoice.to_owned(), reference.clone());
        Ok(created(self.which, &reference))
    }

    /// The shopper approves at the provider. bKash: authorized, to be executed. WeChat: paid at
    /// once, and a notification is sent. Returns whether anything changed.
    pub fn shopper_approves(&mut self, reference: &str, now_s: i64) -> bool {
        let provider_now = self.clock(now_s);
        let which = self.which;
        let txn = self.id(match which {
            Which::Bkash => "BK",
            Which::Wechat => "4200",
            Which::Card => "pi_",
        });
        let Some(p) = self.payments.get_mut(reference) else {
            return false;
        };
        let through_close = p.paying_through_close && p.state == PayState::Closed;
        if p.state != PayState::Initiated && !through_close {
            return false;
        }
        // WeChat was told the session's end (`time_expire`); bKash was not, and keeps the page
        // open until it expires the payment by itself.
        let closes_at = match which {
            Which::Wechat | Which::Card => p.expires_at_s,
            Which::Bkash => p.expires_at_s + BKASH_UNEXECUTED_LIFE_S,
        };
        if provider_now >= closes_at && !through_close {
            p.state = PayState::Closed;
            return true;
        }
        match which {
            Which::Bkash => p.state = PayState::Authorized,
            Which::Card => {
                if p.manual_capture {
                    p.state = PayState::Authorized;
                    p.transaction_id = Some(txn);
                    p.authorized_at_s = Some(provider_now);
                } else {
                    take(p, txn);
                }
                p.declined = false;
                let payment_id = p.invoice.clone();
                self.outbox.push(Notice::Changed { payment_id });
            }
            Which::Wechat => {
                take(p, txn);
                let notice = Notice::Paid(p.answer());
                self.outbox.push(notice);
            }
        }
        true
    }

    /// The shopper cancels, or their wallet cannot pay.
    pub fn shopper_fails(&mut self, reference: &str) -> bool {
        if self.which == Which::Card {
            // A decline on Stripe's page: the session stays open for another card.
            return match self.payments.get_mut(reference) {
                Some(p) if p.state == PayState::Initiated => {
                    p.declined = true;
                    let payment_id = p.invoice.clone();
                    self.outbox.push(Notice::Changed { payment_id });
                    true
                }
                _ => false,
            };
        }
        match self.payments.get_mut(reference) {
            Some(p) if matches!(p.state, PayState::Initiated | PayState::Authorized) => {
                p.state = PayState::Failed;
                true
            }
            _ => false,
        }
    }

    /// Completes an approved payment (bKash execute; WeChat has none and answers a query).
    pub fn complete(
        &mut self,
        intent: &str,
        reference: &str,
    ) -> Result<ProviderPayment, ConnectorError> {
        if matches!(self.which, Which::Wechat | Which::Card) {
            return self.query(reference);
        }
        self.count(intent, MoneyCall::Execute);
        let txn = self.id("BK");
        let Some(p) = self.payments.get_mut(reference) else {
            return Err(refused("2006"));
        };
        match p.state {
            PayState::Authorized => {
                take(p, txn);
                Ok(p.answer())
            }
            PayState::Paid => {
                let which = self.which;
                self.violations.push(format!(
                    "{which:?}: payment {reference} executed again after it was executed"
                ));
                Err(ConnectorError::AlreadyDone("2062".into()))
            }
            PayState::Initiated => Err(ConnectorError::InvalidState("2056".into())),
            PayState::Failed | PayState::Closed | PayState::Voided => {
                Err(ConnectorError::InvalidState("2060".into()))
            }
        }
    }

    pub fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        match self.payments.get(reference) {
            Some(p) => Ok(p.answer()),
            None => Err(ConnectorError::InvalidState("ORDER_NOT_EXIST".into())),
        }
    }

    /// Makes an unpaid payment unpayable. WeChat refuses to close a paid order; bKash has no
    /// close (the connector answers Ok), and its unexecuted payments take nothing.
    pub fn cancel(&mut self, reference: &str) -> Result<(), ConnectorError> {
        if self.which == Which::Bkash {
            return Ok(());
        }
        if self.which == Which::Card {
            return self.expire_session(reference);
        }
        match self.payments.get_mut(reference) {
            None => Ok(()),
            Some(p) if p.state == PayState::Paid => {
                Err(ConnectorError::AlreadyDone("ORDER_PAID".into()))
            }
            Some(p) => {
                p.state = PayState::Closed;
                Ok(())
            }
        }
    }

    /// Stripe's expire, as the connector's `cancel` ends it: an open session expires; a complete
    /// one is refused, and the connector reads it: paid is "already done", an authorization is
    /// voided, an ended one is fine.
    fn expire_session(&mut self, reference: &str) -> Result<(), ConnectorError> {
        let Some(p) = self.payments.get_mut(reference) else {
            return Err(refused("resource_missing"));
        };
        match p.state {
            PayState::Initiated => p.state = PayState::Closed,
            PayState::Paid => return Err(ConnectorError::AlreadyDone("complete/paid".into())),
            PayState::Authorized => {
                p.state = PayState::Voided;
                p.voided = true;
                if p.captured {
                    let r = reference.to_owned();
                    self.violations
                        .push(format!("Card: authorization {r} voided after a capture"));
                }
            }
            PayState::Closed | PayState::Failed | PayState::Voided => {}
        }
        Ok(())
    }

    /// Stripe's capture of the session's PaymentIntent (ours: `payment_id`), whole or `amount`,
    /// once: a second capture of a captured intent is refused (and is a broken invariant here).
    pub fn capture(
        &mut self,
        intent: &str,
        payment_id: &str,
        transaction_id: &str,
        amount: Option<Money>,
    ) -> Result<ProviderPayment, ConnectorError> {
        self.count(intent, MoneyCall::Capture);
        let Some(reference) = self.by_invoice.get(payment_id).cloned() else {
            return Err(refused("resource_missing"));
        };
        let Some(p) = self.payments.get_mut(&reference) else {
            return Err(refused("resource_missing"));
        };
        if p.transaction_id.as_deref() != Some(transaction_id) {
            return Err(refused("resource_missing"));
        }
        match p.state {
            PayState::Authorized => {
                let minor = amount.map_or(p.asked.amount_minor(), |a| a.amount_minor());
                if minor <= 0 || minor > p.asked.amount_minor() {
                    return Err(refused("amount_too_large"));
                }
                p.state = PayState::Paid;
                // A faulty gateway captures another amount than asked (reported as taken).
                p.taken_minor = minor + p.mismatch.as_ref().map_or(0, |m| m.delta_minor);
                p.captured = true;
                if p.voided {
                    self.violations.push(format!(
                        "Card: authorization {reference} captured after it was voided"
                    ));
                }
                Ok(p.card_intent())
            }
            PayState::Paid => {
                self.violations.push(format!(
                    "Card: intent {transaction_id} captured again after it was captured"
                ));
                Err(ConnectorError::InvalidState(
                    "payment_intent_unexpected_state".into(),
                ))
            }
            _ => Err(ConnectorError::InvalidState(
                "payment_intent_unexpected_state".into(),
            )),
        }
    }

    /// Stripe's cancel of an uncaptured PaymentIntent (idempotent: canceled answers canceled);
    /// a captured one is "already done", as the connector reads it.
    pub fn void(
        &mut self,
        payment_id: &str,
        transaction_id: &str,
    ) -> Result<ProviderPayment, ConnectorError> {
        let Some(reference) = self.by_invoice.get(payment_id).cloned() else {
            return Err(refused("resource_missing"));
        };
        let Some(p) = self.payments.get_mut(&reference) else {
            return Err(refused("resource_missing"));
        };
        if p.transaction_id.as_deref() != Some(transaction_id) {
            return Err(refused("resource_missing"));
        }
        match p.state {
            PayState::Authorized | PayState::Voided => {
                p.state = PayState::Voided;
                p.voided = true;
                if p.captured {
                    self.violations.push(format!(
                        "Card: authorization {reference} voided after a capture"
                    ));
                }
                Ok(p.card_intent())
            }
            PayState::Paid => Err(ConnectorError::AlreadyDone("succeeded".into())),
            _ => Err(ConnectorError::InvalidState(
                "payment_intent_unexpected_state".into(),
            )),
        }
    }

    /// A close WeChat answers as done while the shopper, already paying, still gets through (a
    /// fault): the session's attempt ends, and a success follows it.
    pub fn leaky_close(&mut self, reference: &str) -> Result<(), ConnectorError> {
        self.cancel(reference)?;
        if let Some(p) = self.payments.get_mut(reference) {
            p.paying_through_close = true;
        }
        Ok(())
    }

    /// Refunds part of a paid payment. bKash makes a new refund for every call; WeChat returns
    /// the refund it already has for the same `out_refund_no`.
    pub fn refund(
        &mut self,
        intent: &str,
        reference: &str,
        refund_id: &str,
        amount: Money,
        now_s: i64,
    ) -> Result<ProviderRefund, ConnectorError> {
        self.count(intent, MoneyCall::Refund);
        let which = self.which;
        let provider_now = self.clock(now_s);
        let provider_id = self.id(match which {
            Which::Bkash => "RF",
            Which::Wechat => "5030",
            Which::Card => "re_",
        });
        let Some(p) = self.payments.get_mut(reference) else {
            return Err(refused("2006"));
        };
        if which != Which::Bkash {
            // WeChat by `out_refund_no`; Stripe by the Idempotency-Key (our refund id).
            if let Some(existing) = p.refunds.iter().find(|r| r.ours == refund_id) {
                return Ok(refund_answer(existing, p.asked));
            }
        }
        if p.state != PayState::Paid || amount.amount_minor() > p.held_minor() {
            return Err(refused(match which {
                Which::Bkash => "2071",
                Which::Wechat => "NOT_ENOUGH",
                Which::Card => "charge_already_refunded",
            }));
        }
        let refund = SimRefund {
            provider_id,
            ours: refund_id.to_owned(),
            amount_minor: amount.amount_minor(),
            succeeded: which == Which::Bkash,
            settles_at_s: provider_now + 5,
        };
        let answer = refund_answer(&refund, p.asked);
        p.refunds.push(refund);
        Ok(answer)
    }

    /// The provider's refund for our `refund_id`: bKash reports only the payment's latest
    /// refund (the connector decides whether it is ours); WeChat finds it by `out_refund_no`.
    pub fn find_refund(
        &self,
        reference: &str,
        refund_id: &str,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        let Some(p) = self.payments.get(reference) else {
            return Ok(None);
        };
        let found = match self.which {
            Which::Bkash => p.refunds.last(),
            // Stripe: the intent's refunds listed, ours by its metadata.
            Which::Wechat | Which::Card => p.refunds.iter().find(|r| r.ours == refund_id),
        };
        Ok(found.map(|r| refund_answer(r, p.asked)))
    }

    /// Lets provider time pass: processing refunds that are due succeed (and are notified).
    pub fn tick(&mut self, now_s: i64) {
        let provider_now = self.clock(now_s);
        let mut notices = Vec::new();
        for p in self.payments.values_mut() {
            for r in p.refunds.iter_mut() {
                if !r.succeeded && provider_now >= r.settles_at_s {
                    r.succeeded = true;
                    notices.push(match self.which {
                        Which::Card => Notice::Changed {
                            payment_id: p.invoice.clone(),
                        },
                        _ => Notice::Refund {
                            refund_id: r.ours.clone(),
                        },
                    });
                }
            }
        }
        self.outbox.extend(notices);
    }

    /// When the next processing refund settles (world time), if any.
    pub fn next_due_s(&self) -> Option<i64> {
        self.payments
            .values()
            .flat_map(|p| p.refunds.iter())
            .filter(|r| !r.succeeded)
            .map(|r| r.settles_at_s - self.skew_s)
            .min()
    }

    fn count(&mut self, intent: &str, call: MoneyCall) {
        let n = self
            .calls_per_intent
            .entry((intent.to_owned(), call))
            .or_insert(0);
        *n += 1;
        if *n > 1 {
            let (which, n) = (self.which, *n);
            self.violations.push(format!(
                "{which:?}: {call:?} sent {n} times for intent {intent}"
            ));
        }
    }

    /// The provider's invariants, as seen when the calls arrived (a refund beyond what was taken
    /// is refused above, so `held_minor` never goes negative).
    pub fn check(&self) -> Result<(), String> {
        match self.violations.first() {
            Some(violation) => Err(violation.clone()),
            None => Ok(()),
        }
    }

    /// The payment made for our payment `invoice`, if any.
    pub fn payment_for(&self, invoice: &str) -> Option<&SimPayment> {
        self.payments.get(self.by_invoice.get(invoice)?)
    }
}

fn take(p: &mut SimPayment, transaction_id: String) {
    p.state = PayState::Paid;
    p.transaction_id = Some(transaction_id);
    let delta = p.mismatch.as_ref().map_or(0, |m| m.delta_minor);
    p.taken_minor = p.asked.amount_minor() + delta;
    if let Some(other) = p.mismatch.as_ref().and_then(|m| m.invoice.clone()) {
        p.reported_invoice = other;
    }
}

fn created(which: Which, reference: &str) -> Created {
    let next_action = match which {
        Which::Bkash => NextAction::Redirect {
            url: format!("https://sandbox.bkash.invalid/pay/{reference}"),
        },
        Which::Wechat => NextAction::QrCode {
            code_url: format!("weixin://wxpay/bizpayurl?pr={reference}"),
        },
        Which::Card => NextAction::Redirect {
            url: format!("https://checkout.stripe.invalid/c/pay/{reference}"),
        },
    };
    Created {
        reference: reference.to_owned(),
        next_action,
    }
}

fn refund_answer(r: &SimRefund, asked: Money) -> ProviderRefund {
    ProviderRefund {
        refund_transaction_id: r.provider_id.clone(),
        amount: Money::from_minor(r.amount_minor, asked.currency()).ok(),
        state: if r.succeeded {
            RefundState::Succeeded
        } else {
            RefundState::Processing
        },
    }
}

fn refused(code: &str) -> ConnectorError {
    ConnectorError::Refused {
        code: ErrorCode::ProviderError,
        message: "The provider refused.".into(),
        provider_code: code.to_owned(),
        provider_message: code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use checkout_core::Currency;

    use super::*;

    fn bdt(minor: i64) -> Money {
        Money::from_minor(minor, Currency::BDT).unwrap()
    }

    #[test]
    fn bkash_executes_once_and_refunds_each_call() {
        let mut bkash = Provider::new(Which::Bkash, 0);
        let created = bkash.create("pay_1", bdt(1000), 100, None).unwrap();
        let reference = created.reference;
        assert!(matches!(
            bkash.complete("pay_1:complete#1", &reference),
            Err(ConnectorError::InvalidState(_))
        ));
        assert!(bkash.shopper_approves(&reference, 10));
        let paid = bkash.complete("pay_1:complete#2", &reference).unwrap();
        assert_eq!(paid.state, ProviderState::Succeeded);
        assert!(matches!(
            bkash.complete("pay_1:complete#3", &reference),
            Err(ConnectorError::AlreadyDone(_))
        ));
        assert!(bkash.check().unwrap_err().contains("executed again"));
        bkash
            .refund("re_1#1", &reference, "re_1", bdt(400), 20)
            .unwrap();
        bkash
            .refund("re_2#1", &reference, "re_2", bdt(400), 20)
            .unwrap();
        assert_eq!(bkash.payments[&reference].held_minor(), 200);
        let latest = bkash.find_refund(&reference, "re_1").unwrap().unwrap();
        assert_eq!(
            latest.refund_transaction_id,
            bkash.payments[&reference].refunds[1].provider_id
        );
    }

    #[test]
    fn wechat_refuses_to_close_a_paid_order_and_refunds_once_per_number() {
        let cny = |minor| Money::from_minor(minor, Currency::CNY).unwrap();
        let mut wechat = Provider::new(Which::Wechat, 0);
        wechat.create("pay_2", cny(500), 100, None).unwrap();
        assert!(wechat.shopper_approves("pay_2", 10));
        assert_eq!(wechat.outbox.len(), 1);
        assert!(matches!(
            wechat.cancel("pay_2"),
            Err(ConnectorError::AlreadyDone(_))
        ));
        let first = wechat
            .refund("re_3#1", "pay_2", "re_3", cny(200), 20)
            .unwrap();
        assert_eq!(first.state, RefundState::Processing);
        let again = wechat
            .refund("re_3#2", "pay_2", "re_3", cny(200), 20)
            .unwrap();
        assert_eq!(again.refund_transaction_id, first.refund_transaction_id);
        assert_eq!(wechat.payments["pay_2"].held_minor(), 300);
        wechat.tick(30);
        let found = wechat.find_refund("pay_2", "re_3").unwrap().unwrap();
        assert_eq!(found.state, RefundState::Succeeded);
    }

    #[test]
    fn a_payment_is_refused_after_the_providers_own_clock_says_it_ended() {
        let cny = |minor| Money::from_minor(minor, Currency::CNY).unwrap();
        let mut ahead = Provider::new(Which::Wechat, 360);
        ahead.create("pay_3", cny(500), 1_000, None).unwrap();
        assert!(ahead.shopper_approves("pay_3", 700));
        assert_eq!(ahead.payments["pay_3"].state, PayState::Closed);
        let mut behind = Provider::new(Which::Wechat, -360);
        behind.create("pay_4", cny(500), 1_000, None).unwrap();
        assert!(behind.shopper_approves("pay_4", 1_200));
        assert_eq!(behind.payments["pay_4"].state, PayState::Paid);
    }

    #[test]
    fn stripe_captures_once_voids_idempotently_and_refunds_by_our_id() {
        let mut card = Provider::new(Which::Card, 0);
        let created = card
            .create_with("pay_5", bdt(10_000), 1_000, None, true)
            .unwrap();
        let session = created.reference;
        // A decline leaves the session open; the next card authorizes.
        assert!(card.shopper_fails(&session));
        assert_eq!(card.query(&session).unwrap().state, ProviderState::Pending);
        assert!(card.shopper_approves(&session, 10));
        let authorized = card.query(&session).unwrap();
        assert_eq!(authorized.state, ProviderState::Approved);
        assert_eq!(card.outbox.len(), 2);
        let intent = authorized.transaction_id.unwrap();
        // A paid session cannot be expired; an authorized one is voided by the connector.
        let captured = card
            .capture("pay_5:capture#1", "pay_5", &intent, Some(bdt(4_000)))
            .unwrap();
        assert_eq!(captured.state, ProviderState::Succeeded);
        assert_eq!(captured.amount, Some(bdt(4_000)));
        assert!(matches!(
            card.cancel(&session),
            Err(ConnectorError::AlreadyDone(_))
        ));
        assert!(matches!(
            card.void("pay_5", &intent),
            Err(ConnectorError::AlreadyDone(_))
        ));
        assert!(card.check().is_ok());
        assert!(card
            .capture("pay_5:capture#2", "pay_5", &intent, None)
            .is_err());
        assert!(card.check().unwrap_err().contains("captured again"));
        let first = card
            .refund("re_9#1", &session, "re_9", bdt(1_000), 20)
            .unwrap();
        assert_eq!(first.state, RefundState::Processing);
        let again = card
            .refund("re_9#2", &session, "re_9", bdt(1_000), 20)
            .unwrap();
        assert_eq!(again.refund_transaction_id, first.refund_transaction_id);
        assert_eq!(card.payments[&session].held_minor(), 3_000);
        card.tick(30);
        let found = card.find_refund(&session, "re_9").unwrap().unwrap();
        assert_eq!(found.state, RefundState::Succeeded);
    }

    #[test]
    fn a_stripe_authorization_lapses_after_seven_days() {
        let mut card = Provider::new(Which::Card, 0);
        let session = card
            .create_with("pay_6", bdt(500), 1_000, None, true)
            .unwrap()
            .reference;
        assert!(card.shopper_approves(&session, 10));
        card.expire_unexecuted(10 + CARD_AUTHORIZATION_LIFE_S - 1);
        assert_eq!(card.payments[&session].state, PayState::Authorized);
        card.expire_unexecuted(10 + CARD_AUTHORIZATION_LIFE_S);
        assert_eq!(card.query(&session).unwrap().state, ProviderState::Canceled);
        assert_eq!(card.payments[&session].taken_minor, 0);
    }
}
