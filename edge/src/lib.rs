//! The checkout's Cloudflare Worker.
//!
//! - `lib.rs` (this file): the entry point and the router. Nothing else.
//! - [`handlers`]: one named function per route, grouped by API (merchant, widget, demo).
//! - [`objects`]: the Durable Objects: `CheckoutSession` (one per session) and `Wallet` (one per
//!   customer per merchant), and the internal RPC between them.
//! - [`saga`]: the session's saga (hold, charge, post or void, refunds, reviews, expiry) as a pure,
//!   deterministic state machine without I/O; `CheckoutSession` is its thin shell.
//! - [`auth`], [`config`], [`crypto`], [`http`], [`clock`]: plumbing the handlers share.
//! - [`reconciliation`]: the reconciliation report, the provider's figures against the books.
//! - [`rate_limit`]: per-address and per-session limits on token grants and payments (Workers'
//!   rate-limiting binding) and on wrong pay passwords per address (the `RateLimiter` object).
//! - [`log`]: structured JSON log lines, scrubbed of credentials and wallet numbers.
//! - [`error`]: the one error type, turned into a response in exactly one place ([`respond`]),
//!   which also adds the security headers, CORS and the request's log line.
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
pub mod log;
pub mod objects;
pub mod rate_limit;
pub mod reconciliation;
pub mod saga;

use worker::{event, Context, Env, Method, Request, Response, ScheduleContext, ScheduledEvent};

use crate::error::{Error, Result};
use crate::handlers::{
    callbacks, demo, frame, merchant_metrics, merchant_reports, merchant_sessions,
    merchant_wallets, merchant_webhooks, notifications, widget, widget_status,
};
use crate::log::Level;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let started_ms = clock::now_ms();
    // Before anything is logged: a credential in a request path is masked by value too.
    log::remember_env_secrets(&env);
    let request_id = crypto::random_id(20)
        .map(|id| format!("req_{id}"))
        .unwrap_or_default();
    let method = req.method();
    let path = req.path();
    let cors_origin = path
        .starts_with("/v1/widget/")
        .then(|| http::widget_cors_origin(&req, &env))
        .flatten();
    let result = route(req, &env, &ctx, &method, &path, &request_id).await;
    let request = RequestLine {
        request_id: &request_id,
        method: &method,
        path: &path,
        started_ms,
    };
    respond(result, &request, cors_origin.as_deref())
}

/// The reconciliation cron: asks each session with a leg pending past the threshold to settle it
/// with its provider, then visits sessions past their expiry (a safety net for their alarms).
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    reconcile_pending(&env).await;
    expire_stale(&env).await;
}

/// Sessions live at most a day; the cron looks back a little further.
const EXPIRY_LOOKBACK_HOURS: i64 = 26;

async fn expire_stale(env: &Env) {
    let stale =
        match objects::reconciler::expired(env, clock::now_ms(), EXPIRY_LOOKBACK_HOURS).await {
            Ok(stale) => stale,
            Err(e) => {
                log::event(
                    Level::Error,
                    serde_json::json!({"cron": "expire", "error": e.to_string()}),
                );
                return;
            }
        };
    for (bucket_ms, session_id) in stale {
        let result = match objects::session_by_id(env, &session_id) {
            Ok(stub) => {
                let command = objects::session::SessionCommand::Reconcile;
                objects::rpc::call_for::<_, ()>(&stub, &command, Some("cron")).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                let _ = objects::reconciler::forget_expired(env, bucket_ms, &session_id).await;
            }
            Err(e) => log::event(
                Level::Warn,
                serde_json::json!({"cron": "expire", "session_id": session_id, "error": e.to_string()}),
            ),
        }
    }
}

