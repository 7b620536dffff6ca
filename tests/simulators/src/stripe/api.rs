//! The `/v1` API: authentication, the fault switches in front of it, idempotency, and the
//! endpoints (see the module list in `stripe/mod.rs`).
//!
//! Every answer carries `Request-Id: req_...` and `Stripe-Version` (the request's, else the
//! configured one). A POST with `Idempotency-Key` (at most 255 characters) is answered once and
//! replayed for `idempotency_ttl` with `Idempotent-Replayed: true` and `Original-Request`; the
//! same key on another endpoint or with other parameters is 400 `idempotency_error`, and while
//! the first request still runs, 409 `idempotency_error`.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::form::{self, missing, Params};
use super::state::{
    new_id, CaptureMethod, LineItem, PaymentStatus, PiStatus, Saved, Session, SessionStatus,
};
use super::wire::{self, ApiError};
use super::{now_s, publish, Shared};
use crate::http::{Reply, Request, Response};
use crate::util::unix_millis;

/// What an endpoint did: its answer, events to publish, and whether the answer is lost.
struct Outcome {
    result: Result<Value, ApiError>,
    emits: Vec<super::state::Emit>,
    lose_answer: bool,
}

impl From<Result<Value, ApiError>> for Outcome {
    fn from(result: Result<Value, ApiError>) -> Outcome {
        Outcome {
            result,
            emits: Vec::new(),
            lose_answer: false,
        }
    }
}

pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Reply {
    let request_id = new_id("req_");
    let version = request
        .header("Stripe-Version")
        .unwrap_or(&shared.config.api_version)
        .to_owned();
    let headers = [
        ("Request-Id".to_owned(), request_id.clone()),
        ("Stripe-Version".to_owned(), version),
    ];
    let answer = |status: u16, body: &Value, extra: &[(String, String)]| {
        let mut response = Response::json(status, body);
        response.headers.extend(headers.iter().cloned());
        response.headers.extend(extra.iter().cloned());
        Reply::Respond(response)
    };
    let fail = |e: ApiError| answer(e.status, &e.body(), &[]);
    if let Err(e) = authenticate(shared, request) {
        return fail(e);
    }
    if let Some(e) = injected_fault(shared) {
        return fail(e);
    }
    let key = match request.header("Idempotency-Key") {
        Some(k) if request.method == "POST" => {
            if k.len() > 255 {
                return fail(ApiError::invalid(
                    "Idempotency keys can be at most 255 characters long.",
                    None,
                ));
            }
            Some(k.to_owned())
        }
        _ => None,
    };
    let text = if request.method == "GET" {
        request.query.clone()
    } else {
        request.body_text()
    };
    let params = match form::decode(&text) {
        Ok(params) => params,
        Err(e) => return fail(e),
    };
    let endpoint = format!("{} {}", request.method, request.path);
    if let Some(key) = &key {
        match check_idempotency(shared, key, &endpoint, &params) {
            Ok(Some(saved)) => {
                let body = serde_json::from_str(&saved.body).unwrap_or(Value::Null);
                let extra = [
                    ("Idempotency-Key".to_owned(), key.clone()),
                    ("Idempotent-Replayed".to_owned(), "true".to_owned()),
                    ("Original-Request".to_owned(), saved.request_id),
                ];
                return answer(saved.status, &body, &extra);
            }
            Ok(None) => {}
            Err(e) => return fail(e),
        }
    }
    let outcome = route(shared, request, &params);
    let (status, body) = match &outcome.result {
        Ok(value) => (200, value.clone()),
        Err(e) => (e.status, e.body()),
    };
    if let Some(key) = &key {
        let mut state = shared.lock();
        state.in_flight.retain(|k| k != key);
        if status == 200 {
            state.idempotency.insert(
                key.clone(),
                Saved {
                    endpoint,
                    params: Value::Object(params),
                    status,
                    body: body.to_string(),
                    request_id: request_id.clone(),
                    saved_ms: unix_millis(),
                },
            );
        }
    }
    publish(shared, outcome.emits, Some((&request_id, key.as_deref())));
    if outcome.lose_answer {
        let faults = shared.lock().faults.clone();
        if !faults.lost_answer_as_500 {
            return Reply::Close;
        }
        return fail(api_error());
    }
    let extra: Vec<(String, String)> = key
        .map(|k| vec![("Idempotency-Key".to_owned(), k)])
        .unwrap_or_default();
    answer(status, &body, &extra)
}

