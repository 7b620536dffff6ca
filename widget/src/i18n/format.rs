//! Amounts, counts and times of day as a shopper of each locale reads them, from integers only:
//! an amount is [`Money`] (integer minor units), never a float.
//!
//! | | BDT | CNY | JPY |
//! | --- | --- | --- | --- |
//! | en | `BDT 1,250.00` | `CNY 88.00` | `JPY 1,000` |
//! | zh | `BDT 1,250.00` | `¥88.00` | `JP¥1,000` |
//! | bn | `৳১,২৫০.০০` | `CN¥৮৮.০০` | `JP¥১,০০০` |
//!
//! Bangla groups the South Asian way (`১২,৩৪,৫৬৭`: thousands, then lakhs and crores) and writes
//! Bengali digits.

use checkout_core::{Currency, Money};

use super::Locale;

/// `money` for a shopper of `locale`.
pub fn money(money: Money, locale: Locale) -> String {
    let digits = money.currency().minor_digits();
    let unit = 10_u64.pow(digits);
    let minor = money.amount_minor().unsigned_abs();
    let whole = group(minor / unit, locale);
    let number = if digits == 0 {
        whole
    } else {
        let fraction = minor % unit;
        format!("{whole}.{fraction:0width$}", width = digits as usize)
    };
    let number = native_digits(&number, locale);
    match (locale, money.currency()) {
        (Locale::Bn, Currency::BDT) => format!("৳{number}"),
        (Locale::ZhHans, Currency::CNY) => format!("¥{number}"),
        (Locale::Bn, Currency::CNY) => format!("CN¥{number}"),
        (Locale::ZhHans | Locale::Bn, Currency::JPY) => format!("JP¥{number}"),
        (_, currency) => format!("{} {number}", currency.code()),
    }
}

/// An amount from the API, in minor units, for `locale`. One that is not money (negative, or
/// beyond what the system accepts: the edge sends neither) is shown as the currency alone rather
/// than as a wrong figure.
pub fn amount(amount_minor: i64, currency: Currency, locale: Locale) -> String {
    match Money::from_minor(amount_minor, currency) {
        Ok(money) => self::money(money, locale),
        Err(_) => currency.code().to_owned(),
    }
}

/// A count (points, attempts, minutes) in the locale's digits, not grouped: `2000`, `২০০০`.
pub fn count(n: u64, locale: Locale) -> String {
    native_digits(&n.to_string(), locale)
}

/// The time of day at `unix_s`, `offset_min` minutes ahead of UTC (the browser's time zone at
/// that instant): `2:05 PM` in English, `14:05` in Chinese, `১৪:০৫` in Bangla.
pub fn time_of_day(unix_s: i64, offset_min: i64, locale: Locale) -> String {
    let minutes = (unix_s.div_euclid(60) + offset_min).rem_euclid(24 * 60);
    let (hour, minute) = (minutes / 60, minutes % 60);
    match locale {
        Locale::En => {
            let half = if hour < 12 { "AM" } else { "PM" };
            let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
            format!("{hour12}:{minute:02} {half}")
        }
        Locale::ZhHans | Locale::Bn => native_digits(&format!("{hour:02}:{minute:02}"), locale),
    }
}

