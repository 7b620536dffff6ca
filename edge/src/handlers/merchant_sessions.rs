//! `POST /v1/checkout_sessions` and `GET /v1/checkout_sessions/{id}`.

use checkout_core::api::{
    CheckoutSession, CreateRefundRequest, CreateSessionRequest, List, ListPage, PaymentMethod,
    ProviderPaymentStatus, Refund, ResolvePaymentRequest, SessionStatus,
};
use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use worker::{Env, Request, Response};

use crate::auth::{self, MerchantContext};
use crate::clock::now_s;
use crate::config::{Config, Mode};
use crate::connectors;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::session::SessionCommand;
use crate::objects::session_record::SessionRecord;
use crate::objects::{self, rpc};

/// How long a client secret outlives its session: a page opened late still gets a token, and the
/// widget shows the session's end.
const CLIENT_SECRET_GRACE_S: i64 = 24 * 60 * 60;

pub async fn create(mut req: Request, env: &Env, request_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let request: CreateSessionRequest = http::read_json(&mut req).await?;
    http::json(
        200,
        &create_session(env, &merchant, request, request_id).await?,
    )
}

/// Creates the session for `request.order_id`, or returns the existing one for the same request.
pub async fn create_session(
    env: &Env,
    merchant: &MerchantContext,
    request: CreateSessionRequest,
    request_id: &str,
) -> Result<CheckoutSession> {
    // SESSION_MIN_TTL_S lowers the shortest lifetime for test deployments only.
    let min_ttl_s = crate::config::read(env, "SESSION_MIN_TTL_S")?
        .and_then(|s| s.expose().parse::<i64>().ok())
        .unwrap_or(checkout_core::api::MIN_SESSION_TTL_S);
    let valid = request.validate_with_min_ttl(merchant.livemode, min_ttl_s)?;
    // A provider is offered only with the account of the key's own mode (`BKASH_LIVE_*` for a
    // live key): a live key with only sandbox credentials is told so here, before any payment.
    let mode = Mode::of(merchant.livemode);
    for method in &request.methods {
        let available = match method {
            PaymentMethod::Points => merchant.points.is_some(),
            other => connectors::is_available(*other, env, mode)?,
        };
        if !available {
            let mut detail = ErrorDetail::new(ErrorCode::PaymentMethodUnavailable);
            detail.param = Some("methods".into());
            let name = serde_json::to_value(method)?;
            detail.message = format!(
                "The payment method {name} is not available for {} payments on this checkout.",
                mode.as_str()
            );
            return Err(detail.into());
        }
    }
    let (session_id, stub) = objects::session_for_order(env, merchant, &request.order_id)?;
    let now = now_s();
    let expires_at_s = now + valid.ttl_s;
    let config = Config::from_env(env)?;
    // Self-verifying (`checkout_core::client_secret`): the token grant checks it without asking
    // the session; it names the merchant, whose list the page's origin is checked against.
    let client_secret = checkout_core::client_secret::issue(
        config.token_signing_key.expose().as_bytes(),
        &session_id,
        &merchant.merchant_id,
        expires_at_s + CLIENT_SECRET_GRACE_S,
    )
    .ok_or_else(|| Error::Config("the token signing key is too short".into()))?;
    let record = SessionRecord {
        client_secret,
        id: session_id,
        merchant_scope: merchant.scope(),
        merchant_name: merchant.merchant_name.clone(),
        livemode: merchant.livemode,
        request,
        amount: valid.amount,
        status: SessionStatus::Open,
        created_at_s: now,
        expires_at_s,
        payments: Vec::new(),
        refunds: Vec::new(),
        points_rules: merchant.points,
        retained_holds: None,
        wallet_priority: merchant.wallet_priority,
        intents: Vec::new(),
        intent_seq: 0,
    };
    let command = SessionCommand::Create {
        record: Box::new(record),
    };
    rpc::call_for(&stub, &command, Some(request_id)).await
}

pub async fn retrieve(req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    http::json(200, &retrieve_session(env, &merchant, session_id).await?)
}

