//! WeChat Pay API v3 (直连商户): Native, H5 and JSAPI prepay, query, close, refund, and the
//! signed, encrypted notifications.
//!
//! Protocol from WeChat's v3 documentation (pay.weixin.qq.com/doc/v3/merchant): JSON with
//! amounts in fen; every request signed with the merchant's API key (`signature`), every answer
//! and notification signed with WeChat's platform key and checked here before it is believed. A
//! notification's transaction is AES-256-GCM encrypted with the APIv3 key.
//!
//! WeChat has no completion step: the shopper's approval pays. So [`PaymentConnector::complete`]
//! is a query, and the session learns the outcome from the notification, the shopper's return
//! (H5), the widget's status view, or reconciliation. The payment's reference at WeChat is our
//! payment id, sent as `out_trade_no` (28 characters of `[0-9A-Za-z_]`, within WeChat's 6-32).
//!
//! Retries: only queries repeat on a timeout or 5xx. Prepay, close and refund are resolved by
//! asking: a lost refund answer is found again by its `out_refund_no`, never re-sent blindly.

pub mod signature;
pub mod wire;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use checkout_core::api::{NextAction, WechatFlow, WechatJsapiParams};
use checkout_core::{Currency, Money};
use serde::Serialize;
use worker::{Env, Method};

use super::outbound::{self, HttpAnswer};
use super::{
    ConnectorError, CreatePayment, Created, Decline, PaymentConnector, ProviderPayment,
    ProviderRefund, RefundRequest, RefundState,
};
use crate::clock::now_s;
use crate::config::{Mode, Secret};
use crate::crypto::{aead, random_id, rsa};
use crate::error::{Error, Result};
use signature::{SignedHeaders, VerifyError};

/// WeChat asks API clients to name themselves.
const USER_AGENT: &str = "checkout-edge/0.1 (workers-rs)";

/// The merchant's WeChat Pay account, from the Worker's configuration.
#[derive(Debug, Clone)]
pub struct WechatConfig {
    /// `https://api.mch.weixin.qq.com`, or the simulator.
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    /// The serial number of the merchant's API certificate, sent as `serial_no`.
    pub merchant_serial_no: String,
    /// The merchant's API private key (PKCS#8 PEM, `apiclient_key.pem`).
    pub merchant_private_key: Secret,
    /// The 32-byte APIv3 key that decrypts notifications.
    pub api_v3_key: Secret,
    /// WeChat Pay's platform public key (SPKI PEM) and its id, `PUB_KEY_ID_...`.
    pub platform_public_key: String,
    /// The same key's DER, decoded once when the configuration is read.
    pub platform_public_key_der: Vec<u8>,
    pub platform_public_key_id: String,
    pub min_amount: Money,
    pub max_amount: Money,
    pub timeout: Duration,
}

impl WechatConfig {
    /// The `mode` account (`WECHATPAY_TEST_*` or `WECHATPAY_LIVE_*`); `None` when it is not
    /// configured. Limits and the timeout are shared by both accounts. Read once per isolate
    /// ([`super::cached_config`]).
    pub fn from_env(env: &Env, mode: Mode) -> Result<Option<WechatConfig>> {
        thread_local! {
            static CONFIGS: super::ConfigSlots<WechatConfig> = const { std::cell::RefCell::new([None, None]) };
        }
        super::cached_config(&CONFIGS, mode, || WechatConfig::read_env(env, mode))
    }

    fn read_env(env: &Env, mode: Mode) -> Result<Option<WechatConfig>> {
        let Some((vars, base_url)) = super::AccountVars::open(env, mode, "WECHATPAY")? else {
            return Ok(None);
        };
        let api_v3_key = vars.required("APIV3_KEY")?;
        if api_v3_key.expose().len() != 32 {
            return Err(Error::Config(format!(
                "{} must be the 32-character APIv3 key",
                vars.var("APIV3_KEY")
            )));
        }
        let platform_public_key = vars.plain("PLATFORM_PUBLIC_KEY")?;
        let platform_public_key_der = rsa::pem_to_der(&platform_public_key)?;
        Ok(Some(WechatConfig {
            base_url,
            mchid: vars.plain("MCHID")?,
            appid: vars.plain("APPID")?,
            merchant_serial_no: vars.plain("MERCHANT_SERIAL_NO")?,
            merchant_private_key: vars.required("MERCHANT_PRIVATE_KEY")?,
            api_v3_key,
            platform_public_key,
            platform_public_key_der,
            platform_public_key_id: vars.plain("PLATFORM_PUBLIC_KEY_ID")?,
            min_amount: vars.amount("MIN_AMOUNT", "0.01", Currency::CNY)?,
            // WeChat's ceiling depends on the merchant's category and the payer's own limits.
            max_amount: vars.amount("MAX_AMOUNT", "50000.00", Currency::CNY)?,
            timeout: vars.timeout()?,
        }))
    }
}

