//! Stripe's wire format: form bodies in bracket notation, the objects we read (Checkout Session,
//! PaymentIntent, Refund, Event), Stripe's error shape, and their mapping to the connector types.
//!
//! Sources (Stripe API reference, docs.stripe.com/api):
//! - requests are `application/x-www-form-urlencoded`; nested parameters use brackets
//!   (`metadata[payment_id]=..`, `line_items[0][price_data][unit_amount]=..`, `expand[]=..`).
//!   Encoding is `url::form_urlencoded`'s (brackets travel percent-encoded, which every form
//!   decoder, Stripe's included, reads back as brackets);
//! - amounts are integers in the currency's smallest unit ("a positive integer representing how
//!   much to charge in the smallest currency unit"); for Stripe's zero-decimal currencies (JPY,
//!   KRW, VND, XAF, ... docs.stripe.com/currencies#zero-decimal) that unit is the whole unit, which
//!   is also what `checkout_core::Money` holds for them (JPY has `minor_digits() == 0`), so
//!   [`Money::amount_minor`] goes out unchanged. Currencies are sent and read in lower case;
//! - Checkout Session `status` is `open | complete | expired`, `payment_status` is
//!   `paid | unpaid | no_payment_required`; its `payment_intent` is an id, or the object when
//!   asked with `expand[]=payment_intent`, and stays null until the shopper submits the page;
//! - PaymentIntent `status` is `requires_payment_method | requires_confirmation |
//!   requires_action | processing | requires_capture | canceled | succeeded`, with
//!   `amount_received`, `amount_capturable`, `latest_charge` and `last_payment_error` (an error
//!   object, below). After a decline on the hosted page the session stays `open` and the intent
//!   goes back to `requires_payment_method` with `last_payment_error` set: the shopper may retry;
//! - Refund `status` is `pending | requires_action | succeeded | failed | canceled`;
//! - errors (docs.stripe.com/api/errors): `{"error": {"type", "code", "decline_code", "message",
//!   "param"}}`, `type` one of `api_error | card_error | idempotency_error |
//!   invalid_request_error` (older answers also `authentication_error`, `rate_limit_error`); HTTP
//!   400 bad request, 401 bad key, 402 request failed (a declined card), 403 permission, 404
//!   `resource_missing`, 409 conflict (an idempotency key in use), 424 external dependency,
//!   429 too many requests, 5xx Stripe's side. A 409, 424, 429, 5xx, an `idempotency_error`, a
//!   timeout or an unreadable answer leaves the outcome unknown;
//! - decline codes (docs.stripe.com/declines/codes): mapped to our stable card codes by
//!   [`card_error_code`]. `lost_card`, `stolen_card`, `fraudulent`, `pickup_card` and friends are
//!   shown to the shopper as a plain decline (Stripe advises the same, so as not to tip off a
//!   fraudster); the merchant keeps Stripe's real code in [`ConnectorError::Refused`]'s
//!   `provider_code`.

use std::collections::BTreeMap;

use checkout_core::{Currency, ErrorCode, Money};
use serde::Deserialize;
use url::form_urlencoded;

use crate::connectors::{
    ConnectorError, Decline, ProviderPayment, ProviderRefund, ProviderState, RefundState,
};

/// A form body or query string, built pair by pair in bracket notation.
pub struct Form(form_urlencoded::Serializer<'static, String>);

impl Default for Form {
    fn default() -> Form {
        Form(form_urlencoded::Serializer::new(String::new()))
    }
}

impl Form {
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds `key=value`; `key` may carry brackets (`metadata[payment_id]`).
    pub fn field(mut self, key: &str, value: &str) -> Form {
        self.0.append_pair(key, value);
        self
    }

    pub fn finish(mut self) -> String {
        self.0.finish()
    }
}

/// When the card is charged: at once, or authorized now and captured by the merchant later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureMethod {
    #[default]
    Automatic,
    Manual,
}

