//! WeChat Pay API v3 wire format: error codes with their HTTP statuses, Beijing-time RFC 3339
//! timestamps, identifier shapes, and the transaction and refund JSON the API answers with.
//!
//! Errors are `{"code", "message"}` on a 4xx/5xx; `PARAM_ERROR` also carries
//! `detail: {field, location, issue}` as WeChat's do, so a failing test names the field.

use serde_json::{json, Value};

use super::state::{Order, Refund, RefundStatus, TradeState};
use crate::http::Response;
use crate::util::{next_u64, random_string, Civil};

/// WeChat's error codes that the simulator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    ParamError,
    InvalidRequest,
    AppidMchidNotMatch,
    SignError,
    OutTradeNoUsed,
    OrderPaid,
    OrderClosed,
    OrderNotExist,
    ResourceNotExists,
    NotFound,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ParamError => "PARAM_ERROR",
            Code::InvalidRequest => "INVALID_REQUEST",
            Code::AppidMchidNotMatch => "APPID_MCHID_NOT_MATCH",
            Code::SignError => "SIGN_ERROR",
            Code::OutTradeNoUsed => "OUT_TRADE_NO_USED",
            Code::OrderPaid => "ORDERPAID",
            Code::OrderClosed => "ORDER_CLOSED",
            Code::OrderNotExist => "ORDER_NOT_EXIST",
            Code::ResourceNotExists => "RESOURCE_NOT_EXISTS",
            Code::NotFound => "NOT_FOUND",
        }
    }

    /// The HTTP status WeChat's error tables give the code.
    pub fn status(self) -> u16 {
        match self {
            Code::ParamError
            | Code::InvalidRequest
            | Code::AppidMchidNotMatch
            | Code::OrderClosed => 400,
            Code::SignError => 401,
            Code::OutTradeNoUsed | Code::OrderPaid => 403,
            Code::OrderNotExist | Code::ResourceNotExists | Code::NotFound => 404,
        }
    }

    pub fn default_message(self) -> &'static str {
        match self {
            Code::ParamError => "参数错误",
            Code::InvalidRequest => "无效请求",
            Code::AppidMchidNotMatch => "AppID和mch_id不匹配",
            Code::SignError => "签名错误",
            Code::OutTradeNoUsed => "商户订单号重复",
            Code::OrderPaid => "订单已支付",
            Code::OrderClosed => "订单已关闭",
            Code::OrderNotExist => "订单不存在",
            Code::ResourceNotExists => "资源不存在",
            Code::NotFound => "请求的资源不存在",
        }
    }
}

/// A refusal on its way to becoming a signed error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub detail: Option<Value>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn of(code: Code) -> ApiError {
        ApiError::new(code, code.default_message())
    }

    /// `PARAM_ERROR` about the body field at JSON pointer `field` (e.g. `/amount/total`).
    pub fn param(field: &str, issue: &str) -> ApiError {
        ApiError {
            code: Code::ParamError,
            message: format!("输入源“/body{field}”映射到字段校验失败：{issue}"),
            detail: Some(json!({"field": field, "location": "body", "issue": issue})),
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({"code": self.code.as_str(), "message": self.message});
        if let Some(detail) = &self.detail {
            body["detail"] = detail.clone();
        }
        body
    }

    /// The unsigned answer; the API layer signs every answer on its way out.
    pub fn response(&self) -> Response {
        Response::json(self.code.status(), &self.body())
    }
}

const BEIJING_OFFSET_S: i64 = 8 * 3600;

/// Unix seconds as RFC 3339 in Beijing time, as WeChat writes times: `2018-06-08T10:34:56+08:00`.
pub fn beijing_time(unix_s: i64) -> String {
    let c = Civil::from_unix_millis((unix_s.max(0) as u64) * 1000, BEIJING_OFFSET_S);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `yyyyMMddHHmmss` in Beijing time, as inside WeChat's prepay ids.
fn beijing_compact(unix_s: i64) -> String {
    beijing_time(unix_s)[..19]
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Unix seconds of an RFC 3339 time (`2026-11-23T18:00:00+08:00`, `...Z`, optional fraction);
/// `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .filter(|&n| n > 0)?;
        rest = &fraction[end..];
    }
    let offset_s = match rest {
        "Z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m): (i64, i64) = (rest[1..3].parse().ok()?, rest[4..6].parse().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_s)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date; Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn random_digits(len: usize) -> String {
    random_string(len, b"0123456789")
}

/// `weixin://wxpay/bizpayurl?pr=` and 7 letters or digits, like WeChat's Native code URLs.
pub fn new_code_url() -> String {
    format!(
        "weixin://wxpay/bizpayurl?pr={}",
        random_string(7, crate::util::ALNUM)
    )
}

/// `wx`, the Beijing time `yyyyMMddHHmmss`, then 20 hex digits, like
/// `wx201410272009395522657a690389285100` in WeChat's JSAPI documentation.
pub fn new_prepay_id(unix_s: i64) -> String {
    format!(
        "wx{}{}",
        beijing_compact(unix_s),
        random_string(20, b"0123456789abcdef")
    )
}

/// 28 digits, `4200000985202311235834957420`: a channel prefix, the Beijing date, a serial.
pub fn new_transaction_id(unix_s: i64) -> String {
    format!(
        "42000{}{}{}",
        random_digits(5),
        &beijing_compact(unix_s)[..8],
        random_digits(10)
    )
}

/// 29 digits starting `50`, like `50300604212020051600550537447`.
pub fn new_refund_id() -> String {
    format!("50{}", random_digits(27))
}

/// A random (version 4 shaped) UUID, as notification ids are.
pub fn new_uuid() -> String {
    let (a, b) = (next_u64(), next_u64());
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][(b % 4) as usize],
        &hex[17..20],
        &hex[20..32]
    )
}

