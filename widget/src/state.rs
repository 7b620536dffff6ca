//! The widget's view state as plain data with ordinary methods, and the pure formatting rules.
//! Components only read it and call it; nothing here touches the DOM or the network.

use checkout_core::allocation::{suggest, validate, Allocation, AllocationError, PointsRules};
use checkout_core::api::{PaymentMethod, PaymentStatus, SessionStatus, WechatFlow, WidgetSession};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use checkout_core::Money;

/// What the shopper must be told: an answer of the edge, or something the widget found itself.
/// The text comes from `i18n` ([`crate::i18n::Locale::problem_text`]), in the shopper's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// An error answer with a code this build knows.
    Api(ErrorDetail),
    /// An error answer with a code this build does not know: only the server's (English)
    /// message can be shown.
    Unknown { code: String, message: String },
    /// No answer at all (offline, connection dropped): the outcome is unknown.
    Unreachable,
    /// The split the shopper asked for breaks the merchant's rules.
    Split(AllocationError),
    /// The shopper typed more points than they have.
    NotEnoughPoints { available: i64 },
    /// The points field does not hold a whole number.
    PointsNotWhole,
    /// The pay password is not six digits.
    PasswordFormat,
    /// WeChat's in-app pay sheet is missing: the page is not open inside WeChat.
    NotInWechat,
}

impl Problem {
    /// A problem the widget found itself. The message stays empty: the widget words every code
    /// it knows in the shopper's language (and the edge's English table would be dead weight in
    /// the download).
    pub fn from_code(code: ErrorCode) -> Problem {
        Problem::Api(ErrorDetail {
            code,
            message: String::new(),
            param: None,
            attempts_left: None,
            retry_after_s: None,
        })
    }

    /// The stable code this problem is reported under (`checkout:error`).
    pub fn code(&self) -> &str {
        match self {
            Problem::Api(detail) => detail.code.as_str(),
            Problem::Unknown { code, .. } => code,
            Problem::Unreachable => ErrorCode::InternalError.as_str(),
            Problem::Split(_) | Problem::NotEnoughPoints { .. } | Problem::PointsNotWhole => {
                ErrorCode::InvalidAllocation.as_str()
            }
            Problem::PasswordFormat => ErrorCode::PayPasswordRequired.as_str(),
            Problem::NotInWechat => ErrorCode::PaymentMethodUnavailable.as_str(),
        }
    }

    /// Whether a payment's outcome is unknown (no answer, or an internal error), so a retry
    /// must reuse its idempotency key and a status check should simply try again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Problem::Api(detail) => detail.code == ErrorCode::InternalError,
            Problem::Unknown { .. } | Problem::Unreachable => true,
            Problem::Split(_)
            | Problem::NotEnoughPoints { .. }
            | Problem::PointsNotWhole
            | Problem::PasswordFormat
            | Problem::NotInWechat => false,
        }
    }

    /// Whether the points the shopper typed are what is wrong (so the reason goes beside the
    /// points field), rather than the split as a whole (a shortfall, say).
    pub fn about_points(&self) -> bool {
        match self {
            Problem::NotEnoughPoints { .. } | Problem::PointsNotWhole => true,
            Problem::Split(error) => matches!(
                error,
                AllocationError::NegativePoints
                    | AllocationError::InexactPoints
                    | AllocationError::BelowMinimumPoints
                    | AllocationError::AbovePointsPerOrder
                    | AllocationError::AbovePointsShare
                    | AllocationError::PointsPayWholeOrder
            ),
            _ => false,
        }
    }

    /// Whether the pay password is what went wrong (wrong, missing or not six digits), so the
    /// shopper's next step is the password field.
    pub fn about_password(&self) -> bool {
        match self {
            Problem::Api(detail) => matches!(
                detail.code,
                ErrorCode::IncorrectPayPassword | ErrorCode::PayPasswordRequired
            ),
            Problem::PasswordFormat => true,
            _ => false,
        }
    }

    /// Pay-password attempts left, after a wrong one.
    pub fn attempts_left(&self) -> Option<u32> {
        match self {
            Problem::Api(detail) => detail.attempts_left.filter(|n| *n > 0),
            _ => None,
        }
    }
}

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
    /// The card is authorized and the shop will capture it: a success for the shopper, who has
    /// nothing more to do.
    Authorized,
    /// The session cannot be paid here any more (expired, or a fatal error).
    Closed(Problem),
}

