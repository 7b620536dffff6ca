//! The reconciliation report: for one provider and one UTC day, what the provider says it holds
//! for us against what our books say, payment by payment.
//!
//! **What is compared.** Every attempt we created at the provider that day (failed ones included),
//! as the merchant's index of attempts lists it (`objects::webhooks::attempts`, fed from the
//! session objects' outboxes). For each:
//! - *the provider* is asked: the payment query (bKash `payment/status`, WeChat Pay
//!   `GET /v3/pay/transactions/out-trade-no/{no}`, Stripe `GET /v1/checkout/sessions/{id}` with
//!   its PaymentIntent expanded: `amount_received` once succeeded) gives what it took; the refund
//!   query gives what it gave back (WeChat: `GET /v3/refund/domestic/refunds/{out_refund_no}` for
//!   each of our refunds of the payment; Stripe: the intent's refunds, `GET
//!   /v1/refunds?payment_intent=`, matched to each of ours by `metadata[refund_id]`; bKash: the
//!   refund status, which reports only a payment's latest refund, so earlier refunds recorded
//!   with their bKash ids are taken from the books);
//! - *the books* are the session's own record (`SessionCommand::Retrieve`): what was taken is the
//!   external leg of a succeeded payment, the provider's amount of a payment held for (or
//!   resolved after) review, or the leg of a late success; what was given back is the external
//!   part of each succeeded, pending or unsettled (`requires_review`) refund of it.
//!
//! What each side holds is taken (and, in the books, held for review) less given back. An
//! attempt is listed when the provider's figures differ from what the books count as settled:
//! an amount held for review is always listed, with a `difference` of 0 when the review
//! explains it, so a mismatch shows until it is resolved. Totals are over the attempts of the page (a day's totals are the sum
//! of its pages). Provider calls are bounded by the page: at most [`CALLS_PER_ATTEMPT`] × `limit`,
//! and a page ends early (with `has_more`) rather than spend more; an attempt with more refunds
//! than a whole page may ask about is listed as unchecked (`too_many_refunds`).
//!
//! **What cannot be compared.** A payment we never created cannot be asked about: the providers
//! offer no listing of a merchant's transactions to these APIs (only settlement files, outside
//! this report; Stripe could list charges, but a charge not made through one of our Checkout
//! Sessions is not the checkout's), so money taken under an order number we never issued is
//! invisible here. Cards settle in the session's currency: a card report is for one currency
//! (`currency`, BDT unless asked), and attempts in another are left to that currency's report. An
//! attempt whose provider did not answer is listed as `unchecked`, never as agreeing. Attempts
//! written down before the index existed are not in it.
//!
//! Sources: bKash Tokenized Checkout v1.2.0-beta (`payment/status`, `payment/refund` with only
//! `paymentID` and `trxID` reports the refund status), WeChat Pay API v3 (query by
//! `out_trade_no`, refund query by `out_refund_no`), as summed up in the connectors' module docs.

use std::collections::HashMap;

use checkout_core::api::{CheckoutSession, Payment, PaymentMethod, RefundStatus};
use checkout_core::{Currency, Money};
use serde::{Deserialize, Serialize};

use worker::Env;

use crate::auth::MerchantContext;
use crate::config::Mode;
use crate::connectors::{
    Connector, ConnectorError, OtherRefunds, PaymentConnector, ProviderState, RefundRequest,
    RefundState,
};
use crate::error::Result;
use crate::handlers::merchant_sessions::retrieve_session;
use crate::objects::rpc;
use crate::objects::session_record::attempts::ProviderAttempt;
use crate::objects::webhooks::attempts::AttemptPage;
use crate::objects::webhooks::{self, WebhookCommand};

/// The provider calls a page may spend, per attempt it may list.
pub const CALLS_PER_ATTEMPT: usize = 3;

/// One side's figures for a payment, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Taken and counted: a paid leg, an accepted or refunded review, a late success.
    pub taken_minor: i64,
    /// Taken and held for review, not (yet) counted as paid. Always 0 on the provider's side.
    pub in_review_minor: i64,
    pub refunded_minor: i64,
}

impl Figures {
    pub fn held_minor(self) -> i64 {
        self.taken_minor + self.in_review_minor - self.refunded_minor
    }

    /// Whether the settled figures (taken, given back) agree: an amount in review never does.
    pub fn settled_like(self, other: Figures) -> bool {
        self.taken_minor == other.taken_minor
            && self.refunded_minor == other.refunded_minor
            && self.in_review_minor == other.in_review_minor
    }
}

