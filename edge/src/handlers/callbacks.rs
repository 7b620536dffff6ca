//! Provider callbacks: where bKash's hosted page, WeChat Pay's H5 page and Stripe Checkout send
//! the shopper's browser back.
//!
//! The query string proves nothing. The session object settles the payment by asking the
//! provider (bKash: execute, then query; WeChat: query), and only then is the browser sent on to
//! the merchant's return URL. A `cancel` or `failure` is a hint to ask, never a verdict; and a
//! route only reaches legs of its own provider (a bKash callback naming a WeChat `out_trade_no`
//! finds nothing).

use checkout_core::api::PaymentMethod;
use checkout_core::ErrorCode;
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::config;
use crate::error::{Error, Result};
use crate::objects::session::{CallbackOutcome, SessionCommand};
use crate::objects::{self, rpc};

/// The callback URL for a payment of `session_id` with `method`: on `PUBLIC_BASE_URL` when set
/// (behind a custom domain), else on the origin the widget called.
pub fn callback_url(
    req: &Request,
    env: &Env,
    method: PaymentMethod,
    session_id: &str,
) -> Result<String> {
    let provider = match method {
        PaymentMethod::Bkash => "bkash",
        PaymentMethod::WechatPay => "wechat",
        PaymentMethod::Card => "card",
        _ => "none",
    };
    Ok(format!(
        "{}/v1/callbacks/{provider}/{session_id}",
        public_base(req, env)?
    ))
}

/// Where WeChat Pay posts notifications about `session_id`'s payments and refunds.
pub fn notify_url(req: &Request, env: &Env, session_id: &str) -> Result<String> {
    Ok(format!(
        "{}/v1/notifications/wechat/{session_id}",
        public_base(req, env)?
    ))
}

/// `PUBLIC_BASE_URL` when set (behind a custom domain), else the origin that was called.
fn public_base(req: &Request, env: &Env) -> Result<String> {
    Ok(match config::read(env, "PUBLIC_BASE_URL")? {
        Some(base) => base.expose().trim_end_matches('/').to_owned(),
        None => req.url()?.origin().ascii_serialization(),
    })
}

#[derive(Debug, Deserialize)]
struct BkashQuery {
    #[serde(rename = "paymentID")]
    payment_id: String,
    status: String,
}

/// `GET /v1/callbacks/bkash/{session_id}?paymentID=..&status=success|failure|cancel`.
pub async fn bkash(
    req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let query: BkashQuery = req.query().map_err(|_| {
        Error::api_with(
            ErrorCode::InvalidParameter,
            "paymentID and status are required.",
        )
    })?;
    let outcome = match query.status.as_str() {
        "success" => CallbackOutcome::Success,
        "failure" => CallbackOutcome::Failure,
        "cancel" => CallbackOutcome::Cancel,
        _ => {
            return Err(Error::api_with(
                ErrorCode::InvalidParameter,
                "status must be success, failure or cancel.",
            ))
        }
    };
    let callback = Callback {
        provider: PaymentMethod::Bkash,
        reference: query.payment_id,
        outcome,
    };
    back_to_merchant(env, session_id, callback, request_id).await
}

#[derive(Debug, Deserialize)]
struct WechatQuery {
    out_trade_no: String,
}

/// `GET /v1/callbacks/wechat/{session_id}?out_trade_no=..`: the shopper is back from WeChat's H5
/// page, which says nothing about the result.
pub async fn wechat(
    req: Request,
    env: &Env,
    session_id: &str,
    request_id: &str,
) -> Result<Response> {
    let query: WechatQuery = req
        .query()
        .map_err(|_| Error::api_with(ErrorCode::InvalidParameter, "out_trade_no is required."))?;
    let callback = Callback {
        provider: PaymentMethod::WechatPay,
        reference: query.out_trade_no,
        outcome: CallbackOutcome::Returned,
    };
    back_to_merchant(env, session_id, callback, request_id).await
}

#[derive(Debug, Deserialize)]
struct CardQuery {
    checkout_session: Option<String>,
    status: Option<String>,
    payment: Option<String>,
}

/// `GET /v1/callbacks/card/{session_id}?checkout_session=cs_..` (Stripe's `success_url`, its
/// `{CHECKOUT_SESSION_ID}` template filled in), or `?status=cancel&payment=pay_..` (its
/// `cancel_url`: the shopper left Stripe's page). The first proves nothing: the session retrieves
/// the Checkout Session and its PaymentIntent and settles only from what Stripe says. The second
/// expires the Checkout Session unless it was paid meanwhile.
pub async fn card(req: Request, env: &Env, session_id: &str, request_id: &str) -> Result<Response> {
    let query: CardQuery = req.query().map_err(|_| {
        Error::api_with(
            ErrorCode::InvalidParameter,
            "checkout_session, or status=cancel and payment, is required.",
        )
    })?;
    let callback = match (
        query.checkout_session,
        query.status.as_deref(),
        query.payment,
    ) {
        (Some(checkout_session), None, None) => Callback {
            provider: PaymentMethod::Card,
            reference: checkout_session,
            outcome: CallbackOutcome::Returned,
        },
        (None, Some("cancel"), Some(payment)) => Callback {
            provider: PaymentMethod::Card,
            reference: payment,
            outcome: CallbackOutcome::Cancel,
        },
        _ => {
            return Err(Error::api_with(
                ErrorCode::InvalidParameter,
                "checkout_session, or status=cancel and payment, is required.",
            ))
        }
    };
    back_to_merchant(env, session_id, callback, request_id).await
}

/// What a callback route read: the provider is the route's, never the query string's.
struct Callback {
    provider: PaymentMethod,
    reference: String,
    outcome: CallbackOutcome,
}

async fn back_to_merchant(
    env: &Env,
    session_id: &str,
    callback: Callback,
    request_id: &str,
) -> Result<Response> {
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::ProviderCallback {
        provider: callback.provider,
        reference: callback.reference,
        outcome: callback.outcome,
    };
    let return_to: String = rpc::call_for(&stub, &command, Some(request_id)).await?;
    // Built by hand: `Response::redirect` has immutable headers, and every response gets a
    // `Request-Id`.
    let response = Response::empty()?.with_status(303);
    response.headers().set("Location", &return_to)?;
    Ok(response)
}
