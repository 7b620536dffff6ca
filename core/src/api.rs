//! The JSON shapes of the merchant API and the widget API, and the validation of what comes in.
//!
//! Amounts travel as decimal strings and timestamps as unix seconds. Request types refuse unknown
//! fields, so a typo such as `ammount` is an error rather than a silently ignored value.

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money, MoneyError};
use crate::{pay_password, ErrorCode};

/// Session lifetime when the merchant names none.
pub const DEFAULT_SESSION_TTL_S: i64 = 30 * 60;
/// Bounds on the lifetime a merchant may ask for.
pub const MIN_SESSION_TTL_S: i64 = 5 * 60;
pub const MAX_SESSION_TTL_S: i64 = 24 * 60 * 60;

/// The WebSocket subprotocol of the widget's pushed status (`GET /v1/widget/sessions/{id}/status`
/// with `Upgrade: websocket`): each text message is the session's widget view without the wallet
/// (a [`WidgetSession`], the `?wallet=omit` read's JSON), the first at once, then after every
/// change of it; the server closes with 1000 after a view whose status is no longer `processing`.
pub const STATUS_SOCKET_PROTOCOL: &str = "checkout.status.v1";
/// A browser cannot set `Authorization` on a WebSocket, and a URL lands in logs: the widget token
/// travels as a second offered subprotocol, this prefix then the token (a token's characters,
/// base64url and `.`, are all allowed in a subprotocol). The server never answers with it.
pub const STATUS_SOCKET_BEARER_PREFIX: &str = "bearer.";
/// The most status sockets one session keeps open at once; another is refused
/// (`429 too_many_status_sockets`).
pub const MAX_STATUS_SOCKETS_PER_SESSION: usize = 4;

/// A way to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Store balance held in the merchant's wallet for the customer.
    Balance,
    /// Loyalty points.
    Points,
    /// bKash tokenized checkout.
    Bkash,
    /// WeChat Pay.
    WechatPay,
    /// Card, through a gateway.
    Card,
}

impl PaymentMethod {
    /// The wire name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Balance => "balance",
            PaymentMethod::Points => "points",
            PaymentMethod::Bkash => "bkash",
            PaymentMethod::WechatPay => "wechat_pay",
            PaymentMethod::Card => "card",
        }
    }

    /// Whether this method can take payments in `currency`: the providers settle in one currency
    /// each (bKash in taka, WeChat Pay's domestic API in yuan); the wallet keeps any.
    pub fn accepts(self, currency: Currency) -> bool {
        match self {
            PaymentMethod::Bkash => currency == Currency::BDT,
            PaymentMethod::WechatPay => currency == Currency::CNY,
            PaymentMethod::Balance | PaymentMethod::Points | PaymentMethod::Card => true,
        }
    }
}

/// Where a checkout session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Waiting for the shopper to pay.
    Open,
    /// A payment is under way.
    Processing,
    /// Paid in full. Final.
    Paid,
    /// A card payment is authorized and waits for the merchant's capture or cancel (a session
    /// created with `capture: "manual"`). Nothing is taken yet; the wallet's part stays held.
    Authorized,
    /// Expired unpaid. Final.
    Expired,
    /// A provider took money that does not match the payment (another amount or order). Nothing
    /// is counted as paid and no other payment is accepted until the merchant resolves it
    /// (`POST /v1/checkout_sessions/{id}/payments/{pid}/resolve`).
    RequiresReview,
}

impl SessionStatus {
    pub fn is_final(self) -> bool {
        matches!(self, SessionStatus::Paid | SessionStatus::Expired)
    }
}

/// Where one payment attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Processing,
    /// The card is authorized; the merchant's capture takes the money, a cancel releases it.
    Authorized,
    Succeeded,
    Failed,
    /// The provider says it took money that does not match this payment. Never counted as paid;
    /// it blocks another payment of the session until the merchant resolves it.
    RequiresReview,
}

/// Why a payment needs a person: what the provider said that the books could not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// The provider took another amount than the payment asked for.
    AmountMismatch,
    /// The provider's transaction names another order (invoice) than the payment.
    OrderMismatch,
}

