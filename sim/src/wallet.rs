//! One customer's wallet: the real ledger rules (`checkout_core::ledger::Account`, `Hold`) under a
//! model of the `Wallet` Durable Object's bookkeeping (`edge/src/objects/wallet.rs`,
//! `wallet/holds.rs`, `wallet/points.rs`, `wallet_store.rs`).
//!
//! What is shared: every balance check and every change to an account's totals or a hold's state
//! goes through `checkout_core::ledger` (credit, debit, hold, post, void, expire). What is modelled
//! (the object's SQL tables, re-stated here as maps with the same keys): transfers keyed by the
//! caller's id (`credit:<ref>`, the payment id, `<id>:points`, `points-credit:<ref>`), fences,
//! hold rows keyed `<group>:<account>`, the idempotency rules of each command, and the alarm that
//! expires holds. The pay password is not modelled: the shopper always gives the right one.
//!
//! Alongside, an independent journal (every amount that moved, by kind) and a count of each hold's
//! resolutions, which [`Wallet::check`] compares with the accounts after every step.

use std::collections::BTreeMap;

use checkout_core::api::PointsAdjustmentKind;
use checkout_core::ledger::{Account, Hold, HoldState, LedgerError};
use checkout_core::{Currency, ErrorCode, Money};

/// The account that holds points (`wallet/points.rs`).
pub const POINTS_ACCOUNT: &str = "points";

/// The account that holds store balance in `currency` (`wallet_store::balance_account`).
pub fn balance_account(currency: Currency) -> String {
    format!("balance:{}", currency.code())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferKind {
    Credit,
    Debit,
    Fence,
    Hold,
    Post,
    Void,
    Expire,
}

#[derive(Debug, Clone)]
struct Transfer {
    kind: TransferKind,
    account: String,
    amount_minor: i64,
}

#[derive(Debug, Clone)]
struct HoldRow {
    group: String,
    account: String,
    hold: Hold,
}

/// What the wallet says when it refuses: nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub ErrorCode);

/// Whether a transfer id was posted, as `WalletCommand::Resolve` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferOutcome {
    Posted,
    Aborted,
}

/// The amounts that moved, kept apart from the accounts so each can be checked against the other.
#[derive(Debug, Clone, Default)]
struct Journal {
    credits: i64,
    debits: i64,
    pending: i64,
    posted: i64,
}

/// One customer's wallet at one merchant.
#[derive(Debug, Clone, Default)]
pub struct Wallet {
    accounts: BTreeMap<String, Account>,
    transfers: BTreeMap<String, Transfer>,
    holds: BTreeMap<String, HoldRow>,
    journal: BTreeMap<String, Journal>,
    /// How many times each hold left `Pending`: more than once is a broken invariant.
    resolutions: BTreeMap<String, u32>,
}

impl Wallet {
    /// Adds store balance once per reference (`WalletCommand::Credit`).
    pub fn credit(&mut self, reference: &str, amount: Money) -> Result<(), Refusal> {
        let id = format!("credit:{reference}");
        let account = balance_account(amount.currency());
        self.credit_once(&id, &account, amount.amount_minor())
    }

    /// Adds or takes points once per reference and kind (`WalletCommand::AdjustPoints`).
    pub fn adjust_points(
        &mut self,
        reference: &str,
        points: i64,
        kind: PointsAdjustmentKind,
    ) -> Result<(), Refusal> {
        match kind {
            PointsAdjustmentKind::Credit => {
                let id = format!("points-credit:{reference}");
                self.credit_once(&id, POINTS_ACCOUNT, points)
            }
            PointsAdjustmentKind::Debit => {
                let id = format!("points-debit:{reference}");
                if let Some(earlier) = self.transfers.get(&id) {
                    return match earlier.amount_minor == points {
                        true => Ok(()),
                        false => Err(Refusal(ErrorCode::ReferenceConflict)),
                    };
                }
                let mut account = self.account(POINTS_ACCOUNT);
                account.debit(points).map_err(points_error)?;
                self.write(&id, TransferKind::Debit, POINTS_ACCOUNT, points, account);
                Ok(())
            }
        }
    }

    fn credit_once(&mut self, id: &str, account_name: &str, minor: i64) -> Result<(), Refusal> {
        if let Some(earlier) = self.transfers.get(id) {
            let same = earlier.account == account_name && earlier.amount_minor == minor;
            return match same {
                true => Ok(()),
                false => Err(Refusal(ErrorCode::ReferenceConflict)),
            };
        }
        let mut account = self.account(account_name);
        account.credit(minor).map_err(ledger_error)?;
        self.write(id, TransferKind::Credit, account_name, minor, account);
        Ok(())
    }