/// A side as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    /// The provider's own status word, or the payment's status in the books.
    pub status: String,
    pub taken: String,
    /// The books' amount held for review (books only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_review: Option<String>,
    pub refunded: String,
    pub held: String,
}

/// A payment whose figures differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub payment_id: String,
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    pub provider: Side,
    pub books: Side,
    /// Provider held less books held (amounts in review included): what no state in the books
    /// explains. A payment held for review is listed with a difference of 0.
    pub difference: String,
}

/// An attempt the provider (or the session) did not answer for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchecked {
    pub payment_id: String,
    pub session_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub provider: String,
    /// Paid legs and amounts in review, less refunds.
    pub books: String,
    /// Of `books`, held for review.
    pub in_review: String,
    pub difference: String,
}

/// `GET /v1/reports/reconciliation`: one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationPage {
    pub object: String,
    pub date: String,
    pub method: PaymentMethod,
    pub currency: Currency,
    /// Attempts compared on this page.
    pub checked: usize,
    pub totals: Totals,
    pub differences: Vec<Difference>,
    pub unchecked: Vec<Unchecked>,
    pub has_more: bool,
    /// The payment id to pass as `starting_after` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_starting_after: Option<String>,
}

/// The currency a provider settles in (a card gateway: the session's, BDT unless asked).
pub fn currency_of(method: PaymentMethod) -> Currency {
    match method {
        PaymentMethod::WechatPay => Currency::CNY,
        _ => Currency::BDT,
    }
}

/// Whether a report of `method` may be in `currency`: cards in any, bKash and WeChat Pay only in
/// the one they settle in.
pub fn currency_allowed(method: PaymentMethod, currency: Currency) -> bool {
    method == PaymentMethod::Card || currency == currency_of(method)
}

/// A signed amount in minor units as a decimal string (`-0.01`).
pub fn signed(minor: i64, currency: Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    Money::from_minor(minor.unsigned_abs().min(i64::MAX as u64) as i64, currency)
        .map(|m| format!("{sign}{}", m.to_decimal_string()))
        .unwrap_or_default()
}

fn minor_of(text: &str, currency: Currency) -> i64 {
    Money::parse_non_negative(text, currency).map_or(0, Money::amount_minor)
}

/// The payment's part at `method`: its leg there, or (no legs) the whole payment.
fn external_leg_minor(payment: &Payment, method: PaymentMethod, currency: Currency) -> i64 {
    match payment.legs.iter().find(|l| l.method == method) {
        Some(leg) => minor_of(&leg.amount, currency),
        None if payment.legs.is_empty() => minor_of(&payment.amount, currency),
        None => 0,
    }
}

/// What the books say the provider holds for `payment_id`. Pure.
pub fn books(
    session: &CheckoutSession,
    payment_id: &str,
    method: PaymentMethod,
) -> Option<Figures> {
    let currency = session.currency;
    let payment = session.payments.iter().find(|p| p.id == payment_id)?;
    let leg = external_leg_minor(payment, method, currency);
    let (taken_minor, in_review_minor) = match &payment.review {
        Some(review) => {
            let amount = review
                .provider_amount
                .as_deref()
                .map_or(leg, |a| minor_of(a, currency));
            match review.resolution {
                Some(_) => (amount, 0),
                None => (0, amount),
            }
        }
        None if payment.status == checkout_core::api::PaymentStatus::Succeeded => (leg, 0),
        None if payment.late_success.is_some() => (leg, 0),
        None => (0, 0),
    };
    let refunded_minor = session
        .refunds
        .iter()
        .filter(|r| r.payment_id == payment_id && r.status != RefundStatus::Failed)
        .map(|r| match r.legs.iter().find(|l| l.method == method) {
            Some(leg) => minor_of(&leg.amount, currency),
            None if r.legs.is_empty() => minor_of(&r.amount, currency),
            None => 0,
        })
        .sum();
    Some(Figures {
        taken_minor,
        in_review_minor,
        refunded_minor,
    })
}

