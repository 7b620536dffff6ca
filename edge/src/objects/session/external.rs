//! External payments in the session object: create at the provider, the shopper's return, and
//! settling by the provider's own word (execute, then query when an answer is lost or doubtful).

use checkout_core::api::{PaymentMethod, PaymentStatus, WidgetSession};
use checkout_core::error::ErrorDetail;
use checkout_core::{ErrorCode, Money};

use super::measured::MeasuredConnector;
use super::{CallbackOutcome, CheckoutSession, PayCommand, RECOVERY_AFTER_S};
use crate::objects::rpc;
use crate::objects::wallet::WalletCommand;

/// Holds outlive the session by this much, so a provider that completes at the last moment still
/// finds the wallet's part to post.
const HOLD_GRACE_S: i64 = 30 * 60;
use crate::clock::now_s;
use crate::connectors::{
    Connector, ConnectorError, CreatePayment, PaymentConnector, ProviderPayment, ProviderState,
    WechatPayer,
};
use crate::error::{Error, Result};
use crate::objects::session_record::{LegStage, PaymentRecord, RetainedHolds, SessionRecord};

impl CheckoutSession {
    /// Creates the payment at its provider and returns the session with the redirect to follow.
    pub(super) async fn pay_external(
        &self,
        record: SessionRecord,
        payment: PaymentRecord,
        request: PayCommand,
    ) -> Result<WidgetSession> {
        let connector = self.connector(&payment)?;
        let (min, max) = connector.amount_limits();
        let amount = payment.provider_amount().amount_minor();
        if amount < min.amount_minor() || amount > max.amount_minor() {
            // Refused before anything is written: the attempt never existed.
            return Err(Error::api_with(
                ErrorCode::AmountOutOfRange,
                format!(
                    "This method accepts {} to {} {} per payment.",
                    min.to_decimal_string(),
                    max.to_decimal_string(),
                    min.currency()
                ),
            ));
        }
        self.save(&record)?;
        self.schedule(&record).await?;
        let mut record = record;
        let mut payment = payment;
        if !self.take_over_retained(&mut record, &mut payment).await? && payment.has_holds() {
            self.place_holds(&record, &payment, request.pay_password)
                .await?;
        }
        let wechat = (payment.method == PaymentMethod::WechatPay).then(|| WechatPayer {
            flow: request.wechat_flow.unwrap_or_default(),
            client_ip: request.client_ip,
            openid: record.request.wechat_openid.clone(),
        });
        let create = CreatePayment {
            invoice: &payment.id,
            amount: payment.provider_amount(),
            payer_reference: &record.request.customer_id,
            callback_url: request.callback_url,
            notify_url: request.notify_url,
            description: &record.request.description,
            expires_at_s: record.expires_at_s,
            wechat,
        };
        match connector.create(&create).await {
            Ok(created) => {
                let mut record = self.current()?;
                record.leg_created(&payment.id, created.reference, created.next_action, now_s())?;
                self.save(&record)?;
                self.schedule(&record).await?;
                self.track(&record).await?;
                self.widget_view(record).await
            }
            Err(error) => {
                log_provider_error(&payment.id, "create", &error);
                // A create that failed or went unanswered took nothing; the attempt fails.
                let detail = Error::from(error).detail();
                self.finish_leg(&payment, Err(detail.clone()), None).await?;
                Err(detail.into())
            }
        }
    }

