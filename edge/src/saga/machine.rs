//! The transitions: [`step`] and the pure schedule functions the shell calls after each step.
//! ARCHITECTURE.md ("The session saga") has them as a table.

use checkout_core::api::{
    LateSuccess, LateSuccessOutcome, PaymentMethod, PaymentStatus, PointsAdjustmentKind,
    RefundStatus, ResolveAction, ReviewReason, SessionStatus,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};

use super::points;
use super::record::{
    LegStage, PayStart, PaymentRecord, RefundParts, RefundRecord, RefundStart, RetainedHolds,
    Review, SessionRecord,
};
use super::{
    aborted, Alert, Answer, Call, CallbackOutcome, ConnectorError, CreateCall, Ctx, Decline, Input,
    Intent, NotifiedEvent, PayInput, ProviderCall, ProviderPayment, ProviderRefund, ProviderState,
    RefundCall, RefundInput, RefundState, Stepped, WalletCall, WechatPayer, Why,
    CLOSE_CHECK_AFTER_S, HOLD_GRACE_S, RECOVERY_AFTER_S, REFUND_RETRY_FIRST_S, REFUND_RETRY_MAX_S,
    REFUND_REVIEW_AFTER_S,
};
use crate::error::{Error, Result};

/// Applies `input` to `record` and returns the intents to run now. The new intents are already
/// in `record.intents`; the shell saves the record (with them) before running any. A refused
/// command returns `Err` and leaves `record` as it was.
pub fn step(record: &mut SessionRecord, input: Input, ctx: &Ctx) -> Result<Stepped> {
    let mut machine = Machine {
        r: record.clone(),
        ctx,
        out: Stepped::default(),
    };
    machine.apply(input)?;
    *record = machine.r;
    Ok(machine.out)
}

struct Machine<'a> {
    r: SessionRecord,
    ctx: &'a Ctx,
    out: Stepped,
}

