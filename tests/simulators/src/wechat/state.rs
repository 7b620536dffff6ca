//! The simulator's memory (orders, refunds, notification deliveries, faults) and WeChat's rules
//! for an order's `trade_state`: NOTPAY until the shopper pays (SUCCESS) or the payment fails
//! (PAYERROR), CLOSED by the merchant, REFUND once any refund is asked for.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::control::{DeliverySnapshot, Faults};
use super::wire::{self, ApiError, Code};

/// The products whose prepay calls the simulator serves; `trade_type` in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TradeType {
    #[serde(rename = "NATIVE")]
    Native,
    #[serde(rename = "MWEB")]
    H5,
    #[serde(rename = "JSAPI")]
    Jsapi,
}

impl TradeType {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeType::Native => "NATIVE",
            TradeType::H5 => "MWEB",
            TradeType::Jsapi => "JSAPI",
        }
    }
}

/// `trade_state` values the simulator reaches (REVOKED and USERPAYING belong to products it
/// does not serve: payment-code and revocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    Success,
    Refund,
    #[serde(rename = "NOTPAY")]
    NotPay,
    Closed,
    #[serde(rename = "PAYERROR")]
    PayError,
}

impl TradeState {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeState::Success => "SUCCESS",
            TradeState::Refund => "REFUND",
            TradeState::NotPay => "NOTPAY",
            TradeState::Closed => "CLOSED",
            TradeState::PayError => "PAYERROR",
        }
    }

    pub fn is_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Processing,
    Success,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
        }
    }
}

/// What exists once the shopper paid.
#[derive(Debug, Clone)]
pub struct Paid {
    pub transaction_id: String,
    pub success_s: i64,
    pub openid: String,
    /// What the shopper was charged: the order's total, or less under `pay_short_fen`.
    pub total: i64,
    /// The `out_trade_no` the transaction reports (another order's under `report_out_trade_no`).
    pub reported_out_trade_no: String,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    pub trade_type: TradeType,
    pub description: String,
    pub attach: Option<String>,
    pub notify_url: String,
    pub total: i64,
    pub time_expire_s: Option<i64>,
    pub openid: Option<String>,
    /// The prepay request body as sent: a repeat must match it exactly to be the same order.
    pub request: Value,
    pub prepay_id: String,
    pub code_url: Option<String>,
    pub h5_url: Option<String>,
    pub state: TradeState,
    pub paid: Option<Paid>,
    pub refunds: Vec<String>,
    pub query_calls: u64,
    pub close_calls: u64,
    /// A close was answered while `close_lets_payment_through` was set: the order answered
    /// "closed" but stays payable, past `time_expire` too.
    pub close_ignored: bool,
}

impl Order {
    /// What a refund may return in all: what the shopper was charged.
    pub fn charged(&self) -> i64 {
        self.paid.as_ref().map_or(self.total, |p| p.total)
    }

    pub fn refunded(&self, refunds: &HashMap<String, Refund>) -> i64 {
        self.refunds
            .iter()
            .filter_map(|no| refunds.get(no))
            .map(|r| r.amount)
            .sum()
    }

    /// Past `time_expire`: WeChat no longer lets the shopper pay.
    pub fn expired(&self, now_s: i64) -> bool {
        self.time_expire_s.is_some_and(|expire| now_s > expire)
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub amount: i64,
    pub total: i64,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub create_s: i64,
    pub success_s: Option<i64>,
    pub status: RefundStatus,
}

/// A validated prepay request.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub trade_type: TradeType,
    pub out_trade_no: String,
    pub description: String,
    pub attach: Option<String>,
    pub notify_url: String,
    pub total: i64,
    pub time_expire_s: Option<i64>,
    pub openid: Option<String>,
    pub request: Value,
}

/// A validated refund request.
#[derive(Debug, Clone)]
pub struct NewRefund {
    pub out_trade_no: Option<String>,
    pub transaction_id: Option<String>,
    pub out_refund_no: String,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub refund: i64,
    pub total: i64,
}

/// Why the shopper could not pay (or fail) an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveError {
    UnknownOrder,
    AlreadyPaid,
    Closed,
    /// Past its `time_expire`.
    Expired,
    /// The payment already failed (PAYERROR); WeChat asks for a new order.
    Failed,
}

