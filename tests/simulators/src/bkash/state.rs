//! The simulator's memory (tokens, payments, sandbox wallets, faults) and bKash's rules for
//! moving a payment from `Initiated` to `Authorized` (the shopper approved on the hosted page) to
//! `Completed` (the merchant executed), or to `Cancelled` / `Failed`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::control::Faults;
use super::wire::Code;
use super::SANDBOX_WALLETS;
use crate::util::percent_encode;
use crate::util::{random_string, unix_millis, ALNUM, UPPER_ALNUM};

/// Where a payment stands; the names are bKash's `transactionStatus` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PaymentState {
    /// Created; the shopper has not finished on the hosted page.
    Initiated,
    /// The shopper confirmed with wallet, OTP and PIN; the merchant must now execute.
    Authorized,
    /// Executed: the money moved and a `trxID` exists.
    Completed,
    /// The shopper cancelled on the hosted page.
    Cancelled,
    /// The wallet could not pay (too little balance).
    Failed,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Initiated => "Initiated",
            PaymentState::Authorized => "Authorized",
            PaymentState::Completed => "Completed",
            PaymentState::Cancelled => "Cancelled",
            PaymentState::Failed => "Failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub trx_id: String,
    pub amount: i64,
    pub amount_text: String,
    pub sku: String,
    pub reason: String,
    pub completed_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub id: String,
    pub amount: i64,
    /// The amount exactly as the merchant sent it; bKash echoes it back unchanged.
    pub amount_text: String,
    pub payer_reference: String,
    pub callback_url: String,
    pub invoice: String,
    pub created_ms: u64,
    pub state: PaymentState,
    pub wallet: Option<String>,
    pub trx_id: Option<String>,
    pub executed_ms: Option<u64>,
    /// Every execute call for this payment, answered or not, successful or not.
    pub execute_calls: u64,
    /// Every answered `payment/status` call for this payment.
    pub status_calls: u64,
    pub refunds: Vec<Refund>,
}

impl Payment {
    pub fn refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }

    /// Where the hosted page sends the browser: bKash appends these parameters to callbackURL.
    pub fn callback_with_status(&self, status: &str) -> String {
        let separator = if self.callback_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{separator}paymentID={}&status={status}",
            self.callback_url,
            percent_encode(&self.id)
        )
    }

    /// The redirect after the hosted page, with the opaque `signature` and `apiVersion` bKash
    /// adds; the signature proves nothing to the merchant, who must still execute.
    pub fn redirect_url(&self, status: &str) -> String {
        format!(
            "{}&signature={}&apiVersion=1.2.0-beta",
            self.callback_with_status(status),
            random_string(10, ALNUM)
        )
    }
}

/// What the merchant asked for in `create`, already validated.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub amount: i64,
    pub amount_text: String,
    pub payer_reference: String,
    pub callback_url: String,
    pub invoice: String,
}

/// How an id token fares at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

/// Why a shopper's approval (hosted page or `approve`) was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveError {
    UnknownPayment,
    /// The payment is no longer waiting for the shopper.
    NotPending(PaymentState),
    UnknownWallet,
}

impl std::fmt::Display for ApproveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApproveError::UnknownPayment => write!(f, "no such payment"),
            ApproveError::NotPending(state) => {
                write!(
                    f,
                    "the payment is {} (not waiting for the shopper)",
                    state.as_str()
                )
            }
            ApproveError::UnknownWallet => write!(f, "not a sandbox bKash wallet"),
        }
    }
}

impl std::error::Error for ApproveError {}

/// Everything the simulator remembers; guarded by one mutex.
#[derive(Debug)]
pub struct State {
    tokens: HashMap<String, Instant>,
    refresh_tokens: HashSet<String>,
    pub payments: HashMap<String, Payment>,
    invoices: HashSet<String>,
    /// Payment and refund trxIDs, to the paymentID they belong to.
    trx_index: HashMap<String, String>,
    pub wallets: HashMap<String, i64>,
    pub faults: Faults,
}