/// `Authorization: Bearer sk_...` (or HTTP Basic with the key as user name, as curl's `-u`).
fn authenticate(shared: &Shared, request: &Request) -> Result<(), ApiError> {
    let unauthorized = |message: String| {
        ApiError::invalid(&message, None).with_status(401, "invalid_request_error")
    };
    let Some(header) = request.header("Authorization") else {
        return Err(unauthorized(
            "You did not provide an API key. You need to provide your API key in the \
             Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
                .into(),
        ));
    };
    let key = if let Some(key) = header.strip_prefix("Bearer ") {
        key.trim().to_owned()
    } else if let Some(basic) = header.strip_prefix("Basic ") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).into_owned();
        text.split(':').next().unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    if key == shared.config.secret_key {
        return Ok(());
    }
    let shown = if key.len() > 4 {
        format!(
            "{}********{}",
            &key[..key.len().min(8)],
            &key[key.len() - 4..]
        )
    } else {
        "****".into()
    };
    Err(unauthorized(format!("Invalid API Key provided: {shown}")))
}

/// Latency, then a 429 or 500 if the switches say so.
fn injected_fault(shared: &Shared) -> Option<ApiError> {
    let latency = shared.lock().faults.latency_ms;
    if latency > 0 {
        thread::sleep(Duration::from_millis(latency));
    }
    let mut state = shared.lock();
    if state.faults.rate_limit_next_requests > 0 {
        state.faults.rate_limit_next_requests -= 1;
        return Some(
            ApiError::state(
                "rate_limit",
                "Request rate limit exceeded. Learn more about rate limits here \
                 https://stripe.com/docs/rate-limits.",
            )
            .with_status(429, "invalid_request_error"),
        );
    }
    if state.faults.fail_next_requests > 0 {
        state.faults.fail_next_requests -= 1;
        return Some(api_error());
    }
    None
}

fn api_error() -> ApiError {
    ApiError::invalid(
        "An unknown error occurred while processing your request. Please try again.",
        None,
    )
    .with_status(500, "api_error")
}

/// A saved answer to replay, nothing (go on, now marked in flight), or an idempotency error.
fn check_idempotency(
    shared: &Shared,
    key: &str,
    endpoint: &str,
    params: &Map<String, Value>,
) -> Result<Option<Saved>, ApiError> {
    let mut state = shared.lock();
    let ttl_ms = shared.config.idempotency_ttl.as_millis() as u64;
    let now = unix_millis();
    state
        .idempotency
        .retain(|_, saved| now.saturating_sub(saved.saved_ms) < ttl_ms);
    if state.in_flight.iter().any(|k| k == key) {
        return Err(ApiError::invalid(
            "There is currently another in-progress request using this Idempotent Key (that \
             probably means you submitted twice, and the other request is still going through). \
             Please retry this request later.",
            None,
        )
        .with_status(409, "idempotency_error"));
    }
    if let Some(saved) = state.idempotency.get(key) {
        if saved.endpoint != endpoint || saved.params != Value::Object(params.clone()) {
            return Err(ApiError::invalid(
                &format!(
                    "Keys for idempotent requests can only be used with the same parameters they \
                     were first used with. Try using a key other than '{key}' if you meant to \
                     execute a different request."
                ),
                None,
            )
            .with_status(400, "idempotency_error"));
        }
        return Ok(Some(saved.clone()));
    }
    state.in_flight.push(key.to_owned());
    Ok(None)
}

fn route(shared: &Arc<Shared>, request: &Request, params: &Map<String, Value>) -> Outcome {
    let segments: Vec<&str> = request
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(2)
        .collect();
    let p = Params::new(params);
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["checkout", "sessions"]) => create_session(shared, &p).into(),
        ("GET", ["checkout", "sessions", id]) => retrieve_session(shared, id, &p).into(),
        ("POST", ["checkout", "sessions", id, "expire"]) => expire_session(shared, id, &p),
        ("GET", ["payment_intents", id]) => retrieve_intent(shared, id, &p).into(),
        ("POST", ["payment_intents", id, "capture"]) => capture(shared, id, &p),
        ("POST", ["payment_intents", id, "cancel"]) => cancel(shared, id, &p),
        ("POST", ["refunds"]) => create_refund(shared, &p),
        ("GET", ["refunds", id]) => retrieve_refund(shared, id, &p).into(),
        ("GET", ["refunds"]) => list_refunds(shared, &p).into(),
        ("GET", ["events", id]) => retrieve_event(shared, id).into(),
        _ => Err(ApiError::invalid(
            &format!(
                "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can \
                 help at https://support.stripe.com/.",
                request.method, request.path
            ),
            None,
        )
        .with_status(404, "invalid_request_error"))
        .into(),
    }
}

