//! The API under `/v3/`: the gateway in front (latency fault, request signature checks, answer
//! signing) and each endpoint behind it.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use super::crypto::{parse_authorization, request_message, verify_with};
use super::state::{NewOrder, NewRefund, TradeType};
use super::validate::{self, Fields};
use super::wire::{refund_json, transaction_json, ApiError, Code};
use super::{now_s, settle_later, Shared};
use crate::http::{Reply, Request, Response};
use crate::util::{percent_decode, random_string, UPPER_ALNUM};

/// How far a request's timestamp may be from the simulator's clock.
const MAX_SKEW_S: i64 = 300;

/// Serves one `/v3/...` call; every answer, errors included, is signed.
pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Reply {
    let faults = shared.lock().faults.clone();
    if faults.latency_ms > 0 {
        thread::sleep(Duration::from_millis(faults.latency_ms));
    }
    let mut response = answer(shared, request).unwrap_or_else(|e| e.response());
    let body = String::from_utf8_lossy(&response.body).into_owned();
    response
        .headers
        .extend(shared.signed_headers(&body, &faults));
    response
        .headers
        .push(("Request-ID".into(), random_string(40, UPPER_ALNUM)));
    Reply::Respond(response)
}

/// The endpoints, by method and path.
enum Endpoint {
    Prepay(TradeType),
    QueryByOutTradeNo(String),
    QueryById(String),
    Close(String),
    Refund,
    RefundQuery(String),
}

fn endpoint(request: &Request) -> Option<Endpoint> {
    let segments: Vec<String> = request
        .path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["v3", "pay", "transactions", kind]) => Endpoint::Prepay(match *kind {
            "native" => TradeType::Native,
            "h5" => TradeType::H5,
            "jsapi" => TradeType::Jsapi,
            _ => return None,
        }),
        ("GET", ["v3", "pay", "transactions", "out-trade-no", no]) => {
            Endpoint::QueryByOutTradeNo((*no).into())
        }
        ("GET", ["v3", "pay", "transactions", "id", id]) => Endpoint::QueryById((*id).into()),
        ("POST", ["v3", "pay", "transactions", "out-trade-no", no, "close"]) => {
            Endpoint::Close((*no).into())
        }
        ("POST", ["v3", "refund", "domestic", "refunds"]) => Endpoint::Refund,
        ("GET", ["v3", "refund", "domestic", "refunds", no]) => Endpoint::RefundQuery((*no).into()),
        _ => return None,
    })
}

fn answer(shared: &Arc<Shared>, request: &Request) -> Result<Response, ApiError> {
    let endpoint =
        endpoint(request).ok_or_else(|| ApiError::new(Code::NotFound, "请求的资源不存在"))?;
    authenticate(shared, request)?;
    let body = json_body(request)?;
    match endpoint {
        Endpoint::Prepay(kind) => prepay(shared, kind, &body),
        Endpoint::QueryByOutTradeNo(no) => query(shared, request, &no, false),
        Endpoint::QueryById(id) => query(shared, request, &id, true),
        Endpoint::Close(no) => close(shared, &no, &body),
        Endpoint::Refund => refund(shared, &body),
        Endpoint::RefundQuery(no) => refund_query(shared, &no),
    }
}

fn sign_error(message: &str) -> ApiError {
    ApiError::new(Code::SignError, message)
}

/// WeChat's checks on the `Authorization` header; any failure is 401 `SIGN_ERROR`.
fn authenticate(shared: &Shared, request: &Request) -> Result<(), ApiError> {
    let header = request
        .header("Authorization")
        .ok_or_else(|| sign_error("Http头缺少Authorization"))?;
    let pairs = parse_authorization(header).ok_or_else(|| {
        sign_error("Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》")
    })?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| sign_error(&format!("Http头Authorization缺少{key}")))
    };
    let (mchid, serial, timestamp) = (get("mchid")?, get("serial_no")?, get("timestamp")?);
    let (nonce, signature) = (get("nonce_str")?, get("signature")?);
    let config = &shared.config;
    if mchid != config.mchid {
        return Err(sign_error("商户号与Authorization中的mchid不一致"));
    }
    if !serial.eq_ignore_ascii_case(&config.merchant_serial_no) {
        return Err(sign_error(
            "商户证书序列号有误。请使用签名私钥匹配的证书序列号",
        ));
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| sign_error("Authorization中的timestamp不是数字"))?;
    if (now_s() - ts).abs() > MAX_SKEW_S {
        return Err(sign_error("Authorization中的timestamp与当前时间相差过大"));
    }
    let target = if request.query.is_empty() {
        request.path.clone()
    } else {
        format!("{}?{}", request.path, request.query)
    };
    let body = request.body_text();
    let message = request_message(&request.method, &target, timestamp, nonce, &body);
    if !verify_with(&shared.keys.merchant, &message, signature) {
        return Err(sign_error("签名错误，请检查后再试"));
    }
    Ok(())
}

