//! Provider callbacks: where bKash sends the shopper's browser back after its hosted page.
//!
//! The query string proves nothing. The session object settles the payment by asking bKash
//! (execute, then query), and only then is the browser sent on to the merchant's return URL.

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
    let base = match config::read(env, "PUBLIC_BASE_URL")? {
        Some(base) => base.expose().trim_end_matches('/').to_owned(),
        None => req.url()?.origin().ascii_serialization(),
    };
    let provider = match method {
        PaymentMethod::Bkash => "bkash",
        _ => "none",
    };
    Ok(format!("{base}/v1/callbacks/{provider}/{session_id}"))
}

#[derive(Debug, Deserialize)]
struct BkashQuery {
    #[serde(rename = "paymentID")]
    payment_id: String,
    status: String,
}

/// `GET /v1/callbacks/bkash/{session_id}?paymentID=..&status=success|failure|cancel`.
pub async fn bkash(req: Request, env: &Env, session_id: &str) -> Result<Response> {
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
    let stub = objects::session_by_id(env, session_id)?;
    let command = SessionCommand::ProviderCallback {
        reference: query.payment_id,
        outcome,
    };
    let return_to: String = rpc::call(&stub, &command).await?;
    // Built by hand: `Response::redirect` has immutable headers, and every response gets a
    // `Request-Id`.
    let response = Response::empty()?.with_status(303);
    response.headers().set("Location", &return_to)?;
    Ok(response)
}
