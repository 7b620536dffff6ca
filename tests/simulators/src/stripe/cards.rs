//! The hosted page's card checks and Stripe's published test cards (docs.stripe.com/testing:
//! "Declined payments" and "3D Secure authentication"), each mapped to what Stripe answers.
//!
//! | number | outcome |
//! | --- | --- |
//! | 4242 4242 4242 4242 (and any other Luhn-valid number) | succeeds |
//! | 4000 0000 0000 0002 | `card_declined` / `generic_decline` |
//! | 4000 0000 0000 9995 | `card_declined` / `insufficient_funds` |
//! | 4000 0000 0000 9987 | `card_declined` / `lost_card` |
//! | 4000 0000 0000 9979 | `card_declined` / `stolen_card` |
//! | 4000 0000 0000 0069 | `expired_card` |
//! | 4000 0000 0000 0127 | `incorrect_cvc` |
//! | 4000 0000 0000 0119 | `processing_error` |
//! | 4000 0025 0000 3155, 4000 0027 6000 3184 | a 3-D Secure challenge |
//!
//! The shopper-facing messages are Stripe's card-error messages.

use super::state::{Card, CardError};

pub const SUCCESS_CARD: &str = "4242424242424242";
pub const GENERIC_DECLINE_CARD: &str = "4000000000000002";
pub const INSUFFICIENT_FUNDS_CARD: &str = "4000000000009995";
pub const LOST_CARD: &str = "4000000000009987";
pub const STOLEN_CARD: &str = "4000000000009979";
pub const EXPIRED_CARD: &str = "4000000000000069";
pub const INCORRECT_CVC_CARD: &str = "4000000000000127";
pub const PROCESSING_ERROR_CARD: &str = "4000000000000119";
pub const THREE_DS_CARD: &str = "4000002500003155";
pub const THREE_DS_REQUIRED_CARD: &str = "4000002760003184";

/// What the issuer does with a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Approve,
    Decline(CardError),
    Challenge,
}

/// The outcome for a (checked) card number.
pub fn outcome(number: &str) -> Outcome {
    let decline = |code, decline_code, message| {
        Outcome::Decline(CardError::card(code, decline_code, message))
    };
    match number {
        GENERIC_DECLINE_CARD => decline("card_declined", Some("generic_decline"), DECLINED),
        INSUFFICIENT_FUNDS_CARD => decline(
            "card_declined",
            Some("insufficient_funds"),
            "Your card has insufficient funds.",
        ),
        LOST_CARD => decline("card_declined", Some("lost_card"), DECLINED),
        STOLEN_CARD => decline("card_declined", Some("stolen_card"), DECLINED),
        EXPIRED_CARD => decline(
            "expired_card",
            Some("expired_card"),
            "Your card has expired.",
        ),
        INCORRECT_CVC_CARD => decline(
            "incorrect_cvc",
            Some("incorrect_cvc"),
            "Your card's security code is incorrect.",
        ),
        PROCESSING_ERROR_CARD => decline(
            "processing_error",
            Some("processing_error"),
            "An error occurred while processing your card. Try again in a little bit.",
        ),
        THREE_DS_CARD | THREE_DS_REQUIRED_CARD => Outcome::Challenge,
        _ => Outcome::Approve,
    }
}

const DECLINED: &str = "Your card has been declined.";

/// The Luhn checksum of a string of digits.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.len() < 12 || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

pub fn brand(digits: &str) -> &'static str {
    match digits.as_bytes().first() {
        Some(b'4') => "visa",
        Some(b'5') | Some(b'2') => "mastercard",
        Some(b'3') if digits.starts_with("34") || digits.starts_with("37") => "amex",
        Some(b'3') => "jcb",
        Some(b'6') => "discover",
        _ => "unknown",
    }
}

/// Checks what the shopper typed the way Stripe Checkout's form does before any attempt:
/// the number (spaces allowed, Luhn), the expiry (`MM / YY`, `MM/YY` or `MM/YYYY`, not in the
/// past) and the CVC (3 digits, 4 for American Express). `Err` is the message shown under the
/// form; no payment attempt is made then.
pub fn check(
    number: &str,
    expiry: &str,
    cvc: &str,
    now_year: u32,
    now_month: u32,
) -> Result<(String, Card), &'static str> {
    let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Err("Your card number is incomplete.");
    }
    if !luhn_valid(&digits) {
        return Err("Your card number is invalid.");
    }
    let mut compact: String = expiry.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains('/') && compact.len() >= 4 && compact.is_char_boundary(2) {
        // Typed without the separator the real field inserts: `1234` is 12 / 34.
        compact.insert(2, '/');
    }
    let (month, year) = compact
        .split_once('/')
        .and_then(|(m, y)| Some((m.parse::<u32>().ok()?, y)))
        .and_then(|(m, y)| {
            let year = match y.len() {
                2 => 2000 + y.parse::<u32>().ok()?,
                4 => y.parse::<u32>().ok()?,
                _ => return None,
            };
            Some((m, year))
        })
        .ok_or("Your card's expiration date is incomplete.")?;
    if !(1..=12).contains(&month) {
        return Err("Your card's expiration date is invalid.");
    }
    if (year, month) < (now_year, now_month) {
        return Err("Your card's expiration year is in the past.");
    }
    let brand = brand(&digits);
    let cvc_len = if brand == "amex" { 4 } else { 3 };
    if cvc.len() != cvc_len || !cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Your card's security code is incomplete.");
    }
    let card = Card {
        brand,
        last4: digits[digits.len() - 4..].to_owned(),
        exp_month: month,
        exp_year: year,
    };
    Ok((digits, card))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_refuses_a_typo() {
        for card in [
            SUCCESS_CARD,
            GENERIC_DECLINE_CARD,
            INSUFFICIENT_FUNDS_CARD,
            EXPIRED_CARD,
            INCORRECT_CVC_CARD,
            PROCESSING_ERROR_CARD,
            THREE_DS_CARD,
            THREE_DS_REQUIRED_CARD,
            LOST_CARD,
            STOLEN_CARD,
            "378282246310005",
        ] {
            assert!(luhn_valid(card), "{card}");
        }
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("42424242"));
    }

    #[test]
    fn the_form_checks_expiry_and_cvc() {
        let ok = check("4242 4242 4242 4242", "12 / 34", "123", 2026, 12).unwrap();
        assert_eq!((ok.1.last4.as_str(), ok.1.exp_year), ("4242", 2034));
        assert!(check("4242424242424242", "11/26", "123", 2026, 12).is_err());
        assert!(check("4242424242424242", "13/30", "123", 2026, 12).is_err());
        assert!(check("4242424242424242", "12/2026", "12", 2026, 12).is_err());
        assert!(check("378282246310005", "12/30", "1234", 2026, 12).is_ok());
        assert_eq!(
            check("4242424242424242", "1234", "123", 2026, 12)
                .unwrap()
                .1
                .exp_month,
            12
        );
        assert_eq!(
            check("4242424242424241", "12/30", "123", 2026, 12).unwrap_err(),
            "Your card number is invalid."
        );
    }

    #[test]
    fn declines_carry_stripe_codes() {
        let Outcome::Decline(e) = outcome(INSUFFICIENT_FUNDS_CARD) else {
            panic!()
        };
        assert_eq!(
            (e.code, e.decline_code),
            ("card_declined", Some("insufficient_funds"))
        );
        assert_eq!(outcome(THREE_DS_REQUIRED_CARD), Outcome::Challenge);
        assert_eq!(outcome("5555555555554444"), Outcome::Approve);
    }
}
