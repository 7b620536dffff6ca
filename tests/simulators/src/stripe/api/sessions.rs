//! Checkout Session endpoints: create (with Stripe's parameter rules), retrieve, expire.

use serde_json::{Map, Value};

use super::Outcome;
use crate::stripe::form::{missing, Params};
use crate::stripe::state::{CaptureMethod, LineItem, PaymentStatus, Session, SessionStatus};
use crate::stripe::wire::{self, ApiError};
use crate::stripe::{now_s, Shared};

pub(super) fn expands(p: &Params) -> Result<Vec<String>, ApiError> {
    p.strings("expand")
}

/// The top-level parameters a session may carry.
const SESSION_PARAMS: &[&str] = &[
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
];

pub(super) fn create_session(shared: &Shared, p: &Params) -> Result<Value, ApiError> {
    p.only(SESSION_PARAMS)?;
    check_kind(p)?;
    let success_url = url(p, "success_url")?.ok_or_else(|| missing("success_url"))?;
    let cancel_url = url(p, "cancel_url")?;
    let line_items = line_items(p)?;
    let (currency, amount_total) = total(&line_items)?;
    let now = now_s();
    let expires_at = expires_at(p, now)?;
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
    let intent = payment_intent_data(p)?;
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
        capture_method: intent.capture_method,
        pi_metadata: intent.metadata,
        pi_description: intent.description,
        payment_intent: None,
    };
    let expand = expands(p)?;
    let mut state = shared.lock();
    let value = wire::session(&state, &session, &expand, &shared.origin);
    state.sessions.insert(id, session);
    Ok(value)
}

/// `mode=payment`, `ui_mode=hosted` and card payments: what the simulator plays.
fn check_kind(p: &Params) -> Result<(), ApiError> {
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
    if p.str("ui_mode")?.is_some_and(|ui| ui != "hosted") {
        return Err(ApiError::invalid(
            "The simulator supports ui_mode=hosted only.",
            Some("ui_mode"),
        ));
    }
    match p
        .strings("payment_method_types")?
        .iter()
        .find(|t| *t != "card")
    {
        Some(t) => Err(ApiError::invalid(
            &format!(
                "The payment method type provided: {t} is invalid. The simulator supports card \
                 only."
            ),
            Some("payment_method_types"),
        )),
        None => Ok(()),
    }
}

/// The one currency of all line items and their total in its minor units.
fn total(items: &[LineItem]) -> Result<(String, i64), ApiError> {
    let currency = items[0].currency.clone();
    if items.iter().any(|i| i.currency != currency) {
        return Err(ApiError::invalid(
            "All line items must use the same currency.",
            Some("line_items"),
        ));
    }
    let total = items
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
    if total < 1 {
        return Err(ApiError::param(
            "amount_too_small",
            "The Checkout Session's total amount due must be greater than zero.",
            "line_items",
        ));
    }
    Ok((currency, total))
}

/// `expires_at`: 30 minutes to 24 hours after creation; 24 hours when absent.
fn expires_at(p: &Params, now: i64) -> Result<i64, ApiError> {
    match p.int("expires_at")? {
        None => Ok(now + 24 * 3600),
        Some(t) if t < now + 30 * 60 => Err(ApiError::invalid(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session \
             creation.",
            Some("expires_at"),
        )),
        Some(t) if t > now + 24 * 3600 => Err(ApiError::invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session \
             creation.",
            Some("expires_at"),
        )),
        Some(t) => Ok(t),
    }
}

/// `payment_intent_data`: what the PaymentIntent will be created with.
struct IntentData {
    capture_method: CaptureMethod,
    metadata: Map<String, Value>,
    description: Option<String>,
}

/// `payment_intent_data[capture_method|metadata|description]`, copied to the PaymentIntent.
fn payment_intent_data(p: &Params) -> Result<IntentData, ApiError> {
    let Some(pid) = p.object("payment_intent_data")? else {
        return Ok(IntentData {
            capture_method: CaptureMethod::Automatic,
            metadata: Map::new(),
            description: None,
        });
    };
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
                &format!(
                    "Invalid capture_method: must be one of automatic, automatic_async, or \
                     manual (got {other})"
                ),
                Some("payment_intent_data[capture_method]"),
            ))
        }
    };
    Ok(IntentData {
        capture_method: method,
        metadata: pid.metadata("metadata")?,
        description: pid.str("description")?.map(str::to_owned),
    })
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

pub(super) fn retrieve_session(shared: &Shared, id: &str, p: &Params) -> Result<Value, ApiError> {
    p.only(&["expand"])?;
    let expand = expands(p)?;
    let state = shared.lock();
    let s = state
        .sessions
        .get(id)
        .ok_or_else(|| ApiError::missing("checkout.session", id, "session"))?;
    Ok(wire::session(&state, s, &expand, &shared.origin))
}

pub(super) fn expire_session(shared: &Shared, id: &str, p: &Params) -> Outcome {
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
                     Checkout Session has a status of `{}`.",
                    serde_json::to_value(s.status)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("")
                ),
                None,
            )
            .after_execution());
        }
        let emits = state.expire(id, now_s());
        let s = &state.sessions[id];
        Ok((
            wire::session(&state, s, &expands(p)?, &shared.origin),
            emits,
        ))
    })();
    Outcome::with_events(result.map(|(value, emits)| (value, emits, false)))
}
