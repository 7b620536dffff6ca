//! Route handlers, one named function per route.
//!
//! - [`merchant_sessions`], [`merchant_wallets`], [`merchant_webhooks`]: the server-to-server
//!   merchant API (secret key).
//! - [`widget`]: the browser's API (client secret, then a short-lived token);
//!   [`widget_status`]: its pushed status, a WebSocket to the session object.
//! - [`frame`]: the pay-password frame, the only page the Worker itself serves.
//! - [`callbacks`]: where providers send the shopper's browser back.
//! - [`notifications`]: where providers post signed server-to-server notifications.
//! - [`demo`]: the demo shop's back end, enabled only where a demo key is configured.

pub mod callbacks;
pub mod demo;
pub mod frame;
pub mod merchant_metrics;
pub mod merchant_reports;
pub mod merchant_sessions;
pub mod merchant_wallets;
pub mod merchant_webhooks;
pub mod notifications;
pub mod widget;
pub mod widget_status;

use worker::Response;

use crate::error::Result;

pub fn health() -> Result<Response> {
    crate::http::json(200, &serde_json::json!({"ok": true}))
}