pub fn trade_state_desc(state: TradeState) -> &'static str {
    match state {
        TradeState::Success => "支付成功",
        TradeState::Refund => "转入退款",
        TradeState::NotPay => "订单未支付",
        TradeState::Closed => "订单已关闭",
        TradeState::PayError => "支付失败，请重新下单支付",
    }
}

/// The transaction exactly as the order query answers and the notification carries it. Fields
/// that exist only once paid (`transaction_id`, `trade_type`, `bank_type`, `success_time`,
/// `payer`, `amount.payer_total`) are left out before, as WeChat leaves them out.
pub fn transaction_json(order: &Order) -> Value {
    let mut amount = json!({
        "total": order.total, "currency": "CNY", "payer_currency": "CNY",
    });
    let mut body = json!({
        "appid": order.appid, "mchid": order.mchid, "out_trade_no": order.out_trade_no,
        "trade_state": order.state.as_str(), "trade_state_desc": trade_state_desc(order.state),
        "attach": order.attach.clone().unwrap_or_default(),
        "promotion_detail": [],
    });
    if let Some(paid) = &order.paid {
        // What was taken and for which order, as the transaction reports them (faults
        // `pay_short_fen` and `report_out_trade_no` make them differ from the order).
        amount["total"] = json!(paid.total);
        amount["payer_total"] = json!(paid.total);
        body["out_trade_no"] = json!(paid.reported_out_trade_no);
        body["transaction_id"] = json!(paid.transaction_id);
        body["trade_type"] = json!(order.trade_type.as_str());
        body["bank_type"] = json!("OTHERS");
        body["success_time"] = json!(beijing_time(paid.success_s));
        body["payer"] = json!({"openid": paid.openid});
    }
    body["amount"] = amount;
    body
}

/// A refund as the refund call and the refund query answer it.
pub fn refund_json(refund: &Refund) -> Value {
    let mut body = json!({
        "refund_id": refund.refund_id, "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id, "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
        "create_time": beijing_time(refund.create_s), "status": refund.status.as_str(),
        "funds_account": "AVAILABLE", "promotion_detail": [],
        "amount": {
            "total": refund.total, "refund": refund.amount, "from": [],
            "payer_total": refund.total, "payer_refund": refund.amount,
            "settlement_refund": refund.amount, "settlement_total": refund.total,
            "discount_refund": 0, "currency": "CNY", "refund_fee": 0,
        },
    });
    if let Some(success_s) = refund.success_s {
        body["success_time"] = json!(beijing_time(success_s));
    }
    body
}

/// The plaintext of a `REFUND.SUCCESS` notification.
pub fn refund_notification_json(refund: &Refund, mchid: &str) -> Value {
    json!({
        "mchid": mchid, "out_trade_no": refund.out_trade_no,
        "transaction_id": refund.transaction_id, "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id, "refund_status": RefundStatus::Success.as_str(),
        "success_time": beijing_time(refund.success_s.unwrap_or(refund.create_s)),
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": refund.total, "refund": refund.amount,
            "payer_total": refund.total, "payer_refund": refund.amount,
        },
    })
}

/// `¥12.34`, for the shopper's pages.
pub fn display_yuan(fen: i64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_beijing_rfc3339_both_ways() {
        // 2018-06-08T10:34:56+08:00 is the example in WeChat's prepay documentation.
        assert_eq!(beijing_time(1_528_425_296), "2018-06-08T10:34:56+08:00");
        assert_eq!(
            parse_rfc3339("2018-06-08T10:34:56+08:00"),
            Some(1_528_425_296)
        );
        assert_eq!(parse_rfc3339("2018-06-08T02:34:56Z"), Some(1_528_425_296));
        assert_eq!(
            parse_rfc3339("2018-06-08T02:34:56.789Z"),
            Some(1_528_425_296)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "2018-06-08 10:34:56+08:00",
            "2018-02-30T10:34:56+08:00",
            "2018-06-08T10:34:56",
            "2018-06-08T10:34:56+0800",
            "1528425296",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn identifiers_have_wechats_shapes() {
        let now = 1_700_722_800; // 2023-11-23T15:00:00+08:00
        let prepay = new_prepay_id(now);
        assert!(
            prepay.starts_with("wx20231123150000") && prepay.len() == 36,
            "{prepay}"
        );
        let transaction = new_transaction_id(now);
        assert_eq!(transaction.len(), 28);
        assert!(transaction.starts_with("42000") && &transaction[10..18] == "20231123");
        assert!(new_refund_id().len() == 29);
        let uuid = new_uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.matches('-').count(), 4);
        assert_eq!(display_yuan(1234), "¥12.34");
        assert_eq!(display_yuan(5), "¥0.05");
    }
}
