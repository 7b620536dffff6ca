//! Stable, machine-readable error codes shared by the API, the logs and the widget's messages.
//!
//! A code never changes its spelling once released; clients branch on it. The English message is the
//! default human text; the widget localises by code.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $message:literal), )+) => {
        /// Every error the checkout can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode {
            $( $(#[$doc])* #[serde(rename = $code)] $variant, )+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The stable wire spelling, e.g. `insufficient_balance`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The HTTP status this error is answered with.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)+ }
            }

            /// A message a person understands, in English.
            pub const fn default_message(self) -> &'static str {
                match self { $(ErrorCode::$variant => $message,)+ }
            }
        }
    };
}

error_codes! {
    /// The body is not valid JSON, or a field has the wrong type.
    MalformedJson = ("malformed_json", 400, "The request body is not valid JSON of the expected shape."),
    /// A field is present and well-typed but its value is refused.
    InvalidParameter = ("invalid_parameter", 400, "A request parameter is invalid."),
    /// A required header is missing or malformed.
    InvalidHeader = ("invalid_header", 400, "A required header is missing or invalid."),
    /// The request carries a `Content-Type` other than JSON.
    UnsupportedMediaType = ("unsupported_media_type", 415, "Send the request body as application/json."),
    /// The body is larger than the route accepts.
    BodyTooLarge = ("body_too_large", 413, "The request body is too large."),
    /// No merchant key, or one that is not valid.
    InvalidApiKey = ("invalid_api_key", 401, "The API key is missing or not valid."),
    /// The widget token is missing, malformed or forged.
    InvalidToken = ("invalid_token", 401, "The checkout token is not valid. Reload the page to start again."),
    /// The widget token has expired.
    TokenExpired = ("token_expired", 401, "The checkout token has expired. Reload the page to start again."),
    /// The widget token belongs to another session or origin.
    TokenScopeMismatch = ("token_scope_mismatch", 403, "This checkout token is not valid for this session."),
    /// The page asking for a widget token is not on the merchant's list of allowed origins.
    OriginNotAllowed = ("origin_not_allowed", 403, "This page is not allowed to open this checkout. The shop must add its web address to the checkout's allowed origins."),
    /// Too many requests of one kind from one client or for one session; `retry_after_s` says when to try again.
    RateLimited = ("rate_limited", 429, "Too many attempts in a short time. Please wait a moment and try again."),
    /// A route that only takes a WebSocket (the widget's pushed status) was called without
    /// `Upgrade: websocket`.
    UpgradeRequired = ("upgrade_required", 426, "This address only takes a WebSocket connection."),
    /// The session already has as many open status sockets as it allows.
    TooManyStatusSockets = ("too_many_status_sockets", 429, "Too many open connections for this checkout. Close another tab or wait a moment."),
    /// The client secret does not match the session.
    InvalidClientSecret = ("invalid_client_secret", 401, "The checkout link is not valid."),
    /// The route or object does not exist (or belongs to someone else).
    NotFound = ("not_found", 404, "Nothing was found at this address."),
    /// The HTTP method is not supported on this route.
    MethodNotAllowed = ("method_not_allowed", 405, "This HTTP method is not supported here."),
    /// The order id was already used with a different request.
    OrderConflict = ("order_conflict", 409, "This order id was already used with different details."),
    /// The idempotency key was already used with a different request.
    IdempotencyKeyReused = ("idempotency_key_reused", 409, "This idempotency key was already used with a different request."),
    /// The payment method is not allowed for this session.
    MethodNotAllowedForSession = ("payment_method_not_allowed", 400, "This payment method is not available for this order."),
    /// The payment method is not offered by this checkout yet.
    PaymentMethodUnavailable = ("payment_method_unavailable", 400, "This payment method is not available."),
    /// The session is already paid, expired or canceled.
    SessionNotOpen = ("session_not_open", 409, "This checkout is no longer open for payment."),
    /// The session has expired.
    SessionExpired = ("session_expired", 410, "This checkout has expired. Return to the shop to start again."),
    /// Another payment on the session is being processed.
    PaymentInProgress = ("payment_in_progress", 409, "A payment for this order is already being processed."),
    /// A payment of this session is held for review; no other payment is accepted until the merchant resolves it.
    PaymentRequiresReview = ("payment_requires_review", 409, "A payment for this order is being checked by the shop. Please contact the shop."),
    /// The payment is not held for review, or the action is not allowed for it.
    ReviewActionNotAllowed = ("review_action_not_allowed", 409, "This payment is not held for review, or that action is not allowed for it."),
    /// The wallet cannot cover the amount.
    InsufficientBalance = ("insufficient_balance", 402, "Your balance is not enough to pay this amount."),
    /// The wallet has fewer points than asked for.
    InsufficientPoints = ("insufficient_points", 402, "There are not enough points in this wallet."),
    /// A split of the total across methods breaks a rule (see `core::allocation`).
    InvalidAllocation = ("invalid_allocation", 400, "The split of this payment across methods is not allowed."),
    /// The pay password did not match.
    IncorrectPayPassword = ("incorrect_pay_password", 402, "The pay password is incorrect."),
    /// Too many wrong pay passwords; balance payments are locked for a while.
    PayPasswordLocked = ("pay_password_locked", 423, "Too many incorrect pay passwords. Balance payments are locked for a while."),
    /// The customer has not set a pay password yet.
    PayPasswordNotSet = ("pay_password_not_set", 409, "No pay password is set for this wallet. Ask the shop to set one."),
    /// A pay password is required and was not sent.
    PayPasswordRequired = ("pay_password_required", 400, "Enter your pay password."),
    /// A pay password came from somewhere other than the checkout's own password frame (the
    /// merchant's page must never see it).
    PayPasswordOutsideFrame = ("pay_password_outside_frame", 403, "The pay password can only be entered in the checkout's own password field."),
    /// The ledger was asked to resolve a hold twice, or a hold that does not exist.
    HoldNotPending = ("hold_not_pending", 409, "The reserved amount was already released or captured."),
    /// The merchant's credit reference was already used for a different credit.
    ReferenceConflict = ("reference_conflict", 409, "This reference was already used for a different credit."),
    /// The amount is outside what the payment method accepts.
    AmountOutOfRange = ("amount_out_of_range", 400, "This amount is outside the limits of the chosen payment method."),
    /// The payment provider declined the payment (for example, too little money in the wallet).
    PaymentDeclined = ("payment_declined", 402, "The payment was declined. No money was taken; try again or choose another method."),
    /// The card's issuer declined the payment without a reason the shopper can act on (Stripe's
    /// `generic_decline`, `do_not_honor`; also lost, stolen and suspected fraudulent cards, whose
    /// real reason only the merchant sees).
    CardDeclined = ("card_declined", 402, "Your card was declined. No money was taken; try another card or another payment method."),
    /// The card's account does not have enough money for the payment.
    CardInsufficientFunds = ("card_insufficient_funds", 402, "Your card does not have enough funds for this payment. No money was taken."),
    /// The card has expired.
    CardExpired = ("card_expired", 402, "Your card has expired. No money was taken; use another card."),
    /// The card's security code (CVC) was wrong.
    CardIncorrectCvc = ("card_incorrect_cvc", 402, "The card's security code is incorrect. No money was taken; check it and try again."),
    /// The card network or the gateway failed while processing the card.
    CardProcessingError = ("card_processing_error", 402, "An error occurred while processing your card. No money was taken; try again in a moment."),
    /// The card's issuer could not authenticate the shopper (3-D Secure failed or was abandoned).
    CardAuthenticationFailed = ("card_authentication_failed", 402, "Your bank could not confirm this payment. No money was taken; try again or use another card."),
    /// The shopper canceled at the payment provider.
    PaymentCanceled = ("payment_canceled", 402, "The payment was canceled. No money was taken."),
    /// The payment provider could not be reached or failed; the outcome is being checked.
    ProviderUnavailable = ("provider_unavailable", 502, "The payment provider is not responding. Please try again in a moment."),
    /// The provider refused the request in a way the shopper cannot fix.
    ProviderError = ("provider_error", 502, "The payment provider refused the request. No money was taken."),
    /// A callback named a payment this session does not know.
    UnknownProviderPayment = ("unknown_provider_payment", 404, "This payment is not known."),
    /// A provider notification whose signature, key or timestamp did not check out.
    NotificationUnverified = ("notification_unverified", 401, "The notification's signature could not be verified."),
    /// A provider notification that could not be decrypted or read.
    NotificationUnreadable = ("notification_unreadable", 400, "The notification could not be decrypted or read."),
    /// A provider notification already received and applied (same nonce).
    NotificationReplayed = ("notification_replayed", 409, "This notification was already received."),
    /// A refund would return more than was paid.
    RefundExceedsPayment = ("refund_exceeds_payment", 400, "The refund is larger than what is left to refund."),
    /// Only a paid session can be refunded.
    SessionNotPaid = ("session_not_paid", 409, "Only a paid checkout can be refunded."),
    /// Something failed inside the checkout. Details are in the logs, never in the response.
    InternalError = ("internal_error", 500, "Something went wrong on our side. No money was moved; please try again."),
}

/// The body of every error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Pay-password attempts left before the lockout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Seconds until a locked or rate-limited action may be tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl ErrorDetail {
    pub fn new(code: ErrorCode) -> ErrorDetail {
        ErrorDetail {
            code,
            message: code.default_message().to_owned(),
            param: None,
            attempts_left: None,
            retry_after_s: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_match_serde() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(code
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn statuses_are_client_or_server_errors() {
        for code in ErrorCode::ALL {
            assert!((400..600).contains(&code.http_status()), "{code:?}");
        }
    }
}
