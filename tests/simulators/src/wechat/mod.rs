//! A simulator of WeChat Pay API v3 (直连商户: Native, H5 and JSAPI payments, query, close,
//! refunds, and signed, encrypted notifications), served over real HTTP on loopback, so the
//! checkout's WeChat connector is tested against the protocol and not against itself.
//!
//! # Routes
//! - `{base}/v3/...` where `{base}` is [`RunningWechat::base_url`] (replaces
//!   `https://api.mch.weixin.qq.com`): prepay `POST /v3/pay/transactions/{native,h5,jsapi}`,
//!   query `GET /v3/pay/transactions/out-trade-no/{no}?mchid=` and `.../id/{transaction_id}?mchid=`,
//!   close `POST /v3/pay/transactions/out-trade-no/{no}/close`, refund
//!   `POST /v3/refund/domestic/refunds` and `GET /v3/refund/domestic/refunds/{out_refund_no}`.
//! - `GET|POST /scan?code_url=..` and `/h5pay?prepay_id=..&package=..&redirect_url=..`: the
//!   shopper's phone after scanning a Native QR code or opening an H5 link (module `page`).
//! - `/__sim/...`: test controls ([`control`]) and the JSAPI pay sheet (`/__sim/jsbridge.js`,
//!   `/__sim/jsapi/pay`, module `jsapi`).
//!
//! # Behaviour, and where it comes from
//! - Signatures, the `Authorization` header and notification encryption: see [`crypto`].
//!   Every `/v3` call is checked like WeChat's gateway does: scheme, `mchid`, `serial_no` (the
//!   merchant certificate serial), a timestamp within 5 minutes, and the signature; any failure
//!   is 401 `SIGN_ERROR`. Every answer, errors and 204s included, carries `Wechatpay-Timestamp`,
//!   `-Nonce`, `-Signature`, `-Serial` (the platform public key id, public-key mode) and
//!   `-Signature-Type`, plus `Request-ID`.
//! - Shapes, field rules and codes follow WeChat's merchant docs (pay.weixin.qq.com/doc/v3/merchant:
//!   Native下单 4012791877, H5下单 4012791834, JSAPI下单 4012791856, 商户订单号查询订单 4013070356,
//!   微信支付订单号查询订单 4013070354, 关闭订单, 退款申请, 查询单笔退款, 支付成功回调通知,
//!   退款结果回调通知) and the error tables integrations copy from them: 400 PARAM_ERROR,
//!   INVALID_REQUEST, APPID_MCHID_NOT_MATCH, ORDER_CLOSED; 401 SIGN_ERROR; 403 OUT_TRADE_NO_USED;
//!   404 ORDER_NOT_EXIST. `out_trade_no` is 6–32 of `[0-9A-Za-z_-|*]`, `description` at most 127
//!   bytes, amounts integer fen, currency CNY, `notify_url` an absolute http(s) URL without query.
//! - A repeated prepay with the same `out_trade_no` and the same body returns the same
//!   `code_url`/`h5_url`/`prepay_id`; a different body is `OUT_TRADE_NO_USED`. This is the
//!   behaviour integrations report (re-ordering an unpaid order works only with identical
//!   parameters).
//! - Refund refusals: exceeding what is left is 400 `INVALID_REQUEST` "申请退款金额超过订单可退金额"
//!   (reported from WeChat on developers.weixin.qq.com); an unknown refund is 404
//!   `RESOURCE_NOT_EXISTS` "退款单不存在" (seen in wechatpay v3 Go samples).
//! - Notification retry gaps default to WeChat's published schedule (see [`notify`]).
//!
//! Not known for certain, chosen here: `ORDERPAID` is 403 (one integration's tests quote WeChat
//! so; some tables say 400). A refund of an unpaid order is 400 `INVALID_REQUEST` "订单未支付",
//! a refund whose `amount.total` differs from the order is 400 `PARAM_ERROR`, and a repeated
//! `out_refund_no` with a different amount is 400 `INVALID_REQUEST` (API v2 called it
//! `REFUND_FEE_MISMATCH`). An unknown order in a refund is 404 `RESOURCE_NOT_EXISTS` "订单不存在".
//! An expired (past `time_expire`) order still queries as NOTPAY but cannot be paid. Queries of
//! unpaid orders leave out `transaction_id`, `trade_type`, `payer` and `success_time`, as the
//! samples integrations log show. A missing `Accept` header is tolerated.