/// What the merchant decides about a payment held for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolveAction {
    /// Give the money the provider took back to the payer; the session opens for payment again
    /// (or stays expired).
    RefundAtProvider,
    /// Count what the provider took as the payment (only when it took no more than the session's
    /// amount); the session is paid.
    Accept,
}

/// `POST /v1/checkout_sessions/{id}/payments/{payment_id}/resolve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolvePaymentRequest {
    pub action: ResolveAction,
}

/// A payment's review, as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReview {
    pub reason: ReviewReason,
    /// What the provider says it took, a decimal string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_amount: Option<String>,
    /// The order (invoice) the provider's transaction names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_order: Option<String>,
    /// The merchant's decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<ResolveAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
}

/// A provider success that arrived after the attempt had ended here (its close was lost, or the
/// shopper paid at the last moment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LateSuccess {
    /// Unix seconds when we learnt of it.
    pub received_at: i64,
    /// `paid_session`: the session was still open and the success paid it; `refunded`: the money
    /// is being (or was) given back, by the refund `refund_id`.
    pub outcome: LateSuccessOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LateSuccessOutcome {
    PaidSession,
    Refunded,
}

/// `POST /v1/checkout_sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// The merchant's own order id; one session per order id.
    pub order_id: String,
    /// A decimal string such as `"100.50"`.
    pub amount: String,
    pub currency: Currency,
    pub description: String,
    /// The merchant's id for the shopper; it names the wallet.
    pub customer_id: String,
    /// The methods the shopper may choose from.
    pub methods: Vec<PaymentMethod>,
    /// Where the shopper goes after paying.
    pub return_url: String,
    /// Seconds until the session expires unpaid; 300 to 86400, 1800 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<i64>,
    /// When a card payment takes the money: at once (`automatic`, the default) or when the
    /// merchant captures the authorization (`manual`). Other methods always take it at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureMode>,
    /// The shopper's WeChat openid under the merchant's app id, which the merchant learns from
    /// WeChat's OAuth; required for WeChat's in-app pay sheet (JSAPI) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_openid: Option<String>,
}

/// When a card payment's money is taken (`CreateSessionRequest::capture`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    #[default]
    Automatic,
    Manual,
}

/// `POST /v1/checkout_sessions/{id}/capture`: the whole authorization, or `amount` of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureRequest {
    /// A decimal string such as `"80.00"`; the whole card amount when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

/// A request field that was refused, with the code and a message for the developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: ErrorCode,
    pub param: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn invalid(param: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            code: ErrorCode::InvalidParameter,
            param,
            message: message.into(),
        }
    }

    fn money(param: &'static str, error: MoneyError) -> FieldError {
        FieldError::invalid(param, format!("{param}: {error}"))
    }
}

/// A session request whose every field has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSessionRequest {
    pub amount: Money,
    pub ttl_s: i64,
}

impl CreateSessionRequest {
    /// Checks every field; `livemode` is the merchant key's mode, which decides the URL rules
    /// (live: `https` only, see [`check_url`]).
    pub fn validate(&self, livemode: bool) -> Result<ValidSessionRequest, FieldError> {
        self.validate_with_min_ttl(livemode, MIN_SESSION_TTL_S)
    }

    /// As [`CreateSessionRequest::validate`], with a shorter shortest lifetime: for test
    /// deployments that must watch sessions expire within seconds.
    pub fn validate_with_min_ttl(
        &self,
        livemode: bool,
        min_ttl_s: i64,
    ) -> Result<ValidSessionRequest, FieldError> {
        check_id("order_id", &self.order_id, 64)?;
        check_id("customer_id", &self.customer_id, 64)?;
        let amount = Money::parse_positive(&self.amount, self.currency)
            .map_err(|e| FieldError::money("amount", e))?;
        check_text("description", &self.description, 200)?;
        check_methods(&self.methods, self.currency)?;
        if let Some(openid) = &self.wechat_openid {
            check_openid(openid)?;
        }
        check_url("return_url", &self.return_url, livemode)?;
        let ttl_s = self.expires_in_s.unwrap_or(DEFAULT_SESSION_TTL_S);
        if !(min_ttl_s..=MAX_SESSION_TTL_S).contains(&ttl_s) {
            return Err(FieldError::invalid(
                "expires_in_s",
                format!("expires_in_s must be between {min_ttl_s} and {MAX_SESSION_TTL_S} seconds"),
            ));
        }
        Ok(ValidSessionRequest { amount, ttl_s })
    }
}