/// Digit groups with `,`: threes (`1,234,567`), or in Bangla a three then twos (`12,34,567`).
fn group(whole: u64, locale: Locale) -> String {
    let plain = whole.to_string();
    let len = plain.len();
    let mut out = String::with_capacity(len + len / 2);
    for (i, digit) in plain.chars().enumerate() {
        let left = len - i;
        let boundary = match locale {
            Locale::Bn => left >= 3 && (left - 3).is_multiple_of(2),
            Locale::En | Locale::ZhHans => left.is_multiple_of(3),
        };
        if i > 0 && boundary {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// ASCII digits as the locale writes them (Bengali digits ০–৯ in Bangla).
fn native_digits(text: &str, locale: Locale) -> String {
    match locale {
        Locale::Bn => text
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32(0x09E6 + d).unwrap_or(c),
                None => c,
            })
            .collect(),
        Locale::En | Locale::ZhHans => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64, currency: Currency) -> Money {
        Money::from_minor(minor, currency).unwrap()
    }

    #[test]
    fn amounts_follow_the_locale_and_the_currency() {
        let cases = [
            (125_000, Currency::BDT, Locale::En, "BDT 1,250.00"),
            (125_000, Currency::BDT, Locale::ZhHans, "BDT 1,250.00"),
            (125_000, Currency::BDT, Locale::Bn, "৳১,২৫০.০০"),
            (8_800, Currency::CNY, Locale::En, "CNY 88.00"),
            (8_800, Currency::CNY, Locale::ZhHans, "¥88.00"),
            (8_800, Currency::CNY, Locale::Bn, "CN¥৮৮.০০"),
            (1_000, Currency::JPY, Locale::En, "JPY 1,000"),
            (1_000, Currency::JPY, Locale::ZhHans, "JP¥1,000"),
            (1_000, Currency::JPY, Locale::Bn, "JP¥১,০০০"),
            (1, Currency::BDT, Locale::En, "BDT 0.01"),
            (0, Currency::BDT, Locale::Bn, "৳০.০০"),
            (99_999, Currency::CNY, Locale::ZhHans, "¥999.99"),
        ];
        for (minor, currency, locale, shown) in cases {
            assert_eq!(
                money(m(minor, currency), locale),
                shown,
                "{minor} {currency} {locale:?}"
            );
        }
    }

    #[test]
    fn bangla_groups_in_lakhs_and_crores() {
        let cases = [
            (123_456_789, "৳১২,৩৪,৫৬৭.৮৯"),
            (1_000_000_000, "৳১,০০,০০,০০০.০০"),
            (10_000_000, "৳১,০০,০০০.০০"),
            (99_900, "৳৯৯৯.০০"),
        ];
        for (minor, shown) in cases {
            assert_eq!(money(m(minor, Currency::BDT), Locale::Bn), shown);
        }
        assert_eq!(
            money(m(123_456_789, Currency::BDT), Locale::En),
            "BDT 1,234,567.89"
        );
    }

    #[test]
    fn the_largest_amount_is_exact() {
        let max = m(checkout_core::money::MAX_AMOUNT_MINOR, Currency::BDT);
        assert_eq!(money(max, Locale::En), "BDT 100,000,000,000.00");
        assert_eq!(money(max, Locale::Bn), "৳১,০০,০০,০০,০০,০০০.০০");
    }

    #[test]
    fn an_api_amount_is_shown_exactly_and_one_that_is_not_money_is_not_shown_as_a_figure() {
        assert_eq!(amount(125_000, Currency::BDT, Locale::Bn), "৳১,২৫০.০০");
        assert_eq!(amount(10, Currency::CNY, Locale::ZhHans), "¥0.10");
        assert_eq!(amount(1_250, Currency::JPY, Locale::En), "JPY 1,250");
        assert_eq!(amount(-5, Currency::BDT, Locale::En), "BDT");
    }

    #[test]
    fn counts_use_the_locales_digits() {
        assert_eq!(count(2000, Locale::En), "2000");
        assert_eq!(count(2000, Locale::ZhHans), "2000");
        assert_eq!(count(4, Locale::Bn), "৪");
        assert_eq!(count(1_234_567_890, Locale::Bn), "১২৩৪৫৬৭৮৯০");
    }

    #[test]
    fn times_of_day_are_local_and_per_locale() {
        // 2026-01-01T08:05:30Z.
        let t = 1_767_254_730;
        assert_eq!(time_of_day(t, 0, Locale::ZhHans), "08:05");
        assert_eq!(time_of_day(t, 8 * 60, Locale::ZhHans), "16:05");
        assert_eq!(time_of_day(t, 6 * 60, Locale::Bn), "১৪:০৫");
        assert_eq!(time_of_day(t, 6 * 60, Locale::En), "2:05 PM");
        assert_eq!(time_of_day(t, -9 * 60, Locale::En), "11:05 PM");
        assert_eq!(time_of_day(t - 8 * 3600, 0, Locale::En), "12:05 AM");
        assert_eq!(time_of_day(t + 4 * 3600, 0, Locale::En), "12:05 PM");
    }
}
