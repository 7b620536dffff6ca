//! The widget's view state as plain data with ordinary methods, and the pure formatting rules.
//! Components only read it and call it; nothing here touches the DOM or the network.

use checkout_core::allocation::{suggest, Allocation, AllocationError, PointsRules};
use checkout_core::api::{PaymentMethod, PaymentStatus, SessionStatus, WechatFlow, WidgetSession};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use checkout_core::Money;

/// Which screen the widget shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Fetching the token and the session.
    Loading,
    /// The order, the methods and the pay form.
    Ready,
    /// A payment is under way at a provider: a QR code to scan, WeChat's pay sheet, or the
    /// provider's answer to wait for. The widget polls the session's real status.
    Waiting,
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
            SessionStatus::Processing => Screen::Waiting,
            SessionStatus::Open => Screen::Ready,
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
        PaymentMethod::Bkash | PaymentMethod::WechatPay => Ok(()),
        PaymentMethod::Points | PaymentMethod::Card => Err("Not available yet"),
    }
}

/// Which WeChat Pay product suits the shopper's browser: the in-app pay sheet inside WeChat, a
/// redirect on a phone, a QR code to scan on anything else.
pub fn wechat_flow(user_agent: &str) -> WechatFlow {
    if user_agent.contains("MicroMessenger") {
        WechatFlow::Jsapi
    } else if ["Android", "iPhone", "iPad", "Mobile"]
        .iter()
        .any(|mark| user_agent.contains(mark))
    {
        WechatFlow::H5
    } else {
        WechatFlow::Native
    }
}

/// How long to wait before the next status check while waiting at a provider: soon at first,
/// then backing off to every five seconds.
pub fn poll_delay_ms(checks_done: u32) -> u32 {
    (0..checks_done.min(8))
        .fold(1_000, |delay, _| delay * 3 / 2)
        .min(5_000)
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

/// How the total splits when the shopper adds points (and, with an external method, balance).
/// `None` when the chosen method pays everything. The rules are the edge's own
/// (`checkout_core::allocation`), so what the widget shows is what the edge accepts.
pub fn split(
    session: &WidgetSession,
    chosen: PaymentMethod,
    use_points: bool,
    use_balance: bool,
) -> Result<Option<Allocation>, AllocationError> {
    let external = !matches!(chosen, PaymentMethod::Balance | PaymentMethod::Points);
    let use_balance = use_balance && external;
    if !use_points && !use_balance {
        return Ok(None);
    }
    let total = Money::parse_positive(&session.amount, session.currency)
        .map_err(|_| AllocationError::DoesNotSum)?;
    let (points, rules) = match (use_points, session.points) {
        (true, Some(p)) => (p.available, p.rules),
        _ => (0, NO_POINTS),
    };
    let balance = if chosen == PaymentMethod::Balance {
        total
    } else if use_balance {
        session
            .balance
            .as_ref()
            .and_then(|b| Money::parse_non_negative(&b.available, b.currency).ok())
            .unwrap_or(Money::zero(total.currency()))
    } else {
        Money::zero(total.currency())
    };
    let priority = session
        .points
        .map_or_else(checkout_core::api::default_wallet_priority, |p| p.priority);
    let allocation = suggest(
        total,
        points,
        balance,
        &rules,
        &priority,
        external.then_some(chosen),
    )?;
    Ok(Some(allocation))
}

/// Rules under which no points are used.
const NO_POINTS: PointsRules = PointsRules {
    points_per_unit: 1,
    min_points_per_use: 0,
    max_points_per_order: 0,
    max_share_percent: 0,
    may_pay_whole_order: false,
};

/// Whether paying this way takes anything from the wallet (and so needs the pay password).
pub fn uses_wallet(chosen: Option<PaymentMethod>, use_points: bool, use_balance: bool) -> bool {
    match chosen {
        Some(PaymentMethod::Balance) => true,
        Some(_) => use_points || use_balance,
        None => false,
    }
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
    fn the_wechat_product_follows_the_browser() {
        let wechat = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148 MicroMessenger/8.0.47";
        let phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Mobile Safari/537.36";
        let desktop = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36";
        assert_eq!(wechat_flow(wechat), WechatFlow::Jsapi);
        assert_eq!(wechat_flow(phone), WechatFlow::H5);
        assert_eq!(wechat_flow(desktop), WechatFlow::Native);
    }

    #[test]
    fn status_checks_back_off_to_five_seconds() {
        let delays: Vec<u32> = (0..7).map(poll_delay_ms).collect();
        assert_eq!(delays, [1_000, 1_500, 2_250, 3_375, 5_000, 5_000, 5_000]);
    }

    fn session(
        total: &str,
        points: i64,
        balance: &str,
        priority: [PaymentMethod; 2],
    ) -> WidgetSession {
        let json = serde_json::json!({
            "id": "cs_1", "merchant_name": "Shop", "order_id": "o", "description": "d",
            "amount": total, "currency": "BDT", "status": "open",
            "methods": ["points", "balance", "bkash"], "return_url": "https://x.example",
            "expires_at": 0, "payments": [],
            "balance": {"available": balance, "currency": "BDT", "pay_password_set": true, "attempts_left": 5},
            "points": {"available": points, "priority": priority, "rules": {
                "points_per_unit": 10, "min_points_per_use": 100, "max_points_per_order": 50000,
                "max_share_percent": 100, "may_pay_whole_order": true}}
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_split_follows_the_merchants_priority_and_bkash_takes_the_rest() {
        let points_first = session(
            "100.00",
            300,
            "50.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        let split_pb = split(&points_first, PaymentMethod::Bkash, true, true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (split_pb.points, split_pb.balance.to_decimal_string()),
            (300, "50.00".to_owned())
        );
        assert_eq!(split_pb.external.unwrap().1.to_decimal_string(), "20.00");

        let balance_first = session(
            "60.00",
            300,
            "50.00",
            [PaymentMethod::Balance, PaymentMethod::Points],
        );
        let split_bp = split(&balance_first, PaymentMethod::Bkash, true, true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (split_bp.points, split_bp.balance.to_decimal_string()),
            (100, "50.00".to_owned())
        );
        assert_eq!(split_bp.external, None);
    }

    #[test]
    fn no_switch_means_no_split() {
        let s = session(
            "100.00",
            300,
            "50.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        assert_eq!(split(&s, PaymentMethod::Bkash, false, false), Ok(None));
        assert_eq!(split(&s, PaymentMethod::Balance, false, true), Ok(None));
        assert!(uses_wallet(Some(PaymentMethod::Balance), false, false));
        assert!(!uses_wallet(Some(PaymentMethod::Bkash), false, false));
    }

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
