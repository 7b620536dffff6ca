//! Stripe's JSON: the objects as the API returns them (`checkout.session`, `payment_intent`,
//! `charge`, `refund`, `list`, `event`) and the error envelope
//! `{"error": {"type", "code", "decline_code", "message", "param", "doc_url"}}` with its HTTP
//! statuses (docs.stripe.com/api/errors: 400 invalid request, 401 bad key, 402 card error,
//! 404 missing resource, 409 idempotency conflict, 429 rate limit, 500 api_error).

use serde_json::{json, Map, Value};

use super::state::{ObjectRef, PaymentIntent, Session, SessionStatus, State};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// Raised by the endpoint itself (a state refusal), not by parameter validation: kept for
    /// idempotent replay like a success.
    pub executed: bool,
}

impl ApiError {
    /// 400 `invalid_request_error` with no code.
    pub fn invalid(message: &str, param: Option<&str>) -> ApiError {
        ApiError {
            status: 400,
            kind: "invalid_request_error",
            code: None,
            decline_code: None,
            message: message.to_owned(),
            param: param.map(str::to_owned),
            executed: false,
        }
    }

    /// 400 `invalid_request_error` with a code and a parameter.
    pub fn param(code: &str, message: &str, param: &str) -> ApiError {
        ApiError {
            code: Some(code.to_owned()),
            ..ApiError::invalid(message, Some(param))
        }
    }

    /// 400 with a code and no parameter: the endpoint ran and refused because of the state the
    /// object is in (kept for idempotent replay).
    pub fn state(code: &str, message: &str) -> ApiError {
        ApiError {
            code: Some(code.to_owned()),
            executed: true,
            ..ApiError::invalid(message, None)
        }
    }

    /// Marks an error as raised by the endpoint's execution (kept for idempotent replay).
    pub fn after_execution(mut self) -> ApiError {
        self.executed = true;
        self
    }

    /// 404 `resource_missing`: "No such payment_intent: 'pi_123'".
    pub fn missing(object: &str, id: &str, param: &str) -> ApiError {
        ApiError {
            status: 404,
            code: Some("resource_missing".into()),
            ..ApiError::invalid(&format!("No such {object}: '{id}'"), Some(param))
        }
    }

    pub fn with_status(mut self, status: u16, kind: &'static str) -> ApiError {
        self.status = status;
        self.kind = kind;
        self
    }

    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind));
        error.insert("message".into(), json!(self.message));
        if let Some(code) = &self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        if let Some(decline_code) = &self.decline_code {
            error.insert("decline_code".into(), json!(decline_code));
        }
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        json!({ "error": error })
    }
}

/// A Checkout Session; `expand` may name `payment_intent` and `payment_intent.latest_charge`.
pub fn session(state: &State, s: &Session, expand: &[String], origin: &str) -> Value {
    let charge = expand.iter().any(|e| e == "payment_intent.latest_charge");
    let expand_pi = charge || expand.iter().any(|e| e == "payment_intent");
    let payment_intent = match &s.payment_intent {
        Some(id) if expand_pi => state
            .intents
            .get(id)
            .map_or(Value::Null, |pi| payment_intent(state, pi, charge)),
        Some(id) => json!(id),
        None => Value::Null,
    };
    let url = (s.status == SessionStatus::Open).then(|| format!("{origin}/c/pay/{}", s.id));
    let customer_details = if s.status == SessionStatus::Complete {
        json!({"email": s.customer_email, "name": s.customer_name, "address": null, "phone": null,
               "tax_exempt": "none", "tax_ids": []})
    } else {
        Value::Null
    };
    json!({
        "id": s.id,
        "object": "checkout.session",
        "amount_subtotal": s.amount_total,
        "amount_total": s.amount_total,
        "cancel_url": s.cancel_url,
        "client_reference_id": s.client_reference_id,
        "created": s.created,
        "currency": s.currency,
        "customer": null,
        "customer_details": customer_details,
        "customer_email": s.customer_email,
        "expires_at": s.expires_at,
        "livemode": false,
        "locale": s.locale,
        "metadata": s.metadata,
        "mode": "payment",
        "payment_intent": payment_intent,
        "payment_method_types": ["card"],
        "payment_status": s.payment_status,
        "status": s.status,
        "success_url": s.success_url,
        "ui_mode": "hosted",
        "url": url,
    })
}

