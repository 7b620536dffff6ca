//! The widget's side of the widget API, without serde: what it reads from the edge and what it
//! sends, mapped onto [`Json`].
//!
//! The edge speaks serde (the derives in [`crate::api`] and [`crate::error`]). The tests below put
//! every shape through both, so a field added on one side and not the other fails here, not in a
//! shopper's browser. Unknown fields are ignored, as serde does for these types, so the edge may
//! grow answers before the widget reads them.

use crate::allocation::PointsRules;
use crate::api::{
    AllocationRequest, BalanceSummary, MethodLimit, NextAction, PayRequest, Payment, PaymentLeg,
    PaymentMethod, PaymentStatus, PointsSummary, SessionStatus, TokenRequest, TokenResponse,
    WechatFlow, WechatJsapiParams, WidgetSession,
};
use crate::error::{ErrorBody, ErrorDetail};
use crate::json::{Json, ObjectWriter};
use crate::{Currency, ErrorCode};

/// A type the widget reads from JSON. `None` when the value does not have the expected shape.
pub trait FromJson: Sized {
    fn from_json(json: &Json) -> Option<Self>;

    /// Parses `text` and reads it.
    fn from_json_text(text: &str) -> Option<Self> {
        Self::from_json(&Json::parse(text)?)
    }
}

/// A required member.
fn field<T: FromJson>(object: &Json, key: &str) -> Option<T> {
    T::from_json(object.get(key)?)
}

/// A member that may be absent or null; present but malformed is still an error.
fn optional<T: FromJson>(object: &Json, key: &str) -> Option<Option<T>> {
    match object.get(key) {
        None | Some(Json::Null) => Some(None),
        Some(value) => T::from_json(value).map(Some),
    }
}

/// A member with a default when absent (`#[serde(default)]`).
fn or_default<T: FromJson + Default>(object: &Json, key: &str) -> Option<T> {
    optional(object, key).map(Option::unwrap_or_default)
}

/// A string member whose spelling must be one of `names`' wire names.
fn named<T: Copy>(json: &Json, all: &[T], name: fn(T) -> &'static str) -> Option<T> {
    let text = json.as_str()?;
    all.iter().copied().find(|item| name(*item) == text)
}

impl FromJson for String {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_str().map(str::to_owned)
    }
}

impl FromJson for bool {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_bool()
    }
}

impl FromJson for i64 {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_i64()
    }
}

impl FromJson for u32 {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_i64()?.try_into().ok()
    }
}

impl FromJson for u64 {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_i64()?.try_into().ok()
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(json: &Json) -> Option<Self> {
        json.as_array()?.iter().map(T::from_json).collect()
    }
}

const METHODS: [PaymentMethod; 5] = [
    PaymentMethod::Balance,
    PaymentMethod::Points,
    PaymentMethod::Bkash,
    PaymentMethod::WechatPay,
    PaymentMethod::Card,
];

impl FromJson for PaymentMethod {
    fn from_json(json: &Json) -> Option<Self> {
        named(json, &METHODS, PaymentMethod::as_str)
    }
}

impl FromJson for Currency {
    fn from_json(json: &Json) -> Option<Self> {
        named(json, &Currency::ALL, Currency::code)
    }
}

impl FromJson for ErrorCode {
    fn from_json(json: &Json) -> Option<Self> {
        named(json, ErrorCode::ALL, ErrorCode::as_str)
    }
}

impl FromJson for SessionStatus {
    fn from_json(json: &Json) -> Option<Self> {
        Some(match json.as_str()? {
            "open" => SessionStatus::Open,
            "processing" => SessionStatus::Processing,
            "paid" => SessionStatus::Paid,
            "authorized" => SessionStatus::Authorized,
            "expired" => SessionStatus::Expired,
            "requires_review" => SessionStatus::RequiresReview,
            _ => return None,
        })
    }
}

impl FromJson for PaymentStatus {
    fn from_json(json: &Json) -> Option<Self> {
        Some(match json.as_str()? {
            "processing" => PaymentStatus::Processing,
            "authorized" => PaymentStatus::Authorized,
            "succeeded" => PaymentStatus::Succeeded,
            "failed" => PaymentStatus::Failed,
            "requires_review" => PaymentStatus::RequiresReview,
            _ => return None,
        })
    }
}