impl Screen {
    /// The screen a freshly loaded session calls for.
    pub fn for_session(session: &WidgetSession) -> Screen {
        match session.status {
            SessionStatus::Paid => Screen::Paid,
            // An authorized card is done on the shopper's side; the shop captures it later.
            SessionStatus::Authorized => Screen::Authorized,
            SessionStatus::Expired => Screen::Closed(Problem::from_code(ErrorCode::SessionExpired)),
            SessionStatus::Processing => Screen::Waiting,
            // The shop must look at what the provider took before anything else can happen.
            SessionStatus::RequiresReview => {
                Screen::Closed(Problem::from_code(ErrorCode::PaymentRequiresReview))
            }
            SessionStatus::Open => Screen::Ready,
        }
    }
}

/// Why a method cannot pay this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    NoPayPassword,
    NoBalance,
    NotYet,
    /// The order is outside what the method takes per payment, even with the wallet's help.
    OutOfRange,
}

/// Whether the widget can take `method` today, and if not, why.
pub fn method_availability(
    method: PaymentMethod,
    session: &WidgetSession,
) -> Result<(), Unavailable> {
    match method {
        PaymentMethod::Balance => match &session.balance {
            Some(b) if !b.pay_password_set => Err(Unavailable::NoPayPassword),
            Some(_) => Ok(()),
            None => Err(Unavailable::NoBalance),
        },
        PaymentMethod::Bkash | PaymentMethod::WechatPay | PaymentMethod::Card => {
            within_limits(method, session)
        }
        PaymentMethod::Points => Err(Unavailable::NotYet),
    }
}

/// The method's per-payment limits, as money, when the edge reported them.
pub fn method_limits(method: PaymentMethod, session: &WidgetSession) -> Option<(Money, Money)> {
    let limit = session.method_limits.iter().find(|l| l.method == method)?;
    limit
        .range(session.currency)
        .ok()
        .filter(|(min, _)| !min.is_zero())
}

