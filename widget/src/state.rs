//! The widget's view state as plain data with ordinary methods, and the pure formatting rules.
//! Components only read it and call it; nothing here touches the DOM or the network.

use checkout_core::api::{PaymentMethod, PaymentStatus, SessionStatus, WidgetSession};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;

/// Which screen the widget shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Fetching the token and the session.
    Loading,
    /// The order, the methods and the pay form.
    Ready,
    /// Paid: the final success screen.
    Paid,
    /// The session cannot be paid here any more (expired, or a fatal error).
    Closed(ErrorDetail),
}

impl Screen {
    /// The screen a freshly loaded session calls for.
    pub fn for_session(session: &WidgetSession) -> Screen {
        match session.status {
            SessionStatus::Paid => Screen::Paid,
            SessionStatus::Expired => Screen::Closed(ErrorDetail::new(ErrorCode::SessionExpired)),
            SessionStatus::Open | SessionStatus::Processing => Screen::Ready,
        }
    }
}

/// Whether the widget can take `method` today, and if not, why.
pub fn method_availability(
    method: PaymentMethod,
    session: &WidgetSession,
) -> Result<(), &'static str> {
    match method {
        PaymentMethod::Balance => match &session.balance {
            Some(b) if !b.pay_password_set => Err("No pay password is set for this wallet."),
            Some(_) => Ok(()),
            None => Err("Store balance is not available."),
        },
        PaymentMethod::Bkash => Ok(()),
        PaymentMethod::Points | PaymentMethod::WechatPay | PaymentMethod::Card => {
            Err("Not available yet")
        }
    }
}

pub fn method_label(method: PaymentMethod) -> &'static str {
    match method {
        PaymentMethod::Balance => "Store balance",
        PaymentMethod::Points => "Loyalty points",
        PaymentMethod::Bkash => "bKash",
        PaymentMethod::WechatPay => "WeChat Pay",
        PaymentMethod::Card => "Card",
    }
}

/// The failure of the most recent attempt, to show after a return from a provider.
pub fn last_failure(session: &WidgetSession) -> Option<ErrorDetail> {
    let last = session.payments.last()?;
    if last.status != PaymentStatus::Failed || session.status != SessionStatus::Open {
        return None;
    }
    last.failure_code.map(ErrorDetail::new)
}

/// `"1250.00"` → `"1,250.00"`: digit grouping on the exact decimal string, never via floats.
pub fn group_digits(amount: &str) -> String {
    let (whole, fraction) = amount
        .split_once('.')
        .map_or((amount, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::with_capacity(amount.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(f) => format!("{grouped}.{f}"),
        None => grouped,
    }
}

/// An amount with its currency, as the shopper reads it: `BDT 1,250.00`.
pub fn format_money(amount: &str, currency: &str) -> String {
    format!("{currency} {}", group_digits(amount))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_in_threes_from_the_decimal_point() {
        let cases = [
            ("0.01", "0.01"),
            ("999.99", "999.99"),
            ("1250.00", "1,250.00"),
            ("25000.00", "25,000.00"),
            ("1234567.89", "1,234,567.89"),
            ("1500", "1,500"),
        ];
        for (raw, shown) in cases {
            assert_eq!(group_digits(raw), shown);
        }
    }
}