/// An identifier chosen by a merchant or configured for one: 1 to `max_len` of `[A-Za-z0-9_.-]`.
///
/// The one rule for merchant ids (configuration), customer ids, order ids and references. It
/// forbids `:` and `/` (the separators other systems and older object names joined ids with),
/// whitespace, control characters, `%` and anything outside ASCII, so an id reads the same in a
/// URL path, a log line and a Durable Object name, and no two ids differ only by an encoding.
pub fn check_id(param: &'static str, value: &str, max_len: usize) -> Result<(), FieldError> {
    if !is_valid_id(value, max_len) {
        return Err(FieldError::invalid(
            param,
            format!("{param} must be 1 to {max_len} characters of letters, digits, _ - ."),
        ));
    }
    Ok(())
}

/// Whether `value` passes [`check_id`].
pub fn is_valid_id(value: &str, max_len: usize) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    !value.is_empty() && value.len() <= max_len && value.bytes().all(allowed)
}

/// Items per list page when the merchant names no `limit`, and the most it may ask for.
pub const LIST_DEFAULT_LIMIT: u32 = 100;
pub const LIST_MAX_LIMIT: u32 = 100;

/// Which page of a list to answer (Stripe's list parameters): at most `limit` items after the
/// item whose cursor is `starting_after`. For the audit trail the cursor is an entry's `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    pub limit: u32,
    pub starting_after: Option<i64>,
}

impl Default for ListPage {
    fn default() -> ListPage {
        ListPage {
            limit: LIST_DEFAULT_LIMIT,
            starting_after: None,
        }
    }
}

impl ListPage {
    /// Reads `limit` (1 to [`LIST_MAX_LIMIT`]) and `starting_after` (a cursor, a whole number of
    /// 0 or more) from the query string's values.
    pub fn parse(
        limit: Option<&str>,
        starting_after: Option<&str>,
    ) -> Result<ListPage, FieldError> {
        let limit = match limit {
            None => LIST_DEFAULT_LIMIT,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=LIST_MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    FieldError::invalid(
                        "limit",
                        format!("limit must be a whole number from 1 to {LIST_MAX_LIMIT}"),
                    )
                })?,
        };
        let starting_after =
            match starting_after {
                None => None,
                Some(text) => Some(text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(
                    || {
                        FieldError::invalid(
                            "starting_after",
                            "starting_after must be the seq of an entry from an earlier page",
                        )
                    },
                )?),
            };
        Ok(ListPage {
            limit,
            starting_after,
        })
    }
}

/// One page of a list, in Stripe's shape: `{"object": "list", "data": [...], "has_more": ..}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List<T> {
    pub object: String,
    pub data: Vec<T>,
    pub has_more: bool,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>, has_more: bool) -> List<T> {
        List {
            object: "list".into(),
            data,
            has_more,
        }
    }
}

fn check_text(param: &'static str, value: &str, max_chars: usize) -> Result<(), FieldError> {
    let count = value.chars().count();
    if value.trim().is_empty() || count > max_chars || value.chars().any(char::is_control) {
        return Err(FieldError::invalid(
            param,
            format!("{param} must be 1 to {max_chars} printable characters"),
        ));
    }
    Ok(())
}

fn check_methods(methods: &[PaymentMethod], currency: Currency) -> Result<(), FieldError> {
    if let Some(method) = methods.iter().find(|m| !m.accepts(currency)) {
        return Err(FieldError::invalid(
            "methods",
            format!("methods: {} does not take {currency}", method.as_str()),
        ));
    }
    let mut sorted = methods.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if methods.is_empty() || sorted.len() != methods.len() {
        return Err(FieldError::invalid(
            "methods",
            "methods must list at least one payment method, each once",
        ));
    }
    Ok(())
}

