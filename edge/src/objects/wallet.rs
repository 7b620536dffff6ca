//! The `Wallet` Durable Object: one customer's store balance at one merchant, and its pay password.
//!
//! Architecture Invariant: only this object writes balances. Every change is an append to
//! `transfers` keyed by a caller-chosen id, checked by `checkout_core::ledger` and written in one
//! synchronous turn, so a retry returns the first result and parallel payments never overdraw.

use checkout_core::api::{
    BalanceCredit, BalanceLine, BalanceSummary, PointsAdjustmentKind, WalletView,
};
use checkout_core::ledger::{Account, LedgerError};
use checkout_core::pay_password::{AttemptGuard, Lock};
use checkout_core::{Currency, ErrorCode, Money};
use serde::{Deserialize, Serialize};
use serde_json::value::{to_raw_value, RawValue};
use worker::{durable_object, wasm_bindgen, DurableObject, Env, Request, Response, State};

mod events;
mod holds;
mod password;
mod points;

use super::rpc;
pub use super::wallet_store::WalletOwner;
use super::wallet_store::{balance_account, TransferKind, TransferRow, WalletStore};
use crate::clock::now_ms;
use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WalletCommand {
    /// Adds store balance, once per merchant reference.
    Credit { reference: String, amount: Money },
    /// Takes store balance for a payment, once per transfer id, after checking the pay password.
    /// `amount` may be zero when `points` pay everything; both legs are taken in one turn or
    /// neither is.
    Debit {
        transfer_id: String,
        amount: Money,
        #[serde(default)]
        points: i64,
        pay_password: Option<String>,
    },
    /// Says whether a transfer id was posted; if it never arrived, fences it.
    Resolve { transfer_id: String },
    /// What the widget needs to offer balance in `currency`.
    Summary { currency: Currency },
    /// Every balance, for the merchant.
    View {
        customer_id: String,
        #[serde(default)]
        owner: Option<WalletOwner>,
    },
    /// Sets or replaces the pay password, clearing any lockout.
    SetPayPassword {
        pay_password: String,
        #[serde(default)]
        owner: Option<WalletOwner>,
    },
    /// Lifts a pay-password lockout, timed or hard.
    UnlockPayPassword { owner: WalletOwner },
    /// Places pending holds for a payment's balance and points legs, both or neither.
    PlaceHolds {
        group: String,
        amount: Money,
        points: i64,
        expires_at_ms: i64,
        pay_password: Option<String>,
    },
    /// Posts a group's holds: the payment succeeded.
    PostHolds { group: String },
    /// Voids a group's holds: the payment failed or was abandoned.
    VoidHolds { group: String },
    /// Adds or takes loyalty points, once per merchant reference.
    AdjustPoints {
        reference: String,
        points: i64,
        kind: PointsAdjustmentKind,
    },
}

impl WalletCommand {
    /// The owner a merchant's command names, which the wallet's events need.
    fn owner(&self) -> Option<&WalletOwner> {
        match self {
            WalletCommand::View { owner, .. } | WalletCommand::SetPayPassword { owner, .. } => {
                owner.as_ref()
            }
            WalletCommand::UnlockPayPassword { owner } => Some(owner),
            _ => None,
        }
    }
}

use crate::saga::aborted;
pub use crate::saga::TransferOutcome;

#[durable_object]
pub struct Wallet {
    state: State,
    env: Env,
    store: WalletStore,
}

impl DurableObject for Wallet {
    fn new(state: State, env: Env) -> Self {
        let store = WalletStore::open(state.storage().sql());
        Wallet {
            store: store.unwrap_or_else(|e| panic!("wallet schema: {e}")),
            state,
            env,
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.expire_due_holds().await {
            crate::log::event(
                crate::log::Level::Error,
                serde_json::json!({"object": "wallet", "alarm": e.to_string()}),
            );
            self.state.storage().set_alarm(30_000).await?;
        }
        // After the holds set the next alarm: a failed hand-over only ever brings it forward.
        self.flush_outbox().await;
        Response::ok("")
    }

    async fn fetch(&self, _req: Request) -> worker::Result<Response> {
        rpc::fetch_refused()
    }
}

crate::serve_commands!(Wallet);

impl rpc::Commands for Wallet {
    const NAME: &'static str = "wallet";
    type Command = WalletCommand;
    type Answer = Box<RawValue>;

