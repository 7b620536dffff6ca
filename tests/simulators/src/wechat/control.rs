//! Test controls, outside WeChat's protocol: fault switches, snapshots of orders, refunds and
//! notification deliveries, and the shopper's decision without a phone. Served under
//! `{origin}/__sim/` and mirrored by `RunningWechat` methods.
//!
//! - `GET|POST|DELETE /__sim/faults`: read, merge in (a JSON object of [`Faults`] fields), reset.
//! - `GET /__sim/orders/{out_trade_no}`: an [`OrderSnapshot`] (404 when unknown).
//! - `POST /__sim/orders/{out_trade_no}/approve` and `.../fail`: the shopper pays, or the payment
//!   fails at the phone; answers the snapshot, or 409 `{"error"}` when the order cannot be paid.
//! - `GET /__sim/refunds/{out_refund_no}`: a [`RefundSnapshot`].
//! - Faults for a provider whose word differs from the books: `pay_short_fen`,
//!   `report_out_trade_no`, `close_lets_payment_through`.
//! - `GET /__sim/deliveries`: every notification delivery attempt ([`DeliverySnapshot`]).
//! - `GET /__sim/jsbridge.js`, `POST /__sim/jsapi/pay`: the JSAPI pay sheet (module `jsapi`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::state::{ApproveError, Order, Refund, RefundStatus, TradeState, TradeType};
use super::{jsapi, Shared};
use crate::common::control::{self, error};
use crate::http::{Request, Response};

/// Fault switches, per simulator instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added before every API answer.
    pub latency_ms: u64,
    /// API answers and notifications carry a `Wechatpay-Signature` that does not verify.
    pub bad_response_signature: bool,
    /// API answers and notifications carry a `Wechatpay-Timestamp` ten minutes in the past (and
    /// are signed over it, so only the age is wrong).
    pub stale_timestamp: bool,
    /// Every notification delivery is sent twice, byte for byte the same.
    pub duplicate_notifications: bool,
    /// Approval delivers the first notification attempt before it returns: before the H5 or scan
    /// page answers (and redirects the shopper back), before `approve()` returns. Otherwise the
    /// first attempt goes out `notify_delay` later, in the background.
    pub notify_before_return: bool,
    /// No notification is sent (attempts falling due while this is set are skipped), so the
    /// merchant must find out by querying.
    pub withhold_notifications: bool,
    /// The JSAPI pay sheet answers `get_brand_wcpay_request:cancel` (the shopper closed it).
    pub jsapi_cancel: bool,
    /// A payment made while this is set takes this many fen less than the order's total (1 for
    /// 19.99 on a 20.00 order; a negative value takes more), and its notification and every
    /// later query report what was taken: a provider whose figure does not match the merchant's.
    pub pay_short_fen: i64,
    /// A payment made while this is set is reported (notification and every later query) as
    /// being for this `out_trade_no` instead of its own.
    pub report_out_trade_no: Option<String>,
    /// A close answers 204 as usual but leaves the order payable, past its `time_expire` too,
    /// so the shopper's payment goes through afterwards and its notification arrives late.
    pub close_lets_payment_through: bool,
}

/// An order as tests see it (`RunningWechat::order`, `GET /__sim/orders/{out_trade_no}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderSnapshot {
    pub out_trade_no: String,
    pub trade_type: TradeType,
    pub trade_state: TradeState,
    pub amount_total: i64,
    pub description: String,
    pub notify_url: String,
    pub prepay_id: String,
    pub code_url: Option<String>,
    pub h5_url: Option<String>,
    pub transaction_id: Option<String>,
    /// The `out_refund_no`s of its refunds, oldest first.
    pub refunds: Vec<String>,
    pub refunded_total: i64,
    pub close_calls: u64,
    pub query_calls: u64,
    /// What the shopper was charged, once paid (less than `amount_total` under `pay_short_fen`).
    pub amount_paid: Option<i64>,
}

impl OrderSnapshot {
    pub fn new(order: &Order, refunded_total: i64) -> OrderSnapshot {
        OrderSnapshot {
            out_trade_no: order.out_trade_no.clone(),
            trade_type: order.trade_type,
            trade_state: order.state,
            amount_total: order.total,
            description: order.description.clone(),
            notify_url: order.notify_url.clone(),
            prepay_id: order.prepay_id.clone(),
            code_url: order.code_url.clone(),
            h5_url: order.h5_url.clone(),
            transaction_id: order.paid.as_ref().map(|p| p.transaction_id.clone()),
            refunds: order.refunds.clone(),
            refunded_total,
            close_calls: order.close_calls,
            query_calls: order.query_calls,
            amount_paid: order.paid.as_ref().map(|p| p.total),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundSnapshot {
    pub out_refund_no: String,
    pub refund_id: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub status: RefundStatus,
    pub amount_refund: i64,
    pub amount_total: i64,
    pub notify_url: Option<String>,
}

impl From<&Refund> for RefundSnapshot {
    fn from(r: &Refund) -> RefundSnapshot {
        RefundSnapshot {
            out_refund_no: r.out_refund_no.clone(),
            refund_id: r.refund_id.clone(),
            out_trade_no: r.out_trade_no.clone(),
            transaction_id: r.transaction_id.clone(),
            status: r.status,
            amount_refund: r.amount,
            amount_total: r.total,
            notify_url: r.notify_url.clone(),
        }
    }
}

/// One notification delivery attempt (each copy of a duplicated one is its own entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliverySnapshot {
    /// The notification's `id`, the same on every retry.
    pub notification_id: String,
    pub event_type: String,
    pub out_trade_no: String,
    pub out_refund_no: Option<String>,
    pub url: String,
    /// 1 for the first attempt; retries count up.
    pub attempt: u32,
    /// 1, or 2 for the second copy under `duplicate_notifications`.
    pub copy: u32,
    /// The merchant's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why nothing usable came back (connection refused, timeout, ...).
    pub error: Option<String>,
    /// 200 or 204: WeChat stops retrying.
    pub acknowledged: bool,
    pub sent_at_ms: u64,
}

/// Serves `/__sim/...`.
pub(super) fn handle(shared: &Arc<Shared>, request: &Request) -> Response {
    match (
        request.method.as_str(),
        control::segments(request).as_slice(),
    ) {
        (_, ["faults"]) => control::faults(request, &mut shared.lock().faults),
        ("GET", ["orders", no]) => match shared.snapshot(no) {
            Some(snapshot) => Response::json(200, &json!(snapshot)),
            None => error(404, "unknown order"),
        },
        ("POST", ["orders", no, "approve"]) => decision(shared, no, super::approve(shared, no)),
        ("POST", ["orders", no, "fail"]) => decision(shared, no, shared.fail(no)),
        ("GET", ["refunds", no]) => match shared.lock().refunds.get(*no) {
            Some(refund) => Response::json(200, &json!(RefundSnapshot::from(refund))),
            None => error(404, "unknown refund"),
        },
        ("GET", ["deliveries"]) => Response::json(200, &json!(shared.lock().deliveries)),
        (_, ["jsbridge.js"] | ["jsapi", "pay"]) => jsapi::handle(shared, request),
        _ => error(404, "no such control"),
    }
}

fn decision(shared: &Shared, no: &str, result: Result<(), ApproveError>) -> Response {
    match result {
        Ok(()) => Response::json(200, &json!(shared.snapshot(no))),
        Err(ApproveError::UnknownOrder) => error(404, "unknown order"),
        Err(e) => error(409, &e.to_string()),
    }
}