/// WeChat openids are 28 characters today; the charset and a generous bound are checked.
fn check_openid(openid: &str) -> Result<(), FieldError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
    if openid.is_empty() || openid.len() > 128 || !openid.bytes().all(allowed) {
        return Err(FieldError::invalid(
            "wechat_openid",
            "wechat_openid must be 1 to 128 characters of letters, digits, _ and -",
        ));
    }
    Ok(())
}

pub use crate::urls::check_url;

/// A checkout session as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub livemode: bool,
    pub order_id: String,
    pub amount: String,
    pub currency: Currency,
    pub description: String,
    pub customer_id: String,
    pub methods: Vec<PaymentMethod>,
    pub return_url: String,
    pub status: SessionStatus,
    /// Hand this to the browser; it can do nothing but start this session's widget.
    pub client_secret: String,
    pub amount_paid: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub payments: Vec<Payment>,
    /// The total refunded so far, as a decimal string.
    #[serde(default)]
    pub amount_refunded: String,
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

/// One payment attempt on a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub method: PaymentMethod,
    pub amount: String,
    pub currency: Currency,
    pub status: PaymentStatus,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<ErrorCode>,
    pub created_at: i64,
    /// The provider's id for the payment (bKash `paymentID`), for external methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// The provider's transaction id once completed (bKash `trxID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_transaction_id: Option<String>,
    /// Loyalty points that paid part of `amount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
    /// How `amount` splits across methods; one leg for a single-method payment. Legs move
    /// together, so each has the payment's status.
    #[serde(default)]
    pub legs: Vec<PaymentLeg>,
    /// Why the payment is (or was) held for review, and how it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<PaymentReview>,
    /// A provider success that came after this attempt had ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_success: Option<LateSuccess>,
    /// The card issuer's reason for the latest decline, in the gateway's words (Stripe's
    /// `decline_code`: `lost_card`, `insufficient_funds`, `do_not_honor`, ...). Set as soon as
    /// the gateway reports a decline, also while the shopper may still retry on its page. The
    /// merchant's view only: the shopper is told `failure_code`, where a lost or stolen card is a
    /// plain `card_declined`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// The gateway's error code for that decline (Stripe's `code`: `card_declined`,
    /// `expired_card`, `incorrect_cvc`, ...). The merchant's view only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_code: Option<String>,
}

/// One method's part of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLeg {
    pub method: PaymentMethod,
    pub amount: String,
    pub status: PaymentStatus,
    /// For the points leg: how many points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// What the widget must do next to let the shopper finish an external payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Send the shopper's browser to `url` (bKash's hosted page, WeChat H5).
    Redirect { url: String },
    /// Show `code_url` as a QR code for the shopper to scan with WeChat (WeChat Pay Native).
    QrCode { code_url: String },
    /// Hand `params` to WeChat's in-app bridge, `WeixinJSBridge.invoke("getBrandWCPayRequest",
    /// params, ..)` (WeChat Pay JSAPI, inside WeChat only).
    WechatJsapi { params: WechatJsapiParams },
}

/// The pay-sheet parameters of WeChat's JSAPI, signed by the edge with the merchant's key. The
/// field names are WeChat's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WechatJsapiParams {
    pub app_id: String,
    /// Unix seconds, as a string.
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=...`.
    pub package: String,
    /// Always `RSA` in API v3.
    pub sign_type: String,
    pub pay_sign: String,
}

/// How a WeChat Pay shopper approves: which WeChat product the edge asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatFlow {
    /// A QR code on a desktop screen, scanned with the phone.
    #[default]
    Native,
    /// A redirect from a mobile browser outside WeChat.
    H5,
    /// The pay sheet inside WeChat's own browser; needs the session's `wechat_openid`.
    Jsapi,
}

/// `POST /v1/checkout_sessions/{id}/refunds`, sent with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// A decimal string; at most what is left to refund.
    pub amount: String,
    pub reason: String,
}

impl CreateRefundRequest {
    pub fn validate(&self, currency: Currency) -> Result<Money, FieldError> {
        check_text("reason", &self.reason, 200)?;
        Money::parse_positive(&self.amount, currency).map_err(|e| FieldError::money("amount", e))
    }
}

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
    /// The provider's outcome could not be settled within the retry window (about a day of
    /// back-off): an operator must check with the provider. Final for the checkout.
    RequiresReview,
}

/// A refund of (part of) a paid session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: String,
    pub currency: Currency,
    pub reason: String,
    pub status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<ErrorCode>,
    /// The provider's refund transaction id (bKash `refundTrxID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    pub created_at: i64,
    /// How the refund splits across the payment's legs (external first, then balance, points).
    #[serde(default)]
    pub legs: Vec<RefundLeg>,
    /// Started by the checkout itself, not the merchant: it gives back money a provider took for
    /// a payment that was never counted as paid (a late success, a resolved review). Not part of
    /// the session's `amount_refunded`, nor of the reports.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
}