/// A notification whose signature, freshness and encryption all checked out.
#[derive(Debug, Clone)]
pub struct OpenedNotification {
    /// WeChat's notification id (the same on every retry).
    pub id: String,
    pub nonce: String,
    pub timestamp_s: i64,
    pub event: NotificationEvent,
}

#[derive(Debug, Clone)]
pub enum NotificationEvent {
    /// `TRANSACTION.SUCCESS`: the transaction, as a query would give it.
    Payment(ProviderPayment),
    /// `REFUND.*`: a refund changed; `out_refund_no` is our refund id.
    Refund { out_refund_no: String },
}

/// Why a notification is not acknowledged. WeChat retries until it is.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotificationError {
    #[error("unverified: {0}")]
    Unverified(VerifyError),
    #[error("the resource does not decrypt with our APIv3 key")]
    Undecryptable,
    #[error("not for this merchant account")]
    ForeignMerchant,
    #[error("malformed: {0}")]
    Malformed(String),
}

/// The WeChat Pay connector, for one Worker's merchant account.
pub struct Wechat {
    config: WechatConfig,
}

impl Wechat {
    pub fn from_env(env: &Env, mode: Mode) -> Result<Option<Wechat>> {
        Ok(WechatConfig::from_env(env, mode)?.map(|config| Wechat { config }))
    }

    /// Whether this account's platform key is the one `serial` (`Wechatpay-Serial`) names.
    pub fn signs_as(&self, serial: &str) -> bool {
        self.config.platform_public_key_id == serial
    }

    pub fn amount_limits(&self) -> (Money, Money) {
        (self.config.min_amount, self.config.max_amount)
    }

    /// The transaction by WeChat's own id.
    pub async fn transaction(
        &self,
        transaction_id: &str,
    ) -> Result<serde_json::Value, ConnectorError> {
        let path = format!(
            "/v3/pay/transactions/id/{transaction_id}?mchid={}",
            self.config.mchid
        );
        let answer = self.call(Method::Get, &path, None, true).await?;
        serde_json::from_str(&answer.body).map_err(|e| ConnectorError::Unknown(e.to_string()))
    }

    /// Checks a notification's signature and freshness, decrypts it and checks that it is for
    /// this merchant account. The caller checks the nonce for replays and the leg's amount.
    pub async fn open_notification(
        &self,
        headers: &SignedHeaders,
        body: &str,
    ) -> Result<std::result::Result<OpenedNotification, NotificationError>> {
        let verified = signature::verify(
            headers,
            body,
            &self.config.platform_public_key_id,
            &self.config.platform_public_key_der,
            now_s(),
        )
        .await?;
        let timestamp_s = match verified {
            Ok(timestamp) => timestamp,
            Err(error) => return Ok(Err(NotificationError::Unverified(error))),
        };
        let envelope: wire::Notification = match serde_json::from_str(body) {
            Ok(envelope) => envelope,
            Err(e) => return Ok(Err(NotificationError::Malformed(e.to_string()))),
        };
        let Some(plaintext) = self.decrypt(&envelope.resource).await? else {
            return Ok(Err(NotificationError::Undecryptable));
        };
        let (mchid, appid) = (&self.config.mchid, &self.config.appid);
        let event = match notification_event(&envelope.event_type, &plaintext, mchid, appid) {
            Ok(event) => event,
            Err(error) => return Ok(Err(error)),
        };
        Ok(Ok(OpenedNotification {
            id: envelope.id,
            nonce: headers.nonce.clone(),
            timestamp_s,
            event,
        }))
    }

    async fn decrypt(&self, resource: &wire::EncryptedResource) -> Result<Option<String>> {
        if resource.algorithm != "AEAD_AES_256_GCM" {
            return Ok(None);
        }
        let Ok(ciphertext) = BASE64.decode(&resource.ciphertext) else {
            return Ok(None);
        };
        let plain = aead::decrypt_aes_256_gcm(
            self.config.api_v3_key.expose().as_bytes(),
            resource.nonce.as_bytes(),
            resource.associated_data.as_bytes(),
            &ciphertext,
        )
        .await?;
        Ok(plain.and_then(|bytes| String::from_utf8(bytes).ok()))
    }