    /// Takes balance and points for a payment at once, both legs or neither, once per transfer
    /// id; an id that was fenced is refused (`WalletCommand::Debit`).
    pub fn debit(&mut self, transfer_id: &str, amount: Money, points: i64) -> Result<(), Refusal> {
        let points_id = format!("{transfer_id}:points");
        if let Some(done) = self.transfers.get(transfer_id) {
            return match done.kind {
                TransferKind::Debit if done.amount_minor == amount.amount_minor() => Ok(()),
                TransferKind::Fence => Err(Refusal(ErrorCode::InternalError)),
                _ => Err(Refusal(ErrorCode::IdempotencyKeyReused)),
            };
        }
        if let Some(done) = self.transfers.get(&points_id) {
            return match done.amount_minor == points {
                true => Ok(()),
                false => Err(Refusal(ErrorCode::IdempotencyKeyReused)),
            };
        }
        let balance_name = balance_account(amount.currency());
        let mut balance = self.account(&balance_name);
        let mut points_account = self.account(POINTS_ACCOUNT);
        if !amount.is_zero() {
            balance.debit(amount.amount_minor()).map_err(ledger_error)?;
        }
        if points > 0 {
            points_account.debit(points).map_err(points_error)?;
        }
        if !amount.is_zero() {
            let minor = amount.amount_minor();
            self.write(
                transfer_id,
                TransferKind::Debit,
                &balance_name,
                minor,
                balance,
            );
        }
        if points > 0 {
            let account = POINTS_ACCOUNT;
            self.write(
                &points_id,
                TransferKind::Debit,
                account,
                points,
                points_account,
            );
        }
        Ok(())
    }

    /// Whether `transfer_id` was debited; an id never seen is fenced so that a late debit with
    /// it cannot land (`WalletCommand::Resolve`).
    pub fn resolve(&mut self, transfer_id: &str) -> TransferOutcome {
        if self
            .transfers
            .contains_key(&format!("{transfer_id}:points"))
        {
            return TransferOutcome::Posted;
        }
        match self.transfers.get(transfer_id) {
            Some(t) if t.kind == TransferKind::Debit => TransferOutcome::Posted,
            Some(_) => TransferOutcome::Aborted,
            None => {
                let fence = Transfer {
                    kind: TransferKind::Fence,
                    account: String::new(),
                    amount_minor: 0,
                };
                self.transfers.insert(transfer_id.to_owned(), fence);
                TransferOutcome::Aborted
            }
        }
    }

    /// Places a payment's holds, balance and points, both or neither; the same group again
    /// changes nothing (`WalletCommand::PlaceHolds`).
    pub fn place_holds(
        &mut self,
        group: &str,
        amount: Money,
        points: i64,
        expires_at_ms: i64,
    ) -> Result<(), Refusal> {
        if self.holds.values().any(|h| h.group == group) {
            return self.ensure_group(group);
        }
        let mut legs = Vec::new();
        if !amount.is_zero() {
            let short = ErrorCode::InsufficientBalance;
            legs.push((
                balance_account(amount.currency()),
                amount.amount_minor(),
                short,
            ));
        }
        if points > 0 {
            legs.push((
                POINTS_ACCOUNT.to_owned(),
                points,
                ErrorCode::InsufficientPoints,
            ));
        }
        let mut placed = Vec::new();
        for (name, minor, short) in legs {
            let mut account = self.account(&name);
            let hold = account.hold(minor, expires_at_ms).map_err(|e| match e {
                LedgerError::InsufficientFunds => Refusal(short),
                other => ledger_error(other),
            })?;
            placed.push((name, account, hold));
        }
        for (name, account, hold) in placed {
            let id = format!("{group}:{name}");
            let row = HoldRow {
                group: group.to_owned(),
                account: name.clone(),
                hold,
            };
            self.write(
                &format!("hold:{id}"),
                TransferKind::Hold,
                &name,
                hold.amount,
                account,
            );
            self.holds.insert(id, row);
        }
        Ok(())
    }

    /// A repeated placement: fine while the group is pending (or already posted).
    fn ensure_group(&self, group: &str) -> Result<(), Refusal> {
        let states = self.group_states(group);
        match states
            .iter()
            .all(|s| matches!(s, HoldState::Pending | HoldState::Posted))
        {
            true => Ok(()),
            false => Err(Refusal(ErrorCode::HoldNotPending)),
        }
    }

    /// Posts every hold of `group`; an already posted group changes nothing.
    pub fn post_holds(&mut self, group: &str, now_ms: i64) -> Result<(), Refusal> {
        self.resolve_group(group, HoldState::Posted, now_ms)
    }

    /// Voids every pending hold of `group`; voiding twice changes nothing.
    pub fn void_holds(&mut self, group: &str, now_ms: i64) -> Result<(), Refusal> {
        self.resolve_group(group, HoldState::Voided, now_ms)
    }

