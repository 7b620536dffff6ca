//! The objects Stripe's API returns, as the simulator keeps them: Checkout Sessions,
//! PaymentIntents, Charges and Refunds, their statuses, and card errors. Rendering them as
//! Stripe's JSON is `wire`'s job; changing them is `state`'s.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Complete,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Paid,
    Unpaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    Automatic,
    AutomaticAsync,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiStatus {
    RequiresPaymentMethod,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl PiStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PiStatus::RequiresPaymentMethod => "requires_payment_method",
            PiStatus::RequiresAction => "requires_action",
            PiStatus::Processing => "processing",
            PiStatus::RequiresCapture => "requires_capture",
            PiStatus::Canceled => "canceled",
            PiStatus::Succeeded => "succeeded",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
}

/// A card error as in `last_payment_error` and in 402 answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardError {
    /// `card_error`, or `invalid_request_error` for a failed 3-D Secure authentication.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: &'static str,
    pub decline_code: Option<&'static str>,
    pub message: &'static str,
}

impl CardError {
    pub fn card(
        code: &'static str,
        decline_code: Option<&'static str>,
        message: &'static str,
    ) -> CardError {
        CardError {
            kind: "card_error",
            code,
            decline_code,
            message,
        }
    }

    pub fn authentication_failed() -> CardError {
        CardError {
            kind: "invalid_request_error",
            code: "payment_intent_authentication_failure",
            decline_code: None,
            message: "The provided PaymentMethod has failed authentication. You can provide \
                      payment_method_data or a new PaymentMethod to attempt to fulfill this \
                      PaymentIntent again.",
        }
    }
}

/// What is kept of a card: never its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Card {
    pub brand: &'static str,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    pub currency: String,
    pub unit_amount: i64,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub created: i64,
    pub expires_at: i64,
    pub status: SessionStatus,
    pub payment_status: PaymentStatus,
    pub amount_total: i64,
    pub currency: String,
    pub line_items: Vec<LineItem>,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub metadata: Map<String, Value>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub locale: Option<String>,
    pub capture_method: CaptureMethod,
    pub pi_metadata: Map<String, Value>,
    pub pi_description: Option<String>,
    pub payment_intent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: String,
    pub created: i64,
    pub session: String,
    pub amount: i64,
    pub currency: String,
    pub status: PiStatus,
    pub capture_method: CaptureMethod,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub latest_charge: Option<String>,
    pub last_payment_error: Option<(CardError, String)>,
    pub payment_method: Option<String>,
    pub metadata: Map<String, Value>,
    pub description: Option<String>,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<&'static str>,
    /// The card waiting for its 3-D Secure challenge.
    pub pending_card: Option<Card>,
    /// Captures that took effect (a lost answer still counts; a refused call does not).
    pub captures: u32,
    /// Every payment attempt: the card's last 4 digits and what happened.
    pub attempts: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Charge {
    pub id: String,
    pub created: i64,
    pub payment_intent: String,
    pub payment_method: String,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub captured: bool,
    pub currency: String,
    pub card: Card,
    pub status: &'static str,
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub status: RefundStatus,
    pub metadata: Map<String, Value>,
    pub reason: Option<String>,
}
