//! `POST /v1/checkout_sessions` and `GET /v1/checkout_sessions/{id}`.

use checkout_core::api::{CheckoutSession, CreateSessionRequest, SessionStatus};
use checkout_core::ErrorCode;
use worker::{Env, Request, Response};

use crate::auth::{self, MerchantContext};
use crate::clock::now_s;
use crate::config::Config;
use crate::crypto::random_id;
use crate::error::Result;
use crate::http;
use crate::objects::session::SessionCommand;
use crate::objects::session_record::{SessionRecord, AVAILABLE_METHODS};
use crate::objects::{self, rpc};

pub async fn create(mut req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let request: CreateSessionRequest = http::read_json(&mut req).await?;
    http::json(200, &create_session(env, &merchant, request).await?)
}

/// Creates the session for `request.order_id`, or returns the existing one for the same request.
pub async fn create_session(
    env: &Env,
    merchant: &MerchantContext,
    request: CreateSessionRequest,
) -> Result<CheckoutSession> {
    let valid = request.validate()?;
    if let Some(method) = request
        .methods
        .iter()
        .find(|m| !AVAILABLE_METHODS.contains(m))
    {
        let mut detail =
            checkout_core::error::ErrorDetail::new(ErrorCode::PaymentMethodUnavailable);
        detail.param = Some("methods".into());
        detail.message = format!("The payment method {method:?} is not available yet.");
        return Err(detail.into());
    }
    let (session_id, stub) = objects::session_for_order(env, merchant, &request.order_id)?;
    let now = now_s();
    let record = SessionRecord {
        client_secret: format!("{session_id}_secret_{}", random_id(32)?),
        id: session_id,
        merchant_scope: merchant.scope(),
        merchant_name: merchant.merchant_name.clone(),
        livemode: merchant.livemode,
        request,
        amount: valid.amount,
        status: SessionStatus::Open,
        created_at_s: now,
        expires_at_s: now + valid.ttl_s,
        payments: Vec::new(),
    };
    let command = SessionCommand::Create {
        record: Box::new(record),
    };
    rpc::call(&stub, &command).await
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
