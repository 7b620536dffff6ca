//! The widget's API: trade the client secret for a token, read the session, pay, cancel.

use checkout_core::api::{self, PayRequest, TokenRequest, TokenResponse, WidgetSession};
use checkout_core::token::{self, WidgetClaims, MAX_TOKEN_LIFETIME_S};
use checkout_core::ErrorCode;
use worker::{Env, Request, Response};

use crate::auth;
use crate::clock::now_s;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::session::SessionCommand;
use crate::objects::{self, rpc};

pub fn preflight(req: &Request) -> Result<Response> {
    let origin = req.headers().get("Origin")?;
    http::widget_preflight(origin.as_deref())
}

/// `POST /v1/widget/token`: a token for the session named in the client secret, bound to the
/// calling page's origin.
pub async fn grant_token(mut req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let request: TokenRequest = http::read_json(&mut req).await?;
    let session_id = request
        .client_secret
        .split_once("_secret_")
        .map(|(id, _)| id.to_owned())
        .ok_or_else(|| Error::api(ErrorCode::InvalidClientSecret))?;
    // A malformed or unknown session id is the same answer as a wrong secret.
    let stub = objects::session_by_id(env, &session_id)
        .map_err(|_| Error::api(ErrorCode::InvalidClientSecret))?;
    let authorize = SessionCommand::AuthorizeClient {
        client_secret: request.client_secret,
    };
    rpc::call::<_, ()>(&stub, &authorize)
        .await
        .map_err(|e| match e.detail().code {
            ErrorCode::NotFound => Error::api(ErrorCode::InvalidClientSecret),
            _ => e,
        })?;
    let origin = http::caller_origin(&req)?;
    let claims = WidgetClaims::new(&session_id, &origin, now_s(), MAX_TOKEN_LIFETIME_S);
    let token = token::sign(&claims, config.token_signing_key.expose().as_bytes())
        .map_err(|e| Error::Config(format!("token signing: {e}")))?;
    let response = TokenResponse {
        token,
        session_id,
        expires_at: claims.exp,
    };
    http::json(200, &response)
}

/// `GET /v1/widget/sessions/{id}`.
pub async fn session(req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    auth::widget(&req, &config, session_id, now_s())?;
    let stub = objects::session_by_id(env, session_id)?;
    let view: WidgetSession = rpc::call(&stub, &SessionCommand::WidgetView).await?;
    http::json(200, &view)
}

/// `POST /v1/widget/sessions/{id}/pay`, with an `Idempotency-Key` the widget chose.
pub async fn pay(mut req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    auth::widget(&req, &config, session_id, now_s())?;
    let idempotency_key = req.headers().get("Idempotency-Key")?.unwrap_or_default();
    api::check_idempotency_key(&idempotency_key)?;
    let request: PayRequest = http::read_json(&mut req).await?;
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::Pay {
        idempotency_key,
        method: request.method,
        pay_password: request.pay_password,
        callback_url: super::callbacks::callback_url(&req, env, request.method, session_id)?,
        allocation: request.allocation,
        notify_url: super::callbacks::notify_url(&req, env, session_id)?,
        wechat_flow: request.wechat_flow,
        client_ip: req.headers().get("CF-Connecting-IP")?,
    };
    let view: WidgetSession = rpc::call(&stub, &command).await?;
    http::json(200, &view)
}

/// `POST /v1/widget/sessions/{id}/cancel`: the shopper gives up on the payment under way (a QR
/// code not scanned, a pay sheet dismissed). The provider closes it first, so it cannot be paid
/// afterwards.
pub async fn cancel(req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    auth::widget(&req, &config, session_id, now_s())?;
    let stub = objects::session_by_id(env, session_id)?;
    let view: WidgetSession = rpc::call(&stub, &SessionCommand::CancelPayment).await?;
    http::json(200, &view)
}
