//! The API under `{base}/tokenized/checkout/`: the gateway in front (faults, id-token and app-key
//! checks, its 401/403/500 answers) and each endpoint behind it.
//!
//! Gateway answers carry `{"message": ...}` with a 4xx/5xx status, as bKash's AWS API Gateway
//! does; bKash's own refusals carry `statusCode`/`statusMessage` on HTTP 200.

use std::thread;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::control::ApiFault;
use super::state::{NewPayment, Payment, PaymentState, Refund, TokenCheck};
use super::wire::{self, bkash_time, error_body, format_amount, parse_amount, Code, Status};
use super::Shared;
use crate::http::{Reply, Request, Response};
use crate::util::{random_string, unix_millis, UPPER_ALNUM};

/// The merchant's short code as bKash reports it in searchTransaction.
const ORGANIZATION_SHORT_CODE: &str = "50022";
/// bKash's limit on invoice numbers, payer references, skus and reasons.
const MAX_TEXT: usize = 255;

/// Serves one API call; `endpoint` is the path after `/tokenized/checkout/`.
pub(super) fn handle(shared: &Shared, request: &Request, endpoint: &str) -> Reply {
    let latency = shared.lock().faults.latency_ms;
    if latency > 0 {
        thread::sleep(Duration::from_millis(latency));
    }
    match shared.lock().faults.take_api_fault() {
        ApiFault::Hang(duration) => return Reply::Hang(duration),
        ApiFault::Fail => return gateway(500, "Internal server error"),
        ApiFault::None => {}
    }
    if request.method != "POST" {
        // API Gateway's answer for a method or resource it does not route.
        return gateway(403, "Missing Authentication Token");
    }
    let answer = match endpoint {
        "token/grant" => grant(shared, request),
        "token/refresh" => refresh(shared, request),
        "create"
        | "execute"
        | "payment/status"
        | "general/searchTransaction"
        | "payment/refund" => {
            if let Err(reply) = authorize(shared, request) {
                return reply;
            }
            if endpoint == "execute" {
                return execute(shared, request);
            }
            if endpoint == "payment/refund" {
                return refund_reply(shared, request);
            }
            match endpoint {
                "create" => create(shared, request),
                "payment/status" => status(shared, request),
                "general/searchTransaction" => search(shared, request),
                _ => refund(shared, request),
            }
        }
        _ => return gateway(403, "Missing Authentication Token"),
    };
    Reply::Respond(Response::json(200, &answer))
}

fn gateway(status: u16, message: &str) -> Reply {
    Reply::Respond(Response::json(status, &json!({ "message": message })))
}

/// The gateway's token check, then bKash's app-key check. The raw token is what bKash
/// documents; `Bearer <token>` is tolerated because many integrations send it and pass.
fn authorize(shared: &Shared, request: &Request) -> Result<(), Reply> {
    let header = request.header("Authorization").unwrap_or("").trim();
    let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
    match shared.lock().check_token(token) {
        TokenCheck::Valid => {}
        TokenCheck::Expired => return Err(gateway(401, "The incoming token has expired")),
        TokenCheck::Unknown => return Err(gateway(401, "Unauthorized")),
    }
    if request.header("X-APP-Key") != Some(shared.config.app_key.as_str()) {
        let body = error_body(Status::of(Code::InvalidAppKey));
        return Err(Reply::Respond(Response::json(200, &body)));
    }
    Ok(())
}

/// The body as `T`, or bKash's `2025 Invalid request body`.
fn body<T: DeserializeOwned>(request: &Request) -> Result<T, Value> {
    serde_json::from_slice(&request.body)
        .map_err(|_| error_body(Status::of(Code::InvalidRequestBody)))
}

fn refusal(code: Code) -> Value {
    error_body(Status::of(code))
}

/// A required text field, or `2065 Mandatory field missing`.
fn required(field: &Option<String>) -> Result<&str, Value> {
    match field.as_deref().map(str::trim) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(refusal(Code::MandatoryFieldMissing)),
    }
}

/// Checks the merchant's username/password headers and app key/secret; bKash answers a bad
/// username with `9999 Username does not exist` and a bad app key with `2001 Invalid App Key`.
fn check_credentials(
    shared: &Shared,
    request: &Request,
    body: &wire::TokenRequest,
) -> Result<(), Value> {
    let config = &shared.config;
    if request.header("username") != Some(config.username.as_str()) {
        return Err(error_body(Status::with_message(
            Code::SystemError,
            "Username does not exist",
        )));
    }
    if request.header("password") != Some(config.password.as_str()) {
        let message = "Incorrect username or password.";
        return Err(error_body(Status::with_message(Code::SystemError, message)));
    }
    let key_ok = body.app_key.as_deref() == Some(config.app_key.as_str());
    if !key_ok || body.app_secret.as_deref() != Some(config.app_secret.as_str()) {
        return Err(refusal(Code::InvalidAppKey));
    }
    Ok(())
}

