//! The wallet ledger's rules, after TigerBeetle's two-phase transfers.
//!
//! An [`Account`] keeps `credits_posted`, `debits_posted` and `debits_pending` in minor units (or
//! whole points). A [`Hold`] reserves funds as a pending debit; it resolves exactly once, by being
//! posted (in full or in part, the rest returning), voided, or expired. The wallet Durable Object
//! persists accounts and immutable entries; these functions decide what is allowed.
//!
//! Architecture Invariant: `available = credits_posted - debits_posted - debits_pending` and it is
//! never negative after any successful operation.

use serde::{Deserialize, Serialize};

use crate::money::MAX_AMOUNT_MINOR;

/// Why the ledger refused an operation. Nothing is changed when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("amounts must be greater than zero")]
    NonPositiveAmount,
    #[error("the account cannot cover the amount")]
    InsufficientFunds,
    #[error("the hold was already posted, voided or expired")]
    HoldNotPending,
    #[error("the hold expired before it was posted")]
    HoldExpired,
    #[error("a post cannot exceed the held amount")]
    PostExceedsHold,
    #[error("the amount would overflow the account")]
    Overflow,
    #[error("the account would hold more than the system's maximum amount")]
    AboveMaximum,
}

/// The balances of one account. Credits add to it; debits take from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub credits_posted: i64,
    pub debits_posted: i64,
    pub debits_pending: i64,
}

/// Where a hold stands. Only `Pending` can change, and only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    Pending,
    Posted,
    Voided,
    Expired,
}

/// A reservation of funds on one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub amount: i64,
    pub state: HoldState,
    /// Past this instant (unix ms) the hold can no longer be posted, only expired.
    pub expires_at_ms: i64,
}

impl Account {
    /// What can be spent or held now.
    pub fn available(&self) -> i64 {
        self.credits_posted - self.debits_posted - self.debits_pending
    }

    /// Adds funds (a top-up, a refund).
    pub fn credit(&mut self, amount: i64) -> Result<(), LedgerError> {
        positive(amount)?;
        // Every balance stays a valid `Money`, so it can always be shown and spent.
        if self.available().saturating_add(amount) > MAX_AMOUNT_MINOR {
            return Err(LedgerError::AboveMaximum);
        }
        self.credits_posted = self
            .credits_posted
            .checked_add(amount)
            .ok_or(LedgerError::Overflow)?;
        Ok(())
    }

    /// Takes funds at once (a single-method payment or a merchant debit).
    pub fn debit(&mut self, amount: i64) -> Result<(), LedgerError> {
        self.ensure_available(amount)?;
        self.debits_posted += amount;
        Ok(())
    }

    /// Reserves funds until `expires_at_ms`.
    pub fn hold(&mut self, amount: i64, expires_at_ms: i64) -> Result<Hold, LedgerError> {
        self.ensure_available(amount)?;
        self.debits_pending += amount;
        Ok(Hold {
            amount,
            state: HoldState::Pending,
            expires_at_ms,
        })
    }

    /// Captures `amount` of a pending hold; the rest of the hold returns to the account.
    pub fn post(&mut self, hold: &mut Hold, amount: i64, now_ms: i64) -> Result<(), LedgerError> {
        positive(amount)?;
        ensure_pending(hold)?;
        if now_ms >= hold.expires_at_ms {
            return Err(LedgerError::HoldExpired);
        }
        if amount > hold.amount {
            return Err(LedgerError::PostExceedsHold);
        }
        self.debits_pending -= hold.amount;
        self.debits_posted += amount;
        hold.state = HoldState::Posted;
        Ok(())
    }

    /// Releases a pending hold in full.
    pub fn void(&mut self, hold: &mut Hold) -> Result<(), LedgerError> {
        self.release(hold, HoldState::Voided)
    }

    /// Releases a pending hold whose time has passed.
    pub fn expire(&mut self, hold: &mut Hold, now_ms: i64) -> Result<(), LedgerError> {
        if now_ms < hold.expires_at_ms {
            return Err(LedgerError::HoldNotPending);
        }
        self.release(hold, HoldState::Expired)
    }

    fn release(&mut self, hold: &mut Hold, outcome: HoldState) -> Result<(), LedgerError> {
        ensure_pending(hold)?;
        self.debits_pending -= hold.amount;
        hold.state = outcome;
        Ok(())
    }

    fn ensure_available(&self, amount: i64) -> Result<(), LedgerError> {
        positive(amount)?;
        if amount > self.available() {
            return Err(LedgerError::InsufficientFunds);
        }
        Ok(())
    }
}

fn positive(amount: i64) -> Result<(), LedgerError> {
    if amount > 0 {
        Ok(())
    } else {
        Err(LedgerError::NonPositiveAmount)
    }
}

fn ensure_pending(hold: &Hold) -> Result<(), LedgerError> {
    if hold.state == HoldState::Pending {
        Ok(())
    } else {
        Err(LedgerError::HoldNotPending)
    }
}

#[cfg(test)]
mod tests;