impl std::fmt::Display for ApproveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApproveError::UnknownOrder => "no such order",
            ApproveError::AlreadyPaid => "this order has already been paid",
            ApproveError::Closed => "the merchant closed this order",
            ApproveError::Expired => "this order has expired",
            ApproveError::Failed => {
                "the payment for this order failed; the merchant must place a new order"
            }
        })
    }
}

impl std::error::Error for ApproveError {}

#[derive(Default)]
pub struct State {
    pub orders: HashMap<String, Order>,
    pub refunds: HashMap<String, Refund>,
    /// code_url, prepay_id and transaction_id to out_trade_no.
    pub index: HashMap<String, String>,
    pub deliveries: Vec<DeliverySnapshot>,
    pub faults: Faults,
}

impl State {
    /// Places an order, or returns the same one for a repeat with identical parameters.
    pub fn prepay(
        &mut self,
        new: NewOrder,
        appid: &str,
        mchid: &str,
        origin: &str,
        now_s: i64,
    ) -> Result<&Order, ApiError> {
        if let Some(existing) = self.orders.get(&new.out_trade_no) {
            return match existing.state {
                s if s.is_paid() => Err(ApiError::of(Code::OrderPaid)),
                TradeState::Closed => Err(ApiError::of(Code::OrderClosed)),
                _ if existing.trade_type != new.trade_type || existing.request != new.request => {
                    Err(ApiError::of(Code::OutTradeNoUsed))
                }
                _ => Ok(&self.orders[&new.out_trade_no]),
            };
        }
        let prepay_id = wire::new_prepay_id(now_s);
        let (code_url, h5_url) = match new.trade_type {
            TradeType::Native => (Some(wire::new_code_url()), None),
            TradeType::H5 => {
                let package = wire::random_digits(10);
                (
                    None,
                    Some(format!(
                        "{origin}/h5pay?prepay_id={prepay_id}&package={package}"
                    )),
                )
            }
            TradeType::Jsapi => (None, None),
        };
        self.index
            .insert(prepay_id.clone(), new.out_trade_no.clone());
        if let Some(code_url) = &code_url {
            self.index
                .insert(code_url.clone(), new.out_trade_no.clone());
        }
        let order = Order {
            appid: appid.to_owned(),
            mchid: mchid.to_owned(),
            out_trade_no: new.out_trade_no.clone(),
            trade_type: new.trade_type,
            description: new.description,
            attach: new.attach,
            notify_url: new.notify_url,
            total: new.total,
            time_expire_s: new.time_expire_s,
            openid: new.openid,
            request: new.request,
            prepay_id,
            code_url,
            h5_url,
            state: TradeState::NotPay,
            paid: None,
            refunds: Vec::new(),
            query_calls: 0,
            close_calls: 0,
            close_ignored: false,
        };
        Ok(self.orders.entry(new.out_trade_no).or_insert(order))
    }

    /// The order a code URL, prepay id or transaction id belongs to.
    pub fn order_by_key(&self, key: &str) -> Option<&Order> {
        self.index.get(key).and_then(|no| self.orders.get(no))
    }

    /// An order the shopper can still act on.
    fn payable(&mut self, out_trade_no: &str, now_s: i64) -> Result<&mut Order, ApproveError> {
        let order = self
            .orders
            .get_mut(out_trade_no)
            .ok_or(ApproveError::UnknownOrder)?;
        match order.state {
            s if s.is_paid() => Err(ApproveError::AlreadyPaid),
            TradeState::Closed => Err(ApproveError::Closed),
            TradeState::PayError => Err(ApproveError::Failed),
            _ if order.expired(now_s) && !order.close_ignored => Err(ApproveError::Expired),
            _ => Ok(order),
        }
    }

    /// Whether the shopper could pay now, for the pages.
    pub fn check_payable(&mut self, out_trade_no: &str, now_s: i64) -> Result<(), ApproveError> {
        self.payable(out_trade_no, now_s).map(|_| ())
    }