/// The books' status word for a payment.
pub fn book_status(session: &CheckoutSession, payment_id: &str) -> String {
    session
        .payments
        .iter()
        .find(|p| p.id == payment_id)
        .and_then(|p| serde_json::to_value(p.status).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// What the provider answered for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSide {
    pub status: String,
    pub figures: Figures,
}

/// Asks the provider about one attempt: its payment, then the refunds the books know of.
/// `Err` carries why the attempt stays unchecked. Counts the calls it makes in `calls`.
pub async fn ask_provider(
    connector: &Connector,
    attempt: &ProviderAttempt,
    session: &CheckoutSession,
    calls: &mut usize,
) -> Result<ProviderSide, String> {
    let currency = session.currency;
    let reference = match (&attempt.reference, attempt.method) {
        (Some(reference), _) => reference.clone(),
        // WeChat's out_trade_no is our payment id, known before WeChat answered.
        (None, PaymentMethod::WechatPay) => attempt.payment_id.clone(),
        // bKash never answered the create call: without its paymentID nothing can be executed.
        (None, _) => {
            return Ok(ProviderSide {
                status: "never_created".into(),
                figures: Figures::default(),
            })
        }
    };
    *calls += 1;
    let payment = match connector.query(&reference).await {
        Ok(payment) => payment,
        Err(ConnectorError::InvalidState(reason)) if reason.starts_with("ORDER_NOT_EXIST") => {
            return Ok(ProviderSide {
                status: "ORDER_NOT_EXIST".into(),
                figures: Figures::default(),
            })
        }
        Err(e) => return Err(format!("payment query: {e}")),
    };
    let taken_minor = match (payment.state, payment.amount) {
        (ProviderState::Succeeded, Some(amount)) => amount.amount_minor(),
        (ProviderState::Succeeded, None) => return Err("the provider gave no amount".into()),
        _ => 0,
    };
    let refunds: Vec<_> = session
        .refunds
        .iter()
        .filter(|r| r.payment_id == attempt.payment_id)
        .collect();
    let mut refunded_minor = 0;
    let transaction_id = payment.transaction_id.clone().unwrap_or_default();
    match connector {
        Connector::Wechat(_) | Connector::Stripe(_) => {
            for refund in &refunds {
                *calls += 1;
                let amount = Money::parse_non_negative(&refund.amount, currency)
                    .unwrap_or(Money::zero(currency));
                let request = RefundRequest {
                    reference: &reference,
                    transaction_id: &transaction_id,
                    refund_id: &refund.id,
                    amount,
                    reason: "",
                    payment_amount: payment.amount.unwrap_or(amount),
                    notify_url: None,
                    others: OtherRefunds::default(),
                };
                match connector.find_refund(&request).await {
                    Ok(Some(found)) if found.state != RefundState::Failed => {
                        refunded_minor += found.amount.unwrap_or(amount).amount_minor();
                    }
                    Ok(_) => {}
                    Err(e) => return Err(format!("refund query {}: {e}", refund.id)),
                }
            }
        }
        Connector::Bkash(bkash) if !refunds.is_empty() && !transaction_id.is_empty() => {
            *calls += 1;
            let latest = bkash
                .latest_refund(&reference, &transaction_id)
                .await
                .map_err(|e| format!("refund status: {e}"))?;
            if let Some(latest) = latest {
                refunded_minor += latest.amount.map_or(0, Money::amount_minor);
                // Earlier refunds bKash no longer reports: the books' record of each, by its id.
                refunded_minor += refunds
                    .iter()
                    .filter(|r| r.status != RefundStatus::Failed)
                    .filter(|r| {
                        r.provider_refund_id
                            .as_deref()
                            .is_some_and(|id| id != latest.refund_transaction_id)
                    })
                    .map(|r| minor_of(&r.amount, currency))
                    .sum::<i64>();
            }
        }
        Connector::Bkash(_) => {}
    }
    Ok(ProviderSide {
        status: payment.provider_status,
        figures: Figures {
            taken_minor,
            in_review_minor: 0,
            refunded_minor,
        },
    })
}

/// The calls an attempt may need: its query, and a refund query per refund (WeChat, Stripe) or
/// one refund status (bKash).
pub fn calls_needed(method: PaymentMethod, refunds: usize) -> usize {
    match method {
        PaymentMethod::WechatPay | PaymentMethod::Card => 1 + refunds,
        _ => 1 + usize::from(refunds > 0),
    }
}

/// Whether a page asks about the next attempt, given the calls already reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Ask,
    /// The page ends here (`has_more`); the next page starts with this attempt.
    Stop,
    /// The first attempt of a page alone needs more than the page may spend: listed unchecked.
    TooMany,
}

/// Pure: asks while the reserved calls stay within `budget`; a page always makes progress.
pub fn admit(reserved: usize, needed: usize, budget: usize, first: bool) -> Admit {
    match (reserved + needed <= budget, first) {
        (true, _) => Admit::Ask,
        (false, false) => Admit::Stop,
        (false, true) => Admit::TooMany,
    }
}

