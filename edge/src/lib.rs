//! The checkout's Cloudflare Worker.
//!
//! - `lib.rs` (this file): the entry point and the router. Nothing else.
//! - [`handlers`]: one named function per route, grouped by API (merchant, widget, demo).
//! - [`objects`]: the Durable Objects: `CheckoutSession` (one per session) and `Wallet` (one per
//!   customer per merchant), and the internal RPC between them.
//! - [`auth`], [`config`], [`crypto`], [`http`], [`clock`]: plumbing the handlers share.
//! - [`error`]: the one error type, turned into a response in exactly one place ([`respond`]).
//!
//! Architecture Invariant: every secret (merchant keys, the token-signing key, pay-password
//! hashes) stays inside this Worker; the browser only ever holds a client secret and a token.

pub mod auth;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod crypto;
pub mod error;
pub mod handlers;
pub mod http;
pub mod objects;

use worker::{
    console_log, event, Context, Env, Method, Request, Response, ScheduleContext, ScheduledEvent,
};

use crate::error::{Error, Result};
use crate::handlers::{
    callbacks, demo, merchant_reports, merchant_sessions, merchant_wallets, merchant_webhooks,
    notifications, widget,
};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started_ms = clock::now_ms();
    let request_id = crypto::random_id(20)
        .map(|id| format!("req_{id}"))
        .unwrap_or_default();
    let method = req.method();
    let path = req.path();
    let origin = req.headers().get("Origin").ok().flatten();
    let result = route(req, &env, &method, &path).await;
    respond(
        result,
        &request_id,
        &method,
        &path,
        origin.as_deref(),
        started_ms,
    )
}

/// The reconciliation cron: asks each session with a leg pending past the threshold to settle it
/// with its provider.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    // How long a leg may stay pending before the cron asks its provider (RECONCILE_AFTER_S).
    let threshold_s = config::read(&env, "RECONCILE_AFTER_S")
        .ok()
        .flatten()
        .and_then(|s| s.expose().parse::<i64>().ok())
        .unwrap_or(120);
    let due = match objects::reconciler::due(&env, threshold_s * 1000).await {
        Ok(due) => due,
        Err(e) => {
            console_log!(
                "{}",
                serde_json::json!({"level": "error", "cron": "reconcile", "error": e.to_string()})
            );
            return;
        }
    };
    for session_id in due {
        let result = match objects::session_by_id(&env, &session_id) {
            Ok(stub) => {
                objects::rpc::call::<_, ()>(&stub, &objects::session::SessionCommand::Reconcile)
                    .await
            }
            Err(e) => Err(e),
        };
        let outcome = result.err().map(|e| e.to_string());
        console_log!(
            "{}",
            serde_json::json!({"level": "info", "cron": "reconcile", "session_id": session_id, "error": outcome})
        );
    }
}

