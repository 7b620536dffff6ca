//! The merchant's webhooks: the endpoint, the events, their delivery attempts, and resending.

use checkout_core::ErrorCode;
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::auth::{self, MerchantContext};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http;
use crate::objects::rpc;
use crate::objects::webhooks::{self, Endpoint, EventView, WebhookCommand};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointRequest {
    url: String,
}

fn merchant(req: &Request, env: &Env) -> Result<MerchantContext> {
    let config = Config::from_env(env)?;
    auth::merchant(req, &config)
}

async fn call<R: serde::de::DeserializeOwned>(
    env: &Env,
    merchant: &MerchantContext,
    command: WebhookCommand,
) -> Result<R> {
    rpc::call(&webhooks::stub(env, &merchant.scope())?, &command).await
}

/// `POST /v1/webhook_endpoints` `{url}`: sets the endpoint and answers its signing secret, once.
/// Setting it again replaces the URL and rotates the secret.
pub async fn set_endpoint(mut req: Request, env: &Env) -> Result<Response> {
    let merchant = merchant(&req, env)?;
    let request: EndpointRequest = http::read_json(&mut req).await?;
    // Plain HTTP to this machine only with test keys.
    checkout_core::urls::check_url("url", &request.url, merchant.livemode)?;
    let command = WebhookCommand::SetEndpoint { url: request.url };
    let endpoint: Endpoint = call(env, &merchant, command).await?;
    http::json(200, &endpoint)
}

/// `GET /v1/events?limit=N`: the newest events first, with their deliveries.
pub async fn list(req: Request, env: &Env) -> Result<Response> {
    let merchant = merchant(&req, env)?;
    let limit = req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == "limit")
        .map(|(_, v)| {
            v.parse::<usize>().map_err(|_| {
                Error::api_with(ErrorCode::InvalidParameter, "limit must be 1 to 100.")
            })
        })
        .transpose()?
        .unwrap_or(20);
    let events: Vec<EventView> = call(env, &merchant, WebhookCommand::List { limit }).await?;
    http::json(200, &serde_json::json!({ "data": events }))
}

/// `GET /v1/events/{id}`.
pub async fn get(req: Request, env: &Env, id: &str) -> Result<Response> {
    let merchant = merchant(&req, env)?;
    let command = WebhookCommand::Get { id: id.to_owned() };
    let event: EventView = call(env, &merchant, command).await?;
    http::json(200, &event)
}

/// `POST /v1/events/{id}/resend`: delivers the event again now, whatever its status.
pub async fn resend(req: Request, env: &Env, id: &str) -> Result<Response> {
    let merchant = merchant(&req, env)?;
    let command = WebhookCommand::Resend { id: id.to_owned() };
    let event: EventView = call(env, &merchant, command).await?;
    http::json(200, &event)
}
