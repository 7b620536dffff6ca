//! How much of a payment loyalty points pay, checked against the session's points rules with the
//! shared allocation rules, so the widget's suggestion and the edge's check are the same function.

use checkout_core::allocation::{self, Allocation, AllocationError};
use checkout_core::api::{AllocationRequest, PaymentMethod};
use checkout_core::{ErrorCode, Money};

use crate::error::{Error, Result};
use crate::saga::record::SessionRecord;

/// The points a payment with `method` and `split` uses, and what is left for the method.
pub fn points_split(
    record: &SessionRecord,
    method: PaymentMethod,
    split: Option<&AllocationRequest>,
) -> Result<(i64, Money)> {
    let total = record.amount;
    let Some(split) = split else {
        if method == PaymentMethod::Points {
            return whole_order_in_points(record);
        }
        return Ok((0, total));
    };
    if !matches!(method, PaymentMethod::Balance | PaymentMethod::Points) {
        return Err(invalid(
            "A split with an external method is not supported yet.",
        ));
    }
    let rules = record
        .points_rules
        .ok_or_else(|| Error::api(ErrorCode::PaymentMethodUnavailable))?;
    let balance = offered_balance(record, split)?;
    let candidate = Allocation {
        points: split.points,
        balance,
        external: None,
    };
    allocation::validate(total, &candidate, &rules).map_err(|e| invalid(&e.to_string()))?;
    Ok((split.points, balance))
}

/// For an external `method`: the points and balance held in the wallet and what is left for the
/// provider, checked with the shared rules.
pub fn external_split(
    record: &SessionRecord,
    method: PaymentMethod,
    split: &AllocationRequest,
) -> Result<(i64, Money, Money)> {
    let total = record.amount;
    // With no points rules, only a points-free split can pass.
    let rules = record.points_rules.unwrap_or(allocation::PointsRules {
        points_per_unit: 1,
        min_points_per_use: 0,
        max_points_per_order: 0,
        max_share_percent: 0,
        may_pay_whole_order: false,
    });
    let balance = offered_balance(record, split)?;
    let points_value = rules
        .value_of(split.points, total.currency())
        .map_err(|e| invalid(&e.to_string()))?;
    let rest = total
        .checked_sub(points_value)
        .and_then(|r| r.checked_sub(balance))
        .map_err(|_| invalid("the points and balance are more than the total"))?;
    if rest.is_zero() {
        return Err(invalid(
            "nothing is left for the external method; pay with points and balance",
        ));
    }
    let candidate = Allocation {
        points: split.points,
        balance,
        external: Some((method, rest)),
    };
    allocation::validate(total, &candidate, &rules).map_err(|e| invalid(&e.to_string()))?;
    Ok((split.points, balance, rest))
}

fn whole_order_in_points(record: &SessionRecord) -> Result<(i64, Money)> {
    let rules = record
        .points_rules
        .ok_or_else(|| Error::api(ErrorCode::PaymentMethodUnavailable))?;
    let total = record.amount;
    let unit = 10_i128.pow(total.currency().minor_digits());
    let scaled = i128::from(total.amount_minor()) * i128::from(rules.points_per_unit);
    if scaled % unit != 0 {
        return Err(invalid(&AllocationError::InexactPoints.to_string()));
    }
    let points = i64::try_from(scaled / unit).map_err(|_| invalid("too many points"))?;
    let candidate = Allocation {
        points,
        balance: Money::zero(total.currency()),
        external: None,
    };
    allocation::validate(total, &candidate, &rules).map_err(|e| invalid(&e.to_string()))?;
    Ok((points, candidate.balance))
}

/// The split's balance, refused if it names a method the session does not offer.
fn offered_balance(record: &SessionRecord, split: &AllocationRequest) -> Result<Money> {
    let balance = Money::parse_non_negative(&split.balance, record.amount.currency())
        .map_err(|e| invalid(&format!("allocation.balance: {e}")))?;
    let uses = |m: PaymentMethod| record.request.methods.contains(&m);
    if (split.points > 0 && !uses(PaymentMethod::Points))
        || (!balance.is_zero() && !uses(PaymentMethod::Balance))
    {
        return Err(Error::api(ErrorCode::MethodNotAllowedForSession));
    }
    Ok(balance)
}

fn invalid(message: &str) -> Error {
    let mut detail = checkout_core::error::ErrorDetail::new(ErrorCode::InvalidAllocation);
    detail.message = format!("The split is not allowed: {message}.");
    detail.param = Some("allocation".into());
    detail.into()
}