async fn reconcile_pending(env: &Env) {
    let env = env.clone();
    // How long a leg may stay pending before the cron asks its provider (RECONCILE_AFTER_S).
    let threshold_s = config::read(&env, "RECONCILE_AFTER_S")
        .ok()
        .flatten()
        .and_then(|s| s.expose().parse::<i64>().ok())
        .unwrap_or(120);
    let due = match objects::reconciler::due(&env, threshold_s * 1000).await {
        Ok(due) => due,
        Err(e) => {
            log::event(
                Level::Error,
                serde_json::json!({"cron": "reconcile", "error": e.to_string()}),
            );
            return;
        }
    };
    for session_id in due {
        let result = match objects::session_by_id(&env, &session_id) {
            Ok(stub) => {
                let command = objects::session::SessionCommand::Reconcile;
                objects::rpc::call_for::<_, ()>(&stub, &command, Some("cron")).await
            }
            Err(e) => Err(e),
        };
        let level = if result.is_ok() {
            Level::Info
        } else {
            Level::Warn
        };
        let outcome = result.err().map(|e| e.to_string());
        log::event(
            level,
            serde_json::json!({"cron": "reconcile", "session_id": session_id, "error": outcome}),
        );
    }
}

/// Maps `(method, path)` to its handler. A known path with another method is a 405.
async fn route(
    req: Request,
    env: &Env,
    ctx: &Context,
    method: &Method,
    path: &str,
    request_id: &str,
) -> Result<Response> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["healthz"]) => handlers::health(),
        (Method::Post, ["v1", "checkout_sessions"]) => {
            merchant_sessions::create(req, env, request_id).await
        }
        (Method::Get, ["v1", "checkout_sessions", id]) => {
            merchant_sessions::retrieve(req, env, id).await
        }
        (Method::Post, ["v1", "checkout_sessions", id, "refunds"]) => {
            merchant_sessions::refund(req, env, id, request_id).await
        }
        (Method::Get, ["v1", "checkout_sessions", id, "audit"]) => {
            merchant_sessions::audit(req, env, id).await
        }
        (Method::Post, ["v1", "checkout_sessions", id, "capture"]) => {
            merchant_sessions::capture(req, env, id, request_id).await
        }
        (Method::Post, ["v1", "checkout_sessions", id, "cancel"]) => {
            merchant_sessions::cancel_authorization(req, env, id, request_id).await
        }
        (Method::Post, ["v1", "checkout_sessions", id, "payments", payment, "resolve"]) => {
            merchant_sessions::resolve_payment(req, env, id, payment, request_id).await
        }
        (Method::Get, ["v1", "checkout_sessions", id, "payments", payment, "provider_status"]) => {
            merchant_sessions::provider_status(req, env, id, payment).await
        }
        (Method::Post, ["v1", "webhook_endpoints"]) => {
            merchant_webhooks::set_endpoint(req, env).await
        }
        (Method::Get, ["v1", "events"]) => merchant_webhooks::list(req, env).await,
        (Method::Get, ["v1", "reports", "daily"]) => merchant_reports::daily(req, env).await,
        (Method::Get, ["v1", "reports", "reconciliation"]) => {
            merchant_reports::reconciliation(req, env).await
        }
        (Method::Get, ["v1", "metrics"]) => merchant_metrics::get(req, env).await,
        (Method::Get, ["v1", "events", id]) => merchant_webhooks::get(req, env, id).await,
        (Method::Post, ["v1", "events", id, "resend"]) => {
            merchant_webhooks::resend(req, env, id).await
        }
        (Method::Get, ["v1", "callbacks", "bkash", id]) => {
            callbacks::bkash(req, env, id, request_id).await
        }
        (Method::Get, ["v1", "callbacks", "wechat", id]) => {
            callbacks::wechat(req, env, id, request_id).await
        }
        (Method::Get, ["v1", "callbacks", "card", id]) => {
            callbacks::card(req, env, id, request_id).await
        }
        (Method::Post, ["v1", "notifications", "stripe"]) => {
            notifications::stripe(req, env, request_id).await
        }
        (Method::Post, ["v1", "notifications", "wechat", id]) => {
            notifications::wechat(req, env, id, request_id).await
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
        (Method::Post, ["v1", "customers", customer, "pay_password", "unlock"]) => {
            merchant_wallets::unlock_pay_password(req, env, customer).await
        }
        (Method::Options, ["v1", "widget", ..]) => widget::preflight(),
        (Method::Get, ["v1", "widget", "frames", "pay_password"]) => {
            frame::pay_password(req, env).await
        }
        (Method::Post, ["v1", "widget", "token"]) => {
            widget::grant_token(req, env, request_id).await
        }
        (Method::Get, ["v1", "widget", "sessions", id]) => {
            widget::session(req, env, id, request_id).await
        }
        (Method::Get, ["v1", "widget", "sessions", id, "status"]) => {
            widget_status::status(req, env, id).await
        }
        (Method::Post, ["v1", "widget", "sessions", id, "pay"]) => {
            widget::pay(req, env, ctx, id, request_id).await
        }
        (Method::Post, ["v1", "widget", "sessions", id, "cancel"]) => {
            widget::cancel(req, env, id, request_id).await
        }
        (Method::Post, ["demo", "api", "checkout"]) => demo::checkout(req, env, request_id).await,
        (Method::Get, ["demo", "api", "orders", id]) => demo::order(req, env, id).await,
        (Method::Get, ["demo", "api", "orders", id, "client_secret"]) => {
            demo::client_secret(req, env, id).await
        }
        (_, ["healthz"] | ["v1", "checkout_sessions", ..] | ["v1", "customers", ..])
        | (_, ["v1", "widget", ..] | ["v1", "callbacks", ..] | ["demo", "api", ..])
        | (_, ["v1", "notifications", ..] | ["v1", "webhook_endpoints"] | ["v1", "events", ..])
        | (_, ["v1", "reports", ..] | ["v1", "metrics"]) => {
            Err(Error::api(checkout_core::ErrorCode::MethodNotAllowed))
        }
        _ => Err(Error::api(checkout_core::ErrorCode::NotFound)),
    }
}