/// Adds one compared attempt to the page's running figures. Pure.
#[derive(Debug, Default)]
pub struct Tally {
    pub checked: usize,
    pub provider_minor: i64,
    pub books_minor: i64,
    pub in_review_minor: i64,
    pub differences: Vec<Difference>,
}

impl Tally {
    pub fn add(
        &mut self,
        attempt: &ProviderAttempt,
        provider: &ProviderSide,
        books: Figures,
        book_status: String,
        currency: Currency,
    ) {
        self.checked += 1;
        self.provider_minor += provider.figures.held_minor();
        self.books_minor += books.held_minor();
        self.in_review_minor += books.in_review_minor;
        if provider.figures.settled_like(books) {
            return;
        }
        let side = |status: String, f: Figures, books: bool| Side {
            status,
            taken: signed(f.taken_minor, currency),
            in_review: books.then(|| signed(f.in_review_minor, currency)),
            refunded: signed(f.refunded_minor, currency),
            held: signed(f.held_minor(), currency),
        };
        self.differences.push(Difference {
            payment_id: attempt.payment_id.clone(),
            session_id: attempt.session_id.clone(),
            provider_reference: attempt.reference.clone(),
            provider: side(provider.status.clone(), provider.figures, false),
            books: side(book_status, books, true),
            difference: signed(provider.figures.held_minor() - books.held_minor(), currency),
        });
    }

    pub fn totals(&self, currency: Currency) -> Totals {
        Totals {
            provider: signed(self.provider_minor, currency),
            books: signed(self.books_minor, currency),
            in_review: signed(self.in_review_minor, currency),
            difference: signed(self.provider_minor - self.books_minor, currency),
        }
    }
}

/// One page of the report for the merchant: a page of the day's attempts from the index, each
/// session read once, each attempt asked of its provider while the page's call budget lasts.
pub async fn page(
    env: &Env,
    merchant: &MerchantContext,
    date: &str,
    method: PaymentMethod,
    currency: Currency,
    starting_after: Option<String>,
    limit: usize,
) -> Result<ReconciliationPage> {
    let command = WebhookCommand::Attempts {
        day: date.to_owned(),
        method,
        starting_after,
        limit,
    };
    let stub = webhooks::stub(env, &merchant.scope())?;
    let index: AttemptPage = rpc::call(&stub, &command).await?;
    let connector = Connector::for_method(method, env, Mode::of(merchant.livemode))?;
    let budget = CALLS_PER_ATTEMPT * limit;
    // Calls reserved for the attempts asked so far (each reserves its most), and made.
    let (mut reserved, mut calls) = (0, 0);
    let (mut tally, mut unchecked) = (Tally::default(), Vec::new());
    let mut sessions: HashMap<String, Option<CheckoutSession>> = HashMap::new();
    let mut last = None;
    let mut stopped_early = false;
    for attempt in &index.attempts {
        if attempt.currency != currency {
            // Another currency's report (cards) compares it.
            last = Some(attempt.payment_id.clone());
            continue;
        }
        if !sessions.contains_key(&attempt.session_id) {
            let found = retrieve_session(env, merchant, &attempt.session_id)
                .await
                .ok();
            sessions.insert(attempt.session_id.clone(), found);
        }
        let unchecked_for = |reason: &str| Unchecked {
            payment_id: attempt.payment_id.clone(),
            session_id: attempt.session_id.clone(),
            reason: reason.to_owned(),
        };
        let (Some(session), Some(connector)) = (&sessions[&attempt.session_id], &connector) else {
            let reason = if connector.is_none() {
                "provider_not_configured"
            } else {
                "session_unavailable"
            };
            unchecked.push(unchecked_for(reason));
            last = Some(attempt.payment_id.clone());
            continue;
        };
        let refunds = session
            .refunds
            .iter()
            .filter(|r| r.payment_id == attempt.payment_id)
            .count();
        let needed = calls_needed(method, refunds);
        match admit(reserved, needed, budget, last.is_none()) {
            Admit::Ask => reserved += needed,
            Admit::Stop => {
                stopped_early = true;
                break;
            }
            Admit::TooMany => {
                unchecked.push(unchecked_for("too_many_refunds"));
                last = Some(attempt.payment_id.clone());
                continue;
            }
        }
        last = Some(attempt.payment_id.clone());
        let Some(books) = books(session, &attempt.payment_id, method) else {
            unchecked.push(unchecked_for("payment_not_in_session"));
            continue;
        };
        match ask_provider(connector, attempt, session, &mut calls).await {
            Ok(provider) => tally.add(
                attempt,
                &provider,
                books,
                book_status(session, &attempt.payment_id),
                currency,
            ),
            Err(reason) => {
                crate::log::event(
                    crate::log::Level::Warn,
                    serde_json::json!({"level": "warn", "reconciliation": "unchecked",
                        "payment_id": attempt.payment_id, "reason": reason}),
                );
                unchecked.push(unchecked_for("provider_unavailable"));
            }
        }
    }
    debug_assert!(
        calls <= reserved,
        "{calls} provider calls over {reserved} reserved"
    );
    crate::log::event(
        crate::log::Level::Info,
        serde_json::json!({"level": "info", "reconciliation": "page", "method": method.as_str(),
            "attempts": index.attempts.len(), "provider_calls": calls}),
    );
    let has_more = index.has_more || stopped_early;
    Ok(ReconciliationPage {
        object: "reconciliation_report".into(),
        date: date.to_owned(),
        method,
        currency,
        checked: tally.checked,
        totals: tally.totals(currency),
        differences: tally.differences,
        unchecked,
        has_more,
        next_starting_after: if has_more { last } else { None },
    })
}

