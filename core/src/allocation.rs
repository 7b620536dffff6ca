//! Mixed payments: how one order total splits across loyalty points, store balance and at most one
//! external method, and the merchant's rules for points.
//!
//! The widget (to suggest and show a split) and the edge (to accept one) call the same functions,
//! so they cannot disagree. Points are whole numbers; their money value is exact integer minor
//! units, so a rate such as 3 points = 1.00 only accepts multiples of 3 points.

use serde::{Deserialize, Serialize};

use crate::api::PaymentMethod;
use crate::money::{Currency, Money};

/// A merchant's loyalty-points rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsRules {
    /// Points worth one unit of the currency: 10 means 10 points = 1.00.
    pub points_per_unit: i64,
    /// The fewest points a payment may use.
    pub min_points_per_use: i64,
    /// The most points one order may use.
    pub max_points_per_order: i64,
    /// The largest share of the order total points may pay, in percent.
    pub max_share_percent: u32,
    /// Whether points alone may pay a whole order.
    pub may_pay_whole_order: bool,
}

/// One split of an order total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub points: i64,
    pub balance: Money,
    /// The external method and its amount, if any.
    pub external: Option<(PaymentMethod, Money)>,
}

/// Why a split was refused. Each names the rule, for a precise message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("the rules are invalid")]
    InvalidRules,
    #[error("points cannot be negative")]
    NegativePoints,
    #[error("these points are not worth an exact amount at the merchant's rate")]
    InexactPoints,
    #[error("fewer points than the minimum per use")]
    BelowMinimumPoints,
    #[error("more points than allowed per order")]
    AbovePointsPerOrder,
    #[error("points would pay more than the allowed share of the order")]
    AbovePointsShare,
    #[error("points may not pay the whole order")]
    PointsPayWholeOrder,
    #[error("the external leg must be an external method")]
    NotExternal,
    #[error("a leg is in another currency")]
    CurrencyMismatch,
    #[error("the legs do not add up to the order total")]
    DoesNotSum,
    #[error("the available funds cannot cover the total: {remaining:?} remains")]
    Shortfall { remaining: Money },
}

impl PointsRules {
    fn check(&self) -> Result<(), AllocationError> {
        let sane = self.points_per_unit > 0
            && self.min_points_per_use >= 0
            && self.max_points_per_order >= self.min_points_per_use
            && self.max_share_percent <= 100;
        sane.then_some(()).ok_or(AllocationError::InvalidRules)
    }

    /// The money `points` are worth in `currency`, if exact.
    pub fn value_of(&self, points: i64, currency: Currency) -> Result<Money, AllocationError> {
        self.check()?;
        if points < 0 {
            return Err(AllocationError::NegativePoints);
        }
        let scaled = i128::from(points) * 10_i128.pow(currency.minor_digits());
        if scaled % i128::from(self.points_per_unit) != 0 {
            return Err(AllocationError::InexactPoints);
        }
        let minor = i64::try_from(scaled / i128::from(self.points_per_unit))
            .map_err(|_| AllocationError::AbovePointsPerOrder)?;
        Money::from_minor(minor, currency).map_err(|_| AllocationError::AbovePointsPerOrder)
    }

    /// Points come in steps of this many, so their value is a whole number of minor units (10
    /// points = 1.00 in taka: steps of 1; 3 points = 1.00: steps of 3).
    pub fn step(&self, currency: Currency) -> i64 {
        let unit = 10_i64.pow(currency.minor_digits());
        self.points_per_unit / gcd(self.points_per_unit, unit)
    }

