//! Test controls, outside bKash's protocol: fault switches and a look into (and a shortcut
//! through) payments, served under `{origin}/__sim/` and mirrored by `RunningBkash` methods.
//!
//! - `GET|POST|DELETE /__sim/faults`: read, merge in (a JSON object of [`Faults`] fields), reset.
//! - `GET /__sim/payments/{paymentID}`: a [`PaymentSnapshot`] (404 when unknown).
//! - `POST /__sim/payments/{paymentID}/approve` with `{"wallet": "017..."}`: the shopper's
//!   confirmation without the browser; answers `{"callback_url": ...}`, the page's redirect.
//! - `POST /__sim/payments/{paymentID}/cancel`: the shopper's cancel, likewise.
//! - `GET /__sim/wallets/{msisdn}`: a sandbox wallet's balance.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::state::{ApproveError, Payment, PaymentState, State};
use super::wire::format_amount;
use super::Shared;
use crate::common::control::{self, error};
use crate::http::{Request, Response};

/// Fault switches, per simulator instance. Counters count down as API calls consume them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Added before every API answer (including faulty ones).
    pub latency_ms: u64,
    /// The next N API calls answer HTTP 500 without doing anything.
    pub fail_next: u32,
    /// The next N API calls do nothing, hang for `hang_ms`, then close without an answer.
    pub timeout_next: u32,
    /// How long a `timeout_next` call hangs; pick it past the client's timeout.
    pub hang_ms: u64,
    /// The next N executes do their work (the payment completes, the wallet is debited) but the
    /// connection is closed without an answer, as when the answer is lost on the way back.
    pub drop_execute_response: u32,
    /// The next N refunds (with an amount) do their work (the refund is made, the wallet is
    /// credited) but the connection is closed without an answer. Refund-status calls are
    /// answered as usual.
    pub drop_refund_response: u32,
    /// While set, a refund (with an amount) is made (the wallet is credited) but the connection
    /// is closed without an answer, and every refund-status call answers HTTP 503: the refund's
    /// outcome can never be learnt, so the merchant's refund stays unsettled.
    pub refund_unsettled: bool,
    /// One-shot: every id token issued so far expires now (refresh still works). It is applied
    /// when set and reads back as `false`.
    pub expire_tokens_now: bool,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency_ms: 0,
            fail_next: 0,
            timeout_next: 0,
            hang_ms: 15_000,
            drop_execute_response: 0,
            drop_refund_response: 0,
            refund_unsettled: false,
            expire_tokens_now: false,
        }
    }
}

/// What the fault switches do to one API call before it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    None,
    Fail,
    Hang(Duration),
}

impl Faults {
    /// Consumes one `timeout_next` or else one `fail_next`.
    pub fn take_api_fault(&mut self) -> ApiFault {
        if self.timeout_next > 0 {
            self.timeout_next -= 1;
            ApiFault::Hang(Duration::from_millis(self.hang_ms))
        } else if self.fail_next > 0 {
            self.fail_next -= 1;
            ApiFault::Fail
        } else {
            ApiFault::None
        }
    }

    /// Consumes one `drop_refund_response`.
    pub fn take_drop_refund(&mut self) -> bool {
        let drop = self.drop_refund_response > 0;
        self.drop_refund_response = self.drop_refund_response.saturating_sub(1);
        drop
    }

    /// Consumes one `drop_execute_response`.
    pub fn take_drop_execute(&mut self) -> bool {
        let drop = self.drop_execute_response > 0;
        self.drop_execute_response = self.drop_execute_response.saturating_sub(1);
        drop
    }
}

impl State {
    /// Replaces the switches, applying the one-shot `expire_tokens_now` at once.
    pub fn set_faults(&mut self, mut faults: Faults) {
        if faults.expire_tokens_now {
            self.expire_all_tokens();
            faults.expire_tokens_now = false;
        }
        self.faults = faults;
    }
}

/// Serves `/__sim/...`.
pub(super) fn handle(shared: &Shared, request: &Request) -> Response {
    match (
        request.method.as_str(),
        control::segments(request).as_slice(),
    ) {
        (_, ["faults"]) => {
            let mut state = shared.lock();
            let current = state.faults.clone();
            control::faults_with(request, current, |faults| {
                state.set_faults(faults);
                state.faults.clone()
            })
        }
        ("GET", ["payments", id]) => match shared.lock().payments.get(*id) {
            Some(p) => Response::json(200, &json!(PaymentSnapshot::from(p))),
            None => error(404, "unknown payment"),
        },
        ("POST", ["payments", id, "approve"]) => {
            let body = control::body(request);
            let Some(wallet) = body["wallet"].as_str() else {
                return error(400, "send {\"wallet\": \"01770618575\"}");
            };
            decision(shared.lock().approve(id, wallet))
        }
        ("POST", ["payments", id, "cancel"]) => decision(shared.lock().cancel(id)),
        ("GET", ["wallets", msisdn]) => match shared.lock().wallets.get(*msisdn) {
            Some(balance) => Response::json(
                200,
                &json!({"wallet": msisdn, "balance": format_amount(*balance)}),
            ),
            None => error(404, "not a sandbox wallet"),
        },
        _ => error(404, "no such control"),
    }
}

fn decision(result: Result<String, ApproveError>) -> Response {
    match result {
        Ok(url) => Response::json(200, &json!({ "callback_url": url })),
        Err(ApproveError::UnknownPayment) => error(404, "unknown payment"),
        Err(e) => error(409, &e.to_string()),
    }
}

/// A payment as tests see it (`RunningBkash::payment`, `GET /__sim/payments/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentSnapshot {
    pub payment_id: String,
    pub state: PaymentState,
    pub amount: String,
    pub currency: String,
    pub merchant_invoice_number: String,
    pub payer_reference: String,
    pub callback_url: String,
    pub wallet: Option<String>,
    pub trx_id: Option<String>,
    pub execute_calls: u64,
    pub status_calls: u64,
    pub refunded: String,
    pub refund_trx_ids: Vec<String>,
}

impl From<&Payment> for PaymentSnapshot {
    fn from(p: &Payment) -> PaymentSnapshot {
        PaymentSnapshot {
            payment_id: p.id.clone(),
            state: p.state,
            amount: p.amount_text.clone(),
            currency: "BDT".into(),
            merchant_invoice_number: p.invoice.clone(),
            payer_reference: p.payer_reference.clone(),
            callback_url: p.callback_url.clone(),
            wallet: p.wallet.clone(),
            trx_id: p.trx_id.clone(),
            execute_calls: p.execute_calls,
            status_calls: p.status_calls,
            refunded: format_amount(p.refunded()),
            refund_trx_ids: p.refunds.iter().map(|r| r.trx_id.clone()).collect(),
        }
    }
}