    async fn run(&self, command: WalletCommand, _source: Option<&str>) -> Result<Box<RawValue>> {
        let result = self.handle(command).await;
        // Whatever the answer (a lockout is a refusal), events written by it go out now.
        self.flush_outbox().await;
        result
    }
}

impl Wallet {
    /// Runs a command; the answer is serialised once, straight to its JSON text (a `Value` in
    /// between was built and then serialised again on every call).
    async fn handle(&self, command: WalletCommand) -> Result<Box<RawValue>> {
        self.learn_owner(command.owner())?;
        let value = match command {
            WalletCommand::Credit { reference, amount } => {
                to_raw_value(&self.credit(&reference, amount)?)?
            }
            WalletCommand::Debit {
                transfer_id,
                amount,
                points,
                pay_password,
            } => {
                let legs = DebitLegs { amount, points };
                self.debit(&transfer_id, legs, pay_password).await?;
                // The balance after the debit, so the paying session need not ask again.
                to_raw_value(&self.summary(amount.currency())?)?
            }
            WalletCommand::Resolve { transfer_id } => to_raw_value(&self.resolve(&transfer_id)?)?,
            WalletCommand::Summary { currency } => to_raw_value(&self.summary(currency)?)?,
            WalletCommand::View { customer_id, .. } => to_raw_value(&self.view(customer_id)?)?,
            WalletCommand::PlaceHolds {
                group,
                amount,
                points,
                expires_at_ms,
                pay_password,
            } => {
                self.place_holds(&group, amount, points, expires_at_ms, pay_password)
                    .await?;
                to_raw_value(&())?
            }
            WalletCommand::PostHolds { group } => {
                self.post_holds(&group)?;
                to_raw_value(&())?
            }
            WalletCommand::VoidHolds { group } => {
                self.void_holds(&group)?;
                to_raw_value(&())?
            }
            WalletCommand::AdjustPoints {
                reference,
                points,
                kind,
            } => to_raw_value(&self.adjust_points(&reference, points, kind)?)?,
            WalletCommand::SetPayPassword { pay_password, .. } => {
                self.set_pay_password(&pay_password).await?;
                to_raw_value(&())?
            }
            WalletCommand::UnlockPayPassword { owner } => {
                self.unlock_pay_password()?;
                to_raw_value(&self.view(owner.customer_id)?)?
            }
        };
        Ok(value)
    }

    fn credit(&self, reference: &str, amount: Money) -> Result<BalanceCredit> {
        let id = format!("credit:{reference}");
        let account_name = balance_account(amount.currency());
        let transfer = match self.store.transfer(&id)? {
            Some(earlier) => {
                let same = earlier.account == account_name
                    && earlier.amount_minor == amount.amount_minor();
                if !same {
                    return Err(Error::api(ErrorCode::ReferenceConflict));
                }
                earlier
            }
            None => {
                let mut account = self.store.account(&account_name)?;
                account
                    .credit(amount.amount_minor())
                    .map_err(ledger_error)?;
                let transfer = new_transfer(id, TransferKind::Credit, account_name, amount);
                self.store.record(&transfer, Some(&account))?;
                transfer
            }
        };
        Ok(BalanceCredit {
            reference: reference.to_owned(),
            amount: amount.to_decimal_string(),
            currency: amount.currency(),
            created_at: transfer.created_at_ms / 1000,
        })
    }

    async fn debit(
        &self,
        transfer_id: &str,
        legs: DebitLegs,
        password: Option<String>,
    ) -> Result<()> {
        let written = self.store.transfers_written();
        if let Some(outcome) = self.earlier_debit(transfer_id, legs)? {
            return outcome;
        }
        self.authorize(password).await?;
        // Everything below runs in one synchronous turn: no await until the transfers are written.
        // A request with the same id can have written it during the password's check only if
        // this object wrote a transfer meanwhile: then it is looked up again.
        if self.store.transfers_written() != written {
            if let Some(outcome) = self.earlier_debit(transfer_id, legs)? {
                return outcome;
            }
        }
        let balance_name = balance_account(legs.amount.currency());
        let mut balance = self.store.account(&balance_name)?;
        let mut points = self.store.account(points::POINTS_ACCOUNT)?;
        // Both legs are checked before either is written: all or nothing.
        if !legs.amount.is_zero() {
            balance
                .debit(legs.amount.amount_minor())
                .map_err(ledger_error)?;
        }
        if legs.points > 0 {
            points.debit(legs.points).map_err(|e| match e {
                LedgerError::InsufficientFunds => Error::api(ErrorCode::InsufficientPoints),
                other => ledger_error(other),
            })?;
        }
        if !legs.amount.is_zero() {
            let transfer = new_transfer(
                transfer_id.into(),
                TransferKind::Debit,
                balance_name,
                legs.amount,
            );
            self.store.record(&transfer, Some(&balance))?;
        }
        if legs.points > 0 {
            let transfer = TransferRow {
                id: points_leg_id(transfer_id),
                kind: TransferKind::Debit,
                account: points::POINTS_ACCOUNT.to_owned(),
                amount_minor: legs.points,
                created_at_ms: now_ms(),
            };
            self.store.record(&transfer, Some(&points))?;
        }
        Ok(())
    }

    /// The outcome of an earlier debit with this transfer id, if there was one. Both legs' rows
    /// are read in one statement.
    fn earlier_debit(&self, transfer_id: &str, legs: DebitLegs) -> Result<Option<Result<()>>> {
        let points_id = points_leg_id(transfer_id);
        let rows = self.store.transfers_of(transfer_id, &points_id)?;
        if let Some(done) = rows.iter().find(|t| t.id == transfer_id) {
            return Ok(Some(earlier_debit(done, legs.amount)));
        }
        Ok(rows.iter().find(|t| t.id == points_id).map(|done| {
            match done.amount_minor == legs.points {
                true => Ok(()),
                false => Err(Error::Invariant(format!(
                    "transfer {transfer_id} reused with other points"
                ))),
            }
        }))
    }