/// What a Checkout Session is created with.
#[derive(Debug, Clone)]
pub struct SessionCreate<'a> {
    /// Our payment id: `client_reference_id` and `metadata[payment_id]`.
    pub payment_id: &'a str,
    /// Our checkout session's id: `metadata[session_id]` on the session and its intent, so a
    /// webhook about either leads back to it.
    pub session_id: &'a str,
    pub customer_id: &'a str,
    pub amount: Money,
    /// The line item's name on Stripe's page.
    pub description: &'a str,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at_s: i64,
    pub capture: CaptureMethod,
}

impl SessionCreate<'_> {
    /// The form body of `POST /v1/checkout/sessions`.
    pub fn to_form(&self) -> String {
        let name = if self.description.trim().is_empty() {
            "Order"
        } else {
            self.description
        };
        let form = Form::new()
            .field("mode", "payment")
            .field("payment_method_types[0]", "card")
            .field("client_reference_id", self.payment_id)
            .field("line_items[0][quantity]", "1")
            .field(
                "line_items[0][price_data][currency]",
                &currency_to_wire(self.amount.currency()),
            )
            .field(
                "line_items[0][price_data][unit_amount]",
                &self.amount.amount_minor().to_string(),
            )
            .field("line_items[0][price_data][product_data][name]", name)
            .field("metadata[payment_id]", self.payment_id)
            .field("metadata[customer_id]", self.customer_id)
            .field("metadata[session_id]", self.session_id)
            .field("payment_intent_data[metadata][payment_id]", self.payment_id)
            .field("payment_intent_data[metadata][session_id]", self.session_id)
            .field("success_url", &self.success_url)
            .field("cancel_url", &self.cancel_url)
            .field("expires_at", &self.expires_at_s.to_string());
        let form = match self.capture {
            CaptureMethod::Manual => form.field("payment_intent_data[capture_method]", "manual"),
            CaptureMethod::Automatic => form,
        };
        form.finish()
    }
}

/// Stripe refuses a Checkout Session that expires less than 30 minutes or more than 24 hours
/// after it is created. Ours may end sooner: Stripe's then gets 30 minutes (plus a minute for
/// the two clocks), and the edge must expire it explicitly when ours ends (`cancel`).
pub const MIN_SESSION_S: i64 = 31 * 60;
pub const MAX_SESSION_S: i64 = 24 * 60 * 60;

/// The `expires_at` to send: ours, pulled into Stripe's window.
pub fn session_expires_at(ours_s: i64, now_s: i64) -> i64 {
    ours_s.clamp(
        now_s.saturating_add(MIN_SESSION_S),
        now_s.saturating_add(MAX_SESSION_S),
    )
}

/// Whether Stripe's session outlives ours, so that ours ending must expire it explicitly.
pub fn must_expire_explicitly(ours_s: i64, sent_s: i64) -> bool {
    sent_s > ours_s
}

/// `?expand[]=payment_intent`, for retrieving a session with its intent in one call.
pub fn expand_payment_intent() -> String {
    Form::new().field("expand[]", "payment_intent").finish()
}

/// The form body of `POST /v1/payment_intents/{id}/capture`.
pub fn capture_form(amount: Option<Money>) -> String {
    match amount {
        Some(amount) => Form::new()
            .field("amount_to_capture", &amount.amount_minor().to_string())
            .finish(),
        None => String::new(),
    }
}

/// Stripe's metadata values hold at most 500 characters.
const METADATA_VALUE_MAX: usize = 500;

/// The form body of `POST /v1/refunds`. Stripe's `reason` is an enum (`duplicate`,
/// `fraudulent`, `requested_by_customer`), so ours travels in metadata.
pub fn refund_form(payment_intent: &str, amount: Money, refund_id: &str, reason: &str) -> String {
    let reason: String = reason.chars().take(METADATA_VALUE_MAX).collect();
    Form::new()
        .field("payment_intent", payment_intent)
        .field("amount", &amount.amount_minor().to_string())
        .field("metadata[refund_id]", refund_id)
        .field("metadata[reason]", &reason)
        .finish()
}

