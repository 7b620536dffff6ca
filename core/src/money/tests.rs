use super::*;
use proptest::prelude::*;

#[test]
fn parses_two_decimal_amounts_into_minor_units() {
    let cases = [
        ("100.50", 10_050),
        ("100.5", 10_050),
        ("100", 10_000),
        ("0.01", 1),
        ("0007.10", 710),
        ("25000.00", 2_500_000),
    ];
    for (text, minor) in cases {
        let money = Money::parse_positive(text, Currency::BDT).unwrap();
        assert_eq!(money.amount_minor(), minor, "{text}");
    }
}

#[test]
fn rejects_what_is_not_a_plain_positive_amount() {
    let cases = [
        ("", MoneyError::Empty),
        ("1.234", MoneyError::TooManyDecimals),
        ("-1.00", MoneyError::NotADecimal),
        ("+1.00", MoneyError::NotADecimal),
        ("NaN", MoneyError::NotADecimal),
        ("Infinity", MoneyError::NotADecimal),
        ("1e5", MoneyError::NotADecimal),
        (" 1.00", MoneyError::NotADecimal),
        ("1,000.00", MoneyError::NotADecimal),
        (".50", MoneyError::NotADecimal),
        ("5.", MoneyError::NotADecimal),
        ("1.2.3", MoneyError::NotADecimal),
        ("0", MoneyError::NotPositive),
        ("0.00", MoneyError::NotPositive),
        ("99999999999999999999999999999999", MoneyError::TooLarge),
        ("100000000000.01", MoneyError::TooLarge),
        ("1.00000", MoneyError::TooManyDecimals),
    ];
    for (text, expected) in cases {
        assert_eq!(
            Money::parse_positive(text, Currency::BDT),
            Err(expected),
            "{text:?}"
        );
    }
}

#[test]
fn minor_units_come_from_the_currency() {
    assert_eq!(
        Money::parse_positive("150", Currency::JPY)
            .unwrap()
            .amount_minor(),
        150
    );
    assert_eq!(
        Money::parse_positive("1.5", Currency::JPY),
        Err(MoneyError::TooManyDecimals)
    );
    assert_eq!(
        Money::parse_positive("1.5", Currency::CNY)
            .unwrap()
            .amount_minor(),
        150
    );
}

#[test]
fn formats_with_exactly_the_currency_decimals() {
    let cases = [
        (Currency::BDT, 10_050, "100.50"),
        (Currency::BDT, 1, "0.01"),
        (Currency::BDT, 0, "0.00"),
        (Currency::CNY, 100, "1.00"),
        (Currency::JPY, 1500, "1500"),
    ];
    for (currency, minor, text) in cases {
        let money = Money::from_minor(minor, currency).unwrap();
        assert_eq!(money.to_decimal_string(), text);
    }
}

#[test]
fn arithmetic_refuses_mixed_currencies_and_negative_results() {
    let taka = Money::from_minor(100, Currency::BDT).unwrap();
    let yuan = Money::from_minor(100, Currency::CNY).unwrap();
    assert_eq!(taka.checked_add(yuan), Err(MoneyError::CurrencyMismatch));
    let more = Money::from_minor(101, Currency::BDT).unwrap();
    assert_eq!(taka.checked_sub(more), Err(MoneyError::Negative));
    let max = Money::from_minor(MAX_AMOUNT_MINOR, Currency::BDT).unwrap();
    assert_eq!(max.checked_add(taka), Err(MoneyError::TooLarge));
}

#[test]
fn currency_codes_round_trip() {
    for currency in Currency::ALL {
        assert_eq!(currency.code().parse::<Currency>(), Ok(currency));
    }
    assert_eq!("USD".parse::<Currency>(), Err(MoneyError::UnknownCurrency));
}

proptest! {
    #[test]
    fn formatting_then_parsing_is_the_identity(minor in 1_i64..=MAX_AMOUNT_MINOR) {
        for currency in Currency::ALL {
            let money = Money::from_minor(minor, currency).unwrap();
            let parsed = Money::parse_positive(&money.to_decimal_string(), currency).unwrap();
            prop_assert_eq!(parsed, money);
        }
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,40}") {
        let _ = Money::parse_positive(&text, Currency::BDT);
    }

    /// Every way of writing an amount (leading zeros, fewer decimals than the currency's, no
    /// point at all) means the same minor units.
    #[test]
    fn every_spelling_of_an_amount_parses_to_its_minor_units(
        whole in 0_i64..100_000_000_000,
        cents in 0_i64..100,
        zeros in 0_usize..4,
    ) {
        let minor = whole * 100 + cents;
        prop_assume!(minor > 0);
        let pad = "0".repeat(zeros);
        let spelled = [
            (format!("{pad}{whole}.{cents:02}"), Some(minor)),
            (format!("{whole}.{}", cents / 10), (cents % 10 == 0).then_some(minor)),
            (format!("{whole}"), (cents == 0).then_some(minor)),
        ];
        for (text, expected) in spelled {
            let Some(expected) = expected else { continue };
            let parsed = Money::parse_positive(&text, Currency::BDT);
            prop_assert_eq!(parsed.map(Money::amount_minor), Ok(expected), "{}", text);
        }
        // Three decimals is one too many for taka, even when the last is a zero.
        prop_assert_eq!(
            Money::parse_positive(&format!("{whole}.{cents:02}0"), Currency::BDT),
            Err(MoneyError::TooManyDecimals)
        );
    }
}
