//! The invariants the world checks: after every step ([`every_step`]) and once it is quiet
//! ([`quiescent`]).
//!
//! After every step (the books may lag reality while an answer is on its way, never lead it),
//! on the sessions the step touched (the others were checked when they last changed):
//! - the saga's own `check_invariants` on the committed record (among them: paid at most once,
//!   `amount_paid` ≤ amount, `Paid` exactly when one payment succeeded);
//! - each wallet's accounts equal its journal (credits − debits − posted holds; pending holds),
//!   none is overdrawn, no hold resolved twice, and no hold group posted or voided again after
//!   the session was told it was (the world's `acknowledged`);
//! - each provider: no money-moving call (execute, refund) twice for one intent, no second
//!   execute of an executed payment, never more refunded than taken;
//! - per session and provider: what the books count as taken (succeeded legs, late successes,
//!   amounts in review) ≤ what the provider took; every refund the provider made is one the books
//!   hold, not failed, for the same amount (written down before it was sent); every refund the
//!   books call succeeded, the provider made and settled;
//! - the wallet took nothing for a payment the books say failed.
//!
//! Once quiet (faults off, every alarm and retry run): no intent listed, no payment or session
//! processing, no refund pending; for each session and provider, taken equals the books exactly;
//! each succeeded payment's wallet part taken exactly once and each failed payment's not at all;
//! each succeeded refund's balance part credited; no hold pending in any wallet.

use checkout_core::api::{PaymentMethod, PaymentStatus, RefundStatus, SessionStatus};
use checkout_core::Money;
use checkout_edge::saga::record::{PaymentRecord, SessionRecord};
use checkout_edge::saga::{self};

use crate::providers::{PayState, Provider, Which};
use crate::wallet::{balance_account, Wallet, POINTS_ACCOUNT};
use crate::world::World;

/// What the books say one provider took for one session, and what it took.
#[derive(Debug, Default, PartialEq, Eq)]
struct Taken {
    books: i64,
    provider: i64,
}

pub fn every_step(world: &World) -> Result<(), String> {
    if let Some(violation) = world.violations.first() {
        return Err(violation.clone());
    }
    for (record, _) in world.touched_sessions() {
        saga::check_invariants(record)
            .map_err(|e| format!("{}: check_invariants: {e}", record.id))?;
    }
    for (i, w) in world.wallets.iter().enumerate() {
        w.check().map_err(|e| format!("wallet {i}: {e}"))?;
    }
    world.bkash.check()?;
    world.wechat.check()?;
    world.card.check()?;
    for (record, customer) in world.touched_sessions() {
        for which in [Which::Bkash, Which::Wechat, Which::Card] {
            let taken = taken(provider(world, which), record);
            if taken.books > taken.provider {
                return Err(format!(
                    "{}: the books count {} taken at {which:?}, which took {}",
                    record.id, taken.books, taken.provider
                ));
            }
            refunds_match(provider(world, which), record)?;
        }
        let w = &world.wallets[customer];
        for p in record
            .payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Failed)
        {
            if holds_group_in_use(record, p) {
                continue;
            }
            let (balance, points) = wallet_took(w, record, p);
            if balance != 0 || points != 0 {
                return Err(format!(
                    "{}: the wallet took {balance} and {points} points for failed payment {}",
                    record.id, p.id
                ));
            }
        }
    }
    Ok(())
}

pub fn quiescent(world: &World) -> Result<(), String> {
    for (record, customer) in world.sessions() {
        if !record.intents.is_empty() {
            let ids: Vec<&str> = record.intents.iter().map(|i| i.id.as_str()).collect();
            return Err(format!("{}: intents left in limbo: {ids:?}", record.id));
        }
        if record.status == SessionStatus::Processing {
            return Err(format!("{}: still processing when quiet", record.id));
        }
        if let Some(p) = record
            .payments
            .iter()
            .find(|p| p.status == PaymentStatus::Processing)
        {
            return Err(format!("{}: payment {} still processing", record.id, p.id));
        }
        if let Some(r) = record
            .refunds
            .iter()
            .find(|r| r.status == RefundStatus::Pending)
        {
            return Err(format!("{}: refund {} still pending", record.id, r.id));
        }
        for which in [Which::Bkash, Which::Wechat, Which::Card] {
            let taken = taken(provider(world, which), record);
            if taken.books != taken.provider {
                return Err(format!(
                    "{}: {which:?} took {} but the books account for {}",
                    record.id, taken.provider, taken.books
                ));
            }
        }
        authorizations_settled(&world.card, record)?;
        let w = &world.wallets[customer];
        for p in &record.payments {
            let (balance, points) = wallet_took(w, record, p);
            let (want_balance, want_points) = match p.status {
                PaymentStatus::Succeeded => wallet_part(record, p),
                _ if holds_group_in_use(record, p) => continue,
                _ => (0, 0),
            };
            if (balance, points) != (want_balance, want_points) {
                return Err(format!(
                    "{}: payment {} ({:?}) took {balance} and {points} points from the wallet, not {want_balance} and {want_points}",
                    record.id, p.id, p.status
                ));
            }
        }
        for r in record
            .refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Succeeded)
        {
            let Some(parts) = r.parts else { continue };
            if parts.balance.is_zero() {
                continue;
            }
            let credited = w.credited_containing(&r.id);
            if credited != parts.balance.amount_minor() {
                return Err(format!(
                    "{}: refund {} credited {credited}, not {}",
                    record.id,
                    r.id,
                    parts.balance.amount_minor()
                ));
            }
        }
    }
    for (i, w) in world.wallets.iter().enumerate() {
        if w.has_pending_holds() {
            return Err(format!("wallet {i}: holds still pending when quiet"));
        }
    }
    Ok(())
}

