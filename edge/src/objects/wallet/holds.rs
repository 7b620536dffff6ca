//! Two-phase payments in the wallet: a group of pending holds (points and balance for one
//! payment) placed together, then posted together when the external leg succeeds, or voided when
//! it fails. Holds past their time are expired by the wallet's own alarm.
//!
//! Every step is idempotent by the group id (the payment id), and each hold resolves at most once:
//! the ledger refuses a second resolution and the hold's state is written in the same turn.

use checkout_core::ledger::{HoldState, LedgerError};
use checkout_core::{ErrorCode, Money};

use super::points::POINTS_ACCOUNT;
use super::{ledger_error, Wallet};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::objects::wallet_store::{balance_account, HoldRow, TransferKind, TransferRow};

impl Wallet {
    /// Places the holds of `group` for `amount` of balance and `points`, both or neither. A
    /// repeat with the same group changes nothing.
    pub(super) async fn place_holds(
        &self,
        group: &str,
        amount: Money,
        points: i64,
        expires_at_ms: i64,
        password: Option<String>,
    ) -> Result<()> {
        if !self.store.holds_in_group(group)?.is_empty() {
            return self.ensure_group(group, HoldState::Pending);
        }
        self.authorize(password).await?;
        // Synchronous from here: the checks and the writes cannot interleave with another request.
        if !self.store.holds_in_group(group)?.is_empty() {
            return self.ensure_group(group, HoldState::Pending);
        }
        let mut legs = Vec::new();
        if !amount.is_zero() {
            legs.push((
                balance_account(amount.currency()),
                amount.amount_minor(),
                ErrorCode::InsufficientBalance,
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
        for (account_name, minor, short) in legs {
            let mut account = self.store.account(&account_name)?;
            let hold = account.hold(minor, expires_at_ms).map_err(|e| match e {
                LedgerError::InsufficientFunds => Error::api(short),
                other => ledger_error(other),
            })?;
            placed.push((account_name, account, hold));
        }
        for (account_name, account, hold) in placed {
            let row = HoldRow {
                id: format!("{group}:{account_name}"),
                grp: group.to_owned(),
                account: account_name,
                amount_minor: hold.amount,
                state: hold.state,
                expires_at_ms,
            };
            self.store.record(
                &self.hold_transfer(&row, TransferKind::Hold),
                Some(&account),
            )?;
            self.store.save_hold(&row)?;
        }
        self.schedule_expiry().await
    }

    /// Posts every hold of `group` in full. Posting an already posted group changes nothing.
    pub(super) fn post_holds(&self, group: &str) -> Result<()> {
        self.resolve_group(group, HoldState::Posted)
    }

    /// Voids every pending hold of `group`. Voiding twice changes nothing.
    pub(super) fn void_holds(&self, group: &str) -> Result<()> {
        self.resolve_group(group, HoldState::Voided)
    }

    fn resolve_group(&self, group: &str, outcome: HoldState) -> Result<()> {
        let rows = self.store.holds_in_group(group)?;
        if rows.iter().all(|r| r.state == outcome) {
            return Ok(());
        }
        if rows
            .iter()
            .any(|r| r.state != HoldState::Pending && r.state != outcome)
        {
            return Err(Error::api(ErrorCode::HoldNotPending));
        }
        let now = now_ms();
        for mut row in rows.into_iter().filter(|r| r.state == HoldState::Pending) {
            let mut account = self.store.account(&row.account)?;
            let mut hold = row.hold();
            let (applied, kind) = match outcome {
                HoldState::Posted => (
                    account.post(&mut hold, row.amount_minor, now),
                    TransferKind::Post,
                ),
                _ => (account.void(&mut hold), TransferKind::Void),
            };
            applied.map_err(|e| match e {
                LedgerError::HoldExpired => Error::api(ErrorCode::HoldNotPending),
                other => ledger_error(other),
            })?;
            row.state = hold.state;
            self.store
                .record(&self.hold_transfer(&row, kind), Some(&account))?;
            self.store.save_hold(&row)?;
        }
        Ok(())
    }

    /// Expires the pending holds whose time is up (the alarm), and sets the next alarm.
    pub(super) async fn expire_due_holds(&self) -> Result<()> {
        let now = now_ms();
        for mut row in self.store.due_holds(now)? {
            let mut account = self.store.account(&row.account)?;
            let mut hold = row.hold();
            account.expire(&mut hold, now).map_err(ledger_error)?;
            row.state = hold.state;
            self.store.record(
                &self.hold_transfer(&row, TransferKind::Expire),
                Some(&account),
            )?;
            self.store.save_hold(&row)?;
        }
        self.schedule_expiry().await
    }

    async fn schedule_expiry(&self) -> Result<()> {
        match self.store.next_expiry_ms()? {
            Some(at_ms) => Ok(self
                .state
                .storage()
                .set_alarm((at_ms - now_ms()).max(1))
                .await?),
            None => Ok(()),
        }
    }

    fn ensure_group(&self, group: &str, expected: HoldState) -> Result<()> {
        let rows = self.store.holds_in_group(group)?;
        if rows
            .iter()
            .all(|r| r.state == expected || r.state == HoldState::Posted)
        {
            Ok(())
        } else {
            Err(Error::api(ErrorCode::HoldNotPending))
        }
    }

    fn hold_transfer(&self, row: &HoldRow, kind: TransferKind) -> TransferRow {
        let step = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        TransferRow {
            id: format!("{step}:{}", row.id),
            kind,
            account: row.account.clone(),
            amount_minor: row.amount_minor,
            created_at_ms: now_ms(),
        }
    }
}
