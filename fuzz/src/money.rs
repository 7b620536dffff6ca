//! Decimal amounts, as merchants send them (`"100.50"`), and checked money arithmetic.
//!
//! Properties, in every currency: parsing never panics; it accepts exactly what an independent
//! digit-by-digit reading accepts (digits, at most one `.` with at most the currency's decimal
//! places, at most `MAX_AMOUNT_MINOR`), with the same value; an accepted amount formats to a
//! string that parses back to it; sums and differences never overflow and are right. The input
//! is one amount, or two separated by a comma for the arithmetic.

use checkout_core::money::MAX_AMOUNT_MINOR;
use checkout_core::{Currency, Money, MoneyError};

pub fn check(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    for currency in Currency::ALL {
        let whole = parse(text, currency);
        if let Some((a, b)) = text.split_once(',') {
            if let (Ok(a), Ok(b)) = (parse(a, currency), parse(b, currency)) {
                arithmetic(a, b);
            }
        }
        if let Ok(amount) = whole {
            arithmetic(amount, amount);
            arithmetic(
                Money::from_minor(MAX_AMOUNT_MINOR, currency).unwrap(),
                amount,
            );
        }
    }
    // Minor units from anywhere (a stored row, a provider's fen): refused unless in range.
    if let Some(bytes) = data.get(..8) {
        let minor = i64::from_le_bytes(bytes.try_into().unwrap());
        let money = Money::from_minor(minor, Currency::CNY);
        assert_eq!(money.is_ok(), (0..=MAX_AMOUNT_MINOR).contains(&minor));
    }
}

/// `Money::parse_non_negative` and `parse_positive` against the reference.
fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
    let parsed = Money::parse_non_negative(text, currency);
    let expected = reference_minor(text, currency.minor_digits());
    assert_eq!(
        parsed.map(Money::amount_minor).ok(),
        expected,
        "{text:?} in {currency}: {parsed:?}"
    );
    let positive = Money::parse_positive(text, currency);
    assert_eq!(positive.ok(), parsed.ok().filter(|m| !m.is_zero()));
    if let Ok(amount) = parsed {
        assert_eq!(amount.currency(), currency);
        let written = amount.to_decimal_string();
        let places = written.split_once('.').map_or(0, |(_, f)| f.len());
        assert_eq!(places, currency.minor_digits() as usize, "{written}");
        assert_eq!(
            Money::parse_non_negative(&written, currency),
            Ok(amount),
            "{written:?} does not read back"
        );
    }
    parsed
}

/// The amount in minor units, read digit by digit in i128; `None` where it must be refused.
fn reference_minor(text: &str, minor_digits: u32) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    if text.contains('.') && fraction.is_empty() || fraction.len() > minor_digits as usize {
        return None;
    }
    let mut minor: i128 = 0;
    let padded = format!("{whole}{fraction:0<width$}", width = minor_digits as usize);
    for digit in padded.bytes() {
        minor = minor * 10 + i128::from(digit - b'0');
        if minor > i128::from(MAX_AMOUNT_MINOR) {
            return None;
        }
    }
    i64::try_from(minor).ok()
}

/// Sum and difference, checked against i128 arithmetic.
fn arithmetic(a: Money, b: Money) {
    let (x, y) = (i128::from(a.amount_minor()), i128::from(b.amount_minor()));
    let max = i128::from(MAX_AMOUNT_MINOR);
    let sum = a.checked_add(b).map(|m| i128::from(m.amount_minor()));
    assert_eq!(sum.ok(), Some(x + y).filter(|s| *s <= max), "{a} + {b}");
    let difference = a.checked_sub(b).map(|m| i128::from(m.amount_minor()));
    assert_eq!(
        difference.ok(),
        Some(x - y).filter(|d| *d >= 0),
        "{a} - {b}"
    );
    let other = if a.currency() == Currency::JPY {
        Currency::CNY
    } else {
        Currency::JPY
    };
    assert_eq!(
        a.checked_add(Money::zero(other)),
        Err(MoneyError::CurrencyMismatch)
    );
}
