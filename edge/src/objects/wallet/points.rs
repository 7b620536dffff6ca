//! Loyalty points in the wallet: a separate account of whole points in the same ledger as the
//! balance, adjusted by the merchant once per reference.

use checkout_core::api::{PointsAdjustment, PointsAdjustmentKind, PointsLine};
use checkout_core::ledger::LedgerError;
use checkout_core::ErrorCode;

use super::{ledger_error, Wallet};
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::objects::wallet_store::{TransferKind, TransferRow};

/// The account that holds points.
pub const POINTS_ACCOUNT: &str = "points";

impl Wallet {
    /// Adds or takes `points`; the same reference and kind again returns the first adjustment.
    pub(super) fn adjust_points(
        &self,
        reference: &str,
        points: i64,
        kind: PointsAdjustmentKind,
    ) -> Result<PointsAdjustment> {
        let (prefix, transfer_kind) = match kind {
            PointsAdjustmentKind::Credit => ("points-credit", TransferKind::Credit),
            PointsAdjustmentKind::Debit => ("points-debit", TransferKind::Debit),
        };
        let id = format!("{prefix}:{reference}");
        let transfer = match self.store.transfer(&id)? {
            Some(earlier) if earlier.amount_minor == points => earlier,
            Some(_) => return Err(Error::api(ErrorCode::ReferenceConflict)),
            None => {
                let mut account = self.store.account(POINTS_ACCOUNT)?;
                let applied = match kind {
                    PointsAdjustmentKind::Credit => account.credit(points),
                    PointsAdjustmentKind::Debit => account.debit(points),
                };
                applied.map_err(|e| match e {
                    LedgerError::InsufficientFunds => Error::api(ErrorCode::InsufficientPoints),
                    other => ledger_error(other),
                })?;
                let transfer = TransferRow {
                    id,
                    kind: transfer_kind,
                    account: POINTS_ACCOUNT.to_owned(),
                    amount_minor: points,
                    created_at_ms: now_ms(),
                };
                self.store.record(&transfer, Some(&account))?;
                transfer
            }
        };
        Ok(PointsAdjustment {
            reference: reference.to_owned(),
            kind,
            points: transfer.amount_minor,
            created_at: transfer.created_at_ms / 1000,
        })
    }

    pub(super) fn points_line(&self) -> Result<PointsLine> {
        let account = self.store.account(POINTS_ACCOUNT)?;
        Ok(PointsLine {
            available: account.available(),
            held: account.debits_pending,
        })
    }
}
