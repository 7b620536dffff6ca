//! The requests the Stripe connector sends, built without I/O: method, path, form body and
//! idempotency key (each POST's key derived from our own ids), so their shape is unit-tested.

use checkout_core::Money;
use worker::Method;

use super::wire::{self, CaptureMethod, Operation};
use crate::connectors::{ConnectorError, CreatePayment, RefundRequest};

/// The `Idempotency-Key` of each POST, derived from our ids, so a retry is the same call.
pub mod keys {
    use checkout_core::Money;

    pub fn create(payment_id: &str) -> String {
        format!("{payment_id}:create")
    }

    pub fn expire(session: &str) -> String {
        format!("{session}:expire")
    }

    /// One key per amount: a second, different partial capture is a different call.
    pub fn capture(payment_id: &str, amount: Option<Money>) -> String {
        match amount {
            Some(amount) => format!("{payment_id}:capture:{}", amount.amount_minor()),
            None => format!("{payment_id}:capture:full"),
        }
    }

    pub fn void(payment_id: &str) -> String {
        format!("{payment_id}:void")
    }

    pub fn refund(refund_id: &str) -> String {
        refund_id.to_owned()
    }
}

/// One HTTP exchange with Stripe, before it is sent: pure, so its shape is unit-tested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeRequest {
    pub method: Method,
    /// The path, with its query string.
    pub path: String,
    /// The form body of a POST.
    pub form: Option<String>,
    pub idempotency_key: Option<String>,
    pub operation: Operation,
}

/// An id Stripe gave us, safe to put in a path: letters, digits and `_` only.
pub fn path_id(id: &str) -> Result<&str, ConnectorError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(ConnectorError::InvalidState(format!(
            "not a Stripe id: {:?}",
            id.chars().take(40).collect::<String>()
        )))
    }
}

/// Appends `extra` to `url`'s query.
fn with_query(url: &str, extra: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{extra}")
}

impl StripeRequest {
    fn post(path: String, form: String, key: String, operation: Operation) -> StripeRequest {
        StripeRequest {
            method: Method::Post,
            path,
            form: Some(form),
            idempotency_key: Some(key),
            operation,
        }
    }

    fn get(path: String, operation: Operation) -> StripeRequest {
        StripeRequest {
            method: Method::Get,
            path,
            form: None,
            idempotency_key: None,
            operation,
        }
    }

    /// The Checkout Session for a card leg. `success_url` is the edge's return route
    /// (`/v1/callbacks/card/{session}`) with Stripe's template, `cancel_url` the same route
    /// with `status=cancel` and our payment id (Stripe fills its template in `success_url` only).
    pub fn create_session(
        payment: &CreatePayment<'_>,
        capture: CaptureMethod,
        now_s: i64,
    ) -> StripeRequest {
        let create = wire::SessionCreate {
            payment_id: payment.invoice,
            session_id: payment.session_id,
            customer_id: payment.payer_reference,
            amount: payment.amount,
            description: payment.description,
            success_url: with_query(
                &payment.callback_url,
                "checkout_session={CHECKOUT_SESSION_ID}",
            ),
            cancel_url: with_query(
                &payment.callback_url,
                &format!("status=cancel&payment={}", payment.invoice),
            ),
            expires_at_s: wire::session_expires_at(payment.expires_at_s, now_s),
            capture,
        };
        StripeRequest::post(
            "/v1/checkout/sessions".into(),
            create.to_form(),
            keys::create(payment.invoice),
            Operation::CreateSession,
        )
    }

    pub fn retrieve_session(session: &str) -> Result<StripeRequest, ConnectorError> {
        let path = format!(
            "/v1/checkout/sessions/{}?{}",
            path_id(session)?,
            wire::expand_payment_intent()
        );
        Ok(StripeRequest::get(path, Operation::RetrieveSession))
    }

    pub fn expire_session(session: &str) -> Result<StripeRequest, ConnectorError> {
        let path = format!("/v1/checkout/sessions/{}/expire", path_id(session)?);
        Ok(StripeRequest::post(
            path,
            wire::expand_payment_intent(),
            keys::expire(session),
            Operation::ExpireSession,
        ))
    }

    pub fn retrieve_intent(intent: &str) -> Result<StripeRequest, ConnectorError> {
        let path = format!("/v1/payment_intents/{}", path_id(intent)?);
        Ok(StripeRequest::get(path, Operation::RetrieveIntent))
    }

    pub fn capture_intent(
        payment_id: &str,
        intent: &str,
        amount: Option<Money>,
    ) -> Result<StripeRequest, ConnectorError> {
        let path = format!("/v1/payment_intents/{}/capture", path_id(intent)?);
        Ok(StripeRequest::post(
            path,
            wire::capture_form(amount),
            keys::capture(payment_id, amount),
            Operation::CaptureIntent,
        ))
    }

    pub fn cancel_intent(payment_id: &str, intent: &str) -> Result<StripeRequest, ConnectorError> {
        let path = format!("/v1/payment_intents/{}/cancel", path_id(intent)?);
        Ok(StripeRequest::post(
            path,
            String::new(),
            keys::void(payment_id),
            Operation::CancelIntent,
        ))
    }

    pub fn create_refund(request: &RefundRequest<'_>) -> Result<StripeRequest, ConnectorError> {
        let intent = path_id(request.transaction_id)?;
        let form = wire::refund_form(intent, request.amount, request.refund_id, request.reason);
        Ok(StripeRequest::post(
            "/v1/refunds".into(),
            form,
            keys::refund(request.refund_id),
            Operation::CreateRefund,
        ))
    }

    pub fn list_refunds(
        intent: &str,
        starting_after: Option<&str>,
    ) -> Result<StripeRequest, ConnectorError> {
        let query = wire::refund_list_query(path_id(intent)?, starting_after);
        Ok(StripeRequest::get(
            format!("/v1/refunds?{query}"),
            Operation::ListRefunds,
        ))
    }
}
