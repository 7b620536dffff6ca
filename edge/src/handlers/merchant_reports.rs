//! The merchant's reports: per day and per method, counts, gross, refunds and fees.

use checkout_core::api::FieldError;
use worker::{Env, Request, Response};

use crate::auth;
use crate::clock::{now_s, utc_date};
use crate::config::Config;
use crate::error::Result;
use crate::http;
use crate::objects::rpc;
use crate::objects::webhooks::report::ReportRow;
use crate::objects::webhooks::{self, WebhookCommand};

/// `GET /v1/reports/daily?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, inclusive; the current month
/// by default).
pub async fn daily(req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let today = utc_date(now_s());
    let query = |name: &str| {
        req.url()
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let from = query("from").unwrap_or_else(|| format!("{}-01", &today[..7]));
    let to = query("to").unwrap_or(today);
    for (param, date) in [("from", &from), ("to", &to)] {
        check_date(param, date)?;
    }
    let command = WebhookCommand::Report {
        from: from.clone(),
        to: to.clone(),
    };
    let stub = webhooks::stub(env, &merchant.scope())?;
    let rows: Vec<ReportRow> = rpc::call(&stub, &command).await?;
    http::json(
        200,
        &serde_json::json!({"from": from, "to": to, "days": rows}),
    )
}

fn check_date(param: &'static str, date: &str) -> Result<()> {
    let bytes = date.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if shaped {
        return Ok(());
    }
    Err(FieldError::invalid(param, format!("{param} must be a date such as 2026-11-23.")).into())
}