fn expands(p: &Params) -> Result<Vec<String>, ApiError> {
    p.strings("expand")
}

fn create_session(shared: &Shared, p: &Params) -> Result<Value, ApiError> {
    p.only(&[
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "expires_at",
        "payment_intent_data",
        "customer_email",
        "locale",
        "payment_method_types",
        "expand",
        "ui_mode",
        "submit_type",
        "billing_address_collection",
    ])?;
    match p.str("mode")? {
        Some("payment") => {}
        Some("setup" | "subscription") => {
            return Err(ApiError::invalid(
                "The simulator supports Checkout Sessions in `payment` mode only.",
                Some("mode"),
            ))
        }
        Some(other) => {
            return Err(ApiError::invalid(
                &format!("Invalid mode: {other}"),
                Some("mode"),
            ))
        }
        None => return Err(missing("mode")),
    }
    if let Some(ui) = p.str("ui_mode")? {
        if ui != "hosted" {
            return Err(ApiError::invalid(
                "The simulator supports ui_mode=hosted only.",
                Some("ui_mode"),
            ));
        }
    }
    for t in p.strings("payment_method_types")? {
        if t != "card" {
            return Err(ApiError::invalid(
                &format!("The payment method type provided: {t} is invalid. The simulator supports card only."),
                Some("payment_method_types"),
            ));
        }
    }
    let success_url = url(p, "success_url")?.ok_or_else(|| missing("success_url"))?;
    let cancel_url = url(p, "cancel_url")?;
    let line_items = line_items(p)?;
    let currency = line_items[0].currency.clone();
    if line_items.iter().any(|i| i.currency != currency) {
        return Err(ApiError::invalid(
            "All line items must use the same currency.",
            Some("line_items"),
        ));
    }
    let amount_total = line_items
        .iter()
        .try_fold(0i64, |sum, i| {
            sum.checked_add(i.unit_amount.checked_mul(i.quantity)?)
        })
        .filter(|t| *t <= 99_999_999)
        .ok_or_else(|| {
            ApiError::param(
                "amount_too_large",
                "Amount must be no more than 999,999.99",
                "line_items",
            )
        })?;
    if amount_total < 1 {
        return Err(ApiError::param(
            "amount_too_small",
            "The Checkout Session's total amount due must be greater than zero.",
            "line_items",
        ));
    }
    let now = now_s();
    let expires_at = match p.int("expires_at")? {
        None => now + 24 * 3600,
        Some(t) if t < now + 30 * 60 => {
            return Err(ApiError::invalid(
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                Some("expires_at"),
            ))
        }
        Some(t) if t > now + 24 * 3600 => {
            return Err(ApiError::invalid(
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                Some("expires_at"),
            ))
        }
        Some(t) => t,
    };
    let client_reference_id = p.str("client_reference_id")?.map(str::to_owned);
    if client_reference_id
        .as_ref()
        .is_some_and(|c| c.chars().count() > 200)
    {
        return Err(ApiError::invalid(
            "client_reference_id can be at most 200 characters.",
            Some("client_reference_id"),
        ));
    }
    let (capture_method, pi_metadata, pi_description) = match p.object("payment_intent_data")? {
        None => (CaptureMethod::Automatic, Map::new(), None),
        Some(pid) => {
            pid.only(&[
                "capture_method",
                "metadata",
                "description",
                "statement_descriptor",
                "statement_descriptor_suffix",
                "receipt_email",
                "setup_future_usage",
            ])?;
            let method = match pid.str("capture_method")? {
                None | Some("automatic") => CaptureMethod::Automatic,
                Some("automatic_async") => CaptureMethod::AutomaticAsync,
                Some("manual") => CaptureMethod::Manual,
                Some(other) => {
                    return Err(ApiError::invalid(
                        &format!("Invalid capture_method: must be one of automatic, automatic_async, or manual (got {other})"),
                        Some("payment_intent_data[capture_method]"),
                    ))
                }
            };
            (
                method,
                pid.metadata("metadata")?,
                pid.str("description")?.map(str::to_owned),
            )
        }
    };
    let id = format!(
        "cs_test_{}",
        crate::util::random_string(58, crate::util::ALNUM)
    );
    let session = Session {
        id: id.clone(),
        created: now,
        expires_at,
        status: SessionStatus::Open,
        payment_status: PaymentStatus::Unpaid,
        amount_total,
        currency,
        line_items,
        client_reference_id,
        customer_email: p.str("customer_email")?.map(str::to_owned),
        customer_name: None,
        metadata: p.metadata("metadata")?,
        success_url,
        cancel_url,
        locale: p.str("locale")?.map(str::to_owned),
        capture_method,
        pi_metadata,
        pi_description,
        payment_intent: None,
    };
    let expand_pi = expands(p)?.iter().any(|e| e == "payment_intent");
    let mut state = shared.lock();
    let value = wire::session(&state, &session, expand_pi, &shared.origin);
    state.sessions.insert(id, session);
    Ok(value)
}