    /// The shopper is back from `provider`. Returns where to send the browser.
    ///
    /// Only a leg of `provider` with that reference is touched. `Success` starts the completion
    /// (bKash refuses to execute what the shopper did not approve); `cancel`, `failure` and a bare
    /// return only make the session ask the provider, whose answer alone can end the leg.
    pub(super) async fn provider_callback(
        &self,
        provider: PaymentMethod,
        reference: &str,
        outcome: CallbackOutcome,
    ) -> Result<String> {
        let record = self.current()?;
        let payment = record
            .payment_by_reference(provider, reference)
            .cloned()
            .ok_or_else(|| Error::api(ErrorCode::UnknownProviderPayment))?;
        let back = record.return_url_with_session();
        let stage = payment.provider.as_ref().map(|l| l.stage);
        // A repeated callback, or one racing a completion under way, changes nothing.
        if payment.status != PaymentStatus::Processing || stage == Some(LegStage::Completing) {
            return Ok(back);
        }
        if !self.take_provider_call()? {
            // Answered from the stored state; the alarm and the cron settle the leg.
            crate::log::event(
                crate::log::Level::Warn,
                serde_json::json!({"level": "warn", "payment_id": payment.id, "callback": "throttled"}),
            );
            return Ok(back);
        }
        match outcome {
            CallbackOutcome::Success => self.begin_completion(&payment).await?,
            CallbackOutcome::Failure | CallbackOutcome::Cancel | CallbackOutcome::Returned => {
                let connector = self.connector(&payment)?;
                let answer = connector.query(leg_reference(&payment)?).await;
                self.settle(&payment, answer, Settle::Observe).await?;
            }
        }
        Ok(back)
    }

    /// Writes the leg down as completing, then completes it.
    async fn begin_completion(&self, payment: &PaymentRecord) -> Result<()> {
        let mut record = self.current()?;
        record.set_leg_stage(&payment.id, LegStage::Completing, now_s())?;
        self.save(&record)?;
        self.schedule(&record).await?;
        self.complete_leg(payment).await
    }

    /// Executes an approved payment; an answer that is lost or doubtful is settled by a query,
    /// so the payment is never executed twice.
    async fn complete_leg(&self, payment: &PaymentRecord) -> Result<()> {
        let connector = self.connector(payment)?;
        let reference = leg_reference(payment)?;
        let (answer, how) = match connector.complete(reference).await {
            Err(error @ ConnectorError::InvalidState(_)) => {
                // bKash refused to execute: nothing was executed, the shopper may still approve.
                log_provider_error(&payment.id, "execute", &error);
                (connector.query(reference).await, Settle::ExecuteRefused)
            }
            Err(error @ (ConnectorError::AlreadyDone(_) | ConnectorError::Unknown(_))) => {
                // The execute may have landed, or may still land: only a final status ends it.
                log_provider_error(&payment.id, "execute", &error);
                (connector.query(reference).await, Settle::Observe)
            }
            other => (other, Settle::Observe),
        };
        self.settle(payment, answer, how).await
    }

    /// Applies the provider's word to a processing leg. An approved but uncompleted payment is
    /// completed only by reconciliation, never right after a completion attempt; a leg whose
    /// completion was sent stays completing until the provider's status is final.
    pub(super) async fn settle(
        &self,
        payment: &PaymentRecord,
        answer: std::result::Result<ProviderPayment, ConnectorError>,
        how: Settle,
    ) -> Result<()> {
        let provider_payment = match answer {
            Ok(provider_payment) => provider_payment,
            Err(ConnectorError::Refused { code, message, .. }) => {
                let mut detail = ErrorDetail::new(code);
                detail.message = message;
                self.finish_leg(payment, Err(detail), None).await?;
                return Ok(());
            }
            Err(error) => {
                // Unknown for now: the alarm and the cron ask again.
                log_provider_error(&payment.id, "settle", &error);
                return Ok(());
            }
        };
        let outcome = match provider_payment.state {
            ProviderState::Succeeded => verify_completed(payment, &provider_payment),
            ProviderState::Failed => Err(ErrorDetail::new(ErrorCode::PaymentDeclined)),
            ProviderState::Canceled => Err(ErrorDetail::new(ErrorCode::PaymentCanceled)),
            ProviderState::Approved if how == Settle::Reconcile => {
                return Box::pin(self.begin_completion(payment)).await
            }
            ProviderState::Pending | ProviderState::Approved => {
                return self
                    .still_pending(payment, how == Settle::ExecuteRefused)
                    .await
            }
        };
        let record = self
            .finish_leg(payment, outcome, provider_payment.transaction_id)
            .await?;
        self.track(&record).await
    }