impl Machine<'_> {
    fn now(&self) -> i64 {
        self.ctx.now_s
    }

    fn apply(&mut self, input: Input) -> Result<()> {
        // Every step sees an open session whose time is up as expired.
        self.expire();
        match input {
            Input::Pay(pay) => self.pay(pay),
            Input::Cancel => self.cancel(),
            Input::Callback {
                provider,
                reference,
                outcome,
            } => self.callback(provider, &reference, outcome),
            Input::Notification { provider, event } => self.notification(provider, event),
            Input::Refund(refund) => self.refund(refund),
            Input::ResolvePayment { payment_id, action } => self.resolve(&payment_id, action),
            Input::Capture { amount } => self.capture(amount),
            Input::VoidAuthorization => self.void_authorization(),
            Input::StatusPoll => {
                self.poll();
                Ok(())
            }
            Input::Alarm => self.alarm(),
            // The cron is the alarm's safety net: the same recovery, and the leg asked now.
            Input::Reconcile => {
                self.recover_intents();
                self.reconcile(true);
                self.check_closed_legs();
                self.retry_refunds();
                self.release_if_ended();
                Ok(())
            }
            Input::Answer { intent_id, answer } => self.answer(&intent_id, answer),
        }
    }

    // ----- intents -----

    /// Lists a new intent and returns it for this step's caller to run.
    fn issue(&mut self, subject: &str, kind: &str, call: Call, why: Why, attempt: u32) {
        self.r.intent_seq += 1;
        let intent = Intent {
            id: format!("{subject}:{kind}#{}", self.r.intent_seq),
            subject: subject.to_owned(),
            call,
            why,
            issued_at_s: self.now(),
            attempt,
        };
        self.r.intents.push(intent.clone());
        self.out.intents.push(intent);
    }

    fn wallet(&mut self, subject: &str, kind: &str, call: WalletCall) {
        self.issue(subject, kind, Call::Wallet { call }, Why::Observe, 1);
    }

    fn provider(&mut self, payment: &PaymentRecord, kind: &str, call: ProviderCall, why: Why) {
        let call = Call::Provider {
            method: payment.method,
            call,
        };
        self.issue(&payment.id.clone(), kind, call, why, 1);
    }

    /// Whether an intent about `subject` is listed (in flight).
    fn listed(&self, subject: &str) -> bool {
        self.r.intents.iter().any(|i| i.subject == subject)
    }

    /// Whether a capture of `subject` is listed.
    fn capture_listed(&self, subject: &str) -> bool {
        self.r.intents.iter().any(|i| {
            i.subject == subject
                && matches!(
                    i.call,
                    Call::Provider {
                        call: ProviderCall::Capture { .. },
                        ..
                    }
                )
        })
    }

    /// Whether an intent about `subject` other than a query is listed: a query only reads, so a
    /// close may go out beside it (its answer, whenever it comes, is applied as any read).
    fn busy_beyond_queries(&self, subject: &str) -> bool {
        self.r.intents.iter().any(|i| {
            i.subject == subject
                && !matches!(
                    i.call,
                    Call::Provider {
                        call: ProviderCall::Query { .. },
                        ..
                    }
                )
        })
    }

    fn alert(&mut self, alert: &str, subject: &str, detail: String) {
        self.out.alerts.push(Alert {
            alert: alert.to_owned(),
            subject: subject.to_owned(),
            detail,
        });
    }

    // ----- expiry and retained holds -----

    fn expire(&mut self) {
        self.r.expire_if_due(self.now());
    }

    /// An ended session keeps no holds for a retry.
    fn release_if_ended(&mut self) {
        if self.r.status == SessionStatus::Expired || self.r.status == SessionStatus::Paid {
            self.release_retained();
        }
    }

    fn release_retained(&mut self) {
        if let Some(retained) = self.r.retained_holds.take() {
            let group = retained.group;
            self.wallet(
                &group.clone(),
                "void_holds",
                WalletCall::VoidHolds { group },
            );
        }
    }

    // ----- paying -----

    fn pay(&mut self, pay: PayInput) -> Result<()> {
        let start = self.r.start_payment(
            &pay.idempotency_key,
            pay.method,
            pay.payment_id.clone(),
            self.now(),
            &self.ctx.available,
        )?;
        let mut payment = match start {
            // The reply is built from the earlier attempt.
            PayStart::Replayed(_) => return Ok(()),
            PayStart::Started(payment) => payment,
        };
        if payment.provider.is_some() {
            if let Some(split) = &pay.allocation {
                let (points, wallet, rest) = points::external_split(&self.r, pay.method, split)?;
                self.r
                    .set_external_split(&payment.id, points, wallet, rest)?;
                payment.points = points;
                payment.wallet_amount = Some(wallet);
                payment.external_amount = Some(rest);
            }
            return self.pay_external(payment, pay);
        }
        // Refused splits return before anything is kept: the attempt never existed.
        let (points, balance_part) =
            points::points_split(&self.r, pay.method, pay.allocation.as_ref())?;
        if points > 0 {
            self.r.set_points(&payment.id, points)?;
        }
        // Paying from the wallet directly: holds kept for a retry are no longer wanted.
        self.release_retained();
        let id = payment.id.clone();
        self.wallet(
            &id.clone(),
            "debit",
            WalletCall::Debit {
                transfer_id: id,
                amount: balance_part,
                points,
            },
        );
        Ok(())
    }

    fn pay_external(&mut self, mut payment: PaymentRecord, pay: PayInput) -> Result<()> {
        let limits = self
            .ctx
            .limits
            .iter()
            .find(|l| l.method == payment.method)
            .ok_or_else(|| Error::api(ErrorCode::PaymentMethodUnavailable))?;
        let amount = payment.provider_amount().amount_minor();
        if amount < limits.min.amount_minor() || amount > limits.max.amount_minor() {
            return Err(Error::api_with(
                ErrorCode::AmountOutOfRange,
                format!(
                    "This method accepts {} to {} {} per payment.",
                    limits.min.to_decimal_string(),
                    limits.max.to_decimal_string(),
                    limits.min.currency()
                ),
            ));
        }
        let wechat = (payment.method == PaymentMethod::WechatPay).then(|| WechatPayer {
            flow: pay.wechat_flow.unwrap_or_default(),
            client_ip: pay.client_ip.clone(),
            openid: self.r.request.wechat_openid.clone(),
        });
        let create = CreateCall {
            invoice: payment.id.clone(),
            session_id: self.r.id.clone(),
            amount: payment.provider_amount(),
            payer_reference: self.r.request.customer_id.clone(),
            callback_url: pay.callback_url,
            notify_url: pay.notify_url,
            description: self.r.request.description.clone(),
            expires_at_s: self.r.expires_at_s,
            wechat,
            manual_capture: self.r.manual_capture(payment.method),
        };
        // Holds kept by a failed attempt are reused for the same split, released otherwise.
        let mut took_over = false;
        if let Some(retained) = self.r.retained_holds.clone() {
            let same_split = payment.has_holds()
                && retained.points == payment.points
                && Some(retained.wallet_amount) == payment.wallet_amount;
            if same_split {
                self.r
                    .take_over_holds(&payment.id, retained.group.clone())?;
                payment.holds_group = Some(retained.group);
                took_over = true;
            } else {
                self.release_retained();
            }
        }
        if !took_over && payment.has_holds() {
            if let Some(leg) = self.r.processing_mut(&payment.id)?.provider.as_mut() {
                leg.create = Some(create);
            }
            let group = payment.holds_group();
            self.wallet(
                &payment.id,
                "place_holds",
                WalletCall::PlaceHolds {
                    group,
                    amount: payment
                        .wallet_amount
                        .unwrap_or(Money::zero(payment.amount.currency())),
                    points: payment.points,
                    expires_at_ms: self.holds_expire_at_s(payment.method) * 1000,
                },
            );
            return Ok(());
        }
        self.provider(
            &payment,
            "create",
            ProviderCall::Create(create),
            Why::Observe,
        );
        Ok(())
    }

    /// When a new attempt's wallet holds expire: past the session, by [`HOLD_GRACE_S`]; for a
    /// card authorized now and captured later, past the longest authorization too.
    fn holds_expire_at_s(&self, method: PaymentMethod) -> i64 {
        let authorization = if self.r.manual_capture(method) {
            self.ctx.authorization_void_after_s
        } else {
            0
        };
        self.r.expires_at_s + authorization + HOLD_GRACE_S
    }

    // ----- authorizations (cards with manual capture) -----

    /// The authorization waiting for the merchant, or why there is none.
    fn authorized_payment(&self) -> Result<(PaymentRecord, String)> {
        let not_authorized = || {
            Error::api_with(
                ErrorCode::SessionNotOpen,
                "Only an authorized checkout can be captured or canceled.",
            )
        };
        let payment = self
            .r
            .processing_payment()
            .filter(|p| p.is_authorized())
            .cloned()
            .ok_or_else(not_authorized)?;
        let transaction_id = payment
            .provider
            .as_ref()
            .and_then(|l| l.transaction_id.clone())
            .ok_or_else(not_authorized)?;
        Ok((payment, transaction_id))
    }

    /// The merchant captures the authorization, whole or `amount` of the card's part. A capture
    /// already under way is the same capture (its answer decides).
    fn capture(&mut self, amount: Option<Money>) -> Result<()> {
        let (payment, transaction_id) = self.authorized_payment()?;
        let authorized = payment.provider_amount();
        if let Some(amount) = amount {
            if amount.currency() != authorized.currency()
                || amount.amount_minor() <= 0
                || amount.amount_minor() > authorized.amount_minor()
            {
                return Err(Error::api_with(
                    ErrorCode::InvalidParameter,
                    format!(
                        "amount must be more than 0 and at most the authorized {} {}.",
                        authorized.to_decimal_string(),
                        authorized.currency()
                    ),
                ));
            }
        }
        if self.listed(&payment.id) {
            // The capture already on its way: a repeat is the same call. Any other call about
            // the payment (a query, a void) must end first; nothing changes, and the merchant
            // retries (answering 200 here would drop the capture unseen).
            return match self.capture_listed(&payment.id) {
                true => Ok(()),
                false => Err(Error::api(ErrorCode::PaymentInProgress)),
            };
        }
        let capture = amount.unwrap_or(authorized);
        if let Ok(leg) = self.r.processing_mut(&payment.id) {
            if let Some(leg) = leg.provider.as_mut() {
                leg.capture_amount = Some(capture);
            }
        }
        self.provider(
            &payment,
            "capture",
            ProviderCall::Capture {
                payment_id: payment.id.clone(),
                transaction_id,
                // The whole amount is sent as "all": Stripe's default, the same idempotency key.
                amount: amount.filter(|a| *a != authorized),
            },
            Why::Observe,
        );
        Ok(())
    }

    /// The merchant voids the authorization; its wallet holds are voided once the gateway says so.
    fn void_authorization(&mut self) -> Result<()> {
        let (payment, transaction_id) = self.authorized_payment()?;
        if self.listed(&payment.id) {
            return Err(Error::api(ErrorCode::PaymentInProgress));
        }
        self.void(&payment, transaction_id);
        Ok(())
    }

    fn void(&mut self, payment: &PaymentRecord, transaction_id: String) {
        self.provider(
            payment,
            "void",
            ProviderCall::Void {
                payment_id: payment.id.clone(),
                transaction_id,
            },
            Why::Close {
                code: ErrorCode::PaymentCanceled,
            },
        );
    }

    /// The gateway's word on an authorization: captured (paid), voided (failed, holds voided), or
    /// still authorized.
    fn settle_authorized(&mut self, payment: &PaymentRecord, answer: ProviderPayment) {
        match answer.state {
            ProviderState::Succeeded => {
                let captured = payment
                    .provider
                    .as_ref()
                    .and_then(|l| l.capture_amount)
                    .unwrap_or(payment.provider_amount());
                if answer.amount != Some(captured)
                    || answer.invoice.as_deref() != Some(payment.id.as_str())
                {
                    let reason = if answer.amount != Some(captured) {
                        ReviewReason::AmountMismatch
                    } else {
                        ReviewReason::OrderMismatch
                    };
                    self.hold_for_review(payment, &answer, reason);
                    return;
                }
                // A partial capture: the payment is what was taken (the wallet's part in full).
                if captured != payment.provider_amount() {
                    let released = payment
                        .provider_amount()
                        .checked_sub(captured)
                        .unwrap_or(Money::zero(captured.currency()));
                    if let Ok(stored) = self.r.processing_mut(&payment.id) {
                        stored.amount =
                            stored.amount.checked_sub(released).unwrap_or(stored.amount);
                        stored.external_amount = Some(captured);
                    }
                }
                let payment = self.processing(&payment.id).unwrap_or(payment.clone());
                self.leg_succeeded(&payment, answer.transaction_id);
            }
            ProviderState::Canceled | ProviderState::Failed => {
                self.end_authorization(payment);
            }
            ProviderState::Approved | ProviderState::Pending => {}
        }
    }

    /// The authorization is void at the gateway: the payment fails and its holds are voided
    /// (never kept for a retry: the merchant or the clock ended it).
    fn end_authorization(&mut self, payment: &PaymentRecord) {
        let detail = ErrorDetail::new(ErrorCode::PaymentCanceled);
        if self.r.finish_payment(&payment.id, Err(detail)).is_err() {
            return;
        }
        if payment.has_holds() {
            let group = payment.holds_group();
            self.wallet(&payment.id, "void_holds", WalletCall::VoidHolds { group });
        }
        self.release_if_ended();
    }

    fn cancel(&mut self) -> Result<()> {
        let Some(payment) = self.r.processing_payment().cloned() else {
            return Ok(());
        };
        let stage = payment.provider.as_ref().map(|l| l.stage);
        if stage != Some(LegStage::AwaitingShopper) {
            return Err(Error::api(ErrorCode::PaymentInProgress));
        }
        self.end_unpaid_leg(&payment, ErrorCode::PaymentCanceled);
        Ok(())
    }

    fn callback(
        &mut self,
        provider: PaymentMethod,
        reference: &str,
        outcome: CallbackOutcome,
    ) -> Result<()> {
        // Stripe's cancel_url names our payment: its template fills in `success_url` only.
        let by_id = || {
            (provider == PaymentMethod::Card && outcome == CallbackOutcome::Cancel)
                .then(|| {
                    self.r
                        .payments
                        .iter()
                        .find(|p| p.id == reference && p.method == provider)
                })
                .flatten()
        };
        let payment = self
            .r
            .payment_by_reference(provider, reference)
            .or_else(by_id)
            .cloned()
            .ok_or_else(|| Error::api(ErrorCode::UnknownProviderPayment))?;
        let stage = payment.provider.as_ref().map(|l| l.stage);
        // The shopper left Stripe's page: a read under way (a webhook's, the widget's poll) must
        // not swallow it, or the shopper comes back to a payment still waiting on a page they
        // left.
        let leaving_card = provider == PaymentMethod::Card && outcome == CallbackOutcome::Cancel;
        let busy = if leaving_card {
            self.busy_beyond_queries(&payment.id)
        } else {
            self.listed(&payment.id)
        };
        // A repeated callback, or one racing a completion under way, changes nothing.
        if payment.status != PaymentStatus::Processing
            || stage != Some(LegStage::AwaitingShopper)
            || busy
        {
            return Ok(());
        }
        if !self.ctx.stranger_call_allowed {
            // Answered from the record; the alarm and the cron settle the leg.
            return Ok(());
        }
        match outcome {
            CallbackOutcome::Success => self.begin_completion(&payment),
            // The shopper left Stripe's page, which stays payable until expired: expire it
            // (a payment made meanwhile answers "already done" and is then observed).
            CallbackOutcome::Cancel if provider == PaymentMethod::Card => {
                self.close_leg(&payment, ErrorCode::PaymentCanceled)
            }
            CallbackOutcome::Failure | CallbackOutcome::Cancel | CallbackOutcome::Returned => {
                self.query(&payment, Why::Observe)
            }
        }
        Ok(())
    }

    fn notification(&mut self, provider: PaymentMethod, event: NotifiedEvent) -> Result<()> {
        match event {
            NotifiedEvent::Payment { payment: notified } => {
                let reference = notified.invoice.clone().unwrap_or_default();
                let payment = self
                    .r
                    .payment_by_reference(provider, &reference)
                    .cloned()
                    .ok_or_else(|| Error::api(ErrorCode::UnknownProviderPayment))?;
                self.settle(&payment.id, notified, Why::Observe);
                Ok(())
            }
            NotifiedEvent::Changed { payment_id } => {
                let payment = self
                    .r
                    .payments
                    .iter()
                    .find(|p| p.id == payment_id && p.method == provider)
                    .cloned()
                    .ok_or_else(|| Error::api(ErrorCode::UnknownProviderPayment))?;
                if !self.ctx.stranger_call_allowed {
                    // Refused, not acknowledged: the provider retries on its schedule.
                    return Err(Error::api(ErrorCode::RateLimited));
                }
                // A leg still open, or one that ended unpaid (a late success), is asked again.
                let ended_unpaid = payment.status == PaymentStatus::Failed;
                if !self.listed(&payment.id)
                    && (payment.status == PaymentStatus::Processing || ended_unpaid)
                {
                    self.query(&payment, Why::Observe);
                }
                // Its refunds still waiting on the provider are asked too.
                let pending: Vec<RefundRecord> = self
                    .r
                    .refunds
                    .iter()
                    .filter(|r| r.payment_id == payment.id && r.status == RefundStatus::Pending)
                    .cloned()
                    .collect();
                for refund in pending {
                    if !self.listed(&refund.id) {
                        self.settle_refund(&refund);
                    }
                }
                Ok(())
            }
            NotifiedEvent::Refund { refund_id } => {
                let refund = self
                    .r
                    .refunds
                    .iter()
                    .find(|r| r.id == refund_id)
                    .cloned()
                    .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
                let provider_matches = self
                    .r
                    .payments
                    .iter()
                    .any(|p| p.id == refund.payment_id && p.method == provider);
                if !provider_matches {
                    return Err(Error::api(ErrorCode::NotFound));
                }
                if refund.status != RefundStatus::Pending || self.listed(&refund.id) {
                    return Ok(());
                }
                if !self.ctx.stranger_call_allowed {
                    // Refused, not acknowledged: the provider retries on its schedule.
                    return Err(Error::api(ErrorCode::RateLimited));
                }
                self.settle_refund(&refund);
                Ok(())
            }
        }
    }

    fn poll(&mut self) {
        let Some(payment) = self.r.processing_payment().cloned() else {
            return;
        };
        let awaiting =
            payment.provider.as_ref().map(|l| l.stage) == Some(LegStage::AwaitingShopper);
        if awaiting && !self.listed(&payment.id) {
            self.query(&payment, Why::Observe);
        }
    }

    // ----- external legs -----

    fn query(&mut self, payment: &PaymentRecord, why: Why) {
        let Some(reference) = reference_of(payment) else {
            return;
        };
        self.provider(payment, "query", ProviderCall::Query { reference }, why);
    }

    /// Writes the leg down as completing, then completes it.
    fn begin_completion(&mut self, payment: &PaymentRecord) {
        let Some(reference) = reference_of(payment) else {
            return;
        };
        let now = self.now();
        if self
            .r
            .set_leg_stage(&payment.id, LegStage::Completing, now)
            .is_err()
        {
            return;
        }
        self.provider(
            payment,
            "complete",
            ProviderCall::Complete { reference },
            Why::Observe,
        );
    }

    /// Closes an unpaid leg at its provider; the leg fails with `code` once closed.
    fn end_unpaid_leg(&mut self, payment: &PaymentRecord, code: ErrorCode) {
        if self.listed(&payment.id) {
            return;
        }
        self.close_leg(payment, code);
    }

    /// Closes the leg even beside a query under way (the caller checked nothing else is).
    fn close_leg(&mut self, payment: &PaymentRecord, code: ErrorCode) {
        let Some(reference) = reference_of(payment) else {
            return;
        };
        self.provider(
            payment,
            "close",
            ProviderCall::Close { reference },
            Why::Close { code },
        );
    }

    /// Applies the provider's word on payment `payment_id`.
    fn settle(&mut self, payment_id: &str, answer: ProviderPayment, why: Why) {
        let Some(payment) = self.r.payments.iter().find(|p| p.id == payment_id).cloned() else {
            return;
        };
        if payment.status != PaymentStatus::Processing {
            if let Some(ended) = self.r.payments.iter_mut().find(|p| p.id == payment_id) {
                ended.close_check_at_s = None;
            }
            if answer.state == ProviderState::Succeeded {
                self.success_after_end(&payment, &answer);
            }
            return;
        }
        self.note_decline(payment_id, &answer);
        let stage = payment.provider.as_ref().map(|l| l.stage);
        if stage == Some(LegStage::PostingHolds) {
            // The provider's success is already recorded; the holds are being posted.
            return;
        }
        if stage == Some(LegStage::Authorized) {
            self.settle_authorized(&payment, answer);
            return;
        }
        if why == Why::AfterClose && answer.state != ProviderState::Succeeded {
            return;
        }
        match answer.state {
            ProviderState::Approved if self.r.manual_capture(payment.method) => {
                match verify(&payment, &answer) {
                    Ok(()) => self.authorized(&payment, answer.transaction_id),
                    Err(reason) => self.hold_for_review(&payment, &answer, reason),
                }
            }
            ProviderState::Succeeded => match verify(&payment, &answer) {
                Ok(()) => self.leg_succeeded(&payment, answer.transaction_id),
                Err(reason) => self.hold_for_review(&payment, &answer, reason),
            },
            ProviderState::Failed => {
                let detail = self.unpaid_failure(payment_id, ErrorCode::PaymentDeclined);
                self.fail_leg(&payment, detail)
            }
            ProviderState::Canceled => {
                let detail = self.unpaid_failure(payment_id, ErrorCode::PaymentCanceled);
                self.fail_leg(&payment, detail)
            }
            ProviderState::Approved if why == Why::Reconcile => self.begin_completion(&payment),
            ProviderState::Pending | ProviderState::Approved => {
                self.still_pending(&payment, why == Why::ExecuteRefused)
            }
        }
    }

    /// Writes the card's latest decline on the still-processing payment: the merchant sees it at
    /// once, and it is the failure if the leg ends unpaid. An answer without one keeps the
    /// decline already known (the gateway may clear it when its session is closed); a card the
    /// gateway took (paid or authorized) clears it.
    fn note_decline(&mut self, payment_id: &str, answer: &ProviderPayment) {
        let took = matches!(
            answer.state,
            ProviderState::Succeeded | ProviderState::Approved
        );
        let Ok(stored) = self.r.processing_mut(payment_id) else {
            return;
        };
        if took {
            stored.decline = None;
        } else if let Some(decline) = &answer.decline {
            if stored.decline.as_ref() != Some(decline) {
                stored.decline = Some(decline.clone());
            }
        }
    }

    /// Writes the decline a close read (before the gateway's session was expired).
    fn note_close_decline(&mut self, payment_id: &str, decline: Option<Decline>) {
        if let (Some(decline), Ok(stored)) = (decline, self.r.processing_mut(payment_id)) {
            stored.decline = Some(decline);
        }
    }

    /// Why a leg that ended unpaid failed: the card's last decline, as the shopper is told it
    /// (the gateway's raw code stays on the payment for the merchant), else `code`.
    fn unpaid_failure(&self, payment_id: &str, code: ErrorCode) -> ErrorDetail {
        let declined = self
            .r
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .and_then(|p| p.decline.as_ref())
            .map(|d| d.code);
        ErrorDetail::new(declined.unwrap_or(code))
    }

    /// The provider has not completed the payment. A leg whose completion was sent and not
    /// refused stays `completing`: the execute may still land, so neither expiry nor a cancel may
    /// end it; the alarm and the cron ask again until the provider's status is final.
    fn still_pending(&mut self, payment: &PaymentRecord, execute_refused: bool) {
        let now = self.now();
        let completing = payment.provider.as_ref().map(|l| l.stage) == Some(LegStage::Completing);
        if completing && !execute_refused {
            // Asked again in RECOVERY_AFTER_S, not in a loop.
            self.r
                .set_leg_stage(&payment.id, LegStage::Completing, now)
                .ok();
            return;
        }
        if now >= self.r.expires_at_s {
            self.end_unpaid_leg(payment, ErrorCode::SessionExpired);
            return;
        }
        self.r
            .set_leg_stage(&payment.id, LegStage::AwaitingShopper, now)
            .ok();
    }

    /// The card is authorized: the session waits for the merchant's capture or cancel, until
    /// `authorization_void_after_s` from now.
    fn authorized(&mut self, payment: &PaymentRecord, transaction_id: Option<String>) {
        let now = self.now();
        self.r.set_transaction_id(&payment.id, transaction_id).ok();
        if self
            .r
            .set_leg_stage(&payment.id, LegStage::Authorized, now)
            .is_err()
        {
            return;
        }
        let void_at = now + self.ctx.authorization_void_after_s;
        if let Ok(stored) = self.r.processing_mut(&payment.id) {
            if let Some(leg) = stored.provider.as_mut() {
                leg.void_at_s = Some(void_at);
                leg.next_action = None;
                leg.redirect_url = None;
            }
        }
    }

    /// The provider took its part: the wallet's holds are posted, then the session is paid.
    fn leg_succeeded(&mut self, payment: &PaymentRecord, transaction_id: Option<String>) {
        self.r.set_transaction_id(&payment.id, transaction_id).ok();
        if payment.has_holds() {
            let now = self.now();
            self.r
                .set_leg_stage(&payment.id, LegStage::PostingHolds, now)
                .ok();
            let group = payment.holds_group();
            self.wallet(&payment.id, "post_holds", WalletCall::PostHolds { group });
            return;
        }
        self.r.finish_payment(&payment.id, Ok(())).ok();
        self.release_if_ended();
    }

    /// Ends a processing external leg as failed: its holds are kept for a retry while the
    /// session is open, voided otherwise.
    fn fail_leg(&mut self, payment: &PaymentRecord, detail: ErrorDetail) {
        let code = detail.code;
        if self.r.finish_payment(&payment.id, Err(detail)).is_err() {
            return;
        }
        if !payment.has_holds() {
            return;
        }
        let keep = code != ErrorCode::SessionExpired
            && self.now() < self.r.expires_at_s
            && self.r.status == SessionStatus::Open
            && self.r.retained_holds.is_none();
        if keep {
            self.r.retained_holds = Some(RetainedHolds {
                group: payment.holds_group(),
                points: payment.points,
                wallet_amount: payment
                    .wallet_amount
                    .unwrap_or(Money::zero(payment.amount.currency())),
            });
        } else {
            let group = payment.holds_group();
            self.wallet(&payment.id, "void_holds", WalletCall::VoidHolds { group });
        }
    }

    /// The provider says it took something else than asked: never counted. The payment and the
    /// session wait for the merchant; the payment's holds go back.
    fn hold_for_review(
        &mut self,
        payment: &PaymentRecord,
        answer: &ProviderPayment,
        reason: ReviewReason,
    ) {
        let now = self.now();
        let Some(stored) = self.r.payments.iter_mut().find(|p| p.id == payment.id) else {
            return;
        };
        let was_processing = stored.status == PaymentStatus::Processing;
        stored.status = PaymentStatus::RequiresReview;
        stored.review = Some(Review {
            reason,
            provider_amount: answer.amount,
            provider_order: answer.invoice.clone(),
            transaction_id: answer.transaction_id.clone(),
            resolution: None,
            resolved_at_s: None,
        });
        if let Some(leg) = stored.provider.as_mut() {
            leg.redirect_url = None;
            leg.next_action = None;
            leg.stage_since_s = now;
            if answer.transaction_id.is_some() {
                leg.transaction_id = answer.transaction_id.clone();
            }
        }
        if matches!(
            self.r.status,
            SessionStatus::Open | SessionStatus::Processing
        ) {
            self.r.status = SessionStatus::RequiresReview;
        }
        let retained_is_its = self
            .r
            .retained_holds
            .as_ref()
            .is_some_and(|h| h.group == payment.holds_group());
        if retained_is_its {
            self.r.retained_holds = None;
        }
        if payment.has_holds() && (was_processing || retained_is_its) {
            let group = payment.holds_group();
            self.wallet(&payment.id, "void_holds", WalletCall::VoidHolds { group });
        }
        self.alert(
            "provider_mismatch",
            &payment.id,
            format!(
                "expected {} for {}, the provider reports {:?} for {:?}",
                payment.provider_amount().to_decimal_string(),
                payment.id,
                answer.amount.map(|a| a.to_decimal_string()),
                answer.invoice
            ),
        );
    }

    /// A provider success for an attempt that had already ended here.
    fn success_after_end(&mut self, payment: &PaymentRecord, answer: &ProviderPayment) {
        if payment.status != PaymentStatus::Failed || payment.late_success.is_some() {
            // Succeeded already, under review, or seen before: nothing new.
            return;
        }
        if let Err(reason) = verify(payment, answer) {
            self.hold_for_review(payment, answer, reason);
            return;
        }
        let now = self.now();
        let retained_is_its = self
            .r
            .retained_holds
            .as_ref()
            .is_some_and(|h| h.group == payment.holds_group());
        let can_pay = self.r.status == SessionStatus::Open
            && self.r.amount_paid().is_zero()
            && now < self.r.expires_at_s
            && (!payment.has_holds() || retained_is_its);
        let Some(stored) = self.r.payments.iter_mut().find(|p| p.id == payment.id) else {
            return;
        };
        if let Some(leg) = stored.provider.as_mut() {
            if answer.transaction_id.is_some() {
                leg.transaction_id = answer.transaction_id.clone();
            }
        }
        if can_pay {
            stored.late_success = Some(LateSuccess {
                received_at: now,
                outcome: LateSuccessOutcome::PaidSession,
                refund_id: None,
            });
            stored.failure = None;
            stored.status = PaymentStatus::Processing;
            self.r.status = SessionStatus::Processing;
            if retained_is_its {
                self.r.retained_holds = None;
            }
            let payment = self.r.payments.iter().find(|p| p.id == payment.id).cloned();
            if let Some(payment) = payment {
                self.leg_succeeded(&payment, answer.transaction_id.clone());
            }
            return;
        }
        let amount = answer.amount.unwrap_or(payment.provider_amount());
        let refund_id = self.automatic_refund(payment, amount, "late_success");
        if let Some(stored) = self.r.payments.iter_mut().find(|p| p.id == payment.id) {
            stored.late_success = Some(LateSuccess {
                received_at: now,
                outcome: LateSuccessOutcome::Refunded,
                refund_id: Some(refund_id),
            });
        }
        self.alert(
            "provider_paid_after_attempt_ended",
            &payment.id,
            format!("refunding {} automatically", amount.to_decimal_string()),
        );
    }

    /// Starts a refund of `amount` that the checkout makes itself; returns its id. Idempotent:
    /// one per payment and cause.
    fn automatic_refund(&mut self, payment: &PaymentRecord, amount: Money, cause: &str) -> String {
        let id = format!("re_{cause}_{}", payment.id);
        if self.r.refunds.iter().any(|r| r.id == id) {
            return id;
        }
        let zero = Money::zero(amount.currency());
        let refund = RefundRecord {
            id: id.clone(),
            idempotency_key: format!("{cause}:{}", payment.id),
            payment_id: payment.id.clone(),
            amount,
            reason: cause.to_owned(),
            status: RefundStatus::Pending,
            failure: None,
            provider_refund_id: None,
            created_at_s: self.now(),
            parts: Some(RefundParts {
                external: amount,
                balance: zero,
                points: 0,
            }),
            automatic: true,
            provider_done: false,
            attempts: 1,
            next_attempt_at_s: Some(self.now() + REFUND_RETRY_FIRST_S),
            notify_url: None,
        };
        self.r.refunds.push(refund.clone());
        self.first_refund_call(&refund);
        id
    }

    // ----- merchant decisions -----

    fn resolve(&mut self, payment_id: &str, action: ResolveAction) -> Result<()> {
        let now = self.now();
        let payment = self
            .r
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .cloned()
            .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
        let Some(review) = payment.review.clone() else {
            return Err(Error::api_with(
                ErrorCode::ReviewActionNotAllowed,
                "This payment is not held for review.",
            ));
        };
        if let Some(done) = review.resolution {
            if done == action {
                return Ok(());
            }
            return Err(Error::api_with(
                ErrorCode::ReviewActionNotAllowed,
                "This payment's review was already resolved another way.",
            ));
        }
        let taken = review.provider_amount.unwrap_or(payment.provider_amount());
        match action {
            ResolveAction::Accept => {
                let payable = self.r.status == SessionStatus::RequiresReview
                    && self.r.amount_paid().is_zero()
                    && taken.currency() == self.r.amount.currency()
                    && taken.amount_minor() <= self.r.amount.amount_minor();
                if !payable {
                    return Err(Error::api_with(
                        ErrorCode::ReviewActionNotAllowed,
                        "Only a payment of at most the session's amount, on an unpaid session, can be accepted.",
                    ));
                }
                let stored = self.stored_mut(payment_id)?;
                stored.status = PaymentStatus::Succeeded;
                stored.failure = None;
                // Only what the provider took counts; the wallet's holds went back at review.
                stored.amount = taken;
                stored.points = 0;
                stored.wallet_amount = None;
                stored.external_amount = None;
                if let Some(r) = stored.review.as_mut() {
                    r.resolution = Some(action);
                    r.resolved_at_s = Some(now);
                }
                self.r.status = SessionStatus::Paid;
            }
            ResolveAction::RefundAtProvider => {
                let stored = self.stored_mut(payment_id)?;
                stored.status = PaymentStatus::Failed;
                let mut detail = ErrorDetail::new(ErrorCode::ProviderError);
                detail.message =
                    "The provider reported a different amount or order; it was refunded.".into();
                stored.failure = Some(detail);
                if let Some(r) = stored.review.as_mut() {
                    r.resolution = Some(action);
                    r.resolved_at_s = Some(now);
                }
                self.automatic_refund(&payment, taken, "review");
                if self.r.status == SessionStatus::RequiresReview {
                    self.r.status = if now >= self.r.expires_at_s {
                        SessionStatus::Expired
                    } else {
                        SessionStatus::Open
                    };
                }
            }
        }
        Ok(())
    }

    fn stored_mut(&mut self, payment_id: &str) -> Result<&mut PaymentRecord> {
        self.r
            .payments
            .iter_mut()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| Error::api(ErrorCode::NotFound))
    }

    // ----- refunds -----

    fn refund(&mut self, input: RefundInput) -> Result<()> {
        let amount = input.request.validate(self.r.amount.currency())?;
        let start = self.r.start_refund(
            &input.idempotency_key,
            amount,
            &input.request.reason,
            input.refund_id,
            self.now(),
        )?;
        let refund = match start {
            RefundStart::Replayed(_) => return Ok(()),
            RefundStart::Started(refund) => refund,
        };
        let next = self.now() + REFUND_RETRY_FIRST_S;
        let stored = self.refund_mut(&refund.id)?;
        stored.notify_url = input.notify_url;
        stored.attempts = 1;
        stored.next_attempt_at_s = Some(next);
        let refund = stored.clone();
        self.first_refund_call(&refund);
        Ok(())
    }

    fn refund_mut(&mut self, refund_id: &str) -> Result<&mut RefundRecord> {
        self.r
            .refunds
            .iter_mut()
            .find(|r| r.id == refund_id)
            .ok_or_else(|| Error::Invariant(format!("no refund {refund_id}")))
    }

    fn parts_of(&self, refund: &RefundRecord) -> RefundParts {
        let zero = Money::zero(refund.amount.currency());
        refund.parts.unwrap_or_else(|| {
            let external = self
                .r
                .payments
                .iter()
                .any(|p| p.id == refund.payment_id && p.provider.is_some());
            RefundParts {
                external: if external { refund.amount } else { zero },
                balance: if external { zero } else { refund.amount },
                points: 0,
            }
        })
    }

    /// The provider's part first (sent once), then the wallet's.
    fn first_refund_call(&mut self, refund: &RefundRecord) {
        let parts = self.parts_of(refund);
        if !parts.external.is_zero() && !refund.provider_done {
            if let Some(call) = self.refund_call(refund, parts.external) {
                let payment_method = self.method_of(&refund.payment_id);
                self.issue(
                    &refund.id,
                    "provider_refund",
                    Call::Provider {
                        method: payment_method,
                        call: ProviderCall::Refund(call),
                    },
                    Why::Observe,
                    1,
                );
            }
            return;
        }
        self.wallet_refund_parts(refund, false);
    }

    fn method_of(&self, payment_id: &str) -> PaymentMethod {
        self.r
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .map_or(PaymentMethod::Balance, |p| p.method)
    }

    fn refund_call(&self, refund: &RefundRecord, amount: Money) -> Option<RefundCall> {
        let payment = self.r.payments.iter().find(|p| p.id == refund.payment_id)?;
        let leg = payment.provider.as_ref()?;
        let taken = payment
            .review
            .as_ref()
            .and_then(|r| r.provider_amount)
            .filter(|_| payment.status != PaymentStatus::Succeeded || refund.automatic)
            .unwrap_or(payment.provider_amount());
        Some(RefundCall {
            reference: leg.reference.clone().unwrap_or_default(),
            transaction_id: leg.transaction_id.clone().unwrap_or_default(),
            refund_id: refund.id.clone(),
            amount,
            reason: refund.reason.clone(),
            payment_amount: taken,
            notify_url: refund.notify_url.clone(),
            others: self.r.other_provider_refunds(refund),
        })
    }

    /// The wallet's parts of a refund, in order: balance, then points. With `points_only`, the
    /// balance part is known to be done.
    fn wallet_refund_parts(&mut self, refund: &RefundRecord, points_only: bool) {
        let parts = self.parts_of(refund);
        let reference = format!("refund-{}", refund.id);
        if !points_only && !parts.balance.is_zero() {
            self.wallet(
                &refund.id,
                "credit",
                WalletCall::Credit {
                    reference,
                    amount: parts.balance,
                },
            );
            return;
        }
        if parts.points > 0 {
            self.wallet(
                &refund.id,
                "points",
                WalletCall::AdjustPoints {
                    reference,
                    points: parts.points,
                    kind: PointsAdjustmentKind::Credit,
                },
            );
            return;
        }
        self.finish_refund(&refund.id, Ok(refund.provider_refund_id.clone()));
    }

    fn finish_refund(
        &mut self,
        refund_id: &str,
        outcome: std::result::Result<Option<String>, ErrorDetail>,
    ) {
        let pending = self
            .r
            .refunds
            .iter()
            .any(|r| r.id == refund_id && r.status == RefundStatus::Pending);
        if pending {
            self.r.finish_refund(refund_id, outcome).ok();
            if let Ok(stored) = self.refund_mut(refund_id) {
                stored.next_attempt_at_s = None;
            }
        }
    }

    /// Asks again about a pending refund: the provider whether it made its part (never a second
    /// refund), or the wallet's idempotent parts again.
    fn settle_refund(&mut self, refund: &RefundRecord) {
        let parts = self.parts_of(refund);
        if !parts.external.is_zero() && !refund.provider_done {
            if let Some(call) = self.refund_call(refund, parts.external) {
                let method = self.method_of(&refund.payment_id);
                self.issue(
                    &refund.id,
                    "find_refund",
                    Call::Provider {
                        method,
                        call: ProviderCall::FindRefund(call),
                    },
                    Why::Observe,
                    refund.attempts + 1,
                );
            }
            return;
        }
        self.wallet_refund_parts(refund, false);
    }

    /// The method of the payment a refund belongs to.
    fn refund_method(&self, refund_id: &str) -> PaymentMethod {
        self.r
            .refunds
            .iter()
            .find(|r| r.id == refund_id)
            .map_or(PaymentMethod::Balance, |r| self.method_of(&r.payment_id))
    }

    /// Sends a refund's provider part again, under the same refund id: only for providers that
    /// key refunds by our id ([`refunds_keyed_by_our_id`]), after they said they have none.
    fn resend_refund(&mut self, refund_id: &str) {
        let Some(refund) = self.r.refunds.iter().find(|r| r.id == refund_id).cloned() else {
            return;
        };
        if refund.status != RefundStatus::Pending || refund.provider_done {
            return;
        }
        let parts = self.parts_of(&refund);
        if let Some(call) = self.refund_call(&refund, parts.external) {
            let method = self.method_of(&refund.payment_id);
            self.issue(
                &refund.id,
                "provider_refund",
                Call::Provider {
                    method,
                    call: ProviderCall::Refund(call),
                },
                Why::Observe,
                refund.attempts + 1,
            );
        }
    }

    /// The provider's word on a refund's provider part.
    fn provider_refunded(&mut self, refund_id: &str, answer: ProviderRefund) {
        let Some(refund) = self.r.refunds.iter().find(|r| r.id == refund_id).cloned() else {
            return;
        };
        if refund.status != RefundStatus::Pending {
            return;
        }
        match answer.state {
            RefundState::Succeeded => {
                if let Ok(stored) = self.refund_mut(refund_id) {
                    stored.provider_done = true;
                    stored.provider_refund_id = Some(answer.refund_transaction_id);
                }
                let Some(refund) = self.r.refunds.iter().find(|r| r.id == refund_id).cloned()
                else {
                    return;
                };
                self.wallet_refund_parts(&refund, false);
            }
            // Under way: its notification or the back-off's query settles it.
            RefundState::Processing => {}
            RefundState::Failed => {
                self.alert(
                    "provider_refund_failed",
                    refund_id,
                    format!("provider refund {}", answer.refund_transaction_id),
                );
                let mut detail = ErrorDetail::new(ErrorCode::ProviderError);
                detail.message = "The provider could not return the money to the payer's account; \
                                  contact its support with the refund id."
                    .into();
                self.finish_refund(refund_id, Err(detail));
            }
        }
    }

    // ----- answers -----

    fn answer(&mut self, intent_id: &str, answer: Answer) -> Result<()> {
        let Some(at) = self.r.intents.iter().position(|i| i.id == intent_id) else {
            // Stale, duplicate, or superseded by recovery.
            return Ok(());
        };
        if answer == Answer::Lost && !self.recovers_at_once(&self.r.intents[at]) {
            // Left listed: the alarm recovers it once it is old enough.
            return Ok(());
        }
        let intent = self.r.intents.remove(at);
        let subject = intent.subject.clone();
        match intent.call {
            Call::Wallet { call } => self.wallet_answered(&subject, call, answer),
            Call::Provider { call, .. } => {
                self.provider_answered(&subject, call, intent.why, answer)
            }
        }
        Ok(())
    }

    /// A lost answer to these is settled at once by a safe call (a query) rather than waiting.
    fn recovers_at_once(&self, intent: &Intent) -> bool {
        matches!(
            intent.call,
            Call::Provider {
                call: ProviderCall::Complete { .. }
                    | ProviderCall::Create(_)
                    | ProviderCall::Query { .. }
                    | ProviderCall::Close { .. }
                    | ProviderCall::Capture { .. }
                    | ProviderCall::Void { .. }
                    | ProviderCall::Refund(_)
                    | ProviderCall::FindRefund(_),
                ..
            }
        )
    }

    fn processing(&self, payment_id: &str) -> Option<PaymentRecord> {
        self.r
            .payments
            .iter()
            .find(|p| p.id == payment_id && p.status == PaymentStatus::Processing)
            .cloned()
    }

    fn wallet_answered(&mut self, subject: &str, call: WalletCall, answer: Answer) {
        match call {
            WalletCall::Debit { .. } | WalletCall::ResolveTransfer { .. } => {
                let outcome = match answer {
                    Answer::WalletOk | Answer::Transfer(super::TransferOutcome::Posted) => Ok(()),
                    Answer::WalletRefused(detail) => Err(detail),
                    Answer::Transfer(super::TransferOutcome::Aborted) => Err(aborted()),
                    _ => return self.relist_wallet(subject, call),
                };
                if self.processing(subject).is_some() {
                    self.r.finish_payment(subject, outcome).ok();
                    self.release_if_ended();
                }
            }
            WalletCall::PlaceHolds { .. } => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                match answer {
                    Answer::WalletOk => {
                        let create = self
                            .r
                            .processing_mut(subject)
                            .ok()
                            .and_then(|p| p.provider.as_mut())
                            .and_then(|l| l.create.take());
                        match create {
                            Some(create) => self.provider(
                                &payment,
                                "create",
                                ProviderCall::Create(create),
                                Why::Observe,
                            ),
                            None => {
                                self.abandon_holds(&payment);
                            }
                        }
                    }
                    Answer::WalletRefused(detail) => {
                        // Nothing was held.
                        self.r.finish_payment(subject, Err(detail)).ok();
                    }
                    _ => self.relist_wallet(subject, call),
                }
            }
            WalletCall::PostHolds { .. } => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                match answer {
                    Answer::WalletOk => {
                        self.r.finish_payment(subject, Ok(())).ok();
                        self.release_if_ended();
                    }
                    Answer::WalletRefused(detail) => {
                        // The provider took its part but the held part is gone: the provider's
                        // part goes back automatically.
                        self.alert(
                            "holds_lost_after_provider_success",
                            subject,
                            detail.message.clone(),
                        );
                        self.r.finish_payment(subject, Err(detail)).ok();
                        let amount = payment.provider_amount();
                        self.automatic_refund(&payment, amount, "holds_lost");
                    }
                    _ => self.relist_wallet(subject, call),
                }
            }
            WalletCall::VoidHolds { .. } => match answer {
                Answer::WalletOk | Answer::WalletRefused(_) => {}
                _ => self.relist_wallet(subject, call),
            },
            WalletCall::Credit { .. } | WalletCall::AdjustPoints { .. } => {
                let Some(refund) = self
                    .r
                    .refunds
                    .iter()
                    .find(|r| r.id == subject && r.status == RefundStatus::Pending)
                    .cloned()
                else {
                    return;
                };
                let was_credit = matches!(call, WalletCall::Credit { .. });
                match answer {
                    Answer::WalletOk => {
                        if was_credit {
                            self.wallet_refund_parts(&refund, true);
                        } else {
                            self.finish_refund(subject, Ok(refund.provider_refund_id.clone()));
                        }
                    }
                    Answer::WalletRefused(detail) => {
                        let parts = self.parts_of(&refund);
                        let given_back = refund.provider_done
                            || !parts.external.is_zero()
                            || (!was_credit && !parts.balance.is_zero());
                        if !given_back {
                            self.finish_refund(subject, Err(detail));
                        } else {
                            // Part is back but not all: retried on the back-off.
                            self.alert("refund_wallet_part_pending", subject, detail.message);
                        }
                    }
                    _ => self.relist_wallet(subject, call),
                }
            }
        }
    }

    /// Restarts a processing leg's wait in its stage, so an unanswered provider is asked again
    /// in [`RECOVERY_AFTER_S`], not in a loop.
    fn touch_leg(&mut self, payment_id: &str) {
        let now = self.now();
        if let Some(leg) = self
            .r
            .processing_mut(payment_id)
            .ok()
            .and_then(|p| p.provider.as_mut())
        {
            leg.stage_since_s = now;
        }
    }

    /// An unusable wallet answer: the call is listed again, for the alarm.
    fn relist_wallet(&mut self, subject: &str, call: WalletCall) {
        self.r.intent_seq += 1;
        let kind = wallet_kind(&call);
        self.r.intents.push(Intent {
            id: format!("{subject}:{kind}#{}", self.r.intent_seq),
            subject: subject.to_owned(),
            call: Call::Wallet { call },
            why: Why::Observe,
            issued_at_s: self.now(),
            attempt: 2,
        });
    }

    /// The holds of an attempt that cannot go on are voided and the attempt fails.
    fn abandon_holds(&mut self, payment: &PaymentRecord) {
        self.r.finish_payment(&payment.id, Err(aborted())).ok();
        let group = payment.holds_group();
        self.wallet(&payment.id, "void_holds", WalletCall::VoidHolds { group });
    }

    fn provider_answered(&mut self, subject: &str, call: ProviderCall, why: Why, answer: Answer) {
        match call {
            ProviderCall::Create(_) => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                match answer {
                    Answer::Created(created) => {
                        let now = self.now();
                        self.r
                            .leg_created(subject, created.reference, created.next_action, now)
                            .ok();
                    }
                    Answer::ProviderError(error) => {
                        // A create that failed took nothing; the attempt fails.
                        let detail = Error::from(error).detail();
                        self.fail_leg(&payment, detail);
                    }
                    _ => self.fail_leg(&payment, ErrorDetail::new(ErrorCode::ProviderUnavailable)),
                }
            }
            ProviderCall::Complete { .. } => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                match answer {
                    Answer::Payment(answer) => self.settle(subject, answer, Why::Observe),
                    Answer::ProviderError(ConnectorError::Refused { code, message, .. }) => {
                        let mut detail = ErrorDetail::new(code);
                        detail.message = message;
                        self.fail_leg(&payment, detail);
                    }
                    // bKash refused to execute: nothing was executed, the shopper may still
                    // approve.
                    Answer::ProviderError(ConnectorError::InvalidState(_)) => {
                        self.query(&payment, Why::ExecuteRefused)
                    }
                    // The execute may have landed, or may still land: only a final status ends
                    // it. Never executed again for this intent.
                    _ => self.query(&payment, Why::Observe),
                }
            }
            ProviderCall::Query { .. } => match answer {
                Answer::Payment(answer) => self.settle(subject, answer, why),
                Answer::ProviderError(ConnectorError::Refused { code, message, .. }) => {
                    if why == Why::AfterClose {
                        // A definite answer about a closed leg: nothing got through.
                        if let Some(ended) = self.r.payments.iter_mut().find(|p| p.id == subject) {
                            ended.close_check_at_s = None;
                        }
                    }
                    if let Some(payment) = self.processing(subject) {
                        if why != Why::AfterClose {
                            let mut detail = ErrorDetail::new(code);
                            detail.message = message;
                            self.fail_leg(&payment, detail);
                        }
                    }
                }
                // Unknown for now: the alarm and the cron ask again, in RECOVERY_AFTER_S.
                _ => self.touch_leg(subject),
            },
            ProviderCall::Close { .. } => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                let code = match why {
                    Why::Close { code } => code,
                    _ => ErrorCode::PaymentCanceled,
                };
                match answer {
                    Answer::Closed { decline } => {
                        self.note_close_decline(subject, decline);
                        let detail = self.unpaid_failure(subject, code);
                        self.fail_leg(&payment, detail);
                        let check_at = self.now() + CLOSE_CHECK_AFTER_S;
                        if let Some(closed) = self.r.payments.iter_mut().find(|p| p.id == subject) {
                            closed.close_check_at_s = Some(check_at);
                        }
                    }
                    // Paid meanwhile? Only a success changes anything.
                    Answer::ProviderError(ConnectorError::AlreadyDone(_)) => {
                        self.query(&payment, Why::AfterClose)
                    }
                    // Unknown: the alarm tries again, in RECOVERY_AFTER_S.
                    _ => self.touch_leg(subject),
                }
            }
            ProviderCall::Capture { .. } => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                match answer {
                    Answer::Payment(answer) => self.settle(subject, answer, Why::Observe),
                    // Refused: nothing was captured; the authorization waits for another try.
                    Answer::ProviderError(
                        error @ (ConnectorError::Refused { .. } | ConnectorError::InvalidState(_)),
                    ) => {
                        self.alert("capture_refused", subject, error.to_string());
                        if let Ok(stored) = self.r.processing_mut(subject) {
                            if let Some(leg) = stored.provider.as_mut() {
                                leg.capture_amount = None;
                            }
                        }
                    }
                    // The capture may have landed: the gateway's intent decides, never a second
                    // capture for this intent.
                    _ => self.query(&payment, Why::Observe),
                }
            }
            ProviderCall::Void { .. } => {
                let Some(payment) = self.processing(subject) else {
                    return;
                };
                match answer {
                    Answer::Payment(answer) => self.settle(subject, answer, Why::Observe),
                    // Captured meanwhile: the intent decides.
                    Answer::ProviderError(ConnectorError::AlreadyDone(_)) => {
                        self.query(&payment, Why::Observe)
                    }
                    // Unknown: the alarm voids again (idempotent at the gateway).
                    _ => self.touch_leg(subject),
                }
            }
            ProviderCall::Refund(_) | ProviderCall::FindRefund(_) => {
                let found = matches!(call, ProviderCall::FindRefund(_));
                match answer {
                    Answer::Refund(refund) | Answer::FoundRefund(Some(refund)) => {
                        self.provider_refunded(subject, refund)
                    }
                    Answer::ProviderError(ConnectorError::Refused { code, message, .. })
                        if !found =>
                    {
                        let mut detail = ErrorDetail::new(code);
                        detail.message = message;
                        self.finish_refund(subject, Err(detail));
                    }
                    Answer::ProviderError(
                        ConnectorError::AlreadyDone(_) | ConnectorError::InvalidState(_),
                    ) if !found => {
                        self.finish_refund(subject, Err(ErrorDetail::new(ErrorCode::ProviderError)))
                    }
                    Answer::FoundRefund(None)
                        if found && refunds_keyed_by_our_id(self.refund_method(subject)) =>
                    {
                        // The provider has no refund under our id, and it keys refunds by that id
                        // (WeChat's `out_refund_no`, Stripe's `Idempotency-Key`): sending it again
                        // cannot refund twice, and not sending it would leave the payer unpaid.
                        self.resend_refund(subject);
                    }
                    _ => {
                        // Not known (yet): sending it again could refund twice (bKash keys
                        // nothing). The back-off asks the provider again, and a person decides
                        // after a day.
                        if found {
                            self.alert("refund_unresolved", subject, String::new());
                        }
                    }
                }
            }
        }
    }

    // ----- time -----

    fn alarm(&mut self) -> Result<()> {
        self.recover_intents();
        self.reconcile(false);
        self.check_closed_legs();
        self.retry_refunds();
        self.release_if_ended();
        Ok(())
    }

    /// Intents unanswered for [`RECOVERY_AFTER_S`] are taken as lost (their request ended or the
    /// object restarted) and replaced by their recovery form (see the module doc of `saga`).
    fn recover_intents(&mut self) {
        let now = self.now();
        let (old, young): (Vec<Intent>, Vec<Intent>) = std::mem::take(&mut self.r.intents)
            .into_iter()
            .partition(|i| now - i.issued_at_s >= RECOVERY_AFTER_S);
        self.r.intents = young;
        for intent in old {
            let attempt = intent.attempt + 1;
            let subject = intent.subject.clone();
            match intent.call {
                Call::Wallet {
                    call: WalletCall::Debit { transfer_id, .. },
                } => self.issue(
                    &subject,
                    "resolve_transfer",
                    Call::Wallet {
                        call: WalletCall::ResolveTransfer { transfer_id },
                    },
                    Why::Observe,
                    attempt,
                ),
                Call::Wallet {
                    call: WalletCall::PlaceHolds { .. },
                } => {
                    // The password is gone: the attempt cannot go on.
                    if let Some(payment) = self.processing(&subject) {
                        self.abandon_holds(&payment);
                    }
                }
                Call::Wallet { call } => {
                    let kind = wallet_kind(&call);
                    self.issue(&subject, kind, Call::Wallet { call }, Why::Observe, attempt);
                }
                Call::Provider { method, call } => {
                    let (kind, call) = match call {
                        ProviderCall::Create(_) => {
                            // Nothing can have been taken: the shopper never saw the provider.
                            if let Some(payment) = self.processing(&subject) {
                                self.fail_leg(
                                    &payment,
                                    ErrorDetail::new(ErrorCode::ProviderUnavailable),
                                );
                            }
                            continue;
                        }
                        ProviderCall::Complete { reference }
                        | ProviderCall::Query { reference } => {
                            ("query", ProviderCall::Query { reference })
                        }
                        ProviderCall::Close { reference } => {
                            ("close", ProviderCall::Close { reference })
                        }
                        // A capture whose answer never came: the gateway's intent decides.
                        ProviderCall::Capture { .. } => {
                            let Some(reference) =
                                self.processing(&subject).as_ref().and_then(reference_of)
                            else {
                                continue;
                            };
                            ("query", ProviderCall::Query { reference })
                        }
                        call @ ProviderCall::Void { .. } => ("void", call),
                        ProviderCall::Refund(call) | ProviderCall::FindRefund(call) => {
                            ("find_refund", ProviderCall::FindRefund(call))
                        }
                    };
                    let why = match intent.why {
                        Why::ExecuteRefused => Why::Observe,
                        other => other,
                    };
                    self.issue(
                        &subject,
                        kind,
                        Call::Provider { method, call },
                        why,
                        attempt,
                    );
                }
            }
        }
    }

    /// Settles the unfinished external leg by asking its provider; with `cron`, whenever asked,
    /// otherwise when the leg is due.
    fn reconcile(&mut self, cron: bool) {
        let now = self.now();
        let Some(payment) = self.r.processing_payment().cloned() else {
            return;
        };
        if self.listed(&payment.id) {
            return;
        }
        let Some(leg) = payment.provider.clone() else {
            // A wallet payment with nothing listed (a record from before intents): resolve it.
            if now - payment.created_at_s >= RECOVERY_AFTER_S {
                let transfer_id = payment.id.clone();
                self.wallet(
                    &payment.id,
                    "resolve_transfer",
                    WalletCall::ResolveTransfer { transfer_id },
                );
            }
            return;
        };
        match leg.stage {
            LegStage::Creating if now - leg.stage_since_s >= RECOVERY_AFTER_S => {
                self.fail_leg(&payment, ErrorDetail::new(ErrorCode::ProviderUnavailable));
            }
            LegStage::Creating => {}
            LegStage::PostingHolds => {
                // Its PostHolds answer was lost with nothing listed: post again (idempotent).
                let group = payment.holds_group();
                self.wallet(&payment.id, "post_holds", WalletCall::PostHolds { group });
            }
            LegStage::Authorized => {
                let void_at = leg.void_at_s.unwrap_or(i64::MAX);
                match leg.transaction_id.clone() {
                    // Nobody captured it in time: voided before the gateway's own limit.
                    Some(transaction_id) if now >= void_at => self.void(&payment, transaction_id),
                    _ if cron => self.query(&payment, Why::Observe),
                    _ => {}
                }
            }
            LegStage::AwaitingShopper | LegStage::Completing => {
                if cron || leg_due(&self.r, &payment).is_some_and(|due| due <= now) {
                    self.query(&payment, Why::Reconcile);
                }
            }
        }
    }

    /// Asks once more about legs closed [`CLOSE_CHECK_AFTER_S`] ago, so a payment that got
    /// through the close is found even if its notification never comes (it then takes the
    /// late-success path). An unanswered check is asked again every [`RECOVERY_AFTER_S`], and
    /// given up with an alert a day after the session ended (the reconciliation report still
    /// covers the payment).
    fn check_closed_legs(&mut self) {
        let now = self.now();
        let due: Vec<PaymentRecord> = self
            .r
            .payments
            .iter()
            .filter(|p| p.close_check_at_s.is_some_and(|at| at <= now))
            .cloned()
            .collect();
        for payment in due {
            if self.listed(&payment.id) {
                continue;
            }
            let give_up = now >= self.r.expires_at_s + REFUND_REVIEW_AFTER_S;
            if let Some(stored) = self.r.payments.iter_mut().find(|p| p.id == payment.id) {
                stored.close_check_at_s = (!give_up).then_some(now + RECOVERY_AFTER_S);
            }
            if give_up {
                self.alert(
                    "close_unverified",
                    &payment.id,
                    "the provider never answered whether the closed payment stayed unpaid".into(),
                );
                continue;
            }
            self.query(&payment, Why::AfterClose);
        }
    }

    /// Pending refunds due for another try: asked again on the back-off, handed to a person
    /// after [`REFUND_REVIEW_AFTER_S`].
    fn retry_refunds(&mut self) {
        let now = self.now();
        let due: Vec<RefundRecord> = self
            .r
            .refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Pending)
            .filter(|r| refund_due_at(r) <= now)
            .cloned()
            .collect();
        for refund in due {
            if self.listed(&refund.id) {
                continue;
            }
            if now - refund.created_at_s >= REFUND_REVIEW_AFTER_S {
                if let Ok(stored) = self.refund_mut(&refund.id) {
                    stored.status = RefundStatus::RequiresReview;
                    stored.next_attempt_at_s = None;
                }
                self.alert(
                    "refund_requires_review",
                    &refund.id,
                    format!(
                        "unsettled after {} attempts; check with the provider",
                        refund.attempts
                    ),
                );
                continue;
            }
            let attempts = refund.attempts.max(1);
            let wait = backoff_s(attempts);
            if let Ok(stored) = self.refund_mut(&refund.id) {
                stored.attempts = attempts + 1;
                stored.next_attempt_at_s = Some(now + wait);
            }
            self.settle_refund(&refund);
        }
    }
}