fn url(p: &Params, key: &str) -> Result<Option<String>, ApiError> {
    match p.str(key)? {
        None => Ok(None),
        Some(u) if (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 5000 => {
            Ok(Some(u.to_owned()))
        }
        Some(_) => Err(ApiError::param("url_invalid", "Not a valid URL", key)),
    }
}

fn line_items(p: &Params) -> Result<Vec<LineItem>, ApiError> {
    let items = p.objects("line_items")?;
    if items.is_empty() {
        return Err(missing("line_items"));
    }
    items
        .iter()
        .map(|item| {
            item.only(&["price_data", "quantity", "price"])?;
            if item.str("price")?.is_some() {
                return Err(ApiError::invalid(
                    "The simulator has no Price objects: use line_items[][price_data].",
                    Some(&item.name("price")),
                ));
            }
            let data = item
                .object("price_data")?
                .ok_or_else(|| missing(&item.name("price_data")))?;
            data.only(&["currency", "unit_amount", "product_data", "tax_behavior"])?;
            let currency = data.required_str("currency")?.to_ascii_lowercase();
            if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(ApiError::invalid(
                    &format!("Invalid currency: {currency}."),
                    Some(&data.name("currency")),
                ));
            }
            let unit_amount = data.required_int("unit_amount")?;
            let product = data
                .object("product_data")?
                .ok_or_else(|| missing(&data.name("product_data")))?;
            product.only(&["name", "description", "images", "metadata"])?;
            let name = product.required_str("name")?.to_owned();
            let quantity = item.required_int("quantity")?;
            if quantity < 1 {
                return Err(ApiError::invalid(
                    "Quantity must be at least 1.",
                    Some(&item.name("quantity")),
                ));
            }
            Ok(LineItem {
                name,
                currency,
                unit_amount,
                quantity,
            })
        })
        .collect()
}

fn retrieve_session(shared: &Shared, id: &str, p: &Params) -> Result<Value, ApiError> {
    p.only(&["expand"])?;
    let expand_pi = expands(p)?.iter().any(|e| e == "payment_intent");
    let state = shared.lock();
    let s = state
        .sessions
        .get(id)
        .ok_or_else(|| ApiError::missing("checkout.session", id, "session"))?;
    Ok(wire::session(&state, s, expand_pi, &shared.origin))
}

fn expire_session(shared: &Shared, id: &str, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&["expand"])?;
        let mut state = shared.lock();
        let s = state
            .sessions
            .get(id)
            .ok_or_else(|| ApiError::missing("checkout.session", id, "session"))?;
        if s.status != SessionStatus::Open {
            return Err(ApiError::invalid(
                &format!(
                    "Only Checkout Sessions with a status in [\"open\"] can be expired. This \
                     Checkout Session has a status of {}.",
                    serde_json::to_value(s.status)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("")
                ),
                None,
            ));
        }
        let emits = state.expire(id, now_s());
        let s = &state.sessions[id];
        Ok((wire::session(&state, s, false, &shared.origin), emits))
    })();
    match result {
        Ok((value, emits)) => Outcome {
            result: Ok(value),
            emits,
            lose_answer: false,
        },
        Err(e) => Err(e).into(),
    }
}

fn retrieve_intent(shared: &Shared, id: &str, p: &Params) -> Result<Value, ApiError> {
    p.only(&["expand"])?;
    let expand_charge = expands(p)?.iter().any(|e| e == "latest_charge");
    let state = shared.lock();
    let pi = state
        .intents
        .get(id)
        .ok_or_else(|| ApiError::missing("payment_intent", id, "intent"))?;
    Ok(wire::payment_intent(&state, pi, expand_charge))
}