    /// The provider has not completed the payment: the shopper has not approved (a forged
    /// success callback lands here), or the session ran out of time.
    ///
    /// A leg whose completion (bKash execute) was sent and not refused stays `completing`: the
    /// execute may still land, so neither expiry nor a cancel may end it. The alarm and the cron
    /// ask again (and re-execute an approved payment, which bKash executes at most once) until the
    /// provider's status is final. `execute_refused` says the provider just refused our execute,
    /// so nothing is under way and the leg goes back to waiting for the shopper.
    async fn still_pending(&self, payment: &PaymentRecord, execute_refused: bool) -> Result<()> {
        let mut record = self.current()?;
        let completing = record
            .processing_payment()
            .filter(|p| p.id == payment.id)
            .and_then(|p| p.provider.as_ref())
            .is_some_and(|l| l.stage == LegStage::Completing);
        if completing && !execute_refused {
            // Asked again in RECOVERY_AFTER_S, not in a loop.
            record.set_leg_stage(&payment.id, LegStage::Completing, now_s())?;
            self.save(&record)?;
            return self.schedule(&record).await;
        }
        if now_s() >= record.expires_at_s {
            return self
                .end_unpaid_leg(payment, ErrorCode::SessionExpired)
                .await;
        }
        if record
            .processing_payment()
            .is_some_and(|p| p.id == payment.id)
        {
            record.set_leg_stage(&payment.id, LegStage::AwaitingShopper, now_s())?;
            self.save(&record)?;
            self.schedule(&record).await?;
        }
        Ok(())
    }

    /// Ends an external leg the shopper did not pay: closed at the provider first, so it cannot
    /// be paid afterwards. A payment that went through meanwhile wins; an unknown answer leaves
    /// the leg for the alarm to try again.
    pub(super) async fn end_unpaid_leg(
        &self,
        payment: &PaymentRecord,
        code: ErrorCode,
    ) -> Result<()> {
        let connector = self.connector(payment)?;
        let reference = leg_reference(payment)?;
        match connector.cancel(reference).await {
            Ok(()) => {
                let record = self
                    .finish_leg(payment, Err(ErrorDetail::new(code)), None)
                    .await?;
                self.track(&record).await
            }
            Err(ConnectorError::AlreadyDone(_)) => match connector.query(reference).await {
                Ok(paid) if paid.state == ProviderState::Succeeded => {
                    Box::pin(self.settle(payment, Ok(paid), Settle::Observe)).await
                }
                other => {
                    log_provider_error(
                        &payment.id,
                        "close",
                        &ConnectorError::Unknown(format!("{other:?}")),
                    );
                    Ok(())
                }
            },
            Err(error) => {
                log_provider_error(&payment.id, "close", &error);
                Ok(())
            }
        }
    }

    /// Settles this session's unfinished external leg, if any, by asking its provider.
    pub(super) async fn reconcile(&self) -> Result<()> {
        let record = self.current()?;
        let Some(payment) = record
            .processing_payment()
            .filter(|p| p.provider.is_some())
            .cloned()
        else {
            return self.track(&record).await;
        };
        let leg = payment
            .provider
            .as_ref()
            .map(|l| (l.stage, l.stage_since_s));
        match leg {
            Some((LegStage::Creating, since)) if now_s() - since >= RECOVERY_AFTER_S => {
                let detail = ErrorDetail::new(ErrorCode::ProviderUnavailable);
                let record = self.finish_leg(&payment, Err(detail), None).await?;
                self.track(&record).await
            }
            Some((LegStage::Creating, _)) | None => Ok(()),
            Some((stage, _)) => {
                let connector = self.connector(&payment)?;
                let answer = connector.query(leg_reference(&payment)?).await;
                self.record_disagreement(&payment, stage, &answer)?;
                self.settle(&payment, answer, Settle::Reconcile).await
            }
        }
    }

    /// Writes down when the provider has moved on while this session still waits: the shopper
    /// approved or the payment ended without the callback or notification that should have told
    /// us. The settlement that follows applies the provider's word.
    fn record_disagreement(
        &self,
        payment: &PaymentRecord,
        local_stage: LegStage,
        answer: &std::result::Result<ProviderPayment, ConnectorError>,
    ) -> Result<()> {
        let Ok(provider) = answer else {
            return Ok(());
        };
        if provider.state == ProviderState::Pending {
            return Ok(());
        }
        let finding = serde_json::json!({
            "what": "reconciliation_disagreement", "payment_id": payment.id,
            "local_stage": local_stage, "provider_status": provider.provider_status,
        });
        crate::log::event(crate::log::Level::Warn, finding.clone());
        self.audit_finding(finding)
    }