/// Whether `method`'s provider keys a refund by our refund id, so that sending one again after it
/// said it has none cannot refund twice: WeChat Pay dedupes by `out_refund_no`, Stripe by the
/// `Idempotency-Key` (and lists a payment's refunds with our id in their metadata). bKash's
/// refund takes no key of ours, so a refund it cannot find stays for a person.
fn refunds_keyed_by_our_id(method: PaymentMethod) -> bool {
    matches!(method, PaymentMethod::WechatPay | PaymentMethod::Card)
}

/// The wait after the `attempts`-th attempt: 30 s doubling, capped at an hour.
pub fn backoff_s(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(20);
    (REFUND_RETRY_FIRST_S << doublings).min(REFUND_RETRY_MAX_S)
}

fn refund_due_at(refund: &RefundRecord) -> i64 {
    refund
        .next_attempt_at_s
        .unwrap_or(refund.created_at_s + REFUND_RETRY_FIRST_S)
}

fn wallet_kind(call: &WalletCall) -> &'static str {
    match call {
        WalletCall::Debit { .. } => "debit",
        WalletCall::ResolveTransfer { .. } => "resolve_transfer",
        WalletCall::PlaceHolds { .. } => "place_holds",
        WalletCall::PostHolds { .. } => "post_holds",
        WalletCall::VoidHolds { .. } => "void_holds",
        WalletCall::Credit { .. } => "credit",
        WalletCall::AdjustPoints { .. } => "points",
    }
}