    /// The shopper paid: SUCCESS with a new transaction id. Returns the paid order.
    pub fn approve(&mut self, out_trade_no: &str, now_s: i64) -> Result<Order, ApproveError> {
        let (short_fen, reported) = (
            self.faults.pay_short_fen,
            self.faults.report_out_trade_no.clone(),
        );
        let order = self.payable(out_trade_no, now_s)?;
        let transaction_id = wire::new_transaction_id(now_s);
        let openid = order
            .openid
            .clone()
            .unwrap_or_else(|| format!("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o{}", wire::random_digits(4)));
        order.state = TradeState::Success;
        order.paid = Some(Paid {
            transaction_id: transaction_id.clone(),
            success_s: now_s,
            openid,
            total: (order.total - short_fen).max(1),
            reported_out_trade_no: reported.unwrap_or_else(|| out_trade_no.to_owned()),
        });
        let order = order.clone();
        self.index.insert(transaction_id, out_trade_no.to_owned());
        Ok(order)
    }

    /// The payment failed at the phone (insufficient funds): PAYERROR.
    pub fn fail(&mut self, out_trade_no: &str, now_s: i64) -> Result<(), ApproveError> {
        self.payable(out_trade_no, now_s)?.state = TradeState::PayError;
        Ok(())
    }

    /// The merchant closes an order; closing a closed one again is fine.
    pub fn close(&mut self, out_trade_no: &str) -> Result<(), ApiError> {
        let order = self
            .orders
            .get_mut(out_trade_no)
            .ok_or_else(|| ApiError::of(Code::OrderNotExist))?;
        order.close_calls += 1;
        if order.state.is_paid() {
            return Err(ApiError::of(Code::OrderPaid));
        }
        if self.faults.close_lets_payment_through {
            order.close_ignored = true;
            return Ok(());
        }
        order.state = TradeState::Closed;
        Ok(())
    }

    /// Asks for a refund (PROCESSING), or returns the same one for a repeated `out_refund_no`.
    /// The bool is true when the refund is new.
    pub fn refund(&mut self, new: NewRefund, now_s: i64) -> Result<(Refund, bool), ApiError> {
        let order = match (&new.transaction_id, &new.out_trade_no) {
            (Some(id), _) => self
                .order_by_key(id)
                .filter(|o| o.paid.as_ref().is_some_and(|p| &p.transaction_id == id)),
            (None, Some(no)) => self.orders.get(no),
            (None, None) => None,
        }
        .ok_or_else(|| ApiError::new(Code::ResourceNotExists, "订单不存在"))?;
        if let Some(existing) = self.refunds.get(&new.out_refund_no) {
            let same = existing.out_trade_no == order.out_trade_no
                && existing.amount == new.refund
                && existing.total == new.total;
            return if same {
                Ok((existing.clone(), false))
            } else {
                Err(ApiError::new(
                    Code::InvalidRequest,
                    "商户退款单号重复，且与之前请求的订单或金额不一致",
                ))
            };
        }
        let Some(paid) = order.paid.clone().filter(|_| order.state.is_paid()) else {
            return Err(ApiError::new(Code::InvalidRequest, "订单未支付，不能退款"));
        };
        // The order's total, or (a short payment) what was charged.
        if new.total != order.total && new.total != order.charged() {
            return Err(ApiError::param(
                "/amount/total",
                "订单金额与原订单金额不一致",
            ));
        }
        if order.refunded(&self.refunds) + new.refund > order.charged() {
            return Err(ApiError::new(
                Code::InvalidRequest,
                "申请退款金额超过订单可退金额",
            ));
        }
        let refund = Refund {
            refund_id: wire::new_refund_id(),
            out_refund_no: new.out_refund_no.clone(),
            out_trade_no: order.out_trade_no.clone(),
            transaction_id: paid.transaction_id,
            amount: new.refund,
            total: new.total,
            reason: new.reason,
            notify_url: new.notify_url,
            create_s: now_s,
            success_s: None,
            status: RefundStatus::Processing,
        };
        let out_trade_no = order.out_trade_no.clone();
        if let Some(order) = self.orders.get_mut(&out_trade_no) {
            order.state = TradeState::Refund;
            order.refunds.push(refund.out_refund_no.clone());
        }
        self.refunds
            .insert(refund.out_refund_no.clone(), refund.clone());
        Ok((refund, true))
    }

    /// PROCESSING becomes SUCCESS; returns the refund as it now is.
    pub fn settle_refund(&mut self, out_refund_no: &str, now_s: i64) -> Option<Refund> {
        let refund = self.refunds.get_mut(out_refund_no)?;
        if refund.status == RefundStatus::Processing {
            refund.status = RefundStatus::Success;
            refund.success_s = Some(now_s);
        }
        Some(refund.clone())
    }
}