mod api;
pub mod control;
pub mod crypto;
mod jsapi;
mod notify;
mod page;
pub mod state;
mod validate;
pub mod wire;

#[cfg(test)]
mod tests;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use serde::Deserialize;
use sha2::Sha256;

pub use control::{DeliverySnapshot, Faults, OrderSnapshot, RefundSnapshot};
pub use notify::{build_notification, SignedNotification};
pub use state::{ApproveError, RefundStatus, TradeState, TradeType};

use crate::common::serve::{lock, Instance, StopFlag};
use crate::http::{Reply, Request, Response};
use notify::Job;
use state::State;

/// WeChat's notification retry gaps: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h, 3h, 3h, 6h, 6h.
pub fn wechat_retry_schedule() -> Vec<Duration> {
    [
        15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10_800, 10_800, 10_800, 21_600, 21_600,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect()
}

/// One simulator's setup.
#[derive(Debug, Clone)]
pub struct WechatSimConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub mchid: String,
    pub appid: String,
    /// The merchant API certificate's serial number (40 upper-case hex digits).
    pub merchant_serial_no: String,
    /// SPKI PEM: verifies request signatures and JSAPI `paySign`.
    pub merchant_public_key_pem: String,
    /// PKCS#8 PEM: signs answers and notifications.
    pub platform_private_key_pem: String,
    /// `Wechatpay-Serial` in public-key mode, e.g. `PUB_KEY_ID_0119000091912025112300000000000001`.
    pub platform_public_key_id: String,
    /// 32 ASCII characters: the AES-256-GCM key of notification resources.
    pub api_v3_key: String,
    /// Where browsers reach the simulator (H5 links); `None` is `http://127.0.0.1:PORT`.
    pub public_origin: Option<String>,
    /// Gaps between notification attempts; [`wechat_retry_schedule`] by default.
    pub retry_schedule: Vec<Duration>,
    /// From approval to the first notification attempt.
    pub notify_delay: Duration,
    /// From a refund's PROCESSING to SUCCESS.
    pub refund_delay: Duration,
}

impl WechatSimConfig {
    pub fn new(
        mchid: impl Into<String>,
        appid: impl Into<String>,
        merchant_serial_no: impl Into<String>,
        merchant_public_key_pem: impl Into<String>,
        platform_private_key_pem: impl Into<String>,
        platform_public_key_id: impl Into<String>,
        api_v3_key: impl Into<String>,
    ) -> WechatSimConfig {
        WechatSimConfig {
            port: 0,
            mchid: mchid.into(),
            appid: appid.into(),
            merchant_serial_no: merchant_serial_no.into(),
            merchant_public_key_pem: merchant_public_key_pem.into(),
            platform_private_key_pem: platform_private_key_pem.into(),
            platform_public_key_id: platform_public_key_id.into(),
            api_v3_key: api_v3_key.into(),
            public_origin: None,
            retry_schedule: wechat_retry_schedule(),
            notify_delay: Duration::from_millis(200),
            refund_delay: Duration::from_millis(500),
        }
    }

