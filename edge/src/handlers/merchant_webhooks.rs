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
    check_url(&request.url, merchant.livemode)?;
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

/// HTTPS; plain HTTP only to this machine and only in test mode.
fn check_url(url: &str, livemode: bool) -> Result<()> {
    let local = ["http://localhost", "http://127.0.0.1"]
        .iter()
        .any(|p| url.starts_with(p) && url[p.len()..].starts_with([':', '/']));
    let https = url.len() > "https://".len() && url.starts_with("https://");
    let clean = url.len() <= 2048 && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if clean && (https || (local && !livemode)) {
        return Ok(());
    }
    let mut error = Error::api_with(
        ErrorCode::InvalidParameter,
        "url must be an https:// URL (http://localhost or 127.0.0.1 only in test mode).",
    );
    if let Error::Api(detail) = &mut error {
        detail.param = Some("url".into());
    }
    Err(error)
}