    async fn prepay(
        &self,
        request: &CreatePayment<'_>,
    ) -> Result<(wire::PrepayResponse, WechatFlow), ConnectorError> {
        let flow = request.wechat.as_ref().map(|w| w.flow).unwrap_or_default();
        let wechat = request.wechat.as_ref();
        let (product, scene_info, payer) = match flow {
            WechatFlow::Native => ("native", None, None),
            WechatFlow::H5 => {
                let ip = wechat
                    .and_then(|w| w.client_ip.as_deref())
                    .unwrap_or("127.0.0.1");
                let scene = wire::SceneInfo {
                    payer_client_ip: ip,
                    h5_info: wire::H5Info { kind: "Wap" },
                };
                ("h5", Some(scene), None)
            }
            WechatFlow::Jsapi => {
                let openid = wechat.and_then(|w| w.openid.as_deref()).ok_or_else(|| {
                    ConnectorError::Refused {
                        code: checkout_core::ErrorCode::InvalidParameter,
                        message: "WeChat's in-app pay needs the shopper's openid; the merchant \
                                  sets wechat_openid on the session."
                            .into(),
                        provider_code: String::new(),
                        provider_message: String::new(),
                    }
                })?;
                ("jsapi", None, Some(wire::Payer { openid }))
            }
        };
        let body = wire::PrepayRequest {
            appid: &self.config.appid,
            mchid: &self.config.mchid,
            description: request.description,
            out_trade_no: request.invoice,
            time_expire: wire::beijing_time(request.expires_at_s),
            notify_url: &request.notify_url,
            amount: wire::PrepayAmount {
                total: request.amount.amount_minor(),
                currency: "CNY",
            },
            scene_info,
            payer,
        };
        let path = format!("/v3/pay/transactions/{product}");
        // Not repeated: a lost prepay leaves an unpaid order that closes at `time_expire`.
        let answer = self.post(&path, &body, false).await?;
        let prepay = serde_json::from_str(&answer.body)
            .map_err(|e| ConnectorError::Unknown(format!("prepay answer: {e}")))?;
        Ok((prepay, flow))
    }

    /// JSAPI's pay-sheet parameters for `prepay_id`, signed with the merchant's key.
    async fn jsapi_params(&self, prepay_id: &str) -> Result<WechatJsapiParams, ConnectorError> {
        let time_stamp = now_s().to_string();
        let nonce_str = random_id(32).map_err(unknown)?;
        let package = format!("prepay_id={prepay_id}");
        let message =
            signature::pay_sign_message(&self.config.appid, &time_stamp, &nonce_str, &package);
        let pay_sign = self.sign(&message).await?;
        Ok(WechatJsapiParams {
            app_id: self.config.appid.clone(),
            time_stamp,
            nonce_str,
            package,
            sign_type: "RSA".into(),
            pay_sign,
        })
    }

    async fn sign(&self, message: &str) -> Result<String, ConnectorError> {
        let der = rsa::pem_to_der(self.config.merchant_private_key.expose()).map_err(unknown)?;
        rsa::sign(&der, message).await.map_err(unknown)
    }

    async fn post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        safe: bool,
    ) -> Result<HttpAnswer, ConnectorError> {
        let json = serde_json::to_string(body).map_err(unknown)?;
        self.call(Method::Post, path, Some(json), safe).await
    }

    /// A signed call whose answer is verified; refusals become [`ConnectorError`]s. Calls that
    /// are `safe` to repeat are retried on unknown outcomes.
    async fn call(
        &self,
        method: Method,
        path_with_query: &str,
        body: Option<String>,
        safe: bool,
    ) -> Result<HttpAnswer, ConnectorError> {
        let attempts = if safe { outbound::SAFE_ATTEMPTS } else { 1 };
        let unknown = |error: &ConnectorError| match error {
            ConnectorError::Unknown(reason) => Some(reason.clone()),
            _ => None,
        };
        outbound::with_retries("wechat_pay", attempts, unknown, || {
            self.call_once(method.clone(), path_with_query, body.as_deref())
        })
        .await
    }

    async fn call_once(
        &self,
        method: Method,
        path_with_query: &str,
        body: Option<&str>,
    ) -> Result<HttpAnswer, ConnectorError> {
        let timestamp = now_s();
        let nonce = random_id(32).map_err(unknown)?;
        let method_name = method.to_string();
        let message = signature::request_message(
            &method_name,
            path_with_query,
            timestamp,
            &nonce,
            body.unwrap_or(""),
        );
        let authorization = signature::authorization(
            &self.config.mchid,
            &self.config.merchant_serial_no,
            &nonce,
            timestamp,
            &self.sign(&message).await?,
        );
        let headers = [
            ("Authorization", authorization.as_str()),
            ("User-Agent", USER_AGENT),
        ];
        let url = format!("{}{path_with_query}", self.config.base_url);
        let answer = outbound::send(method, &url, &headers, body, self.config.timeout)
            .await
            .map_err(|e| ConnectorError::Unknown(format!("{path_with_query}: {e}")))?;
        self.verify_answer(path_with_query, &answer).await?;
        if (200..300).contains(&answer.status) {
            return Ok(answer);
        }
        let error: wire::ErrorBody = serde_json::from_str(&answer.body).unwrap_or_default();
        Err(error.into_error(answer.status))
    }

    /// An answer that does not verify is no answer: the outcome stays unknown.
    async fn verify_answer(&self, path: &str, answer: &HttpAnswer) -> Result<(), ConnectorError> {
        let headers = SignedHeaders::read(|name| answer.header(name).map(str::to_owned));
        let verified = match headers {
            Ok(headers) => signature::verify(
                &headers,
                &answer.body,
                &self.config.platform_public_key_id,
                &self.config.platform_public_key_der,
                now_s(),
            )
            .await
            .map_err(unknown)?
            .map(|_| ()),
            Err(error) => Err(error),
        };
        verified.map_err(|error| {
            crate::log::event(crate::log::Level::Error, serde_json::json!({"level": "error", "alert": "wechat_unverified_answer", "path": path, "http_status": answer.status, "reason": error.to_string()}));
            ConnectorError::Unknown(format!("{path}: answer not verified: {error}"))
        })
    }
}