    /// A config from the dev keys file: `{"mchid", "appid", "merchant_serial_no",
    /// "merchant_public_key_pem", "platform_private_key_pem", "platform_public_key_id",
    /// "api_v3_key"}`; other fields take their defaults.
    pub fn from_keys_json(json: &str) -> Result<WechatSimConfig, String> {
        #[derive(Deserialize)]
        struct KeysFile {
            mchid: String,
            appid: String,
            merchant_serial_no: String,
            merchant_public_key_pem: String,
            platform_private_key_pem: String,
            platform_public_key_id: String,
            api_v3_key: String,
        }
        let k: KeysFile = serde_json::from_str(json).map_err(|e| format!("keys file: {e}"))?;
        let config = WechatSimConfig::new(
            k.mchid,
            k.appid,
            k.merchant_serial_no,
            k.merchant_public_key_pem,
            k.platform_private_key_pem,
            k.platform_public_key_id,
            k.api_v3_key,
        );
        Keys::check(&config)?;
        Ok(config)
    }
}

impl Keys {
    fn check(config: &WechatSimConfig) -> Result<Keys, String> {
        if config.api_v3_key.len() != 32 {
            return Err("api_v3_key must be 32 bytes".into());
        }
        Ok(Keys {
            platform: crypto::signing_key(&config.platform_private_key_pem)
                .map_err(|e| format!("platform_private_key_pem: {e}"))?,
            merchant: crypto::verifying_key(&config.merchant_public_key_pem)
                .map_err(|e| format!("merchant_public_key_pem: {e}"))?,
        })
    }
}

/// The parsed keys, so a request does not re-read PEM.
pub(crate) struct Keys {
    platform: SigningKey<Sha256>,
    merchant: VerifyingKey<Sha256>,
}

/// What the request handlers and delivery threads share.
pub(crate) struct Shared {
    config: WechatSimConfig,
    origin: String,
    keys: Keys,
    state: Mutex<State>,
    stop: StopFlag,
}

impl Shared {
    /// The state, even if a handler panicked while holding it (tests should still see it).
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn snapshot(&self, out_trade_no: &str) -> Option<OrderSnapshot> {
        let state = self.lock();
        let order = state.orders.get(out_trade_no)?;
        Some(OrderSnapshot::new(order, order.refunded(&state.refunds)))
    }

    /// The `Wechatpay-*` headers for `body`, as the fault switches would have them.
    fn signed_headers(&self, body: &str, faults: &Faults) -> Vec<(String, String)> {
        let mut timestamp = now_s();
        if faults.stale_timestamp {
            timestamp -= notify::STALE_BY_S;
        }
        crypto::wechatpay_headers(
            &self.keys.platform,
            &self.config.platform_public_key_id,
            timestamp,
            body,
            faults.bad_response_signature,
        )
    }

    fn fail(&self, out_trade_no: &str) -> Result<(), ApproveError> {
        self.lock().fail(out_trade_no, now_s())
    }
}

use crate::util::unix_seconds as now_s;

/// The shopper pays `out_trade_no` (page, JSAPI sheet, control route or [`RunningWechat::approve`]);
/// the TRANSACTION.SUCCESS notification follows, first attempt inline under
/// `notify_before_return`.
pub(crate) fn approve(shared: &Arc<Shared>, out_trade_no: &str) -> Result<(), ApproveError> {
    let (order, faults) = {
        let mut state = shared.lock();
        (state.approve(out_trade_no, now_s())?, state.faults.clone())
    };
    let plaintext = wire::transaction_json(&order);
    let job = Job::new(
        shared,
        "TRANSACTION.SUCCESS",
        &plaintext,
        &order.notify_url,
        out_trade_no,
        None,
    );
    notify::dispatch(
        shared,
        job,
        faults.notify_before_return,
        shared.config.notify_delay,
    );
    Ok(())
}

/// After `refund_delay` the refund succeeds; then its notification goes out if it asked for one.
pub(crate) fn settle_later(shared: &Arc<Shared>, out_refund_no: String) {
    let (stop, delay) = (shared.stop.clone(), shared.config.refund_delay);
    let shared = shared.clone();
    stop.after("wechat-refund", delay, move || {
        let Some(refund) = shared.lock().settle_refund(&out_refund_no, now_s()) else {
            return;
        };
        let Some(url) = refund.notify_url.clone() else {
            return;
        };
        let plaintext = wire::refund_notification_json(&refund, &shared.config.mchid);
        let job = Job::new(
            &shared,
            "REFUND.SUCCESS",
            &plaintext,
            &url,
            &refund.out_trade_no,
            Some(&out_refund_no),
        );
        notify::deliver(&shared, &job, shared.config.notify_delay);
    });
}