/// A JWT-looking id token (bKash's are JWTs); clients must treat it as opaque.
fn new_id_token() -> String {
    format!(
        "eyJraWQiOiJia2FzaC1zaW0iLCJhbGciOiJSUzI1NiJ9.{}.{}",
        random_string(120, ALNUM),
        random_string(86, ALNUM)
    )
}

impl Default for State {
    fn default() -> State {
        State {
            tokens: HashMap::new(),
            refresh_tokens: HashSet::new(),
            payments: HashMap::new(),
            invoices: HashSet::new(),
            trx_index: HashMap::new(),
            wallets: SANDBOX_WALLETS
                .iter()
                .map(|&(w, b)| (w.to_owned(), b))
                .collect(),
            faults: Faults::default(),
        }
    }
}

impl State {
    /// A new id token; a grant also mints a refresh token, a refresh reuses the caller's.
    pub fn issue_token(&mut self, lifetime: Duration, refresh: Option<String>) -> (String, String) {
        let id_token = new_id_token();
        self.tokens
            .insert(id_token.clone(), Instant::now() + lifetime);
        let refresh = refresh.unwrap_or_else(|| {
            let fresh = format!("eyJjdHkiOiJKV1QifQ.{}", random_string(160, ALNUM));
            self.refresh_tokens.insert(fresh.clone());
            fresh
        });
        (id_token, refresh)
    }

    pub fn knows_refresh_token(&self, token: &str) -> bool {
        self.refresh_tokens.contains(token)
    }

    pub fn check_token(&self, token: &str) -> TokenCheck {
        match self.tokens.get(token) {
            None => TokenCheck::Unknown,
            Some(expiry) if Instant::now() >= *expiry => TokenCheck::Expired,
            Some(_) => TokenCheck::Valid,
        }
    }

    /// Every id token issued so far expires now; refresh tokens stay good.
    pub fn expire_all_tokens(&mut self) {
        let now = Instant::now();
        self.tokens.values_mut().for_each(|expiry| *expiry = now);
    }

    pub fn create(&mut self, new: NewPayment) -> Result<&Payment, Code> {
        if !self.invoices.insert(new.invoice.clone()) {
            return Err(Code::InvalidInvoiceNumber);
        }
        // bKash's shape: "TR0011" (the mode), 7 letters/digits, then the creation time in ms.
        let created_ms = unix_millis();
        let id = format!("TR0011{}{created_ms}", random_string(7, ALNUM));
        let payment = Payment {
            id: id.clone(),
            amount: new.amount,
            amount_text: new.amount_text,
            payer_reference: new.payer_reference,
            callback_url: new.callback_url,
            invoice: new.invoice,
            created_ms,
            state: PaymentState::Initiated,
            wallet: None,
            trx_id: None,
            executed_ms: None,
            execute_calls: 0,
            status_calls: 0,
            refunds: Vec::new(),
        };
        Ok(self.payments.entry(id).or_insert(payment))
    }

    /// The shopper confirmed with `wallet`; returns the URL the browser is sent to. Too little
    /// balance fails the payment (bKash checks the balance before it lets the shopper confirm).
    pub fn approve(&mut self, payment_id: &str, wallet: &str) -> Result<String, ApproveError> {
        let balance = self.wallets.get(wallet).copied();
        let payment = self.pending(payment_id)?;
        let balance = balance.ok_or(ApproveError::UnknownWallet)?;
        payment.wallet = Some(wallet.to_owned());
        if balance < payment.amount {
            payment.state = PaymentState::Failed;
            return Ok(payment.redirect_url("failure"));
        }
        payment.state = PaymentState::Authorized;
        Ok(payment.redirect_url("success"))
    }

    pub fn cancel(&mut self, payment_id: &str) -> Result<String, ApproveError> {
        let payment = self.pending(payment_id)?;
        payment.state = PaymentState::Cancelled;
        Ok(payment.redirect_url("cancel"))
    }

    fn pending(&mut self, payment_id: &str) -> Result<&mut Payment, ApproveError> {
        let payment = self
            .payments
            .get_mut(payment_id)
            .ok_or(ApproveError::UnknownPayment)?;
        match payment.state {
            PaymentState::Initiated => Ok(payment),
            other => Err(ApproveError::NotPending(other)),
        }
    }