/// The query of `GET /v1/refunds` for one intent, a page of 100 after `starting_after`.
pub fn refund_list_query(payment_intent: &str, starting_after: Option<&str>) -> String {
    let form = Form::new()
        .field("payment_intent", payment_intent)
        .field("limit", "100");
    match starting_after {
        Some(after) => form.field("starting_after", after).finish(),
        None => form.finish(),
    }
}

pub fn currency_to_wire(currency: Currency) -> String {
    currency.code().to_ascii_lowercase()
}

pub fn currency_from_wire(code: &str) -> Option<Currency> {
    Currency::ALL
        .into_iter()
        .find(|c| c.code().eq_ignore_ascii_case(code))
}

/// An amount Stripe reports, in a currency we know.
pub fn money_from_wire(amount: Option<i64>, currency: Option<&str>) -> Option<Money> {
    Money::from_minor(amount?, currency_from_wire(currency?)?).ok()
}

/// A field that is an id, or the object itself when expanded.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expandable<T> {
    Id(String),
    Object(Box<T>),
}

impl<T: HasId> Expandable<T> {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) => id,
            Expandable::Object(object) => object.id(),
        }
    }

    pub fn object(&self) -> Option<&T> {
        match self {
            Expandable::Id(_) => None,
            Expandable::Object(object) => Some(object),
        }
    }
}

pub trait HasId {
    fn id(&self) -> &str;
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub status: Option<String>,
    pub payment_status: Option<String>,
    /// The hosted page; null once the session is complete or expired.
    pub url: Option<String>,
    pub client_reference_id: Option<String>,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    pub payment_intent: Option<Expandable<PaymentIntent>>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: Option<i64>,
    pub amount_received: Option<i64>,
    pub amount_capturable: Option<i64>,
    pub currency: Option<String>,
    pub capture_method: Option<String>,
    pub latest_charge: Option<Expandable<Charge>>,
    pub last_payment_error: Option<ApiError>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

impl HasId for PaymentIntent {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    pub id: String,
}

impl HasId for Charge {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: Option<String>,
    pub payment_intent: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefundList {
    pub data: Vec<Refund>,
    #[serde(default)]
    pub has_more: bool,
}

/// Stripe's error body.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiError {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
    pub param: Option<String>,
}

/// Which call an answer belongs to: the same Stripe code means different things to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateSession,
    RetrieveSession,
    ExpireSession,
    RetrieveIntent,
    CaptureIntent,
    CancelIntent,
    CreateRefund,
    ListRefunds,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateSession => "create checkout session",
            Operation::RetrieveSession => "retrieve checkout session",
            Operation::ExpireSession => "expire checkout session",
            Operation::RetrieveIntent => "retrieve payment intent",
            Operation::CaptureIntent => "capture payment intent",
            Operation::CancelIntent => "cancel payment intent",
            Operation::CreateRefund => "create refund",
            Operation::ListRefunds => "list refunds",
        }
    }
}

/// Reads any answer: a 2xx body as `R`, anything else as Stripe's error.
pub fn read_answer<R: for<'de> Deserialize<'de>>(
    status: u16,
    body: &str,
    operation: Operation,
) -> Result<R, ConnectorError> {
    if (200..300).contains(&status) {
        return serde_json::from_str(body).map_err(|e| {
            ConnectorError::Unknown(format!(
                "{}: HTTP {status} with an unreadable body ({e})",
                operation.name()
            ))
        });
    }
    Err(match serde_json::from_str::<ErrorBody>(body) {
        Ok(answer) => answer.error.into_connector_error(status, operation),
        Err(_) => ConnectorError::Unknown(format!(
            "{}: HTTP {status} without Stripe's error body",
            operation.name()
        )),
    })
}

impl ApiError {
    /// Stripe's most specific word for the error: the decline code, else the code, else the type.
    pub fn provider_code(&self) -> String {
        self.decline_code
            .clone()
            .or_else(|| self.code.clone())
            .unwrap_or_else(|| self.kind.clone())
    }

    fn refused(&self, code: ErrorCode) -> ConnectorError {
        ConnectorError::Refused {
            code,
            message: code.default_message().to_owned(),
            provider_code: self.provider_code(),
            provider_message: self.message.clone().unwrap_or_default(),
        }
    }

