//! The merchant's metrics: success rate, failure codes and provider latency per method, and the
//! alerts that hold.

use checkout_core::ErrorCode;
use worker::{Env, Request, Response};

use crate::auth;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::rpc;
use crate::objects::webhooks::metrics::Metrics;
use crate::objects::webhooks::{self, WebhookCommand};

/// `GET /v1/metrics?window_s=3600` (60 s to 30 days; an hour by default).
pub async fn get(req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let window_s = match req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "window_s")
        .map(|(_, v)| v.into_owned())
    {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|s| (60..=30 * 24 * 3600).contains(s))
            .ok_or_else(|| {
                Error::api_with(
                    ErrorCode::InvalidParameter,
                    "window_s must be 60 to 2592000 seconds.",
                )
            })?,
        None => 3600,
    };
    let stub = webhooks::stub(env, &merchant.scope())?;
    let metrics: Metrics = rpc::call(&stub, &WebhookCommand::Metrics { window_s }).await?;
    http::json(200, &metrics)
}
