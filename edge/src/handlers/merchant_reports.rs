//! The merchant's reports: per day and per method, counts, gross, refunds and fees.

use checkout_core::api::{FieldError, PaymentMethod};
use checkout_core::Currency;
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

/// `GET /v1/reports/reconciliation?date=YYYY-MM-DD&method=bkash|wechat_pay|card&currency=&limit=&starting_after=`:
/// a page of the day's provider attempts, each compared with what the provider says
/// (`crate::reconciliation`). `currency` is the report's (cards: BDT unless given; bKash and
/// WeChat Pay only in theirs).
pub async fn reconciliation(req: Request, env: &Env) -> Result<Response> {
    let config = Config::from_env(env)?;
    let merchant = auth::merchant(&req, &config)?;
    let url = req.url()?;
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let date = query("date").unwrap_or_else(|| utc_date(now_s()));
    check_date("date", &date)?;
    let method = match query("method").as_deref() {
        Some("bkash") => PaymentMethod::Bkash,
        Some("wechat_pay") => PaymentMethod::WechatPay,
        Some("card") => PaymentMethod::Card,
        _ => {
            return Err(
                FieldError::invalid("method", "method must be bkash, wechat_pay or card.").into(),
            )
        }
    };
    let currency = match query("currency") {
        None => crate::reconciliation::currency_of(method),
        Some(code) => code
            .to_ascii_uppercase()
            .parse::<Currency>()
            .ok()
            .filter(|c| crate::reconciliation::currency_allowed(method, *c))
            .ok_or_else(|| {
                FieldError::invalid("currency", "currency is not one this method settles in.")
            })?,
    };
    let limit = match query("limit") {
        None => 20,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| FieldError::invalid("limit", "limit must be between 1 and 100."))?,
    };
    let starting_after = query("starting_after");
    if let Some(id) = &starting_after {
        checkout_core::api::check_id("starting_after", id, 64)?;
    }
    let page = crate::reconciliation::page(
        env,
        &merchant,
        &date,
        method,
        currency,
        starting_after,
        limit,
    )
    .await?;
    http::json(200, &page)
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