/// A total below the minimum cannot be paid this way; one above the maximum only if the wallet
/// (balance and points) can take the excess, which the split editor then shows.
fn within_limits(method: PaymentMethod, session: &WidgetSession) -> Result<(), Unavailable> {
    let (Some((min, max)), Ok(total)) = (method_limits(method, session), session_total(session))
    else {
        return Ok(());
    };
    let wallet_can_help = session.balance.is_some() || session.points.is_some();
    if total.amount_minor() < min.amount_minor()
        || (total.amount_minor() > max.amount_minor() && !wallet_can_help)
    {
        return Err(Unavailable::OutOfRange);
    }
    Ok(())
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

/// Gives a status read without the wallet's summary (`?wallet=omit`) the balance and points
/// `shown` carries, so the pay form's figures do not change under the shopper while a payment
/// waits.
pub fn keep_wallet(update: &mut WidgetSession, shown: &WidgetSession) {
    if update.balance.is_none() {
        update.balance = shown.balance.clone();
    }
    if update.points.is_none() {
        update.points = shown.points;
    }
}

/// How long to wait before the next status check while waiting at a provider: soon at first,
/// then backing off to every five seconds.
pub fn poll_delay_ms(checks_done: u32) -> u32 {
    (0..checks_done.min(8))
        .fold(1_000, |delay, _| delay * 3 / 2)
        .min(5_000)
}

/// The most times in a row one wait reopens its status socket without hearing from it.
pub const MAX_SOCKET_RECONNECTS: u32 = 3;

/// What to do when the status socket closed while the payment still waits: reopen it after a
/// back-off (1 s, 2 s, 4 s) if a socket has `worked` in this wait (delivered a view), at most
/// [`MAX_SOCKET_RECONNECTS`] times in a row without a view; otherwise (`None`) poll instead. A
/// wait whose sockets never delivered anything is refused, or blocked on the way (some proxies,
/// in-app browsers), and would be again.
pub fn socket_reconnect_delay_ms(worked: bool, reconnects_in_a_row: u32) -> Option<u32> {
    (worked && reconnects_in_a_row < MAX_SOCKET_RECONNECTS).then(|| 1_000 << reconnects_in_a_row)
}

/// The failure of the most recent attempt, to show after a return from a provider.
pub fn last_failure(session: &WidgetSession) -> Option<Problem> {
    let last = session.payments.last()?;
    if last.status != PaymentStatus::Failed || session.status != SessionStatus::Open {
        return None;
    }
    last.failure_code.map(Problem::from_code)
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
    let use_balance = use_balance && is_external(chosen);
    if !use_points && !use_balance {
        return Ok(None);
    }
    let total = session_total(session)?;
    let (points, rules) = match (use_points, session.points) {
        (true, Some(p)) => (p.available, p.rules),
        _ => (0, NO_POINTS),
    };
    let balance = usable_balance(session, chosen, use_balance, total);
    let priority = session
        .points
        .map_or_else(checkout_core::api::default_wallet_priority, |p| p.priority);
    let allocation = suggest(
        total,
        points,
        balance,
        &rules,
        &priority,
        is_external(chosen).then_some(chosen),
    )?;
    Ok(Some(allocation))
}

/// How the total splits with exactly `points` (the figure the shopper typed): the rules decide
/// whether that many points may pay, store balance takes what it can of the rest (with an
/// external method only when `use_balance`), and the external method the remainder.
pub fn split_with_points(
    session: &WidgetSession,
    chosen: PaymentMethod,
    points: i64,
    use_balance: bool,
) -> Result<Allocation, Problem> {
    let total = session_total(session).map_err(Problem::Split)?;
    let currency = total.currency();
    let available = session.points.map_or(0, |p| p.available);
    let rules = session.points.map_or(NO_POINTS, |p| p.rules);
    if points > available {
        return Err(Problem::NotEnoughPoints { available });
    }
    let value = rules.value_of(points, currency).map_err(Problem::Split)?;
    // The points' own rules first (minimum, caps, share, whole order), as the edge checks them.
    let rest = total.checked_sub(value).unwrap_or(Money::zero(currency));
    let points_only = Allocation {
        points,
        balance: rest,
        external: None,
    };
    validate(total, &points_only, &rules).map_err(Problem::Split)?;
    let use_balance = use_balance && is_external(chosen);
    let balance = usable_balance(session, chosen, use_balance, total);
    let external = is_external(chosen).then_some(chosen);
    let others = suggest(
        rest,
        0,
        balance,
        &NO_POINTS,
        &[PaymentMethod::Balance],
        external,
    )
    .map_err(Problem::Split)?;
    let allocation = Allocation {
        points,
        balance: others.balance,
        external: others.external,
    };
    validate(total, &allocation, &rules).map_err(Problem::Split)?;
    Ok(allocation)
}

/// The split to pay with: the suggestion, or exactly the points the shopper typed
/// (`points_entry`, when they changed the suggested figure). `None` when the chosen method pays
/// everything. Store balance alone must cover the total: a shortfall is refused here, before
/// any request.
pub fn plan(
    session: &WidgetSession,
    chosen: PaymentMethod,
    use_points: bool,
    use_balance: bool,
    points_entry: Option<&str>,
) -> Result<Option<Allocation>, Problem> {
    let allocation = match (use_points, points_entry) {
        (true, Some(text)) => Some(split_with_points(
            session,
            chosen,
            parse_points(text)?,
            use_balance,
        )?),
        _ => split(session, chosen, use_points, use_balance).map_err(Problem::Split)?,
    };
    if allocation.is_none() && chosen == PaymentMethod::Balance {
        let total = session_total(session).map_err(Problem::Split)?;
        let balance = usable_balance(session, chosen, false, total);
        if let Ok(remaining) = total.checked_sub(balance) {
            if !remaining.is_zero() {
                return Err(Problem::Split(AllocationError::Shortfall { remaining }));
            }
        }
    }
    Ok(allocation)
}

/// A points figure as typed: whole points only (a sign is left to the rules to refuse).
pub fn parse_points(text: &str) -> Result<i64, Problem> {
    text.trim().parse().map_err(|_| Problem::PointsNotWhole)
}

/// The figures the points field accepts: at least the merchant's minimum per use, at most what
/// the rules allow on this order (per-order cap, share, whole-order rule) and what the shopper
/// has, in steps worth whole minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointsBounds {
    pub min: i64,
    pub max: i64,
    pub step: i64,
}

pub fn points_bounds(session: &WidgetSession) -> Option<PointsBounds> {
    let p = session.points?;
    let total = session_total(session).ok()?;
    let step = p.rules.step(total.currency()).max(1);
    let allowed = p.rules.max_points_for(total).ok()?;
    let max = allowed.min(p.available.max(0) / step * step);
    let min = (p.rules.min_points_per_use.max(0) + step - 1) / step * step;
    Some(PointsBounds { min, max, step })
}

fn is_external(method: PaymentMethod) -> bool {
    !matches!(method, PaymentMethod::Balance | PaymentMethod::Points)
}