pub fn payment_intent(state: &State, pi: &PaymentIntent, expand_charge: bool) -> Value {
    let latest_charge = match &pi.latest_charge {
        Some(id) if expand_charge => state
            .charges
            .get(id)
            .map_or(Value::Null, |c| charge(state, c)),
        Some(id) => json!(id),
        None => Value::Null,
    };
    let last_payment_error = pi.last_payment_error.as_ref().map(|(e, pm)| {
        let mut v = json!({
            "type": e.kind, "code": e.code, "message": e.message,
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", e.code.replace('_', "-")),
            "payment_method": {"id": pm, "object": "payment_method", "type": "card"},
        });
        if let Some(d) = e.decline_code {
            v["decline_code"] = json!(d);
        }
        v
    });
    let next_action = (pi.status == super::state::PiStatus::RequiresAction).then(
        || json!({"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}),
    );
    json!({
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_capturable": pi.amount_capturable,
        "amount_received": pi.amount_received,
        "canceled_at": pi.canceled_at,
        "cancellation_reason": pi.cancellation_reason,
        "capture_method": pi.capture_method,
        "client_secret": pi.client_secret,
        "confirmation_method": "automatic",
        "created": pi.created,
        "currency": pi.currency,
        "customer": null,
        "description": pi.description,
        "last_payment_error": last_payment_error,
        "latest_charge": latest_charge,
        "livemode": false,
        "metadata": pi.metadata,
        "next_action": next_action,
        "payment_method": pi.payment_method,
        "payment_method_types": ["card"],
        "status": pi.status.as_str(),
    })
}

pub fn charge(_state: &State, c: &super::state::Charge) -> Value {
    json!({
        "id": c.id,
        "object": "charge",
        "amount": c.amount,
        "amount_captured": c.amount_captured,
        "amount_refunded": c.amount_refunded,
        "captured": c.captured,
        "created": c.created,
        "currency": c.currency,
        "livemode": false,
        "metadata": {},
        "outcome": {"network_status": "approved_by_network", "type": "authorized",
                    "seller_message": "Payment complete.", "risk_level": "normal"},
        "paid": c.status == "succeeded",
        "payment_intent": c.payment_intent,
        "payment_method": c.payment_method,
        "payment_method_details": {"type": "card", "card": {
            "brand": c.card.brand, "last4": c.card.last4,
            "exp_month": c.card.exp_month, "exp_year": c.card.exp_year}},
        "refunded": c.amount_refunded >= c.amount,
        "status": c.status,
    })
}

pub fn refund(r: &super::state::Refund) -> Value {
    json!({
        "id": r.id,
        "object": "refund",
        "amount": r.amount,
        "charge": r.charge,
        "created": r.created,
        "currency": r.currency,
        "metadata": r.metadata,
        "payment_intent": r.payment_intent,
        "reason": r.reason,
        "status": r.status,
    })
}

pub fn list(url: &str, data: Vec<Value>) -> Value {
    json!({"object": "list", "data": data, "has_more": false, "url": url})
}

/// What the test controls show of a session: its PaymentIntent and charge expanded.
pub fn expand_all() -> Vec<String> {
    vec!["payment_intent.latest_charge".to_owned()]
}

/// The object an event carries, as it is now.
pub fn object(state: &State, object: &ObjectRef, origin: &str) -> Value {
    match object {
        ObjectRef::Session(id) => state
            .sessions
            .get(id)
            .map_or(Value::Null, |s| session(state, s, &[], origin)),
        ObjectRef::PaymentIntent(id) => state
            .intents
            .get(id)
            .map_or(Value::Null, |pi| payment_intent(state, pi, false)),
        ObjectRef::Charge(id) => state
            .charges
            .get(id)
            .map_or(Value::Null, |c| charge(state, c)),
        ObjectRef::Refund(id) => state.refunds.get(id).map_or(Value::Null, refund),
    }
}

/// An event: `{id, object:"event", api_version, created, data:{object}, livemode,
/// pending_webhooks, request:{id, idempotency_key}, type}`.
pub fn event(
    id: &str,
    kind: &str,
    object: Value,
    created: i64,
    api_version: &str,
    request: Option<(&str, Option<&str>)>,
) -> Value {
    let request = match request {
        Some((id, key)) => json!({"id": id, "idempotency_key": key}),
        None => json!({"id": null, "idempotency_key": null}),
    };
    json!({
        "id": id,
        "object": "event",
        "api_version": api_version,
        "created": created,
        "data": {"object": object},
        "livemode": false,
        "pending_webhooks": 1,
        "request": request,
        "type": kind,
    })
}