impl PaymentConnector for Wechat {
    async fn create(&self, request: &CreatePayment<'_>) -> Result<Created, ConnectorError> {
        let (prepay, flow) = self.prepay(request).await?;
        let missing =
            |field: &str| ConnectorError::Unknown(format!("prepay answer without {field}"));
        let next_action = match flow {
            WechatFlow::Native => NextAction::QrCode {
                code_url: prepay.code_url.ok_or_else(|| missing("code_url"))?,
            },
            WechatFlow::H5 => {
                let h5_url = prepay.h5_url.ok_or_else(|| missing("h5_url"))?;
                // WeChat sends the shopper to `redirect_url` afterwards, whatever the result.
                let add = checkout_core::urls::with_query_param;
                let back = add(&request.callback_url, "out_trade_no", request.invoice)
                    .ok_or_else(|| unknown("the callback URL does not parse"))?;
                let url = add(&h5_url, "redirect_url", &back)
                    .ok_or_else(|| unknown("the h5_url does not parse"))?;
                NextAction::Redirect { url }
            }
            WechatFlow::Jsapi => {
                let prepay_id = prepay.prepay_id.ok_or_else(|| missing("prepay_id"))?;
                NextAction::WechatJsapi {
                    params: self.jsapi_params(&prepay_id).await?,
                }
            }
        };
        Ok(Created {
            reference: request.invoice.to_owned(),
            next_action,
        })
    }

    /// WeChat has no completion step: the shopper's approval pays.
    async fn complete(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        self.query(reference).await
    }