    /// What the provider says now about `payment_id`, for the merchant.
    pub(super) async fn provider_status(
        &self,
        payment_id: &str,
    ) -> Result<checkout_core::api::ProviderPaymentStatus> {
        let record = self.current()?;
        let payment = record
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
        let reference = leg_reference(payment).map_err(|_| {
            Error::api_with(
                ErrorCode::NotFound,
                "This payment has no provider reference.",
            )
        })?;
        let connector = self.connector(payment)?;
        let answer = connector.query(reference).await?;
        let transaction = match answer.transaction_id.as_deref() {
            Some(id) => Some(connector.search_transaction(id).await?),
            None => None,
        };
        Ok(checkout_core::api::ProviderPaymentStatus {
            transaction,
            payment_id: payment.id.clone(),
            method: payment.method,
            provider_reference: reference.to_owned(),
            provider_status: answer.provider_status,
            provider_transaction_id: answer.transaction_id,
            amount: answer.amount.map(|a| a.to_decimal_string()),
        })
    }

    /// Holds the wallet's part of a split before the provider is asked for the rest. A refusal
    /// (password, funds) fails the attempt with nothing held.
    /// Reuses the holds a failed attempt kept when this attempt splits the same way; otherwise
    /// releases them first. Returns whether the holds were taken over.
    async fn take_over_retained(
        &self,
        record: &mut SessionRecord,
        payment: &mut PaymentRecord,
    ) -> Result<bool> {
        let Some(retained) = record.retained_holds.clone() else {
            return Ok(false);
        };
        let same_split = payment.has_holds()
            && retained.points == payment.points
            && Some(retained.wallet_amount) == payment.wallet_amount;
        if !same_split {
            self.release_retained(record).await?;
            return Ok(false);
        }
        payment.holds_group = Some(retained.group.clone());
        record.take_over_holds(&payment.id, retained.group)?;
        self.save(record)?;
        Ok(true)
    }

    async fn place_holds(
        &self,
        record: &SessionRecord,
        payment: &PaymentRecord,
        pay_password: Option<String>,
    ) -> Result<()> {
        let command = WalletCommand::PlaceHolds {
            group: payment.holds_group(),
            amount: payment
                .wallet_amount
                .unwrap_or(Money::zero(payment.amount.currency())),
            points: payment.points,
            expires_at_ms: (record.expires_at_s + HOLD_GRACE_S) * 1000,
            pay_password,
        };
        match rpc::call::<_, ()>(&self.wallet(record)?, &command).await {
            Ok(()) => Ok(()),
            Err(Error::Api(detail)) => {
                self.finish(&payment.id, Err((*detail).clone()), None)
                    .await?;
                Err(Error::Api(detail))
            }
            Err(unknown) => Err(unknown),
        }
    }

    /// Finishes an external leg: its wallet holds are posted on success and voided otherwise,
    /// before the session records the outcome. A wallet that does not answer leaves the attempt
    /// processing, to be finished again by the alarm (posting and voiding are idempotent).
    async fn finish_leg(
        &self,
        payment: &PaymentRecord,
        outcome: std::result::Result<(), ErrorDetail>,
        transaction_id: Option<String>,
    ) -> Result<SessionRecord> {
        let mut outcome = outcome;
        if payment.has_holds() {
            if let Err(detail) = &outcome {
                if self.keep_for_retry(payment, detail.code)? {
                    let mut record = self.finish(&payment.id, outcome, transaction_id).await?;
                    record.retained_holds = Some(RetainedHolds {
                        group: payment.holds_group(),
                        points: payment.points,
                        wallet_amount: payment
                            .wallet_amount
                            .unwrap_or(Money::zero(payment.amount.currency())),
                    });
                    self.save(&record)?;
                    return Ok(record);
                }
            }
            let group = payment.holds_group();
            let command = match outcome {
                Ok(()) => WalletCommand::PostHolds { group },
                Err(_) => WalletCommand::VoidHolds { group },
            };
            let record = self.current()?;
            match rpc::call::<_, ()>(&self.wallet(&record)?, &command).await {
                Ok(()) => {}
                Err(Error::Api(detail)) if outcome.is_ok() => {
                    // The provider took its part but the held part is gone: an operator refunds it.
                    crate::log::event(
                        crate::log::Level::Error,
                        serde_json::json!({"level": "error", "alert": "holds_lost_after_provider_success", "payment_id": payment.id}),
                    );
                    outcome = Err(*detail);
                }
                Err(Error::Api(_)) => {}
                Err(unknown) => return Err(unknown),
            }
        }
        self.finish(&payment.id, outcome, transaction_id).await
    }