fn reference_of(payment: &PaymentRecord) -> Option<String> {
    payment.provider.as_ref().and_then(|l| l.reference.clone())
}

/// A completion counts only for the amount and invoice we asked for.
fn verify(
    payment: &PaymentRecord,
    answer: &ProviderPayment,
) -> std::result::Result<(), ReviewReason> {
    if answer.amount != Some(payment.provider_amount()) {
        return Err(ReviewReason::AmountMismatch);
    }
    if answer.invoice.as_deref() != Some(payment.id.as_str()) {
        return Err(ReviewReason::OrderMismatch);
    }
    Ok(())
}

/// When a processing external leg must be asked about again.
fn leg_due(record: &SessionRecord, payment: &PaymentRecord) -> Option<i64> {
    let leg = payment.provider.as_ref()?;
    Some(match leg.stage {
        // The shopper is at the provider: check back at expiry, or soon if past it.
        LegStage::AwaitingShopper => record
            .expires_at_s
            .max(leg.stage_since_s + RECOVERY_AFTER_S),
        // Waiting for the merchant: due when it must be voided (or soon after a failed void).
        LegStage::Authorized => match leg.void_at_s {
            Some(void_at) if void_at > leg.stage_since_s => void_at,
            Some(_) => leg.stage_since_s + RECOVERY_AFTER_S,
            None => i64::MAX,
        },
        _ => leg.stage_since_s + RECOVERY_AFTER_S,
    })
}