/// One leg's part of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLeg {
    pub method: PaymentMethod,
    pub amount: String,
    /// For the points leg: how many points went back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// `GET /v1/checkout_sessions/{id}/payments/{payment_id}/provider_status`: what the provider says
/// now about an external payment, for reconciliation by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderPaymentStatus {
    pub payment_id: String,
    pub method: PaymentMethod,
    pub provider_reference: String,
    /// The provider's own status word, e.g. bKash `Completed`.
    pub provider_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The transaction as the provider's transaction search reports it (bKash
    /// `general/searchTransaction` by trxID), when there is a transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<serde_json::Value>,
}

/// `POST /v1/widget/token`: the browser trades the client secret for a widget token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub client_secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: String,
    pub session_id: String,
    pub expires_at: i64,
}

/// The session as the widget shows it to the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetSession {
    pub id: String,
    pub merchant_name: String,
    pub order_id: String,
    pub description: String,
    /// The order total in the currency's minor units. The widget's wire carries integers, so
    /// the widget computes and formats money without parsing a decimal string (the merchant
    /// API, a boundary with the outside, keeps decimal strings).
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: SessionStatus,
    pub methods: Vec<PaymentMethod>,
    pub return_url: String,
    pub expires_at: i64,
    /// The shopper's store balance in the session's currency, when balance is offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<BalanceSummary>,
    /// The shopper's points, when points are offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<PointsSummary>,
    pub payments: Vec<Payment>,
    /// Set when the shopper must act at a provider to finish the payment under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    /// What each external method accepts per payment, so the widget can say so up front.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub method_limits: Vec<MethodLimit>,
}

/// The amounts an external method takes per payment, in minor units of the session currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodLimit {
    pub method: PaymentMethod,
    pub min_minor: i64,
    pub max_minor: i64,
}

/// What the widget needs to offer a balance payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceSummary {
    /// In minor units of `currency`.
    pub available_minor: i64,
    pub currency: Currency,
    pub pay_password_set: bool,
    pub attempts_left: u32,
    /// Unix seconds until which balance payments are locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<i64>,
    /// Loyalty points the wallet can spend now.
    #[serde(default)]
    pub points_available: i64,
}

/// What the widget needs to offer loyalty points: how many, and the merchant's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsSummary {
    pub available: i64,
    pub rules: crate::allocation::PointsRules,
    /// The order in which the merchant wants points and balance to cover a total.
    #[serde(default = "default_wallet_priority")]
    pub priority: [PaymentMethod; 2],
}

impl WidgetSession {
    /// The order total as money.
    pub fn total(&self) -> Result<Money, MoneyError> {
        Money::from_minor(self.amount_minor, self.currency)
    }
}

impl MethodLimit {
    /// The smallest and the largest payment the method takes, in `currency`.
    pub fn range(&self, currency: Currency) -> Result<(Money, Money), MoneyError> {
        Ok((
            Money::from_minor(self.min_minor, currency)?,
            Money::from_minor(self.max_minor, currency)?,
        ))
    }
}

impl BalanceSummary {
    /// What the wallet can spend now, as money.
    pub fn available(&self) -> Result<Money, MoneyError> {
        Money::from_minor(self.available_minor, self.currency)
    }
}