#[cfg(test)]
mod tests {
    use checkout_core::api::{
        CheckoutSession, Payment, PaymentMethod, PaymentReview, PaymentStatus, Refund,
        RefundStatus, ReviewReason,
    };
    use checkout_core::Currency;
    use serde_json::json;

    use super::*;

    // Built from JSON, as the session object answers them, so that fields added later with
    // defaults do not break these tests.
    fn payment(id: &str, status: PaymentStatus, amount: &str) -> Payment {
        serde_json::from_value(json!({
            "id": id, "method": "wechat_pay", "amount": amount, "currency": "CNY",
            "status": status, "created_at": 0,
            "legs": [{"method": "wechat_pay", "amount": amount, "status": status}],
        }))
        .unwrap()
    }

    fn session(payments: Vec<Payment>, refunds: Vec<Refund>) -> CheckoutSession {
        serde_json::from_value(json!({
            "id": "cs_1", "livemode": false, "order_id": "o1", "amount": "20.00",
            "currency": "CNY", "description": "Tea", "customer_id": "cus_1",
            "methods": ["wechat_pay"], "return_url": "https://shop.example/", "status": "open",
            "client_secret": "", "amount_paid": "0.00", "created_at": 0, "expires_at": 0,
            "payments": payments, "amount_refunded": "0.00", "refunds": refunds,
        }))
        .unwrap()
    }

    fn refund(payment_id: &str, amount: &str, status: RefundStatus) -> Refund {
        serde_json::from_value(json!({
            "id": "re_1", "payment_id": payment_id, "amount": amount, "currency": "CNY",
            "reason": "r", "status": status, "created_at": 0,
            "legs": [{"method": "wechat_pay", "amount": amount}],
        }))
        .unwrap()
    }

    fn figures(taken_minor: i64, refunded_minor: i64) -> Figures {
        Figures {
            taken_minor,
            in_review_minor: 0,
            refunded_minor,
        }
    }

    #[test]
    fn the_books_count_paid_legs_review_amounts_and_live_refunds() {
        let wechat = PaymentMethod::WechatPay;
        let failed = session(vec![payment("p1", PaymentStatus::Failed, "20.00")], vec![]);
        assert_eq!(books(&failed, "p1", wechat), Some(figures(0, 0)));
        assert_eq!(books(&failed, "p9", wechat), None);

        let paid = session(
            vec![payment("p1", PaymentStatus::Succeeded, "20.00")],
            vec![
                refund("p1", "5.00", RefundStatus::Succeeded),
                refund("p1", "1.00", RefundStatus::Pending),
                refund("p1", "2.00", RefundStatus::Failed),
                refund("p1", "3.00", RefundStatus::RequiresReview),
            ],
        );
        assert_eq!(books(&paid, "p1", wechat), Some(figures(2000, 900)));

        let mut held = payment("p1", PaymentStatus::RequiresReview, "20.00");
        // A review keeps what the provider said; the leg stays what we asked.
        held.review = Some(PaymentReview {
            reason: ReviewReason::AmountMismatch,
            provider_amount: Some("19.99".into()),
            provider_order: None,
            resolution: None,
            resolved_at: None,
        });
        let review = session(vec![held.clone()], vec![]);
        let in_review = Figures {
            in_review_minor: 1999,
            ..figures(0, 0)
        };
        assert_eq!(books(&review, "p1", wechat), Some(in_review));
        assert_eq!(book_status(&review, "p1"), "requires_review");
        // Refunded at the provider after review: taken, and given back.
        held.review.as_mut().unwrap().resolution =
            Some(checkout_core::api::ResolveAction::RefundAtProvider);
        let resolved = session(
            vec![held],
            vec![refund("p1", "19.99", RefundStatus::Pending)],
        );
        assert_eq!(books(&resolved, "p1", wechat), Some(figures(1999, 1999)));
    }