impl FromJson for TokenResponse {
    fn from_json(json: &Json) -> Option<Self> {
        Some(TokenResponse {
            token: field(json, "token")?,
            session_id: field(json, "session_id")?,
            expires_at: field(json, "expires_at")?,
        })
    }
}

impl FromJson for WidgetSession {
    fn from_json(json: &Json) -> Option<Self> {
        Some(WidgetSession {
            id: field(json, "id")?,
            merchant_name: field(json, "merchant_name")?,
            order_id: field(json, "order_id")?,
            description: field(json, "description")?,
            amount_minor: field(json, "amount_minor")?,
            currency: field(json, "currency")?,
            status: field(json, "status")?,
            methods: field(json, "methods")?,
            return_url: field(json, "return_url")?,
            expires_at: field(json, "expires_at")?,
            balance: optional(json, "balance")?,
            points: optional(json, "points")?,
            payments: field(json, "payments")?,
            next_action: optional(json, "next_action")?,
            method_limits: or_default(json, "method_limits")?,
        })
    }
}

impl FromJson for MethodLimit {
    fn from_json(json: &Json) -> Option<Self> {
        Some(MethodLimit {
            method: field(json, "method")?,
            min_minor: field(json, "min_minor")?,
            max_minor: field(json, "max_minor")?,
        })
    }
}

impl FromJson for BalanceSummary {
    fn from_json(json: &Json) -> Option<Self> {
        Some(BalanceSummary {
            available_minor: field(json, "available_minor")?,
            currency: field(json, "currency")?,
            pay_password_set: field(json, "pay_password_set")?,
            attempts_left: field(json, "attempts_left")?,
            locked_until: optional(json, "locked_until")?,
            points_available: or_default(json, "points_available")?,
        })
    }
}

impl FromJson for PointsSummary {
    fn from_json(json: &Json) -> Option<Self> {
        let priority = match optional::<Vec<PaymentMethod>>(json, "priority")? {
            None => crate::api::default_wallet_priority(),
            Some(list) => list.try_into().ok()?,
        };
        Some(PointsSummary {
            available: field(json, "available")?,
            rules: field(json, "rules")?,
            priority,
        })
    }
}

impl FromJson for PointsRules {
    fn from_json(json: &Json) -> Option<Self> {
        Some(PointsRules {
            points_per_unit: field(json, "points_per_unit")?,
            min_points_per_use: field(json, "min_points_per_use")?,
            max_points_per_order: field(json, "max_points_per_order")?,
            max_share_percent: field(json, "max_share_percent")?,
            may_pay_whole_order: field(json, "may_pay_whole_order")?,
        })
    }
}

impl FromJson for Payment {
    fn from_json(json: &Json) -> Option<Self> {
        Some(Payment {
            id: field(json, "id")?,
            method: field(json, "method")?,
            amount: field(json, "amount")?,
            currency: field(json, "currency")?,
            status: field(json, "status")?,
            failure_code: optional(json, "failure_code")?,
            created_at: field(json, "created_at")?,
            provider_reference: optional(json, "provider_reference")?,
            provider_transaction_id: optional(json, "provider_transaction_id")?,
            points: optional(json, "points")?,
            legs: or_default(json, "legs")?,
            // The merchant's view of a review; the widget shows only the status.
            review: None,
            late_success: None,
            // The gateway's decline codes are the merchant's; the shopper sees `failure_code`.
            decline_code: None,
            gateway_code: None,
        })
    }
}

impl FromJson for PaymentLeg {
    fn from_json(json: &Json) -> Option<Self> {
        Some(PaymentLeg {
            method: field(json, "method")?,
            amount: field(json, "amount")?,
            status: field(json, "status")?,
            points: optional(json, "points")?,
        })
    }
}

impl FromJson for NextAction {
    fn from_json(json: &Json) -> Option<Self> {
        Some(match json.get("type")?.as_str()? {
            "redirect" => NextAction::Redirect {
                url: field(json, "url")?,
            },
            "qr_code" => NextAction::QrCode {
                code_url: field(json, "code_url")?,
            },
            "wechat_jsapi" => NextAction::WechatJsapi {
                params: field(json, "params")?,
            },
            _ => return None,
        })
    }
}