/// Once quiet, no card authorization is left at Stripe: each was captured (and is then in the
/// books as taken) or voided (taking nothing), as the books say.
fn authorizations_settled(card: &Provider, record: &SessionRecord) -> Result<(), String> {
    for p in record
        .payments
        .iter()
        .filter(|p| p.method == PaymentMethod::Card)
    {
        let Some(sim) = card.payment_for(&p.id) else {
            continue;
        };
        if sim.state == PayState::Authorized {
            return Err(format!(
                "{}: payment {} ({:?}) still authorized at Stripe for {} when quiet",
                record.id,
                p.id,
                p.status,
                sim.asked.amount_minor()
            ));
        }
    }
    Ok(())
}

fn provider(world: &World, which: Which) -> &Provider {
    match which {
        Which::Bkash => &world.bkash,
        Which::Wechat => &world.wechat,
        Which::Card => &world.card,
    }
}

fn method_of(which: Which) -> PaymentMethod {
    match which {
        Which::Bkash => PaymentMethod::Bkash,
        Which::Wechat => PaymentMethod::WechatPay,
        Which::Card => PaymentMethod::Card,
    }
}

/// What `provider` took for this session's payments, and what the books say it took.
fn taken(provider: &Provider, record: &SessionRecord) -> Taken {
    let method = method_of(provider.which);
    let mut taken = Taken::default();
    for p in record.payments.iter().filter(|p| p.method == method) {
        taken.books += booked_taken(p);
        taken.provider += provider.payment_for(&p.id).map_or(0, |sim| sim.taken_minor);
    }
    taken
}

/// What the books say the provider took for `p`: a succeeded leg, a late success, or the amount
/// held in review.
fn booked_taken(p: &PaymentRecord) -> i64 {
    if let Some(review) = &p.review {
        return review.provider_amount.map_or(0, |a| a.amount_minor());
    }
    if p.status == PaymentStatus::Succeeded || p.late_success.is_some() {
        return p.provider_amount().amount_minor();
    }
    0
}

/// Refund by refund, what `provider` did against the books: every refund it made is one the
/// books hold as pending, succeeded or in review (written down before it was sent), for the same
/// amount; every refund the books call succeeded, it made and settled.
fn refunds_match(provider: &Provider, record: &SessionRecord) -> Result<(), String> {
    let method = method_of(provider.which);
    let made_here = record
        .payments
        .iter()
        .filter(|p| p.method == method)
        .filter_map(|p| provider.payment_for(&p.id));
    for sim in made_here {
        for made in &sim.refunds {
            let Some(r) = record.refunds.iter().find(|r| r.id == made.ours) else {
                return Err(format!(
                    "{}: {:?} made refund {} of {}, which the books do not hold",
                    record.id, provider.which, made.ours, made.amount_minor
                ));
            };
            let external = r
                .parts
                .map_or(r.amount, |parts| parts.external)
                .amount_minor();
            if r.status == RefundStatus::Failed || external != made.amount_minor {
                return Err(format!(
                    "{}: {:?} refunded {} under {}, which the books hold as {:?} of {external}",
                    record.id, provider.which, made.amount_minor, r.id, r.status
                ));
            }
        }
    }
    for r in record
        .refunds
        .iter()
        .filter(|r| r.status == RefundStatus::Succeeded)
    {
        let Some(p) = record.payments.iter().find(|p| p.id == r.payment_id) else {
            continue;
        };
        let external = r
            .parts
            .map_or(r.amount, |parts| parts.external)
            .amount_minor();
        if p.method != method || external == 0 {
            continue;
        }
        let settled = provider
            .payment_for(&p.id)
            .is_some_and(|sim| sim.refunds.iter().any(|m| m.ours == r.id && m.succeeded));
        if !settled {
            return Err(format!(
                "{}: the books say refund {} succeeded; {:?} has not made it",
                record.id, r.id, provider.which
            ));
        }
    }
    Ok(())
}

/// Whether `p`'s holds group is now another live payment's (a retry took the holds over).
fn holds_group_in_use(record: &SessionRecord, p: &PaymentRecord) -> bool {
    let group = p.holds_group();
    record.payments.iter().any(|other| {
        other.id != p.id
            && other.holds_group() == group
            && matches!(
                other.status,
                PaymentStatus::Processing
                    | PaymentStatus::Succeeded
                    | PaymentStatus::RequiresReview
            )
    })
}

/// What the wallet took for `p`: a direct debit under its id, or its posted holds.
fn wallet_took(w: &Wallet, record: &SessionRecord, p: &PaymentRecord) -> (i64, i64) {
    let balance_name = balance_account(record.amount.currency());
    let mut balance = w.transfer_amount(&p.id).unwrap_or(0);
    let mut points = w.transfer_amount(&format!("{}:points", p.id)).unwrap_or(0);
    if p.provider.is_some() {
        let posted = w.posted_in_group(&p.holds_group());
        balance += posted.get(&balance_name).copied().unwrap_or(0);
        points += posted.get(POINTS_ACCOUNT).copied().unwrap_or(0);
    }
    (balance, points)
}

/// What the books say the wallet should have taken for a succeeded payment `p`.
fn wallet_part(record: &SessionRecord, p: &PaymentRecord) -> (i64, i64) {
    let currency = p.amount.currency();
    if p.provider.is_some() {
        let balance = p.wallet_amount.unwrap_or(Money::zero(currency));
        return (balance.amount_minor(), p.points);
    }
    let points_value = match record.points_rules {
        Some(rules) if p.points > 0 => rules
            .value_of(p.points, currency)
            .map_or(0, |v| v.amount_minor()),
        _ => 0,
    };
    (p.amount.amount_minor() - points_value, p.points)
}