    async fn query(&self, reference: &str) -> Result<ProviderPayment, ConnectorError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{reference}?mchid={}",
            self.config.mchid
        );
        let answer = self.call(Method::Get, &path, None, true).await?;
        let transaction: wire::Transaction = serde_json::from_str(&answer.body)
            .map_err(|e| ConnectorError::Unknown(format!("query answer: {e}")))?;
        Ok(transaction.into_payment())
    }

    /// Closes the order so that it can no longer be paid. An order WeChat never created needs
    /// no closing; a paid one answers [`ConnectorError::AlreadyDone`].
    async fn cancel(&self, reference: &str) -> Result<Option<Decline>, ConnectorError> {
        let path = format!("/v3/pay/transactions/out-trade-no/{reference}/close");
        let body = wire::CloseRequest {
            mchid: &self.config.mchid,
        };
        match self.post(&path, &body, true).await {
            Ok(_) => Ok(None),
            Err(ConnectorError::InvalidState(reason)) if reason.starts_with("ORDER_NOT_EXIST") => {
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    async fn refund(&self, request: &RefundRequest<'_>) -> Result<ProviderRefund, ConnectorError> {
        let body = wire::RefundRequest {
            out_trade_no: request.reference,
            out_refund_no: request.refund_id,
            reason: request.reason,
            notify_url: request.notify_url.as_deref(),
            amount: wire::RefundAmount {
                refund: request.amount.amount_minor(),
                total: request.payment_amount.amount_minor(),
                currency: "CNY",
            },
        };
        let answer = self
            .post("/v3/refund/domestic/refunds", &body, false)
            .await?;
        refund_from(&answer)
    }

    async fn find_refund(
        &self,
        request: &RefundRequest<'_>,
    ) -> Result<Option<ProviderRefund>, ConnectorError> {
        let path = format!("/v3/refund/domestic/refunds/{}", request.refund_id);
        match self.call(Method::Get, &path, None, true).await {
            Ok(answer) => refund_from(&answer).map(Some),
            Err(ConnectorError::InvalidState(reason))
                if reason.starts_with("RESOURCE_NOT_EXISTS") =>
            {
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }
}

/// The event in a notification's decrypted resource, for the merchant account `mchid` and
/// `appid`. Pure, so that it is tested and fuzzed natively (`fuzz/src/wechat_resource.rs`).
pub fn notification_event(
    event_type: &str,
    plaintext: &str,
    mchid: &str,
    appid: &str,
) -> std::result::Result<NotificationEvent, NotificationError> {
    let malformed = |e: serde_json::Error| NotificationError::Malformed(e.to_string());
    // A JSON object, as WeChat writes it: serde's derived structs would also take an array of
    // the fields' values in order.
    let resource: serde_json::Value = serde_json::from_str(plaintext).map_err(malformed)?;
    if !resource.is_object() {
        return Err(NotificationError::Malformed(
            "the resource is not an object".into(),
        ));
    }
    if event_type.starts_with("REFUND.") {
        let refund: wire::Refund = serde_json::from_value(resource).map_err(malformed)?;
        return Ok(NotificationEvent::Refund {
            out_refund_no: refund.out_refund_no,
        });
    }
    if event_type != "TRANSACTION.SUCCESS" {
        return Err(NotificationError::Malformed(format!(
            "unexpected event {event_type}"
        )));
    }
    let transaction: wire::Transaction = serde_json::from_value(resource).map_err(malformed)?;
    if transaction.mchid != mchid || transaction.appid != appid {
        return Err(NotificationError::ForeignMerchant);
    }
    Ok(NotificationEvent::Payment(transaction.into_payment()))
}

/// A refund answer: SUCCESS is done, PROCESSING will be (a notification or a query tells when),
/// CLOSED and ABNORMAL did not return the money.
fn refund_from(answer: &HttpAnswer) -> Result<ProviderRefund, ConnectorError> {
    let refund: wire::Refund = serde_json::from_str(&answer.body)
        .map_err(|e| ConnectorError::Unknown(format!("refund answer: {e}")))?;
    let state = match refund.status.as_str() {
        "SUCCESS" => RefundState::Succeeded,
        "PROCESSING" => RefundState::Processing,
        _ => RefundState::Failed,
    };
    Ok(ProviderRefund {
        refund_transaction_id: refund.refund_id.unwrap_or(refund.out_refund_no),
        amount: refund
            .amount
            .and_then(|a| a.refund)
            .and_then(|fen| Money::from_minor(fen, Currency::CNY).ok()),
        state,
    })
}

fn unknown(error: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Unknown(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MCHID: &str = "1900009191";
    const APPID: &str = "wxd678efh567hg6787";

    #[test]
    fn a_resource_is_read_only_from_a_json_object() {
        let paid = r#"{"mchid":"1900009191","appid":"wxd678efh567hg6787","out_trade_no":"pay_1",
            "transaction_id":"42","trade_state":"SUCCESS","amount":{"total":100,"currency":"CNY"}}"#;
        let Ok(NotificationEvent::Payment(payment)) =
            notification_event("TRANSACTION.SUCCESS", paid, MCHID, APPID)
        else {
            panic!("a paid transaction is a payment");
        };
        assert_eq!(payment.amount.map(Money::amount_minor), Some(100));
        // The same fields as an array, which serde's derived structs accept: found by the
        // `wechat_resource` fuzz target (fuzz/seeds/wechat_resource/crash_array_resource).
        let array = r#"["1900009191","wxd678efh567hg6787","pay_1",null,"SUCCESS"]"#;
        assert!(matches!(
            notification_event("TRANSACTION.SUCCESS", array, MCHID, APPID),
            Err(NotificationError::Malformed(_))
        ));
        assert!(matches!(
            notification_event("REFUND.SUCCESS", r#"["re_1",null,"SUCCESS"]"#, MCHID, APPID),
            Err(NotificationError::Malformed(_))
        ));
        let refund = r#"{"out_refund_no":"re_1","refund_status":"SUCCESS"}"#;
        assert!(matches!(
            notification_event("REFUND.SUCCESS", refund, MCHID, APPID),
            Ok(NotificationEvent::Refund { out_refund_no }) if out_refund_no == "re_1"
        ));
    }
}