/// When the alarm must fire next (unix seconds), or `None` for no alarm.
pub fn next_alarm_at_s(record: &SessionRecord, now_s: i64) -> Option<i64> {
    let mut due: Vec<i64> = record
        .intents
        .iter()
        .map(|i| i.issued_at_s + RECOVERY_AFTER_S)
        .collect();
    // A subject with a call listed is due when that call is (above), not before.
    let listed = |subject: &str| record.intents.iter().any(|i| i.subject == subject);
    match record.processing_payment() {
        Some(payment) if listed(&payment.id) => {}
        Some(payment) if payment.provider.is_some() => due.extend(leg_due(record, payment)),
        Some(payment) => due.push(payment.created_at_s + RECOVERY_AFTER_S),
        None if record.status == SessionStatus::Open => due.push(record.expires_at_s),
        None => {}
    }
    due.extend(
        record
            .refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Pending && !listed(&r.id))
            .map(refund_due_at),
    );
    due.extend(
        record
            .payments
            .iter()
            .filter(|p| !listed(&p.id))
            .filter_map(|p| p.close_check_at_s),
    );
    if record.retained_holds.is_some() && record.status != SessionStatus::Open {
        due.push(now_s);
    }
    due.into_iter().min()
}

/// Whether the reconciliation cron must watch this session (an external leg or a refund open).
pub fn needs_tracking(record: &SessionRecord) -> bool {
    record
        .processing_payment()
        .is_some_and(|p| p.provider.is_some())
        || record.refunds_pending()
        || record.payments.iter().any(|p| p.close_check_at_s.is_some())
}