    /// What this error means for `operation`, answered with HTTP `status`.
    pub fn into_connector_error(self, status: u16, operation: Operation) -> ConnectorError {
        let unknown = |error: &ApiError| {
            ConnectorError::Unknown(format!(
                "{}: HTTP {status} {} {}",
                operation.name(),
                error.provider_code(),
                error.message.as_deref().unwrap_or("")
            ))
        };
        if status == 409 || status == 424 || status == 429 || status >= 500 {
            return unknown(&self);
        }
        if matches!(
            self.kind.as_str(),
            "idempotency_error" | "api_error" | "rate_limit_error" | "api_connection_error"
        ) {
            return unknown(&self);
        }
        if self.kind == "card_error" || status == 402 {
            return self.refused(card_error_code(
                self.decline_code.as_deref(),
                self.code.as_deref(),
            ));
        }
        let code = self.code.as_deref().unwrap_or("");
        match (code, operation) {
            // A retried capture replays its first answer (same key), so this is another capture.
            ("charge_already_captured", _) => ConnectorError::AlreadyDone(code.to_owned()),
            // Likewise a refund: this one would return more than is left.
            ("charge_already_refunded", Operation::CreateRefund) => {
                self.refused(ErrorCode::RefundExceedsPayment)
            }
            ("payment_intent_unexpected_state" | "checkout_session_not_open", _) => {
                ConnectorError::InvalidState(code.to_owned())
            }
            ("amount_too_large" | "refund_exceeds_charge", Operation::CreateRefund) => {
                self.refused(ErrorCode::RefundExceedsPayment)
            }
            ("amount_too_small" | "amount_too_large", _) => {
                self.refused(ErrorCode::AmountOutOfRange)
            }
            ("resource_missing", _) => self.refused(ErrorCode::UnknownProviderPayment),
            _ if status == 404 => self.refused(ErrorCode::UnknownProviderPayment),
            // 400 invalid request, 401 bad key, 403 permission: nothing happened, and nothing
            // the shopper can fix. The merchant sees Stripe's code in the logs.
            _ => self.refused(ErrorCode::ProviderError),
        }
    }
}

/// The shopper-facing code of a card error, from Stripe's `decline_code` (or `code` when the
/// issuer gave no decline code).
pub fn card_error_code(decline_code: Option<&str>, code: Option<&str>) -> ErrorCode {
    let reason = decline_code.or(code).unwrap_or("");
    match reason {
        "insufficient_funds" | "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
            ErrorCode::CardInsufficientFunds
        }
        "expired_card" => ErrorCode::CardExpired,
        "incorrect_cvc" | "invalid_cvc" => ErrorCode::CardIncorrectCvc,
        "processing_error" | "reenter_transaction" | "try_again_later" | "issuer_not_available" => {
            ErrorCode::CardProcessingError
        }
        "authentication_required"
        | "payment_intent_authentication_failure"
        | "authentication_not_handled" => ErrorCode::CardAuthenticationFailed,
        // generic_decline, do_not_honor, card_declined, lost_card, stolen_card, fraudulent,
        // pickup_card, restricted_card, and anything new: a plain decline to the shopper.
        _ => ErrorCode::CardDeclined,
    }
}