fn token_answer(shared: &Shared, refresh: Option<String>) -> Value {
    let lifetime = Duration::from_secs(shared.config.token_lifetime_s);
    let (id_token, refresh_token) = shared.lock().issue_token(lifetime, refresh);
    json!(wire::TokenAnswer {
        status_code: Code::Success.code().into(),
        status_message: Code::Success.message().into(),
        id_token,
        token_type: "Bearer",
        expires_in: shared.config.token_lifetime_s,
        refresh_token,
    })
}

fn grant(shared: &Shared, request: &Request) -> Value {
    let run = || -> Result<Value, Value> {
        let body: wire::TokenRequest = body(request)?;
        check_credentials(shared, request, &body)?;
        Ok(token_answer(shared, None))
    };
    run().unwrap_or_else(|e| e)
}

/// A new id token for a known refresh token. Older id tokens stay valid until their own
/// expiry: refreshing does not revoke them (Cognito, behind bKash's gateway, works this way).
fn refresh(shared: &Shared, request: &Request) -> Value {
    let run = || -> Result<Value, Value> {
        let body: wire::TokenRequest = body(request)?;
        check_credentials(shared, request, &body)?;
        let token = required(&body.refresh_token)?.to_owned();
        if !shared.lock().knows_refresh_token(&token) {
            let message = "Invalid Refresh Token";
            return Err(error_body(Status::with_message(Code::SystemError, message)));
        }
        Ok(token_answer(shared, Some(token)))
    };
    run().unwrap_or_else(|e| e)
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

fn is_invoice(text: &str) -> bool {
    text.len() <= MAX_TEXT && text.bytes().all(|b| b.is_ascii_graphic())
}

/// `create`'s checks, in the order bKash reports them.
fn validate_create(shared: &Shared, req: &wire::CreateRequest) -> Result<NewPayment, Value> {
    let check = |ok: bool, code: Code| if ok { Ok(()) } else { Err(refusal(code)) };
    check(required(&req.mode)? == "0011", Code::InvalidMode)?;
    let amount_text = required(&req.amount)?;
    let amount = parse_amount(amount_text).ok_or_else(|| refusal(Code::InvalidAmount))?;
    check(required(&req.currency)? == "BDT", Code::InvalidCurrency)?;
    check(required(&req.intent)? == "sale", Code::InvalidIntent)?;
    let callback_url = required(&req.callback_url)?;
    check(is_http_url(callback_url), Code::InvalidCallbackUrl)?;
    let invoice = required(&req.merchant_invoice_number)?;
    check(is_invoice(invoice), Code::InvalidInvoiceNumber)?;
    let payer_reference = req.payer_reference.clone().unwrap_or_default();
    check(
        payer_reference.len() <= MAX_TEXT,
        Code::InvalidPayerReference,
    )?;
    let limits = &shared.config;
    check(
        (limits.min_amount_paisa..=limits.max_amount_paisa).contains(&amount),
        Code::InvalidAmount,
    )?;
    Ok(NewPayment {
        amount,
        amount_text: amount_text.to_owned(),
        payer_reference,
        callback_url: callback_url.to_owned(),
        invoice: invoice.to_owned(),
    })
}

fn create(shared: &Shared, request: &Request) -> Value {
    let run = || -> Result<Value, Value> {
        let req: wire::CreateRequest = body(request)?;
        let new = validate_create(shared, &req)?;
        let mut state = shared.lock();
        let p = state.create(new).map_err(refusal)?;
        Ok(json!(wire::CreateAnswer {
            payment_id: p.id.clone(),
            bkash_url: format!("{}/checkout?paymentID={}", shared.origin(), p.id),
            callback_url: p.callback_url.clone(),
            success_callback_url: p.callback_with_status("success"),
            failure_callback_url: p.callback_with_status("failure"),
            cancelled_callback_url: p.callback_with_status("cancel"),
            amount: p.amount_text.clone(),
            intent: "sale".into(),
            currency: "BDT".into(),
            payment_create_time: bkash_time(p.created_ms),
            transaction_status: p.state.as_str().into(),
            merchant_invoice_number: p.invoice.clone(),
            status: Status::of(Code::Success),
        }))
    };
    run().unwrap_or_else(|e| e)
}

/// The fields execute and payment/status share.
fn payment_answer(p: &Payment) -> wire::PaymentAnswer {
    wire::PaymentAnswer {
        payment_id: p.id.clone(),
        payment_execute_time: p.executed_ms.map(bkash_time),
        trx_id: p.trx_id.clone(),
        transaction_status: p.state.as_str().into(),
        amount: p.amount_text.clone(),
        currency: "BDT".into(),
        intent: "sale".into(),
        merchant_invoice_number: p.invoice.clone(),
        payer_reference: p.payer_reference.clone(),
        customer_msisdn: p.wallet.clone(),
        status: Status::of(Code::Success),
        ..wire::PaymentAnswer::default()
    }
}

/// Executes, then (fault `drop_execute_response`) may close without answering: the payment is
/// completed all the same, as when bKash's answer is lost on the way back.
fn execute(shared: &Shared, request: &Request) -> Reply {
    let answer = match body::<wire::PaymentIdRequest>(request)
        .and_then(|req| required(&req.payment_id).map(str::to_owned))
    {
        Err(refused) => refused,
        Ok(id) => match shared.lock().execute(&id) {
            Ok(payment) => json!(payment_answer(&payment)),
            Err(code) => refusal(code),
        },
    };
    if shared.lock().faults.take_drop_execute() {
        return Reply::Close;
    }
    Reply::Respond(Response::json(200, &answer))
}

/// `payment/status`: the payment as it stands, with bKash's shopper-verification flag.
fn status(shared: &Shared, request: &Request) -> Value {
    let run = || -> Result<Value, Value> {
        let req: wire::PaymentIdRequest = body(request)?;
        let id = required(&req.payment_id)?;
        let mut state = shared.lock();
        let p = state.status_of(id).map_err(refusal)?;
        let verified = matches!(p.state, PaymentState::Authorized | PaymentState::Completed);
        Ok(json!(wire::PaymentAnswer {
            mode: Some("0011".into()),
            payment_create_time: Some(bkash_time(p.created_ms)),
            verification_status: Some(if verified { "Complete" } else { "Incomplete" }.into()),
            ..payment_answer(p)
        }))
    };
    run().unwrap_or_else(|e| e)
}

fn search(shared: &Shared, request: &Request) -> Value {
    let run = || -> Result<Value, Value> {
        let req: wire::SearchRequest = body(request)?;
        let trx_id = required(&req.trx_id)?;
        let state = shared.lock();
        let (p, refund) = state.search(trx_id).map_err(refusal)?;
        let (kind, amount, completed) = match refund {
            Some(r) => ("Refund", r.amount_text.clone(), r.completed_ms),
            None => (
                "bKash Tokenized Checkout via API",
                p.amount_text.clone(),
                p.executed_ms.unwrap_or(p.created_ms),
            ),
        };
        Ok(json!(wire::SearchAnswer {
            trx_id: trx_id.to_owned(),
            transaction_status: "Completed".into(),
            transaction_type: kind.into(),
            amount,
            currency: "BDT".into(),
            customer_msisdn: p.wallet.clone().unwrap_or_default(),
            organization_short_code: ORGANIZATION_SHORT_CODE.into(),
            initiation_time: bkash_time(p.created_ms),
            completed_time: bkash_time(completed),
            status: Status::of(Code::Success),
        }))
    };
    run().unwrap_or_else(|e| e)
}

fn refund_answer(p: &Payment, r: &Refund) -> Value {
    json!(wire::RefundAnswer {
        completed_time: bkash_time(r.completed_ms),
        transaction_status: "Completed".into(),
        original_trx_id: p.trx_id.clone().unwrap_or_default(),
        refund_trx_id: r.trx_id.clone(),
        amount: r.amount_text.clone(),
        currency: "BDT".into(),
        charge: format_amount(0),
        status: Status::of(Code::Success),
    })
}

/// A refund (fault `drop_refund_response`: made, then closed without answering, as when bKash's
/// answer is lost on the way back), or a refund status, which is answered unless
/// `refund_unsettled` is set (then a refund's answer is lost and every status call fails).
fn refund_reply(shared: &Shared, request: &Request) -> Reply {
    let makes_a_refund = body::<wire::RefundRequest>(request).is_ok_and(|r| r.amount.is_some());
    let unsettled = shared.lock().faults.refund_unsettled;
    if unsettled && !makes_a_refund {
        return gateway(503, "Service Unavailable");
    }
    let answer = refund(shared, request);
    if makes_a_refund && (unsettled || shared.lock().faults.take_drop_refund()) {
        return Reply::Close;
    }
    Reply::Respond(Response::json(200, &answer))
}

/// `payment/refund`: a refund, or with no `amount` the status of the latest refund.
fn refund(shared: &Shared, request: &Request) -> Value {
    let run = || -> Result<Value, Value> {
        let req: wire::RefundRequest = body(request)?;
        let payment_id = required(&req.payment_id)?;
        let trx_id = required(&req.trx_id)?;
        let Some(amount_text) = req.amount.as_deref() else {
            let (p, r) = shared
                .lock()
                .last_refund(payment_id, trx_id)
                .map_err(refusal)?;
            return Ok(refund_answer(&p, &r));
        };
        let amount = parse_amount(amount_text).ok_or_else(|| refusal(Code::InvalidAmount))?;
        let (sku, reason) = (req.sku.unwrap_or_default(), req.reason.unwrap_or_default());
        if sku.len() > MAX_TEXT || reason.len() > MAX_TEXT {
            return Err(refusal(Code::InvalidRequestBody));
        }
        let refund = Refund {
            trx_id: random_string(10, UPPER_ALNUM),
            amount,
            amount_text: amount_text.to_owned(),
            sku,
            reason,
            completed_ms: unix_millis(),
        };
        let (p, r) = shared
            .lock()
            .refund(payment_id, trx_id, refund)
            .map_err(refusal)?;
        Ok(refund_answer(&p, &r))
    };
    run().unwrap_or_else(|e| e)
}
