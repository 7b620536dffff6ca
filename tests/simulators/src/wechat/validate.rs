//! Field rules of the prepay and refund bodies, as WeChat's parameter tables state them. A
//! failure is 400 `PARAM_ERROR` naming the field (its JSON pointer), except an `appid`/`mchid`
//! that is not the merchant's: 400 `APPID_MCHID_NOT_MATCH`.

use serde_json::Value;

use super::state::{NewOrder, NewRefund, TradeType};
use super::wire::{parse_rfc3339, ApiError, Code};
use super::WechatSimConfig;

const REQUIRED: &str = "此字段为必填项";

/// Typed reads of a JSON body by pointer (`/amount/total`).
pub struct Fields<'a>(pub &'a Value);

impl<'a> Fields<'a> {
    fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.0.pointer(pointer).filter(|v| !v.is_null())
    }

    pub fn string(&self, pointer: &str, required: bool) -> Result<Option<&'a str>, ApiError> {
        match self.get(pointer) {
            None if required => Err(ApiError::param(pointer, REQUIRED)),
            None => Ok(None),
            Some(Value::String(s)) if required && s.is_empty() => {
                Err(ApiError::param(pointer, REQUIRED))
            }
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::param(pointer, "类型错误，应为string")),
        }
    }

    /// A required integer of at least 1 (fen).
    pub fn positive_int(&self, pointer: &str) -> Result<i64, ApiError> {
        match self.get(pointer) {
            None => Err(ApiError::param(pointer, REQUIRED)),
            Some(v) => match v.as_i64() {
                Some(n) if n >= 1 => Ok(n),
                Some(_) => Err(ApiError::param(pointer, "应大于等于1")),
                None => Err(ApiError::param(pointer, "类型错误，应为integer")),
            },
        }
    }
}

fn check(ok: bool, pointer: &str, issue: &str) -> Result<(), ApiError> {
    if ok {
        Ok(())
    } else {
        Err(ApiError::param(pointer, issue))
    }
}

/// `[min, max]` characters of digits, letters and `extra`.
fn is_reference(text: &str, min: usize, max: usize, extra: &str) -> bool {
    (min..=max).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// An absolute http(s) URL without a query string (WeChat: "不允许携带查询串").
fn is_notify_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r.contains(['?', '#'])
            && !r.contains(char::is_whitespace)
    }) && url.len() <= 255
}

/// Checks a Native, H5 or JSAPI prepay body.
pub fn prepay(
    config: &WechatSimConfig,
    kind: TradeType,
    body: &Value,
) -> Result<NewOrder, ApiError> {
    let f = Fields(body);
    let appid = f.string("/appid", true)?.unwrap_or_default();
    let mchid = f.string("/mchid", true)?.unwrap_or_default();
    let description = f.string("/description", true)?.unwrap_or_default();
    check(
        description.len() <= 127,
        "/description",
        "长度不能超过127字节",
    )?;
    let out_trade_no = f.string("/out_trade_no", true)?.unwrap_or_default();
    check(
        is_reference(out_trade_no, 6, 32, "_-|*"),
        "/out_trade_no",
        "应为6-32位数字、大小写字母或_-|*",
    )?;
    let time_expire_s = match f.string("/time_expire", false)? {
        Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
            ApiError::param(
                "/time_expire",
                "应为rfc3339格式，如2018-06-08T10:34:56+08:00",
            )
        })?),
        None => None,
    };
    let attach = f.string("/attach", false)?;
    check(
        attach.is_none_or(|a| a.len() <= 128),
        "/attach",
        "长度不能超过128字节",
    )?;
    let notify_url = f.string("/notify_url", true)?.unwrap_or_default();
    check(
        is_notify_url(notify_url),
        "/notify_url",
        "应为不带查询串的http(s)绝对地址",
    )?;
    let total = f.positive_int("/amount/total")?;
    let currency = f.string("/amount/currency", false)?.unwrap_or("CNY");
    check(currency == "CNY", "/amount/currency", "仅支持CNY")?;
    let openid = match kind {
        TradeType::H5 => {
            f.string("/scene_info/payer_client_ip", true)?;
            f.string("/scene_info/h5_info/type", true)?;
            None
        }
        TradeType::Jsapi => f.string("/payer/openid", true)?.map(str::to_owned),
        TradeType::Native => None,
    };
    if appid != config.appid || mchid != config.mchid {
        return Err(ApiError::of(Code::AppidMchidNotMatch));
    }
    Ok(NewOrder {
        trade_type: kind,
        out_trade_no: out_trade_no.to_owned(),
        description: description.to_owned(),
        attach: attach.map(str::to_owned),
        notify_url: notify_url.to_owned(),
        total,
        time_expire_s,
        openid,
        request: body.clone(),
    })
}

/// Checks a refund body.
pub fn refund(body: &Value) -> Result<NewRefund, ApiError> {
    let f = Fields(body);
    let transaction_id = f.string("/transaction_id", false)?;
    let out_trade_no = f.string("/out_trade_no", false)?;
    if transaction_id.is_none() && out_trade_no.is_none() {
        return Err(ApiError::param(
            "/out_trade_no",
            "transaction_id和out_trade_no必须二选一",
        ));
    }
    let out_refund_no = f.string("/out_refund_no", true)?.unwrap_or_default();
    check(
        is_reference(out_refund_no, 1, 64, "_-|*@"),
        "/out_refund_no",
        "应为1-64位数字、大小写字母或_-|*@",
    )?;
    let reason = f.string("/reason", false)?;
    check(
        reason.is_none_or(|r| r.chars().count() <= 80),
        "/reason",
        "长度不能超过80个字符",
    )?;
    let notify_url = f.string("/notify_url", false)?;
    check(
        notify_url.is_none_or(is_notify_url),
        "/notify_url",
        "应为不带查询串的http(s)绝对地址",
    )?;
    let refund = f.positive_int("/amount/refund")?;
    let total = f.positive_int("/amount/total")?;
    let currency = f.string("/amount/currency", true)?.unwrap_or_default();
    check(currency == "CNY", "/amount/currency", "仅支持CNY")?;
    Ok(NewRefund {
        out_trade_no: out_trade_no.map(str::to_owned),
        transaction_id: transaction_id.map(str::to_owned),
        out_refund_no: out_refund_no.to_owned(),
        reason: reason.map(str::to_owned),
        notify_url: notify_url.map(str::to_owned),
        refund,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_urls_follow_wechats_rules() {
        assert!(is_reference("pay_1-2|3*", 6, 32, "_-|*"));
        assert!(!is_reference("short", 6, 32, "_-|*"));
        assert!(!is_reference("has space 1", 6, 32, "_-|*"));
        assert!(!is_reference(&"x".repeat(33), 6, 32, "_-|*"));
        assert!(is_notify_url("https://shop.example/wechat/notify"));
        assert!(is_notify_url("http://127.0.0.1:8787/hooks/wechat"));
        assert!(!is_notify_url("https://shop.example/notify?x=1"));
        assert!(!is_notify_url("/relative"));
        assert!(!is_notify_url("ftp://shop.example/"));
    }
}