/// Points first, then balance, unless the merchant says otherwise.
pub fn default_wallet_priority() -> [PaymentMethod; 2] {
    [PaymentMethod::Points, PaymentMethod::Balance]
}

/// `POST /v1/widget/sessions/{id}/pay`, sent with an `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayRequest {
    pub method: PaymentMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_password: Option<String>,
    /// How to split the total between points and balance. Required when points pay any of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<AllocationRequest>,
    /// For WeChat Pay: QR code, H5 redirect or in-app pay sheet. Native when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_flow: Option<WechatFlow>,
}

/// A split between loyalty points and store balance; with `method` the leg that pays the rest.
/// It must add up exactly to the order total (`core::allocation::validate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationRequest {
    /// Whole points.
    pub points: i64,
    /// A decimal string; `"0.00"` when points pay everything.
    pub balance: String,
}

/// Idempotency keys: 8 to 64 of `[A-Za-z0-9_-]`, chosen by the client and reused on retry.
pub fn check_idempotency_key(key: &str) -> Result<(), FieldError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
    if !(8..=64).contains(&key.len()) || !key.bytes().all(allowed) {
        return Err(FieldError {
            code: ErrorCode::InvalidHeader,
            param: "Idempotency-Key",
            message: "Idempotency-Key must be 8 to 64 characters of letters, digits, _ and -"
                .into(),
        });
    }
    Ok(())
}

/// `POST /v1/customers/{id}/balance_credits`: the merchant tops up a customer's store balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceCreditRequest {
    pub amount: String,
    pub currency: Currency,
    /// The merchant's reference; a repeat with the same reference credits once.
    pub reference: String,
}

impl BalanceCreditRequest {
    pub fn validate(&self) -> Result<Money, FieldError> {
        check_id("reference", &self.reference, 64)?;
        Money::parse_positive(&self.amount, self.currency)
            .map_err(|e| FieldError::money("amount", e))
    }
}

/// A credit as recorded; a repeated request returns the first one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceCredit {
    pub reference: String,
    pub amount: String,
    pub currency: Currency,
    pub created_at: i64,
}

/// `PUT /v1/customers/{id}/pay_password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPayPasswordRequest {
    pub pay_password: String,
}

impl SetPayPasswordRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        if pay_password::is_well_formed(&self.pay_password) {
            Ok(())
        } else {
            Err(FieldError::invalid(
                "pay_password",
                "pay_password must be exactly 6 digits",
            ))
        }
    }
}

/// `POST /v1/customers/{id}/points_credits` and `.../points_debits`: the merchant adds or takes
/// loyalty points, once per reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointsAdjustmentRequest {
    /// Whole points, greater than zero.
    pub points: i64,
    pub reference: String,
}

impl PointsAdjustmentRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("reference", &self.reference, 64)?;
        if !(1..=crate::money::MAX_AMOUNT_MINOR).contains(&self.points) {
            return Err(FieldError::invalid(
                "points",
                "points must be a whole number greater than zero",
            ));
        }
        Ok(())
    }
}

/// Whether points were added or taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointsAdjustmentKind {
    Credit,
    Debit,
}

/// A points adjustment as recorded; a repeated request returns the first one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsAdjustment {
    pub reference: String,
    pub kind: PointsAdjustmentKind,
    pub points: i64,
    pub created_at: i64,
}

/// A wallet's loyalty points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsLine {
    pub available: i64,
    pub held: i64,
}

/// A customer's wallet as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletView {
    pub customer_id: String,
    pub balances: Vec<BalanceLine>,
    #[serde(default)]
    pub points: PointsLine,
    pub pay_password_set: bool,
    /// When a timed pay-password lockout ends (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<i64>,
    /// Whether balance payments are locked now: for a time (`locked_until`), or until the
    /// merchant unlocks the pay password.
    #[serde(default)]
    pub pay_password_locked: bool,
}

/// One currency's balance in a wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceLine {
    pub currency: Currency,
    /// What can be spent now.
    pub available: String,
    /// Reserved by holds not yet posted or voided.
    pub held: String,
}

#[cfg(test)]
mod tests;