/// What a Checkout Session (retrieved with its intent expanded) says the payment is.
///
/// The intent decides when there is one: `succeeded` is paid, `requires_capture` is authorized
/// (the merchant's capture is the remaining step: [`ProviderState::Approved`]), `canceled` is
/// void. Without an intent the session decides: `complete` and `paid` is paid, `expired` is over
/// (failed if the last card was declined, otherwise canceled), anything else is still pending,
/// including a decline the shopper may still retry on Stripe's page.
pub fn session_payment(session: &CheckoutSession) -> ProviderPayment {
    let intent = session.payment_intent.as_ref().and_then(Expandable::object);
    let status = session.status.as_deref().unwrap_or("");
    let paid = session.payment_status.as_deref() == Some("paid");
    let declined = intent.is_some_and(|i| i.last_payment_error.is_some());
    let state = match (intent.map(|i| i.status.as_str()), status) {
        (Some("succeeded"), _) => ProviderState::Succeeded,
        (Some("requires_capture"), _) => ProviderState::Approved,
        (Some("canceled"), _) => ProviderState::Canceled,
        (None, "complete") if paid => ProviderState::Succeeded,
        (_, "expired") if declined => ProviderState::Failed,
        (_, "expired") => ProviderState::Canceled,
        _ => ProviderState::Pending,
    };
    let currency = session
        .currency
        .as_deref()
        .or(intent.and_then(|i| i.currency.as_deref()));
    let amount = match (state, intent) {
        (ProviderState::Succeeded, Some(i)) => i.amount_received,
        (ProviderState::Approved, Some(i)) => i.amount_capturable,
        _ => session.amount_total,
    };
    ProviderPayment {
        state,
        provider_status: format!(
            "{status}/{}/{}",
            session.payment_status.as_deref().unwrap_or(""),
            intent.map_or("", |i| i.status.as_str())
        ),
        transaction_id: session.payment_intent.as_ref().map(|i| i.id().to_owned()),
        amount: money_from_wire(amount, currency),
        invoice: session.client_reference_id.clone(),
        decline: session_decline(session),
    }
}

/// The card's decline, when the last attempt on the hosted page was declined (the intent's
/// `last_payment_error`, retrieved with the session): what to tell the shopper once the session
/// ends unpaid, and the issuer's reason for the merchant.
pub fn session_decline(session: &CheckoutSession) -> Option<Decline> {
    let intent = session.payment_intent.as_ref()?.object()?;
    intent_decline(intent)
}

/// An intent's `last_payment_error`, when it is a card's decline (`type: card_error`; Stripe
/// documents `code` and, for issuer declines, `decline_code` on it: docs.stripe.com/api/
/// payment_intents/object#payment_intent_object-last_payment_error). A decline mapped to our
/// code is `card_declined` for every reason the shopper must not be told (lost, stolen,
/// fraudulent, ...); the raw codes travel on for the merchant.
pub fn intent_decline(intent: &PaymentIntent) -> Option<Decline> {
    let error = intent.last_payment_error.as_ref()?;
    if error.kind != "card_error" && error.decline_code.is_none() {
        return None;
    }
    Some(Decline {
        code: card_error_code(error.decline_code.as_deref(), error.code.as_deref()),
        decline_code: error.decline_code.clone(),
        gateway_code: error.code.clone(),
    })
}

/// What a PaymentIntent alone says (after a capture or a cancel, or when a capture's answer was
/// lost). `invoice` is our payment id from its metadata.
pub fn intent_payment(intent: &PaymentIntent) -> ProviderPayment {
    let state = match intent.status.as_str() {
        "succeeded" => ProviderState::Succeeded,
        "requires_capture" => ProviderState::Approved,
        "canceled" => ProviderState::Canceled,
        _ => ProviderState::Pending,
    };
    let amount = match state {
        ProviderState::Succeeded => intent.amount_received,
        ProviderState::Approved => intent.amount_capturable,
        _ => intent.amount,
    };
    ProviderPayment {
        state,
        provider_status: intent.status.clone(),
        transaction_id: Some(intent.id.clone()),
        amount: money_from_wire(amount, intent.currency.as_deref()),
        invoice: intent.metadata.get("payment_id").cloned(),
        decline: intent_decline(intent),
    }
}

impl Refund {
    pub fn to_provider(&self) -> ProviderRefund {
        let state = match self.status.as_deref() {
            Some("succeeded") => RefundState::Succeeded,
            Some("failed" | "canceled") => RefundState::Failed,
            // pending, requires_action, and anything new: not final yet.
            _ => RefundState::Processing,
        };
        ProviderRefund {
            refund_transaction_id: self.id.clone(),
            amount: money_from_wire(Some(self.amount), Some(&self.currency)),
            state,
        }
    }

    /// Whether this is the refund we made with our id `refund_id`.
    pub fn is_ours(&self, refund_id: &str) -> bool {
        self.metadata.get("refund_id").map(String::as_str) == Some(refund_id)
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