impl FromJson for WechatJsapiParams {
    fn from_json(json: &Json) -> Option<Self> {
        Some(WechatJsapiParams {
            app_id: field(json, "appId")?,
            time_stamp: field(json, "timeStamp")?,
            nonce_str: field(json, "nonceStr")?,
            package: field(json, "package")?,
            sign_type: field(json, "signType")?,
            pay_sign: field(json, "paySign")?,
        })
    }
}

impl FromJson for ErrorBody {
    fn from_json(json: &Json) -> Option<Self> {
        Some(ErrorBody {
            error: field(json, "error")?,
        })
    }
}

impl FromJson for ErrorDetail {
    fn from_json(json: &Json) -> Option<Self> {
        Some(ErrorDetail {
            code: field(json, "code")?,
            message: field(json, "message")?,
            param: optional(json, "param")?,
            attempts_left: optional(json, "attempts_left")?,
            retry_after_s: optional(json, "retry_after_s")?,
        })
    }
}

/// A request body the widget sends.
pub trait ToJson {
    fn to_json(&self) -> String;
}

impl ToJson for TokenRequest {
    fn to_json(&self) -> String {
        ObjectWriter::new()
            .string("client_secret", &self.client_secret)
            .finish()
    }
}

impl ToJson for PayRequest {
    fn to_json(&self) -> String {
        let mut writer = ObjectWriter::new().string("method", self.method.as_str());
        if let Some(password) = &self.pay_password {
            writer = writer.string("pay_password", password);
        }
        if let Some(allocation) = &self.allocation {
            writer = writer.raw("allocation", &allocation.to_json());
        }
        if let Some(flow) = self.wechat_flow {
            writer = writer.string("wechat_flow", wechat_flow_name(flow));
        }
        writer.finish()
    }
}

impl ToJson for AllocationRequest {
    fn to_json(&self) -> String {
        ObjectWriter::new()
            .integer("points", self.points)
            .string("balance", &self.balance)
            .finish()
    }
}

/// The object WeChat's `getBrandWCPayRequest` takes, with WeChat's field names.
impl ToJson for WechatJsapiParams {
    fn to_json(&self) -> String {
        ObjectWriter::new()
            .string("appId", &self.app_id)
            .string("timeStamp", &self.time_stamp)
            .string("nonceStr", &self.nonce_str)
            .string("package", &self.package)
            .string("signType", &self.sign_type)
            .string("paySign", &self.pay_sign)
            .finish()
    }
}

