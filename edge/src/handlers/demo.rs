//! The demo shop's back end: what a merchant's server does, as routes of this Worker.
//!
//! It uses the demo merchant's secret key on the server side only, and it hands out client
//! secrets to anyone who asks: so these routes answer only where the dev flag `CHECKOUT_DEMO=1`
//! is set (`cargo xtask dev`, and the tests that use the demo shop). Anywhere else (production)
//! they answer 404, even with a `DEMO_MERCHANT_KEY` configured.

use checkout_core::api::{CreateSessionRequest, PaymentMethod};
use checkout_core::{Currency, ErrorCode};
use worker::{Env, Request, Response};

use super::merchant_sessions::{create_session, retrieve_session};
use crate::auth::{self, MerchantContext};
use crate::config::{Config, Mode};
use crate::crypto::random_id;
use crate::error::{Error, Result};
use crate::http;

/// The customer `cargo xtask dev` funds for the demo.
pub const DEMO_CUSTOMER_ID: &str = "cus_demo";

fn demo_merchant(config: &Config) -> Result<MerchantContext> {
    if !config.demo_enabled {
        return Err(Error::api(ErrorCode::NotFound));
    }
    config
        .demo_merchant_key
        .as_ref()
        .and_then(|key| auth::merchant_for_key(config, key.expose()))
        .ok_or_else(|| Error::api(ErrorCode::NotFound))
}

/// The demo's openid for WeChat's in-app pay sheet; a real shop learns it through WeChat OAuth.
pub const DEMO_WECHAT_OPENID: &str = "oDemo0Shopper0000000000000001";

/// `POST /demo/api/checkout[?currency=CNY]`: the shop's "Buy" creates a session and hands the
/// browser only the client secret. The taka order offers bKash, the yuan order WeChat Pay; both
/// offer cards.
pub async fn checkout(req: Request, env: &Env, request_id: &str) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = demo_merchant(&config)?;
    let url = req.url()?;
    let shop_origin = url.origin().ascii_serialization();
    let yuan = url
        .query_pairs()
        .any(|(key, value)| key == "currency" && value == "CNY");
    let (amount, currency, description) = if yuan {
        ("88.00", Currency::CNY, "Longjing green tea gift box")
    } else {
        ("1250.00", Currency::BDT, "Darjeeling first-flush tea set")
    };
    let request = CreateSessionRequest {
        order_id: format!("tea-{}", random_id(12)?),
        amount: amount.into(),
        currency,
        description: description.into(),
        customer_id: DEMO_CUSTOMER_ID.into(),
        methods: demo_methods(env, &merchant, currency)?,
        return_url: format!("{shop_origin}/"),
        expires_in_s: None,
        wechat_openid: yuan.then(|| DEMO_WECHAT_OPENID.to_owned()),
        capture: None,
    };
    let session = create_session(env, &merchant, request, request_id).await?;
    http::json(
        200,
        &serde_json::json!({"session_id": session.id, "client_secret": session.client_secret}),
    )
}

/// Store balance, points, the provider for `currency` and cards, where this Worker has them
/// configured (`cargo xtask dev` runs the simulators).
fn demo_methods(
    env: &Env,
    merchant: &MerchantContext,
    currency: Currency,
) -> Result<Vec<PaymentMethod>> {
    let mut methods = vec![PaymentMethod::Balance];
    if merchant.points.is_some() {
        methods.push(PaymentMethod::Points);
    }
    for provider in [
        PaymentMethod::Bkash,
        PaymentMethod::WechatPay,
        PaymentMethod::Card,
    ] {
        if provider.accepts(currency)
            && crate::connectors::is_available(provider, env, Mode::of(merchant.livemode))?
        {
            methods.push(provider);
        }
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