fn capture(shared: &Shared, id: &str, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&[
            "amount_to_capture",
            "expand",
            "metadata",
            "final_capture",
            "statement_descriptor",
        ])?;
        let amount = p.int("amount_to_capture")?;
        let mut state = shared.lock();
        let pi = state
            .intents
            .get(id)
            .ok_or_else(|| ApiError::missing("payment_intent", id, "intent"))?;
        if pi.status != PiStatus::RequiresCapture {
            return Err(ApiError::state(
                "payment_intent_unexpected_state",
                &format!(
                    "This PaymentIntent could not be captured because it has a status of {}. \
                     Only a PaymentIntent with one of the following statuses may be captured: \
                     requires_capture.",
                    pi.status.as_str()
                ),
            ));
        }
        let capturable = pi.amount_capturable;
        let amount = amount.unwrap_or(capturable);
        if amount < 1 {
            return Err(ApiError::param(
                "parameter_invalid_integer",
                "amount_to_capture must be greater than 0.",
                "amount_to_capture",
            ));
        }
        if amount > capturable {
            return Err(ApiError::param(
                "amount_too_large",
                &format!("The amount to capture ({amount}) is greater than the amount capturable ({capturable})."),
                "amount_to_capture",
            ));
        }
        let emits = state.capture(id, amount);
        let lose = state.faults.lose_capture_answers > 0;
        if lose {
            state.faults.lose_capture_answers -= 1;
        }
        let expand_charge = expands(p)?.iter().any(|e| e == "latest_charge");
        Ok((
            wire::payment_intent(&state, &state.intents[id], expand_charge),
            emits,
            lose,
        ))
    })();
    match result {
        Ok((value, emits, lose)) => Outcome {
            result: Ok(value),
            emits,
            lose_answer: lose,
        },
        Err(e) => Err(e).into(),
    }
}

fn cancel(shared: &Shared, id: &str, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&["cancellation_reason", "expand"])?;
        let reason = match p.str("cancellation_reason")? {
            None => None,
            Some("duplicate") => Some("duplicate"),
            Some("fraudulent") => Some("fraudulent"),
            Some("requested_by_customer") => Some("requested_by_customer"),
            Some("abandoned") => Some("abandoned"),
            Some(other) => {
                return Err(ApiError::invalid(
                    &format!("Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned (got {other})"),
                    Some("cancellation_reason"),
                ))
            }
        };
        let mut state = shared.lock();
        let pi = state
            .intents
            .get(id)
            .ok_or_else(|| ApiError::missing("payment_intent", id, "intent"))?;
        if matches!(pi.status, PiStatus::Succeeded | PiStatus::Canceled) {
            return Err(ApiError::state(
                "payment_intent_unexpected_state",
                &format!(
                    "You cannot cancel this PaymentIntent because it has a status of {}. Only a \
                     PaymentIntent with one of the following statuses may be canceled: \
                     requires_payment_method, requires_capture, requires_confirmation, \
                     requires_action, processing.",
                    pi.status.as_str()
                ),
            ));
        }
        let open = state
            .sessions
            .get(&pi.session)
            .is_some_and(|s| s.status == SessionStatus::Open);
        if open {
            return Err(ApiError::state(
                "payment_intent_unexpected_state",
                "This PaymentIntent belongs to an open Checkout Session and cannot be canceled. \
                 Expire the Checkout Session instead.",
            ));
        }
        let emits = state.cancel(id, reason.unwrap_or("requested_by_customer"), now_s());
        if reason.is_none() {
            if let Some(pi) = state.intents.get_mut(id) {
                pi.cancellation_reason = None;
            }
        }
        Ok((
            wire::payment_intent(&state, &state.intents[id], false),
            emits,
        ))
    })();
    match result {
        Ok((value, emits)) => Outcome {
            result: Ok(value),
            emits,
            lose_answer: false,
        },
        Err(e) => Err(e).into(),
    }
}