fn wechat_flow_name(flow: WechatFlow) -> &'static str {
    match flow {
        WechatFlow::Native => "native",
        WechatFlow::H5 => "h5",
        WechatFlow::Jsapi => "jsapi",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{default_wallet_priority, CheckoutSession};
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use std::fmt::Debug;

    /// serde writes it, the widget reads the same value back.
    fn reads_as_serde_writes<T: Serialize + FromJson + PartialEq + Debug>(value: &T) {
        let text = serde_json::to_string(value).unwrap();
        assert_eq!(T::from_json_text(&text).as_ref(), Some(value), "{text}");
    }

    /// The widget writes it, serde (with `deny_unknown_fields` where the edge has it) reads it.
    fn serde_reads_as_written<T: ToJson + DeserializeOwned + PartialEq + Debug>(value: &T) {
        let text = value.to_json();
        let back: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&back, value);
    }

    fn rules() -> PointsRules {
        PointsRules {
            points_per_unit: 10,
            min_points_per_use: 100,
            max_points_per_order: 5_000,
            max_share_percent: 50,
            may_pay_whole_order: false,
        }
    }

    fn payment(method: PaymentMethod, status: PaymentStatus) -> Payment {
        Payment {
            id: "pay_1".into(),
            method,
            amount: "1250.00".into(),
            currency: Currency::BDT,
            status,
            failure_code: None,
            created_at: 1_700_000_000,
            provider_reference: None,
            provider_transaction_id: None,
            points: None,
            legs: Vec::new(),
            review: None,
            late_success: None,
            decline_code: None,
            gateway_code: None,
        }
    }

    fn full_session() -> WidgetSession {
        let mut failed = payment(PaymentMethod::Bkash, PaymentStatus::Failed);
        failed.failure_code = Some(ErrorCode::PaymentCanceled);
        failed.provider_reference = Some("TR0011".into());
        failed.provider_transaction_id = Some("trx \"quoted\" 中文".into());
        failed.points = Some(500);
        failed.legs = vec![
            PaymentLeg {
                method: PaymentMethod::Points,
                amount: "50.00".into(),
                status: PaymentStatus::Failed,
                points: Some(500),
            },
            PaymentLeg {
                method: PaymentMethod::Bkash,
                amount: "1200.00".into(),
                status: PaymentStatus::Failed,
                points: None,
            },
        ];
        WidgetSession {
            id: "cs_1".into(),
            merchant_name: "Dhaka Books".into(),
            order_id: "order-1".into(),
            description: "Two books\nand a pen".into(),
            amount_minor: 125_000,
            currency: Currency::BDT,
            status: SessionStatus::Processing,
            methods: METHODS.to_vec(),
            return_url: "https://shop.example/done?x=1&y=2".into(),
            expires_at: 1_700_001_800,
            balance: Some(BalanceSummary {
                available_minor: 10_000,
                currency: Currency::BDT,
                pay_password_set: true,
                attempts_left: 4,
                locked_until: Some(1_700_000_900),
                points_available: 700,
            }),
            points: Some(PointsSummary {
                available: 700,
                rules: rules(),
                priority: [PaymentMethod::Balance, PaymentMethod::Points],
            }),
            payments: vec![
                failed,
                payment(PaymentMethod::Balance, PaymentStatus::Processing),
            ],
            next_action: Some(NextAction::Redirect {
                url: "https://sim.example/pay?id=1".into(),
            }),
            method_limits: vec![MethodLimit {
                method: PaymentMethod::Bkash,
                min_minor: 100,
                max_minor: 2_500_000,
            }],
        }
    }

    #[test]
    fn widget_sessions_read_as_serde_writes_them() {
        let full = full_session();
        reads_as_serde_writes(&full);

        let mut bare = full;
        bare.balance = None;
        bare.points = None;
        bare.payments = Vec::new();
        bare.next_action = None;
        bare.method_limits = Vec::new();
        bare.status = SessionStatus::Open;
        reads_as_serde_writes(&bare);

        for status in [SessionStatus::Paid, SessionStatus::Expired] {
            bare.status = status;
            reads_as_serde_writes(&bare);
        }
        for currency in Currency::ALL {
            bare.currency = currency;
            reads_as_serde_writes(&bare);
        }
    }

    #[test]
    fn every_next_action_reads_as_serde_writes_it() {
        let params = WechatJsapiParams {
            app_id: "wx8888888888888888".into(),
            time_stamp: "1700000000".into(),
            nonce_str: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into(),
            package: "prepay_id=wx201410272009395522657a690389285100".into(),
            sign_type: "RSA".into(),
            pay_sign: "oR9d8Puh...==".into(),
        };
        let mut session = full_session();
        for action in [
            NextAction::QrCode {
                code_url: "weixin://wxpay/bizpayurl?pr=abc".into(),
            },
            NextAction::WechatJsapi {
                params: params.clone(),
            },
        ] {
            session.next_action = Some(action);
            reads_as_serde_writes(&session);
        }
        let bridge: serde_json::Value = serde_json::from_str(&params.to_json()).unwrap();
        assert_eq!(bridge, serde_json::to_value(&params).unwrap());
    }

    #[test]
    fn defaults_match_serde_defaults() {
        let text = r#"{"available_minor":100,"currency":"CNY","pay_password_set":false,"attempts_left":5}"#;
        let ours = BalanceSummary::from_json_text(text).unwrap();
        let theirs: BalanceSummary = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);

        let text = format!(
            r#"{{"available":3,"rules":{}}}"#,
            serde_json::to_string(&rules()).unwrap()
        );
        let ours = PointsSummary::from_json_text(&text).unwrap();
        assert_eq!(ours.priority, default_wallet_priority());
        assert_eq!(ours, serde_json::from_str::<PointsSummary>(&text).unwrap());
    }

    #[test]
    fn unknown_fields_are_ignored_like_serde() {
        let mut value = serde_json::to_value(full_session()).unwrap();
        value["added_later"] = serde_json::json!({"nested": [1, 2]});
        value["payments"][0]["also_new"] = serde_json::json!(true);
        let text = value.to_string();
        assert_eq!(WidgetSession::from_json_text(&text), Some(full_session()));
    }

    #[test]
    fn malformed_shapes_are_refused() {
        let good = serde_json::to_value(full_session()).unwrap();
        let breakages: [(&str, serde_json::Value); 6] = [
            ("status", serde_json::json!("unknown")),
            ("currency", serde_json::json!("USD")),
            ("expires_at", serde_json::json!("soon")),
            ("methods", serde_json::json!(["bitcoin"])),
            ("payments", serde_json::json!(null)),
            ("next_action", serde_json::json!({"type": "teleport"})),
        ];
        for (key, bad) in breakages {
            let mut value = good.clone();
            value[key] = bad;
            let text = value.to_string();
            assert_eq!(WidgetSession::from_json_text(&text), None, "{key}");
            assert!(
                serde_json::from_str::<WidgetSession>(&text).is_err(),
                "{key}"
            );
        }
        let mut negative = good;
        negative["balance"]["attempts_left"] = serde_json::json!(-1);
        assert_eq!(WidgetSession::from_json_text(&negative.to_string()), None);
    }

    #[test]
    fn a_merchant_session_is_not_a_widget_session() {
        // The merchant's view lacks `merchant_name`; reading it as the widget's must fail, not
        // show an empty shop name.
        let merchant = CheckoutSession {
            id: "cs_1".into(),
            livemode: false,
            order_id: "o".into(),
            amount: "1.00".into(),
            currency: Currency::BDT,
            description: String::new(),
            customer_id: "c".into(),
            methods: vec![PaymentMethod::Bkash],
            return_url: "https://shop.example".into(),
            status: SessionStatus::Open,
            client_secret: "cs_1_secret".into(),
            amount_paid: "0.00".into(),
            created_at: 1,
            expires_at: 2,
            payments: Vec::new(),
            amount_refunded: "0.00".into(),
            refunds: Vec::new(),
        };
        let text = serde_json::to_string(&merchant).unwrap();
        assert_eq!(WidgetSession::from_json_text(&text), None);
    }

    #[test]
    fn tokens_and_errors_read_as_serde_writes_them() {
        reads_as_serde_writes(&TokenResponse {
            token: "wt_abc.def".into(),
            session_id: "cs_1".into(),
            expires_at: 1_700_000_600,
        });
        for code in ErrorCode::ALL {
            reads_as_serde_writes(&ErrorBody {
                error: ErrorDetail::new(*code),
            });
        }
        let mut detail = ErrorDetail::new(ErrorCode::IncorrectPayPassword);
        detail.param = Some("pay_password".into());
        detail.attempts_left = Some(2);
        detail.retry_after_s = Some(899);
        reads_as_serde_writes(&ErrorBody { error: detail });
    }

    #[test]
    fn requests_are_what_the_edge_accepts() {
        serde_reads_as_written(&TokenRequest {
            client_secret: "cs_1_secret_\"x\"".into(),
        });
        for method in METHODS {
            serde_reads_as_written(&PayRequest {
                method,
                pay_password: None,
                allocation: None,
                wechat_flow: None,
            });
        }
        for flow in [WechatFlow::Native, WechatFlow::H5, WechatFlow::Jsapi] {
            serde_reads_as_written(&PayRequest {
                method: PaymentMethod::WechatPay,
                pay_password: Some("123456".into()),
                allocation: Some(AllocationRequest {
                    points: 500,
                    balance: "0.00".into(),
                }),
                wechat_flow: Some(flow),
            });
        }
    }

    /// Stops compiling when a method is added, until it is listed in `METHODS` too.
    fn position(method: PaymentMethod) -> usize {
        match method {
            PaymentMethod::Balance => 0,
            PaymentMethod::Points => 1,
            PaymentMethod::Bkash => 2,
            PaymentMethod::WechatPay => 3,
            PaymentMethod::Card => 4,
        }
    }

    #[test]
    fn every_method_is_listed_with_its_serde_name() {
        for (index, method) in METHODS.into_iter().enumerate() {
            assert_eq!(position(method), index);
            let text = serde_json::to_string(&method).unwrap();
            assert_eq!(text, format!("\"{}\"", method.as_str()));
        }
    }
}
