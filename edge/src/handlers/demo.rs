//! The demo shop's back end: what a merchant's server does, as routes of this Worker.
//!
//! It uses the demo merchant's secret key on the server side only. Where no `DEMO_MERCHANT_KEY`
//! is configured (production), these routes answer 404.

use checkout_core::api::{CreateSessionRequest, PaymentMethod};
use checkout_core::{Currency, ErrorCode};
use worker::{Env, Request, Response};

use super::merchant_sessions::{create_session, retrieve_session};
use crate::auth::{self, MerchantContext};
use crate::config::Config;
use crate::crypto::random_id;
use crate::error::{Error, Result};
use crate::http;

/// The customer `cargo xtask dev` funds for the demo.
pub const DEMO_CUSTOMER_ID: &str = "cus_demo";

fn demo_merchant(config: &Config) -> Result<MerchantContext> {
    config
        .demo_merchant_key
        .as_ref()
        .and_then(|key| auth::merchant_for_key(config, key.expose()))
        .ok_or_else(|| Error::api(ErrorCode::NotFound))
}

/// `POST /demo/api/checkout`: the shop's "Buy" creates a session and hands the browser only the
/// client secret.
pub async fn checkout(req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = demo_merchant(&config)?;
    let shop_origin = req.url()?.origin().ascii_serialization();
    let request = CreateSessionRequest {
        order_id: format!("tea-{}", random_id(12)?),
        amount: "1250.00".into(),
        currency: Currency::BDT,
        description: "Darjeeling first-flush tea set".into(),
        customer_id: DEMO_CUSTOMER_ID.into(),
        methods: demo_methods(env, &merchant)?,
        return_url: format!("{shop_origin}/"),
        expires_in_s: None,
    };
    let session = create_session(env, &merchant, request).await?;
    http::json(
        200,
        &serde_json::json!({"session_id": session.id, "client_secret": session.client_secret}),
    )
}

/// Store balance, and bKash where this Worker has it configured (`cargo xtask dev` runs its
/// simulator).
fn demo_methods(env: &Env, merchant: &MerchantContext) -> Result<Vec<PaymentMethod>> {
    let mut methods = vec![PaymentMethod::Balance];
    if merchant.points.is_some() {
        methods.push(PaymentMethod::Points);
    }
    if crate::connectors::is_available(PaymentMethod::Bkash, env)? {
        methods.push(PaymentMethod::Bkash);
    }
    Ok(methods)
}

/// `GET /demo/api/orders/{session_id}/client_secret`: what the shop's page needs to show the
/// widget again when the shopper comes back from a provider's page.
pub async fn client_secret(_req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = demo_merchant(&config)?;
    let session = retrieve_session(env, &merchant, session_id).await?;
    http::json(
        200,
        &serde_json::json!({"client_secret": session.client_secret}),
    )
}

/// `GET /demo/api/orders/{session_id}`: the merchant's back office view of the order.
pub async fn order(_req: Request, env: &Env, session_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = demo_merchant(&config)?;
    let mut session = retrieve_session(env, &merchant, session_id).await?;
    // The back-office page is a browser page: it has no use for the client secret.
    session.client_secret.clear();
    http::json(200, &session)
}