fn create_refund(shared: &Arc<Shared>, p: &Params) -> Outcome {
    let result = (|| {
        p.only(&[
            "payment_intent",
            "charge",
            "amount",
            "metadata",
            "reason",
            "expand",
            "instructions_email",
        ])?;
        let reason = match p.str("reason")? {
            None => None,
            Some(r @ ("duplicate" | "fraudulent" | "requested_by_customer")) => Some(r.to_owned()),
            Some(other) => {
                return Err(ApiError::invalid(
                    &format!("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer (got {other})"),
                    Some("reason"),
                ))
            }
        };
        let metadata = p.metadata("metadata")?;
        let amount = p.int("amount")?;
        let mut state = shared.lock();
        let pi_id = match (p.str("payment_intent")?, p.str("charge")?) {
            (Some(pi), _) => {
                if !state.intents.contains_key(pi) {
                    return Err(ApiError::missing("payment_intent", pi, "payment_intent"));
                }
                pi.to_owned()
            }
            (None, Some(ch)) => state
                .charges
                .get(ch)
                .map(|c| c.payment_intent.clone())
                .ok_or_else(|| ApiError::missing("charge", ch, "charge"))?,
            (None, None) => {
                return Err(ApiError::invalid(
                    "One of the following params should be provided for this request: \
                     payment_intent or charge.",
                    None,
                ))
            }
        };
        let (charge_id, left) = state.refundable(&pi_id).ok_or_else(|| {
            ApiError::state(
                "payment_intent_unexpected_state",
                "This PaymentIntent does not have a successful charge to refund.",
            )
        })?;
        if left <= 0 {
            return Err(ApiError::state(
                "charge_already_refunded",
                &format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let amount = amount.unwrap_or(left);
        if amount < 1 {
            return Err(ApiError::param(
                "parameter_invalid_integer",
                "Refund amount must be greater than 0.",
                "amount",
            ));
        }
        if amount > left {
            return Err(ApiError::param(
                "amount_too_large",
                &format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
                ),
                "amount",
            ));
        }
        let (refund_id, emits) =
            state.refund(&pi_id, &charge_id, amount, metadata, reason, now_s());
        let lose = state.faults.lose_refund_answers > 0;
        if lose {
            state.faults.lose_refund_answers -= 1;
        }
        Ok((
            wire::refund(&state.refunds[&refund_id]),
            refund_id,
            emits,
            lose,
        ))
    })();
    match result {
        Ok((value, refund_id, emits, lose)) => {
            settle_later(shared, refund_id);
            Outcome {
                result: Ok(value),
                emits,
                lose_answer: lose,
            }
        }
        Err(e) => Err(e).into(),
    }
}

/// After `refund_delay` the refund succeeds (`refund.updated`).
fn settle_later(shared: &Arc<Shared>, refund_id: String) {
    let shared = shared.clone();
    let _ = thread::Builder::new()
        .name("stripe-refund".into())
        .spawn(move || {
            if !shared.sleep(shared.config.refund_delay) {
                return;
            }
            let emits = shared.lock().settle_refund(&refund_id);
            publish(&shared, emits, None);
        });
}

fn retrieve_refund(shared: &Shared, id: &str, p: &Params) -> Result<Value, ApiError> {
    p.only(&["expand"])?;
    let state = shared.lock();
    let r = state
        .refunds
        .get(id)
        .ok_or_else(|| ApiError::missing("refund", id, "refund"))?;
    Ok(wire::refund(r))
}

fn list_refunds(shared: &Shared, p: &Params) -> Result<Value, ApiError> {
    p.only(&[
        "payment_intent",
        "charge",
        "limit",
        "expand",
        "starting_after",
        "ending_before",
        "created",
    ])?;
    let limit = p.int("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit must be between 1 and 100.",
            Some("limit"),
        ));
    }
    let (pi, charge) = (p.str("payment_intent")?, p.str("charge")?);
    let state = shared.lock();
    let data: Vec<Value> = state
        .refund_order
        .iter()
        .rev()
        .filter_map(|id| state.refunds.get(id))
        .filter(|r| pi.is_none_or(|pi| r.payment_intent == pi))
        .filter(|r| charge.is_none_or(|c| r.charge == c))
        .map(wire::refund)
        .collect();
    let has_more = data.len() as i64 > limit;
    let mut value = wire::list(
        "/v1/refunds",
        data.into_iter().take(limit as usize).collect(),
    );
    value["has_more"] = json!(has_more);
    Ok(value)
}

fn retrieve_event(shared: &Shared, id: &str) -> Result<Value, ApiError> {
    shared
        .lock()
        .events
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .ok_or_else(|| ApiError::missing("event", id, "id"))
}