/// The merchant's view of a session, or `not_found` if it is another merchant's.
pub async fn retrieve_session(
    env: &Env,
    merchant: &MerchantContext,
    session_id: &str,
) -> Result<CheckoutSession> {
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::Retrieve {
        merchant_scope: merchant.scope(),
    };
    rpc::call(&stub, &command).await
}

/// `POST /v1/checkout_sessions/{id}/refunds`, with an `Idempotency-Key` header.
pub async fn refund(
    mut req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let idempotency_key = req.headers().get("Idempotency-Key")?.unwrap_or_default();
    checkout_core::api::check_idempotency_key(&idempotency_key)?;
    let request: CreateRefundRequest = http::read_json(&mut req).await?;
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::Refund {
        merchant_scope: merchant.scope(),
        idempotency_key,
        request,
        notify_url: Some(super::callbacks::notify_url(&req, env, session_id)?),
    };
    let refund: Refund = rpc::call_for(&stub, &command, Some(request_id)).await?;
    http::json(200, &refund)
}

/// `POST /v1/checkout_sessions/{id}/payments/{payment_id}/resolve`: the merchant's decision about
/// a payment held for review (`refund_at_provider` or `accept`). Idempotent: the same decision
/// again answers the same session; another one after it is `review_action_not_allowed`.
pub async fn resolve_payment(
    mut req: Request,
    env: &Env,
    session_id: &str,
    payment_id: &str,
    request_id: &str,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let request: ResolvePaymentRequest = http::read_json(&mut req).await?;
    let command = SessionCommand::ResolvePayment {
        merchant_scope: merchant.scope(),
        payment_id: payment_id.to_owned(),
        action: request.action,
    };
    answer_session(env, session_id, &command, request_id).await
}

/// `POST /v1/checkout_sessions/{id}/capture {amount?}`: takes an authorized card payment,
/// whole or in part (the wallet's held part is posted with it). Sent to the gateway once; a lost
/// answer is settled by reading the payment at the gateway, so repeating this request is safe.
pub async fn capture(
    mut req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let has_body = req
        .headers()
        .get("Content-Length")?
        .is_some_and(|l| l.trim() != "0");
    let request: checkout_core::api::CaptureRequest = if has_body {
        http::read_json(&mut req).await?
    } else {
        checkout_core::api::CaptureRequest::default()
    };
    let command = SessionCommand::Capture {
        merchant_scope: merchant.scope(),
        amount: request.amount,
    };
    answer_session(env, session_id, &command, request_id).await
}

/// `POST /v1/checkout_sessions/{id}/cancel`: voids an authorized card payment and the wallet
/// holds beside it.
pub async fn cancel_authorization(
    req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let command = SessionCommand::VoidAuthorization {
        merchant_scope: merchant.scope(),
    };
    answer_session(env, session_id, &command, request_id).await
}

/// Sends a merchant's `command` to session `session_id` and answers the session as the merchant
/// sees it after the command (resolve, capture, cancel).
async fn answer_session(
    env: &Env,
    session_id: &str,
    command: &SessionCommand,
    request_id: &str,
) -> Result<Response> {
    let stub = objects::session_by_id(env, session_id)?;
    let session: CheckoutSession = rpc::call_for(&stub, command, Some(request_id)).await?;
    http::json(200, &session)
}

/// `GET /v1/checkout_sessions/{id}/payments/{payment_id}/provider_status`.
pub async fn provider_status(
    req: Request,
    env: &Env,
    session_id: &str,
    payment_id: &str,
) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::ProviderStatus {
        merchant_scope: merchant.scope(),
        payment_id: payment_id.to_owned(),
    };
    let status: ProviderPaymentStatus = rpc::call(&stub, &command).await?;
    http::json(200, &status)
}

/// `GET /v1/checkout_sessions/{id}/audit?limit=&starting_after=`: a page of the session's trail,
/// oldest first, as a list (`data`, `has_more`); the next page starts after the last `seq`.
pub async fn audit(req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let page = ListPage::parse(
        param("limit").as_deref(),
        param("starting_after").as_deref(),
    )?;
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::Audit {
        merchant_scope: merchant.scope(),
        page,
    };
    let list: List<serde_json::Value> = rpc::call(&stub, &command).await?;
    http::json(200, &list)
}