/// The JSON object a POST carries (`Null` for a GET or an empty body).
fn json_body(request: &Request) -> Result<Value, ApiError> {
    if request.body.is_empty() {
        return Ok(Value::Null);
    }
    let json_type = request.header("Content-Type").is_some_and(|t| {
        t.trim()
            .to_ascii_lowercase()
            .starts_with("application/json")
    });
    if !json_type {
        return Err(ApiError::new(
            Code::ParamError,
            "Http头Content-Type值必须为application/json",
        ));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(ApiError::new(Code::ParamError, "请求体不是合法的JSON对象")),
    }
}

fn ok_json(value: &Value) -> Response {
    Response::json(200, value)
}

fn prepay(shared: &Shared, kind: TradeType, body: &Value) -> Result<Response, ApiError> {
    let new: NewOrder = validate::prepay(&shared.config, kind, body)?;
    let mut state = shared.lock();
    let order = state.prepay(
        new,
        &shared.config.appid,
        &shared.config.mchid,
        &shared.origin,
        now_s(),
    )?;
    Ok(ok_json(&match kind {
        TradeType::Native => json!({ "code_url": order.code_url }),
        TradeType::H5 => json!({ "h5_url": order.h5_url }),
        TradeType::Jsapi => json!({ "prepay_id": order.prepay_id }),
    }))
}

/// The `mchid` query parameter every query carries.
fn check_mchid_param(shared: &Shared, request: &Request) -> Result<(), ApiError> {
    match request.query_param("mchid") {
        Some(mchid) if mchid == shared.config.mchid => Ok(()),
        Some(_) => Err(ApiError::new(Code::ParamError, "mchid与请求方商户号不一致")),
        None => Err(ApiError {
            detail: Some(json!({"field": "mchid", "location": "query", "issue": "此字段为必填项"})),
            ..ApiError::new(
                Code::ParamError,
                "输入源“/query/mchid”映射到字段“mchid”必填性规则校验失败，此字段为必填项",
            )
        }),
    }
}

fn query(shared: &Shared, request: &Request, key: &str, by_id: bool) -> Result<Response, ApiError> {
    check_mchid_param(shared, request)?;
    let mut state = shared.lock();
    let no = if by_id {
        state
            .order_by_key(key)
            .filter(|o| o.paid.as_ref().is_some_and(|p| p.transaction_id == key))
            .map(|o| o.out_trade_no.clone())
    } else {
        Some(key.to_owned())
    };
    let order = no
        .and_then(|no| state.orders.get_mut(&no))
        .ok_or_else(|| ApiError::of(Code::OrderNotExist))?;
    order.query_calls += 1;
    Ok(ok_json(&transaction_json(order)))
}

fn close(shared: &Shared, no: &str, body: &Value) -> Result<Response, ApiError> {
    let fields = Fields(body);
    let mchid = fields.string("/mchid", true)?.unwrap_or_default();
    if mchid != shared.config.mchid {
        return Err(ApiError::param("/mchid", "mchid与请求方商户号不一致"));
    }
    shared.lock().close(no)?;
    Ok(Response::empty(204))
}

fn refund(shared: &Arc<Shared>, body: &Value) -> Result<Response, ApiError> {
    let new: NewRefund = validate::refund(body)?;
    let (refund, fresh) = shared.lock().refund(new, now_s())?;
    if fresh {
        settle_later(shared, refund.out_refund_no.clone());
    }
    Ok(ok_json(&refund_json(&refund)))
}

fn refund_query(shared: &Shared, no: &str) -> Result<Response, ApiError> {
    let state = shared.lock();
    let refund = state
        .refunds
        .get(no)
        .ok_or_else(|| ApiError::new(Code::ResourceNotExists, "退款单不存在"))?;
    Ok(ok_json(&refund_json(refund)))
}