    fn resolve(&self, transfer_id: &str) -> Result<TransferOutcome> {
        if self.store.transfer(&points_leg_id(transfer_id))?.is_some() {
            return Ok(TransferOutcome::Posted);
        }
        match self.store.transfer(transfer_id)? {
            Some(t) if t.kind == TransferKind::Debit => Ok(TransferOutcome::Posted),
            Some(_) => Ok(TransferOutcome::Aborted),
            None => {
                let fence = TransferRow {
                    id: transfer_id.to_owned(),
                    kind: TransferKind::Fence,
                    account: String::new(),
                    amount_minor: 0,
                    created_at_ms: now_ms(),
                };
                self.store.record(&fence, None)?;
                Ok(TransferOutcome::Aborted)
            }
        }
    }

    fn summary(&self, currency: Currency) -> Result<BalanceSummary> {
        let account = self.store.account(&balance_account(currency))?;
        let password = self.store.password()?;
        let now = now_ms();
        let guard = password.as_ref().map(|p| p.guard()).unwrap_or_default();
        Ok(BalanceSummary {
            available_minor: stored_money(account.available(), currency)?.amount_minor(),
            currency,
            pay_password_set: password.is_some(),
            attempts_left: guard.attempts_left(now),
            locked_until: locked_until_s(&guard, now),
            points_available: self.points_line()?.available,
        })
    }

    fn view(&self, customer_id: String) -> Result<WalletView> {
        let mut balances = Vec::new();
        for (name, account) in self.store.accounts()? {
            let Some(currency) = name.strip_prefix("balance:").and_then(|c| c.parse().ok()) else {
                continue;
            };
            balances.push(balance_line(currency, &account)?);
        }
        let password = self.store.password()?;
        let guard = password.as_ref().map(|p| p.guard()).unwrap_or_default();
        let now = now_ms();
        Ok(WalletView {
            customer_id,
            balances,
            points: self.points_line()?,
            pay_password_set: password.is_some(),
            locked_until: locked_until_s(&guard, now),
            pay_password_locked: guard.check(now).is_err(),
        })
    }
}

/// The parts of a payment the wallet pays.
#[derive(Debug, Clone, Copy)]
struct DebitLegs {
    amount: Money,
    points: i64,
}

/// The points leg of a payment is its own transfer, keyed after the payment's.
fn points_leg_id(transfer_id: &str) -> String {
    format!("{transfer_id}:points")
}

fn earlier_debit(done: &TransferRow, amount: Money) -> Result<()> {
    match done.kind {
        TransferKind::Debit if done.amount_minor == amount.amount_minor() => Ok(()),
        TransferKind::Fence => Err(aborted().into()),
        _ => Err(Error::Invariant(format!(
            "transfer {} reused with another amount or kind",
            done.id
        ))),
    }
}

fn new_transfer(id: String, kind: TransferKind, account: String, amount: Money) -> TransferRow {
    TransferRow {
        id,
        kind,
        account,
        amount_minor: amount.amount_minor(),
        created_at_ms: now_ms(),
    }
}

fn balance_line(currency: Currency, account: &Account) -> Result<BalanceLine> {
    Ok(BalanceLine {
        currency,
        available: format_minor(account.available(), currency)?,
        held: format_minor(account.debits_pending, currency)?,
    })
}

fn format_minor(amount_minor: i64, currency: Currency) -> Result<String> {
    stored_money(amount_minor, currency).map(Money::to_decimal_string)
}

/// A stored amount as money; one that is not (negative, too large) is a broken invariant.
fn stored_money(amount_minor: i64, currency: Currency) -> Result<Money> {
    Money::from_minor(amount_minor, currency)
        .map_err(|e| Error::Invariant(format!("stored amount {amount_minor}: {e}")))
}

fn ledger_error(error: LedgerError) -> Error {
    match error {
        LedgerError::InsufficientFunds => Error::api(ErrorCode::InsufficientBalance),
        LedgerError::AboveMaximum => Error::api_with(
            ErrorCode::InvalidParameter,
            "This credit would take the wallet past the largest balance the checkout holds.",
        ),
        LedgerError::HoldNotPending | LedgerError::HoldExpired => {
            Error::api(ErrorCode::HoldNotPending)
        }
        other => Error::Invariant(format!("ledger: {other}")),
    }
}

/// When a timed lockout ends (unix s); `None` when not locked or locked until the merchant acts.
fn locked_until_s(guard: &AttemptGuard, now_ms: i64) -> Option<i64> {
    match guard.check(now_ms) {
        Err(Lock::Until(ms)) => Some(ms / 1000),
        _ => None,
    }
}