    fn resolve_group(
        &mut self,
        group: &str,
        outcome: HoldState,
        now_ms: i64,
    ) -> Result<(), Refusal> {
        let ids: Vec<String> = self
            .holds
            .iter()
            .filter(|(_, h)| h.group == group)
            .map(|(id, _)| id.clone())
            .collect();
        let states: Vec<HoldState> = ids.iter().map(|id| self.holds[id].hold.state).collect();
        if states.iter().all(|s| *s == outcome) {
            return Ok(());
        }
        if states
            .iter()
            .any(|s| *s != HoldState::Pending && *s != outcome)
        {
            return Err(Refusal(ErrorCode::HoldNotPending));
        }
        for id in ids {
            let row = self.holds[&id].clone();
            if row.hold.state != HoldState::Pending {
                continue;
            }
            let mut account = self.account(&row.account);
            let mut hold = row.hold;
            let (applied, kind) = match outcome {
                HoldState::Posted => {
                    let amount = hold.amount;
                    (account.post(&mut hold, amount, now_ms), TransferKind::Post)
                }
                _ => (account.void(&mut hold), TransferKind::Void),
            };
            applied.map_err(|e| match e {
                LedgerError::HoldExpired => Refusal(ErrorCode::HoldNotPending),
                other => ledger_error(other),
            })?;
            self.resolved(&id, hold, kind, account);
        }
        Ok(())
    }

    /// The wallet's alarm: expires the pending holds whose time is up.
    pub fn expire_due_holds(&mut self, now_ms: i64) {
        let due: Vec<String> = self
            .holds
            .iter()
            .filter(|(_, h)| h.hold.state == HoldState::Pending && h.hold.expires_at_ms <= now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let row = self.holds[&id].clone();
            let mut account = self.account(&row.account);
            let mut hold = row.hold;
            if account.expire(&mut hold, now_ms).is_ok() {
                self.resolved(&id, hold, TransferKind::Expire, account);
            }
        }
    }

    /// When the wallet's alarm is next due, if any hold is pending.
    pub fn next_expiry_ms(&self) -> Option<i64> {
        self.holds
            .values()
            .filter(|h| h.hold.state == HoldState::Pending)
            .map(|h| h.hold.expires_at_ms)
            .min()
    }

    /// The state of `group`'s holds (empty when it has none).
    pub fn group_states(&self, group: &str) -> Vec<HoldState> {
        self.holds
            .values()
            .filter(|h| h.group == group)
            .map(|h| h.hold.state)
            .collect()
    }

    /// Whether any hold is still pending.
    pub fn has_pending_holds(&self) -> bool {
        self.holds
            .values()
            .any(|h| h.hold.state == HoldState::Pending)
    }

    /// The account named `name`, or an empty one.
    pub fn account(&self, name: &str) -> Account {
        self.accounts.get(name).copied().unwrap_or_default()
    }

    /// What `group`'s holds took for good (posted), by account.
    pub fn posted_in_group(&self, group: &str) -> BTreeMap<String, i64> {
        let mut posted = BTreeMap::new();
        for h in self.holds.values().filter(|h| h.group == group) {
            if h.hold.state == HoldState::Posted {
                *posted.entry(h.account.clone()).or_insert(0) += h.hold.amount;
            }
        }
        posted
    }

    /// What transfer `id` took or gave, if it moved money.
    pub fn transfer_amount(&self, id: &str) -> Option<i64> {
        self.transfers
            .get(id)
            .filter(|t| t.kind != TransferKind::Fence)
            .map(|t| t.amount_minor)
    }

    /// The balance credited under references that contain `needle` (a refund's id).
    pub fn credited_containing(&self, needle: &str) -> i64 {
        self.transfers
            .iter()
            .filter(|(id, t)| {
                t.kind == TransferKind::Credit
                    && t.account.starts_with("balance:")
                    && id.contains(needle)
            })
            .map(|(_, t)| t.amount_minor)
            .sum()
    }

    fn resolved(&mut self, id: &str, hold: Hold, kind: TransferKind, account: Account) {
        let row = self
            .holds
            .get_mut(id)
            .expect("a hold being resolved exists");
        row.hold = hold;
        let name = row.account.clone();
        *self.resolutions.entry(id.to_owned()).or_insert(0) += 1;
        let step = match kind {
            TransferKind::Post => "post",
            TransferKind::Void => "void",
            _ => "expire",
        };
        self.write(&format!("{step}:{id}"), kind, &name, hold.amount, account);
    }

