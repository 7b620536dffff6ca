//! Money as integer minor units of one currency.
//!
//! Decimal strings ("100.50") appear only at the API boundary. They are parsed strictly here into
//! [`Money`], and every computation after that is checked integer arithmetic.
//!
//! The parser and the formatter are integer code of their own, not `rust_decimal`'s (which this
//! module used until 2026-12-07): the text is already checked to be at most 15 digits, a point
//! and at most 4 digits before any number is made of it, so what is left is a digit string to an
//! `i64` and back. `rust_decimal`'s general parser was 1.8% of a balance payment's CPU in the
//! edge's profile (0.22 ms of 12.2; docs/benchmarks.md, "fifth session"), and its code was
//! part of the widget's wasm, whose size has a budget.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The largest amount in minor units the system accepts: 10^13, i.e. 100 billion of a two-decimal
/// currency. It keeps every amount exactly representable in JavaScript numbers and SQLite integers.
pub const MAX_AMOUNT_MINOR: i64 = 10_000_000_000_000;

/// A currency the checkout can settle in. Its minor units come from ISO 4217.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// Bangladeshi taka, 2 decimals (bKash).
    BDT,
    /// Chinese yuan, 2 decimals (WeChat Pay counts in fen).
    CNY,
    /// Japanese yen, no minor unit.
    JPY,
}

impl Currency {
    pub const ALL: [Currency; 3] = [Currency::BDT, Currency::CNY, Currency::JPY];

    /// The number of decimal places of the minor unit.
    pub const fn minor_digits(self) -> u32 {
        match self {
            Currency::BDT | Currency::CNY => 2,
            Currency::JPY => 0,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Currency::BDT => "BDT",
            Currency::CNY => "CNY",
            Currency::JPY => "JPY",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or(MoneyError::UnknownCurrency)
    }
}

/// Why a decimal string or an arithmetic step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amount is empty")]
    Empty,
    #[error("the amount must be a plain decimal number such as 100.50")]
    NotADecimal,
    #[error("the amount has more decimal places than the currency allows")]
    TooManyDecimals,
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the amount is larger than the system accepts")]
    TooLarge,
    #[error("the currency is not supported")]
    UnknownCurrency,
    #[error("the amounts are in different currencies")]
    CurrencyMismatch,
    #[error("the result would be negative")]
    Negative,
}

/// An exact amount: integer minor units of one currency. Never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

impl Money {
    /// Builds an amount from minor units, refusing negatives and values over [`MAX_AMOUNT_MINOR`].
    pub fn from_minor(amount_minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if amount_minor < 0 {
            return Err(MoneyError::Negative);
        }
        if amount_minor > MAX_AMOUNT_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money {
            amount_minor,
            currency,
        })
    }

    pub const fn zero(currency: Currency) -> Money {
        Money {
            amount_minor: 0,
            currency,
        }
    }

    /// Parses a strictly positive decimal string such as `"100.50"`.
    ///
    /// Accepted: ASCII digits with at most one `.` and at most the currency's decimal places.
    /// Refused: signs, exponents, spaces, `NaN`, `Infinity`, separators, and a bare `.`.
    pub fn parse_positive(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let money = Money::parse_non_negative(text, currency)?;
        if money.amount_minor == 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(money)
    }

    /// Like [`Money::parse_positive`] but accepts zero.
    pub fn parse_non_negative(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let (whole, fraction) = parse_plain_decimal(text)?;
        let digits = currency.minor_digits();
        // `fraction.len() <= 4` (checked), so this cast is exact.
        let places = fraction.len() as u32;
        if places > digits {
            return Err(MoneyError::TooManyDecimals);
        }
        // At most 15 significant digits before the point and 4 after: far inside `i64`.
        let minor = whole
            .checked_mul(10_i64.pow(digits))
            .and_then(|m| m.checked_add(digits_value(fraction) * 10_i64.pow(digits - places)))
            .ok_or(MoneyError::TooLarge)?;
        Money::from_minor(minor, currency)
    }

    pub const fn amount_minor(self) -> i64 {
        self.amount_minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    pub const fn is_zero(self) -> bool {
        self.amount_minor == 0
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::TooLarge)?;
        Money::from_minor(sum, self.currency)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let difference = self
            .amount_minor
            .checked_sub(other.amount_minor)
            .ok_or(MoneyError::Negative)?;
        Money::from_minor(difference, self.currency)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch)
        }
    }

    /// The amount as a decimal string with exactly the currency's decimal places: `"100.50"`.
    pub fn to_decimal_string(self) -> String {
        let digits = self.currency.minor_digits();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let magnitude = self.amount_minor.unsigned_abs();
        if digits == 0 {
            return format!("{sign}{magnitude}");
        }
        let unit = 10_u64.pow(digits);
        format!(
            "{sign}{}.{:0width$}",
            magnitude / unit,
            magnitude % unit,
            width = digits as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

/// The whole part's value and the fraction's digits of a plain decimal string. At most 15
/// integer digits (leading zeros aside) and 4 decimals: anything longer is refused before a
/// number is made of it, so a huge input costs nothing and never overflows.
fn parse_plain_decimal(text: &str) -> Result<(i64, &str), MoneyError> {
    if text.is_empty() {
        return Err(MoneyError::Empty);
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(MoneyError::NotADecimal);
    }
    if fraction.is_some_and(|f| f.len() > 4) {
        return Err(MoneyError::TooManyDecimals);
    }
    if whole.trim_start_matches('0').len() > 15 {
        return Err(MoneyError::TooLarge);
    }
    Ok((digits_value(whole), fraction.unwrap_or("")))
}

/// The value of a string of at most 15 significant ASCII digits (checked by the caller).
fn digits_value(digits: &str) -> i64 {
    digits
        .bytes()
        .fold(0, |value, b| value * 10 + i64::from(b - b'0'))
}

#[cfg(test)]
mod tests;