/// Maps `(method, path)` to its handler. A known path with another method is a 405.
async fn route(req: Request, env: &Env, method: &Method, path: &str) -> Result<Response> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["healthz"]) => handlers::health(),
        (Method::Post, ["v1", "checkout_sessions"]) => merchant_sessions::create(req, env).await,
        (Method::Get, ["v1", "checkout_sessions", id]) => {
            merchant_sessions::retrieve(req, env, id).await
        }
        (Method::Post, ["v1", "checkout_sessions", id, "refunds"]) => {
            merchant_sessions::refund(req, env, id).await
        }
        (Method::Get, ["v1", "checkout_sessions", id, "payments", payment, "provider_status"]) => {
            merchant_sessions::provider_status(req, env, id, payment).await
        }
        (Method::Post, ["v1", "webhook_endpoints"]) => {
            merchant_webhooks::set_endpoint(req, env).await
        }
        (Method::Get, ["v1", "events"]) => merchant_webhooks::list(req, env).await,
        (Method::Get, ["v1", "reports", "daily"]) => merchant_reports::daily(req, env).await,
        (Method::Get, ["v1", "events", id]) => merchant_webhooks::get(req, env, id).await,
        (Method::Post, ["v1", "events", id, "resend"]) => {
            merchant_webhooks::resend(req, env, id).await
        }
        (Method::Get, ["v1", "callbacks", "bkash", id]) => callbacks::bkash(req, env, id).await,
        (Method::Get, ["v1", "callbacks", "wechat", id]) => callbacks::wechat(req, env, id).await,
        (Method::Post, ["v1", "notifications", "wechat", id]) => {
            notifications::wechat(req, env, id).await
        }
        (Method::Post, ["v1", "customers", customer, "balance_credits"]) => {
            merchant_wallets::credit(req, env, customer).await
        }
        (Method::Post, ["v1", "customers", customer, "points_credits"]) => {
            let kind = checkout_core::api::PointsAdjustmentKind::Credit;
            merchant_wallets::adjust_points(req, env, customer, kind).await
        }
        (Method::Post, ["v1", "customers", customer, "points_debits"]) => {
            let kind = checkout_core::api::PointsAdjustmentKind::Debit;
            merchant_wallets::adjust_points(req, env, customer, kind).await
        }
        (Method::Get, ["v1", "customers", customer, "wallet"]) => {
            merchant_wallets::retrieve(req, env, customer).await
        }
        (Method::Put, ["v1", "customers", customer, "pay_password"]) => {
            merchant_wallets::set_pay_password(req, env, customer).await
        }
        (Method::Options, ["v1", "widget", ..]) => widget::preflight(&req),
        (Method::Post, ["v1", "widget", "token"]) => widget::grant_token(req, env).await,
        (Method::Get, ["v1", "widget", "sessions", id]) => widget::session(req, env, id).await,
        (Method::Post, ["v1", "widget", "sessions", id, "pay"]) => widget::pay(req, env, id).await,
        (Method::Post, ["v1", "widget", "sessions", id, "cancel"]) => {
            widget::cancel(req, env, id).await
        }
        (Method::Post, ["demo", "api", "checkout"]) => demo::checkout(req, env).await,
        (Method::Get, ["demo", "api", "orders", id]) => demo::order(req, env, id).await,
        (Method::Get, ["demo", "api", "orders", id, "client_secret"]) => {
            demo::client_secret(req, env, id).await
        }
        (_, ["healthz"] | ["v1", "checkout_sessions", ..] | ["v1", "customers", ..])
        | (_, ["v1", "widget", ..] | ["v1", "callbacks", ..] | ["demo", "api", ..])
        | (_, ["v1", "notifications", ..] | ["v1", "webhook_endpoints"] | ["v1", "events", ..])
        | (_, ["v1", "reports", ..]) => Err(Error::api(checkout_core::ErrorCode::MethodNotAllowed)),
        _ => Err(Error::api(checkout_core::ErrorCode::NotFound)),
    }
}

/// The one place where a result becomes a response, with its request id, CORS and log line.
fn respond(
    result: Result<Response>,
    request_id: &str,
    method: &Method,
    path: &str,
    origin: Option<&str>,
    started_ms: i64,
) -> worker::Result<Response> {
    let (response, error) = match result {
        Ok(response) => (Ok(response), None),
        Err(error) => (http::error_response(&error), Some(error)),
    };
    let response = response
        .or_else(|e| http::error_response(&Error::Invariant(format!("building the response: {e}"))))
        .map_err(|e| worker::Error::from(e.to_string()))?;
    let headers = response.headers();
    headers.set("Request-Id", request_id)?;
    if path.starts_with("/v1/") || path.starts_with("/demo/") {
        headers.set("Cache-Control", "no-store")?;
    }
    if path.starts_with("/v1/widget/") {
        http::add_widget_cors(headers, origin).map_err(|e| worker::Error::from(e.to_string()))?;
    }
    log_request(
        request_id,
        method,
        path,
        response.status_code(),
        error.as_ref(),
        started_ms,
    );
    Ok(response)
}

/// One JSON line per request. Paths carry ids but never secrets; errors are logged by code, and
/// internal details only for internal errors.
fn log_request(
    request_id: &str,
    method: &Method,
    path: &str,
    status: u16,
    error: Option<&Error>,
    started_ms: i64,
) {
    let line = serde_json::json!({
        "level": if error.is_some_and(Error::is_internal) { "error" } else { "info" },
        "request_id": request_id,
        "method": method.to_string(),
        "path": path,
        "status": status,
        "duration_ms": clock::now_ms() - started_ms,
        "code": error.map(|e| e.detail().code.as_str()),
        "internal": error.filter(|e| e.is_internal()).map(|e| e.to_string()),
    });
    console_log!("{line}");
}