/// What the request's log line says besides its outcome.
struct RequestLine<'a> {
    request_id: &'a str,
    method: &'a Method,
    path: &'a str,
    started_ms: i64,
}

/// The one place where a result becomes a response, with its request id, security headers, CORS
/// and log line.
fn respond(
    result: Result<Response>,
    request: &RequestLine<'_>,
    cors_origin: Option<&str>,
) -> worker::Result<Response> {
    let (response, error) = match result {
        Ok(response) => (Ok(response), None),
        Err(error) => (http::error_response(&error), Some(error)),
    };
    let response = response
        .or_else(|e| http::error_response(&Error::Invariant(format!("building the response: {e}"))))
        .map_err(|e| worker::Error::from(e.to_string()))?;
    let path = request.path;
    let headers = response.headers();
    headers.set("Request-Id", request.request_id)?;
    // The pay-password frame is the one answer that may be framed, by the page it names.
    let frame_policy = frame::own_policy(path, headers);
    http::add_security_headers(headers).map_err(|e| worker::Error::from(e.to_string()))?;
    if let Some(policy) = frame_policy {
        frame::keep_framing(headers, &policy).map_err(|e| worker::Error::from(e.to_string()))?;
    }
    if path.starts_with("/v1/") || path.starts_with("/demo/") {
        headers.set("Cache-Control", "no-store")?;
    }
    if path.starts_with("/v1/widget/") {
        http::add_widget_cors(headers, cors_origin)
            .map_err(|e| worker::Error::from(e.to_string()))?;
    }
    log_request(request, response.status_code(), error.as_ref());
    Ok(response)
}

/// One JSON line per request. Paths carry ids but never secrets (scrubbed all the same); errors
/// are logged by code, and internal details (scrubbed) only for internal errors.
fn log_request(request: &RequestLine<'_>, status: u16, error: Option<&Error>) {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        request_id: &'a str,
        method: &'a str,
        path: String,
        status: u16,
        duration_ms: i64,
        code: Option<&'a str>,
        internal: Option<String>,
    }
    let internal = error.filter(|e| e.is_internal());
    let level = if internal.is_some() {
        Level::Error
    } else {
        Level::Info
    };
    log::typed(
        level,
        &Line {
            request_id: request.request_id,
            method: request.method.as_ref(),
            path: log::scrub(request.path),
            status,
            duration_ms: clock::now_ms() - request.started_ms,
            code: error.map(|e| e.detail().code.as_str()),
            internal: internal.map(|e| log::scrub(&e.to_string())),
        },
    );
}