    #[test]
    fn a_tally_lists_only_differences_and_totals_signed() {
        let attempt = ProviderAttempt {
            session_id: "cs_1".into(),
            payment_id: "p1".into(),
            method: PaymentMethod::WechatPay,
            reference: None,
            amount_minor: 2000,
            currency: Currency::CNY,
            created_at_s: 0,
        };
        let mut tally = Tally::default();
        let agreeing = ProviderSide {
            status: "SUCCESS".into(),
            figures: figures(2000, 0),
        };
        tally.add(
            &attempt,
            &agreeing,
            figures(2000, 0),
            "succeeded".into(),
            Currency::CNY,
        );
        assert!(tally.differences.is_empty());
        let short = ProviderSide {
            status: "SUCCESS".into(),
            figures: figures(1999, 0),
        };
        tally.add(
            &attempt,
            &short,
            figures(0, 0),
            "failed".into(),
            Currency::CNY,
        );
        assert_eq!(tally.checked, 2);
        assert_eq!(tally.differences.len(), 1);
        assert_eq!(tally.differences[0].difference, "19.99");
        assert_eq!(tally.differences[0].provider.held, "19.99");
        assert_eq!(tally.differences[0].books.status, "failed");
        let totals = tally.totals(Currency::CNY);
        assert_eq!(
            (
                totals.provider.as_str(),
                totals.books.as_str(),
                totals.difference.as_str()
            ),
            ("39.99", "20.00", "19.99")
        );
        assert_eq!(signed(-1, Currency::CNY), "-0.01");

        // Held for review: listed, explained (difference 0), and counted in review.
        let mut review = Tally::default();
        let in_review = Figures {
            in_review_minor: 1999,
            ..figures(0, 0)
        };
        review.add(
            &attempt,
            &short,
            in_review,
            "requires_review".into(),
            Currency::CNY,
        );
        assert_eq!(review.differences.len(), 1);
        let row = &review.differences[0];
        assert_eq!(row.difference, "0.00");
        assert_eq!(row.books.in_review.as_deref(), Some("19.99"));
        assert_eq!(row.provider.in_review, None);
        assert_eq!(review.totals(Currency::CNY).in_review, "19.99");
    }

    #[test]
    fn a_page_asks_within_its_budget_and_always_moves_on() {
        assert_eq!(admit(0, 2, 6, true), Admit::Ask);
        assert_eq!(admit(4, 2, 6, false), Admit::Ask);
        assert_eq!(admit(5, 2, 6, false), Admit::Stop);
        assert_eq!(admit(0, 7, 6, true), Admit::TooMany);
        // Whatever the refunds, a page of `limit` attempts reserves at most 3 × limit calls.
        let limit = 4;
        let budget = CALLS_PER_ATTEMPT * limit;
        let needs = [1, 9, 2, 2, 13, 1];
        let (mut reserved, mut first) = (0, true);
        for needed in needs {
            match admit(reserved, needed, budget, first) {
                Admit::Ask => reserved += needed,
                Admit::Stop => break,
                Admit::TooMany => {}
            }
            first = false;
        }
        assert!(reserved <= budget, "{reserved}");
    }

    #[test]
    fn calls_are_bounded_per_attempt() {
        assert_eq!(calls_needed(PaymentMethod::Bkash, 0), 1);
        assert_eq!(calls_needed(PaymentMethod::Bkash, 4), 2);
        assert_eq!(calls_needed(PaymentMethod::WechatPay, 2), 3);
        assert_eq!(calls_needed(PaymentMethod::Card, 2), 3);
        assert!(currency_allowed(PaymentMethod::Card, Currency::JPY));
        assert!(!currency_allowed(PaymentMethod::Bkash, Currency::CNY));
    }
}