    /// Appends a transfer and the totals it produced; the journal records the same movement.
    fn write(&mut self, id: &str, kind: TransferKind, account: &str, minor: i64, totals: Account) {
        let transfer = Transfer {
            kind,
            account: account.to_owned(),
            amount_minor: minor,
        };
        let previous = self.transfers.insert(id.to_owned(), transfer);
        assert!(previous.is_none(), "transfer id {id} written twice");
        self.accounts.insert(account.to_owned(), totals);
        let journal = self.journal.entry(account.to_owned()).or_default();
        match kind {
            TransferKind::Credit => journal.credits += minor,
            TransferKind::Debit => journal.debits += minor,
            TransferKind::Hold => journal.pending += minor,
            TransferKind::Post => {
                journal.pending -= minor;
                journal.posted += minor;
            }
            TransferKind::Void | TransferKind::Expire => journal.pending -= minor,
            TransferKind::Fence => {}
        }
    }

    /// The wallet's invariants: every account equals its journal (credits, debits and posted
    /// holds; pending holds), nothing is negative, and no hold was resolved twice.
    pub fn check(&self) -> Result<(), String> {
        for (name, account) in &self.accounts {
            let journal = self.journal.get(name).cloned().unwrap_or_default();
            if account.credits_posted != journal.credits
                || account.debits_posted != journal.debits + journal.posted
                || account.debits_pending != journal.pending
            {
                return Err(format!(
                    "account {name} {account:?} disagrees with its journal {journal:?}"
                ));
            }
            let pending: i64 = self
                .holds
                .values()
                .filter(|h| h.account == *name && h.hold.state == HoldState::Pending)
                .map(|h| h.hold.amount)
                .sum();
            if pending != account.debits_pending {
                return Err(format!(
                    "account {name}: pending holds {pending} but debits_pending {}",
                    account.debits_pending
                ));
            }
            if account.available() < 0 {
                return Err(format!("account {name} is overdrawn: {account:?}"));
            }
        }
        if let Some((id, n)) = self.resolutions.iter().find(|(_, n)| **n > 1) {
            return Err(format!("hold {id} resolved {n} times"));
        }
        Ok(())
    }
}

fn ledger_error(error: LedgerError) -> Refusal {
    Refusal(match error {
        LedgerError::InsufficientFunds => ErrorCode::InsufficientBalance,
        LedgerError::HoldNotPending | LedgerError::HoldExpired => ErrorCode::HoldNotPending,
        _ => ErrorCode::InvalidParameter,
    })
}

fn points_error(error: LedgerError) -> Refusal {
    match error {
        LedgerError::InsufficientFunds => Refusal(ErrorCode::InsufficientPoints),
        other => ledger_error(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bdt(minor: i64) -> Money {
        Money::from_minor(minor, Currency::BDT).unwrap()
    }

    #[test]
    fn holds_resolve_once_and_repeats_change_nothing() {
        let mut w = Wallet::default();
        w.credit("top-up", bdt(1000)).unwrap();
        w.adjust_points("p", 50, PointsAdjustmentKind::Credit)
            .unwrap();
        w.place_holds("pay_1", bdt(600), 20, 10_000).unwrap();
        w.place_holds("pay_1", bdt(600), 20, 10_000).unwrap();
        assert_eq!(w.account(&balance_account(Currency::BDT)).available(), 400);
        w.post_holds("pay_1", 5_000).unwrap();
        w.post_holds("pay_1", 5_000).unwrap();
        assert_eq!(
            w.void_holds("pay_1", 5_000),
            Err(Refusal(ErrorCode::HoldNotPending))
        );
        assert_eq!(w.account(POINTS_ACCOUNT).available(), 30);
        w.check().unwrap();
    }

    #[test]
    fn resolve_fences_an_unseen_debit() {
        let mut w = Wallet::default();
        w.credit("top-up", bdt(1000)).unwrap();
        assert_eq!(w.resolve("pay_2"), TransferOutcome::Aborted);
        assert!(w.debit("pay_2", bdt(100), 0).is_err());
        w.debit("pay_3", bdt(100), 0).unwrap();
        w.debit("pay_3", bdt(100), 0).unwrap();
        assert_eq!(w.resolve("pay_3"), TransferOutcome::Posted);
        assert_eq!(w.account(&balance_account(Currency::BDT)).available(), 900);
        w.check().unwrap();
    }

    #[test]
    fn holds_expire_and_cannot_be_posted_after() {
        let mut w = Wallet::default();
        w.credit("top-up", bdt(1000)).unwrap();
        w.place_holds("pay_4", bdt(300), 0, 1_000).unwrap();
        w.expire_due_holds(1_000);
        assert!(w.post_holds("pay_4", 1_500).is_err());
        assert_eq!(w.account(&balance_account(Currency::BDT)).available(), 1000);
        w.check().unwrap();
    }
}