/// Starts simulators.
pub struct WechatSimulator;

impl WechatSimulator {
    /// Starts a simulator on 127.0.0.1; panics if the port cannot be bound or a key is bad.
    pub fn start(config: WechatSimConfig) -> RunningWechat {
        WechatSimulator::try_start(config).expect("start the WeChat Pay simulator")
    }

    pub fn try_start(config: WechatSimConfig) -> io::Result<RunningWechat> {
        let keys =
            Keys::check(&config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let (port, public_origin) = (config.port, config.public_origin.clone());
        let build = |origin, stop| Shared {
            config,
            origin,
            keys,
            state: Mutex::new(State::default()),
            stop,
        };
        let (instance, shared) = Instance::start(port, public_origin.as_deref(), build, route)?;
        Ok(RunningWechat { instance, shared })
    }
}

fn route(shared: &Arc<Shared>, request: Request) -> Reply {
    let path = request.path.clone();
    if path.starts_with("/v3/") {
        return api::handle(shared, &request);
    }
    Reply::Respond(match path.as_str() {
        "/scan" | "/h5pay" => page::handle(shared, &request),
        _ if path.starts_with("/__sim/") => control::handle(shared, &request),
        _ => Response::empty(404),
    })
}

/// A running simulator; dropping it stops the server and any notification retries.
pub struct RunningWechat {
    instance: Instance,
    shared: Arc<Shared>,
}

impl RunningWechat {
    pub fn port(&self) -> u16 {
        self.instance.port()
    }

    /// `http://127.0.0.1:PORT`: what replaces `https://api.mch.weixin.qq.com` (paths are `/v3/...`).
    pub fn base_url(&self) -> String {
        self.instance.local_url()
    }

    /// Where the shopper's pages and `/__sim/` live (`public_origin`, else the base URL).
    pub fn origin(&self) -> String {
        self.shared.origin.clone()
    }

    pub fn config(&self) -> &WechatSimConfig {
        &self.shared.config
    }

    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// The shopper pays, as the phone page would; the TRANSACTION.SUCCESS notification follows.
    pub fn approve(&self, out_trade_no: &str) -> Result<(), ApproveError> {
        approve(&self.shared, out_trade_no)
    }

    /// The payment fails at the phone (insufficient funds): PAYERROR, and no notification.
    pub fn fail(&self, out_trade_no: &str) -> Result<(), ApproveError> {
        self.shared.fail(out_trade_no)
    }

    /// The JSAPI pay sheet's checks on `getBrandWCPayRequest` parameters (`appId`, `timeStamp`,
    /// `nonceStr`, `package`, `signType`, `paySign`), then payment; `Err` says what was wrong.
    pub fn jsapi_pay(&self, params: &serde_json::Value) -> Result<(), String> {
        jsapi::pay(&self.shared, params)
    }

    pub fn order(&self, out_trade_no: &str) -> Option<OrderSnapshot> {
        self.shared.snapshot(out_trade_no)
    }

    pub fn refund(&self, out_refund_no: &str) -> Option<RefundSnapshot> {
        self.shared
            .lock()
            .refunds
            .get(out_refund_no)
            .map(RefundSnapshot::from)
    }

    /// Every notification delivery attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliverySnapshot> {
        self.shared.lock().deliveries.clone()
    }

    /// Waits until a TRANSACTION.SUCCESS for `out_trade_no` got a 200 or 204; false on timeout.
    pub fn wait_acknowledged(&self, out_trade_no: &str, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            let acknowledged = self.shared.lock().deliveries.iter().any(|d| {
                d.acknowledged
                    && d.event_type == "TRANSACTION.SUCCESS"
                    && d.out_trade_no == out_trade_no
            });
            if acknowledged {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}