    /// The most points allowed on an order of `total`: caps, share, and the whole-order rule.
    pub fn max_points_for(&self, total: Money) -> Result<i64, AllocationError> {
        self.check()?;
        let currency = total.currency();
        let unit = i128::from(10_i64.pow(currency.minor_digits()));
        let mut cap_minor =
            i128::from(total.amount_minor()) * i128::from(self.max_share_percent) / 100;
        if !self.may_pay_whole_order {
            cap_minor = cap_minor.min(i128::from(total.amount_minor()) - 1);
        }
        let by_value = cap_minor.max(0) * i128::from(self.points_per_unit) / unit;
        let most = by_value.min(i128::from(self.max_points_per_order));
        let step = i128::from(self.step(currency));
        Ok(i64::try_from(most / step * step).unwrap_or(0))
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// Checks that `allocation` pays exactly `total` within the points rules.
pub fn validate(
    total: Money,
    allocation: &Allocation,
    rules: &PointsRules,
) -> Result<(), AllocationError> {
    let currency = total.currency();
    let points_value = rules.value_of(allocation.points, currency)?;
    if allocation.points > 0 {
        if allocation.points < rules.min_points_per_use {
            return Err(AllocationError::BelowMinimumPoints);
        }
        if allocation.points > rules.max_points_per_order {
            return Err(AllocationError::AbovePointsPerOrder);
        }
        let share = i128::from(points_value.amount_minor()) * 100;
        if share > i128::from(total.amount_minor()) * i128::from(rules.max_share_percent) {
            return Err(AllocationError::AbovePointsShare);
        }
        if !rules.may_pay_whole_order && points_value == total {
            return Err(AllocationError::PointsPayWholeOrder);
        }
    }
    let mut sum = points_value;
    let mut legs = vec![allocation.balance];
    if let Some((method, amount)) = allocation.external {
        if matches!(method, PaymentMethod::Balance | PaymentMethod::Points) {
            return Err(AllocationError::NotExternal);
        }
        legs.push(amount);
    }
    for leg in legs {
        sum = sum
            .checked_add(leg)
            .map_err(|_| AllocationError::CurrencyMismatch)?;
    }
    if sum != total {
        return Err(AllocationError::DoesNotSum);
    }
    Ok(())
}

/// Suggests a split of `total`: methods in `priority` order take what they can (points within
/// the rules, balance up to what is available), and `external`, if given, takes the rest.
pub fn suggest(
    total: Money,
    available_points: i64,
    available_balance: Money,
    rules: &PointsRules,
    priority: &[PaymentMethod],
    external: Option<PaymentMethod>,
) -> Result<Allocation, AllocationError> {
    let currency = total.currency();
    let mut remaining = total;
    let mut allocation = Allocation {
        points: 0,
        balance: Money::zero(currency),
        external: None,
    };
    for method in priority {
        match method {
            PaymentMethod::Points => {
                let points = points_for(remaining, total, available_points, rules)?;
                let value = rules.value_of(points, currency)?;
                remaining = remaining
                    .checked_sub(value)
                    .map_err(|_| AllocationError::DoesNotSum)?;
                allocation.points = points;
            }
            PaymentMethod::Balance => {
                let take = remaining
                    .amount_minor()
                    .min(available_balance.amount_minor().max(0));
                let take =
                    Money::from_minor(take, currency).map_err(|_| AllocationError::DoesNotSum)?;
                remaining = remaining
                    .checked_sub(take)
                    .map_err(|_| AllocationError::DoesNotSum)?;
                allocation.balance = take;
            }
            _ => {}
        }
    }
    match external {
        Some(method) if !remaining.is_zero() => allocation.external = Some((method, remaining)),
        None if !remaining.is_zero() => return Err(AllocationError::Shortfall { remaining }),
        _ => {}
    }
    validate(total, &allocation, rules)?;
    Ok(allocation)
}

/// The most points usable on what is `remaining` of `total`, or none if under the minimum.
fn points_for(
    remaining: Money,
    total: Money,
    available: i64,
    rules: &PointsRules,
) -> Result<i64, AllocationError> {
    let step = rules.step(total.currency());
    let remaining_points = i128::from(remaining.amount_minor()) * i128::from(rules.points_per_unit)
        / i128::from(10_i64.pow(total.currency().minor_digits()));
    let most = i128::from(rules.max_points_for(total)?)
        .min(i128::from(available.max(0)))
        .min(remaining_points);
    let points = i64::try_from(most / i128::from(step) * i128::from(step)).unwrap_or(0);
    Ok(if points >= rules.min_points_per_use.max(1) {
        points
    } else {
        0
    })
}

#[cfg(test)]
mod tests;