    /// A failed external leg keeps its wallet holds while the session is open, so the shopper can
    /// retry the external part; an expired session releases them.
    fn keep_for_retry(&self, payment: &PaymentRecord, code: ErrorCode) -> Result<bool> {
        let record = self.current()?;
        let retryable = !matches!(code, ErrorCode::SessionExpired);
        Ok(retryable && payment.provider.is_some() && now_s() < record.expires_at_s)
    }

    /// Voids holds kept for a retry (the shopper paid another way, or the session ended).
    pub(super) async fn release_retained(&self, record: &mut SessionRecord) -> Result<()> {
        let Some(retained) = record.retained_holds.take() else {
            return Ok(());
        };
        let command = WalletCommand::VoidHolds {
            group: retained.group,
        };
        rpc::call::<_, ()>(&self.wallet(record)?, &command).await?;
        self.save(record)
    }

    /// The payment's provider, with every call timed for the merchant's metrics.
    pub(super) fn connector(&self, payment: &PaymentRecord) -> Result<MeasuredConnector<'_>> {
        // The session's mode picks the provider account: test sessions never move real money.
        let mode = crate::config::Mode::of(self.current()?.livemode);
        let inner = Connector::for_method(payment.method, &self.env, mode)?
            .ok_or_else(|| Error::api(ErrorCode::PaymentMethodUnavailable))?;
        Ok(MeasuredConnector::new(inner, payment.method, self))
    }
}

/// How a provider's answer about a processing leg is applied ([`CheckoutSession::settle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    /// A query, a notification, or the answer to our execute: final statuses end the leg, an
    /// approved or pending one leaves it where it is (a completing leg stays completing).
    Observe,
    /// The provider refused our execute as not executable (bKash 2056): nothing is under way,
    /// so a pending or approved answer sends the leg back to waiting for the shopper.
    ExecuteRefused,
    /// Reconciliation: an approved but uncompleted payment is completed now.
    Reconcile,
}

pub(super) fn leg_reference(payment: &PaymentRecord) -> Result<&str> {
    payment
        .provider
        .as_ref()
        .and_then(|l| l.reference.as_deref())
        .ok_or_else(|| {
            Error::Invariant(format!("payment {} has no provider reference", payment.id))
        })
}

/// A completion counts only for the amount and invoice we asked for.
fn verify_completed(
    payment: &PaymentRecord,
    answer: &ProviderPayment,
) -> std::result::Result<(), ErrorDetail> {
    let amount_ok = answer.amount == Some(payment.provider_amount());
    let invoice_ok = answer.invoice.as_deref() == Some(payment.id.as_str());
    if amount_ok && invoice_ok {
        return Ok(());
    }
    crate::log::event(
        crate::log::Level::Error,
        serde_json::json!({"level": "error", "alert": "provider_mismatch", "payment_id": payment.id,
            "expected_amount": payment.amount.to_decimal_string(),
            "provider_amount": answer.amount.map(|a| a.to_decimal_string()),
            "provider_invoice": answer.invoice}),
    );
    let mut detail = ErrorDetail::new(ErrorCode::ProviderError);
    detail.message =
        "The provider reported a different amount or order. The payment is held for review.".into();
    Err(detail)
}

fn log_provider_error(payment_id: &str, step: &str, error: &ConnectorError) {
    crate::log::event(
        crate::log::Level::Warn,
        serde_json::json!({"level": "warn", "payment_id": payment_id, "step": step, "provider_error": error.to_string()}),
    );
}