fn session_total(session: &WidgetSession) -> Result<Money, AllocationError> {
    session
        .total()
        .ok()
        .filter(|total| !total.is_zero())
        .ok_or(AllocationError::DoesNotSum)
}

/// What store balance can pay: what the wallet has, when balance is the chosen method or the
/// shopper added it beside an external method; nothing otherwise.
fn usable_balance(
    session: &WidgetSession,
    chosen: PaymentMethod,
    use_balance: bool,
    total: Money,
) -> Money {
    let zero = Money::zero(total.currency());
    if chosen != PaymentMethod::Balance && !use_balance {
        return zero;
    }
    session
        .balance
        .as_ref()
        .and_then(|b| b.available().ok())
        .filter(|b| b.currency() == total.currency())
        .unwrap_or(zero)
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

/// How the shopper means to pay, as `checkout:change` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub method: PaymentMethod,
    /// Points the split takes.
    pub points: i64,
    /// What store balance pays.
    pub balance: Money,
}

/// The session as the widget holds it: shared between the views, never copied field by field (a
/// deep copy cost the first view more than a kilobyte of code).
pub type Session = std::sync::Arc<WidgetSession>;

/// The shopper's current choice: the chosen method and what points and balance pay of the total
/// (the whole total for balance alone; nothing when the split is refused).
pub fn choice(
    session: &WidgetSession,
    method: PaymentMethod,
    use_points: bool,
    use_balance: bool,
    points_entry: Option<&str>,
) -> Choice {
    let currency = session.currency;
    let whole = || session.total().ok();
    let (points, balance) = match plan(session, method, use_points, use_balance, points_entry) {
        Ok(Some(allocation)) => (allocation.points, Some(allocation.balance)),
        Ok(None) if method == PaymentMethod::Balance => (0, whole()),
        Ok(None) | Err(_) => (0, None),
    };
    Choice {
        method,
        points,
        balance: balance.unwrap_or(Money::zero(currency)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_socket_that_worked_is_reopened_with_back_off_then_polling_takes_over() {
        assert_eq!(socket_reconnect_delay_ms(true, 0), Some(1_000));
        assert_eq!(socket_reconnect_delay_ms(true, 1), Some(2_000));
        assert_eq!(socket_reconnect_delay_ms(true, 2), Some(4_000));
        assert_eq!(socket_reconnect_delay_ms(true, 3), None);
        // Refused or blocked: straight to polling.
        assert_eq!(socket_reconnect_delay_ms(false, 0), None);
    }

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
    fn a_method_is_disabled_outside_its_limits_unless_the_wallet_can_take_the_excess() {
        // bKash and the card (through its gateway) follow the same rule.
        for method in [PaymentMethod::Bkash, PaymentMethod::Card] {
            let with_limits = |total: &str, wallet: bool| {
                let mut s = session(
                    total,
                    0,
                    "0.00",
                    checkout_core::api::default_wallet_priority(),
                );
                s.method_limits = vec![checkout_core::api::MethodLimit {
                    method,
                    min_minor: 100,
                    max_minor: 2_500_000,
                }];
                if !wallet {
                    s.balance = None;
                    s.points = None;
                }
                method_availability(method, &s)
            };
            assert_eq!(with_limits("0.99", true), Err(Unavailable::OutOfRange));
            assert_eq!(with_limits("1.00", false), Ok(()));
            assert_eq!(with_limits("25000.00", false), Ok(()));
            assert_eq!(with_limits("25000.01", false), Err(Unavailable::OutOfRange));
            assert_eq!(with_limits("25000.01", true), Ok(()));
        }
    }

    #[test]
    fn each_session_status_has_its_screen_and_an_authorized_card_is_not_paid_but_done() {
        let mut s = session(
            "10.00",
            0,
            "0.00",
            checkout_core::api::default_wallet_priority(),
        );
        let screen_of = |s: &mut WidgetSession, status| {
            s.status = status;
            Screen::for_session(s)
        };
        assert_eq!(screen_of(&mut s, SessionStatus::Open), Screen::Ready);
        assert_eq!(
            screen_of(&mut s, SessionStatus::Processing),
            Screen::Waiting
        );
        assert_eq!(screen_of(&mut s, SessionStatus::Paid), Screen::Paid);
        assert_eq!(
            screen_of(&mut s, SessionStatus::Authorized),
            Screen::Authorized
        );
        assert_eq!(
            screen_of(&mut s, SessionStatus::Expired),
            Screen::Closed(Problem::from_code(ErrorCode::SessionExpired))
        );
    }

    #[test]
    fn a_status_read_without_the_wallet_keeps_the_summary_shown() {
        let shown = session(
            "50.00",
            700,
            "30.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        let mut update = shown.clone();
        update.status = SessionStatus::Processing;
        update.balance = None;
        update.points = None;
        keep_wallet(&mut update, &shown);
        assert_eq!(update.balance, shown.balance);
        assert_eq!(update.points, shown.points);
        assert_eq!(update.status, SessionStatus::Processing);
        // A read that carries a summary keeps its own.
        let mut fresh = session(
            "50.00",
            10,
            "1.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        keep_wallet(&mut fresh, &shown);
        assert_eq!(fresh.points.map(|p| p.available), Some(10));
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
        let minor = |text: &str| {
            Money::parse_non_negative(text, checkout_core::Currency::BDT)
                .unwrap()
                .amount_minor()
        };
        let json = serde_json::json!({
            "id": "cs_1", "merchant_name": "Shop", "order_id": "o", "description": "d",
            "amount_minor": minor(total), "currency": "BDT", "status": "open",
            "methods": ["points", "balance", "bkash"], "return_url": "https://x.example",
            "expires_at": 0, "payments": [],
            "balance": {"available_minor": minor(balance), "currency": "BDT",
                        "pay_password_set": true, "attempts_left": 5},
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
    fn the_choice_reports_what_points_and_balance_pay() {
        let s = session(
            "100.00",
            300,
            "50.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        let bkash_alone = choice(&s, PaymentMethod::Bkash, false, false, None);
        assert_eq!((bkash_alone.points, bkash_alone.balance), (0, bdt(0)));
        let rich = session(
            "100.00",
            300,
            "150.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        let balance_alone = choice(&rich, PaymentMethod::Balance, false, false, None);
        assert_eq!(balance_alone.balance, bdt(10_000));
        // 50.00 cannot pay 100.00 alone: the choice pays nothing.
        let short = choice(&s, PaymentMethod::Balance, false, false, None);
        assert_eq!(short.balance, bdt(0));
        let typed = choice(&s, PaymentMethod::Bkash, true, false, Some("200"));
        assert_eq!((typed.points, typed.balance), (200, bdt(0)));
        let mixed = choice(&s, PaymentMethod::Bkash, true, true, None);
        assert_eq!((mixed.points, mixed.balance), (300, bdt(5_000)));
        assert_eq!(mixed.method, PaymentMethod::Bkash);
    }

    fn bdt(minor: i64) -> Money {
        Money::from_minor(minor, checkout_core::Currency::BDT).unwrap()
    }

    /// A 100.00 order, 5000 points and 50.00 of balance, under `rules`.
    fn under(rules: PointsRules) -> WidgetSession {
        let mut s = session(
            "100.00",
            5_000,
            "50.00",
            [PaymentMethod::Points, PaymentMethod::Balance],
        );
        if let Some(p) = s.points.as_mut() {
            p.rules = rules;
        }
        s
    }

    const RULES: PointsRules = PointsRules {
        points_per_unit: 10,
        min_points_per_use: 100,
        max_points_per_order: 800,
        max_share_percent: 60,
        may_pay_whole_order: true,
    };

    #[test]
    fn typed_points_split_exactly_and_the_external_method_takes_the_rest() {
        let s = under(RULES);
        let a = split_with_points(&s, PaymentMethod::Bkash, 300, true).unwrap();
        assert_eq!((a.points, a.balance), (300, bdt(5_000)));
        assert_eq!(a.external, Some((PaymentMethod::Bkash, bdt(2_000))));
        let no_balance = split_with_points(&s, PaymentMethod::Bkash, 300, false).unwrap();
        assert_eq!(no_balance.balance, bdt(0));
        assert_eq!(
            no_balance.external,
            Some((PaymentMethod::Bkash, bdt(7_000)))
        );
    }

    #[test]
    fn typed_points_over_a_cap_or_under_the_minimum_are_refused_with_the_rule() {
        let s = under(RULES);
        let refused = |points| split_with_points(&s, PaymentMethod::Bkash, points, true);
        let rule = |e| Err(Problem::Split(e));
        assert_eq!(refused(900), rule(AllocationError::AbovePointsPerOrder));
        let wide = under(PointsRules {
            max_points_per_order: 50_000,
            ..RULES
        });
        assert_eq!(
            split_with_points(&wide, PaymentMethod::Bkash, 610, true),
            rule(AllocationError::AbovePointsShare)
        );
        assert_eq!(refused(99), rule(AllocationError::BelowMinimumPoints));
        assert_eq!(refused(-100), rule(AllocationError::NegativePoints));
        assert_eq!(
            refused(5_001),
            Err(Problem::NotEnoughPoints { available: 5_000 })
        );
        assert!(refused(900).unwrap_err().about_points());
        assert_eq!(parse_points("12.5"), Err(Problem::PointsNotWhole));
        assert_eq!(parse_points(" 300 "), Ok(300));
    }

    #[test]
    fn points_may_not_pay_the_whole_order_when_the_merchant_says_so() {
        let s = under(PointsRules {
            max_points_per_order: 50_000,
            max_share_percent: 100,
            may_pay_whole_order: false,
            ..RULES
        });
        assert_eq!(
            split_with_points(&s, PaymentMethod::Points, 1_000, false),
            Err(Problem::Split(AllocationError::PointsPayWholeOrder))
        );
        let a = split_with_points(&s, PaymentMethod::Bkash, 999, false).unwrap();
        assert_eq!(a.external, Some((PaymentMethod::Bkash, bdt(10))));
        let bounds = points_bounds(&s).unwrap();
        assert_eq!(
            bounds,
            PointsBounds {
                min: 100,
                max: 999,
                step: 1
            }
        );
    }

    #[test]
    fn the_points_field_is_bounded_by_every_cap_and_what_the_shopper_has() {
        assert_eq!(
            points_bounds(&under(RULES)),
            Some(PointsBounds {
                min: 100,
                max: 600,
                step: 1
            })
        );
        let mut few = under(RULES);
        if let Some(p) = few.points.as_mut() {
            p.available = 250;
        }
        assert_eq!(points_bounds(&few).map(|b| b.max), Some(250));
        let thirds = under(PointsRules {
            points_per_unit: 3,
            min_points_per_use: 100,
            ..RULES
        });
        assert_eq!(
            points_bounds(&thirds),
            Some(PointsBounds {
                min: 102,
                max: 180,
                step: 3
            })
        );
    }

    #[test]
    fn balance_short_by_one_cent_is_refused_alone_and_paid_with_help() {
        let mut s = under(RULES);
        if let Some(b) = s.balance.as_mut() {
            b.available_minor = 9_999;
        }
        let short = Err(Problem::Split(AllocationError::Shortfall {
            remaining: bdt(1),
        }));
        assert_eq!(plan(&s, PaymentMethod::Balance, false, false, None), short);
        let with_bkash = plan(&s, PaymentMethod::Bkash, false, true, None)
            .unwrap()
            .unwrap();
        assert_eq!(with_bkash.balance, bdt(9_999));
        assert_eq!(with_bkash.external, Some((PaymentMethod::Bkash, bdt(1))));
        let with_points = plan(&s, PaymentMethod::Balance, true, false, Some("100"))
            .unwrap()
            .unwrap();
        assert_eq!((with_points.points, with_points.balance), (100, bdt(9_000)));
        assert_eq!(with_points.external, None);
        assert_eq!(
            split_with_points(&s, PaymentMethod::Balance, 0, false),
            Err(Problem::Split(AllocationError::Shortfall {
                remaining: bdt(1)
            }))
        );
    }

    #[test]
    fn only_an_unknown_outcome_keeps_the_payment_key() {
        assert!(Problem::Unreachable.outcome_unknown());
        assert!(Problem::from_code(ErrorCode::InternalError).outcome_unknown());
        assert!(!Problem::from_code(ErrorCode::IncorrectPayPassword).outcome_unknown());
        assert!(!Problem::PasswordFormat.outcome_unknown());
        let mut wrong = ErrorDetail::new(ErrorCode::IncorrectPayPassword);
        wrong.attempts_left = Some(4);
        assert_eq!(Problem::Api(wrong).attempts_left(), Some(4));
        assert_eq!(Problem::Unreachable.code(), "internal_error");
    }

    #[test]
    fn a_wrong_or_missing_password_is_a_password_problem_and_a_lockout_is_not() {
        assert!(Problem::from_code(ErrorCode::IncorrectPayPassword).about_password());
        assert!(Problem::from_code(ErrorCode::PayPasswordRequired).about_password());
        assert!(Problem::PasswordFormat.about_password());
        assert!(!Problem::from_code(ErrorCode::PayPasswordLocked).about_password());
        assert!(!Problem::Unreachable.about_password());
    }
}