    /// `execute`: debits the wallet of an authorized payment, exactly once.
    pub fn execute(&mut self, payment_id: &str) -> Result<Payment, Code> {
        let payment = self
            .payments
            .get_mut(payment_id)
            .ok_or(Code::InvalidPaymentId)?;
        payment.execute_calls += 1;
        match payment.state {
            PaymentState::Authorized => {}
            PaymentState::Completed => return Err(Code::ExecuteAlreadyCalled),
            _ => return Err(Code::InvalidPaymentState),
        }
        let wallet = payment.wallet.clone().unwrap_or_default();
        let balance = self.wallets.entry(wallet).or_insert(0);
        if *balance < payment.amount {
            payment.state = PaymentState::Failed;
            return Err(Code::InsufficientBalance);
        }
        *balance -= payment.amount;
        let trx_id = random_string(10, UPPER_ALNUM);
        payment.trx_id = Some(trx_id.clone());
        payment.executed_ms = Some(unix_millis());
        payment.state = PaymentState::Completed;
        self.trx_index.insert(trx_id, payment.id.clone());
        Ok(payment.clone())
    }

    pub fn payment(&self, payment_id: &str) -> Result<&Payment, Code> {
        self.payments.get(payment_id).ok_or(Code::InvalidPaymentId)
    }

    /// A payment asked about with `payment/status`, counted.
    pub fn status_of(&mut self, payment_id: &str) -> Result<&Payment, Code> {
        let payment = self
            .payments
            .get_mut(payment_id)
            .ok_or(Code::InvalidPaymentId)?;
        payment.status_calls += 1;
        Ok(payment)
    }

    /// A payment or refund transaction by its trxID.
    pub fn search(&self, trx_id: &str) -> Result<(&Payment, Option<&Refund>), Code> {
        let payment = self
            .trx_index
            .get(trx_id)
            .and_then(|id| self.payments.get(id))
            .ok_or(Code::TransactionNotFound)?;
        let refund = payment.refunds.iter().find(|r| r.trx_id == trx_id);
        Ok((payment, refund))
    }

    /// The completed payment that `trx_id` names, for a refund or its status.
    fn refundable(&mut self, payment_id: &str, trx_id: &str) -> Result<&mut Payment, Code> {
        let payment = self
            .payments
            .get_mut(payment_id)
            .ok_or(Code::InvalidPaymentId)?;
        if payment.state != PaymentState::Completed {
            return Err(Code::InvalidPaymentState);
        }
        if payment.trx_id.as_deref() != Some(trx_id) {
            return Err(Code::ReverseTrxNotFound);
        }
        Ok(payment)
    }

    /// A partial or full refund; together they never exceed what was paid.
    pub fn refund(
        &mut self,
        payment_id: &str,
        trx_id: &str,
        refund: Refund,
    ) -> Result<(Payment, Refund), Code> {
        let payment = self.refundable(payment_id, trx_id)?;
        if refund.amount <= 0 {
            return Err(Code::InvalidAmount);
        }
        if payment.refunded() + refund.amount > payment.amount {
            return Err(Code::RefundExceedsOriginal);
        }
        payment.refunds.push(refund.clone());
        let (snapshot, wallet) = (payment.clone(), payment.wallet.clone().unwrap_or_default());
        *self.wallets.entry(wallet).or_insert(0) += refund.amount;
        self.trx_index
            .insert(refund.trx_id.clone(), payment_id.to_owned());
        Ok((snapshot, refund))
    }

    /// The latest refund of a payment (bKash's refund-status answer describes one refund).
    pub fn last_refund(
        &mut self,
        payment_id: &str,
        trx_id: &str,
    ) -> Result<(Payment, Refund), Code> {
        let payment = self.refundable(payment_id, trx_id)?;
        let last = payment
            .refunds
            .last()
            .cloned()
            .ok_or(Code::TransactionNotFound)?;
        Ok((payment.clone(), last))
    }
}
