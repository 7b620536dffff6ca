//! Running the saga's intents: each one a wallet RPC or a provider call (timed, through
//! [`MeasuredConnector`]), its answer fed back with another step. The record is reloaded before
//! each call and after each answer; nothing read before an `await` is written after it.

use std::collections::VecDeque;

use checkout_core::api::ProviderPaymentStatus;
use checkout_core::ErrorCode;

use super::measured::MeasuredConnector;
use super::{CheckoutSession, MAX_STEPS_PER_REQUEST};
use crate::config::Mode;
use crate::connectors::{Connector, CreatePayment, PaymentConnector, RefundRequest};
use crate::error::{Error, Result};
use crate::objects::rpc;
use crate::objects::session_record::SessionRecord;
use crate::objects::wallet::WalletCommand;
use crate::saga::{
    self, Answer, Call, Input, Intent, ProviderCall, ProviderState, TransferOutcome, WalletCall,
    Why,
};

impl CheckoutSession {
    /// Runs `intents` in order, and whatever their answers lead to, until none is left or the
    /// request's budget of steps is spent (the alarm carries on from the list).
    pub(super) async fn run(
        &self,
        intents: Vec<Intent>,
        pay_password: Option<String>,
    ) -> Result<()> {
        let mut queue: VecDeque<Intent> = intents.into();
        let mut steps = 0;
        while let Some(intent) = queue.pop_front() {
            steps += 1;
            if steps > MAX_STEPS_PER_REQUEST {
                break;
            }
            let record = self.current()?;
            if !record.intents.iter().any(|i| i.id == intent.id) {
                // Answered or recovered by someone else meanwhile.
                continue;
            }
            let password = intent
                .needs_password()
                .then(|| pay_password.clone())
                .flatten();
            let answer = self.perform(&record, &intent, password).await;
            let intents = {
                let mut record = self.current()?;
                let input = Input::Answer {
                    intent_id: intent.id.clone(),
                    answer,
                };
                let ctx = self.ctx(&record, &input)?;
                let stepped = saga::step(&mut record, input, &ctx)?;
                self.commit(&record, &stepped)?;
                stepped.intents
            };
            self.after_commit().await?;
            queue.extend(intents);
        }
        Ok(())
    }

    /// Makes one call and returns its answer; an error that says nothing is `Lost`.
    async fn perform(
        &self,
        record: &SessionRecord,
        intent: &Intent,
        pay_password: Option<String>,
    ) -> Answer {
        match &intent.call {
            Call::Wallet { call } => self.perform_wallet(record, call, pay_password).await,
            Call::Provider { method, call } => {
                let connector = match self.connector(record, *method) {
                    Ok(connector) => connector,
                    Err(e) => {
                        log_step(&intent.subject, "connector", &e.to_string());
                        return Answer::Lost;
                    }
                };
                let answer = self.perform_provider(&connector, call).await;
                if let Answer::ProviderError(error) = &answer {
                    log_step(&intent.subject, kind_of(call), &error.to_string());
                }
                if intent.why == Why::Reconcile {
                    self.record_disagreement(record, &intent.subject, &answer);
                }
                answer
            }
        }
    }

    async fn perform_wallet(
        &self,
        record: &SessionRecord,
        call: &WalletCall,
        pay_password: Option<String>,
    ) -> Answer {
        let command = match call.clone() {
            WalletCall::Debit {
                transfer_id,
                amount,
                points,
            } => WalletCommand::Debit {
                transfer_id,
                amount,
                points,
                pay_password,
            },
            WalletCall::ResolveTransfer { transfer_id } => WalletCommand::Resolve { transfer_id },
            WalletCall::PlaceHolds {
                group,
                amount,
                points,
                expires_at_ms,
            } => WalletCommand::PlaceHolds {
                group,
                amount,
                points,
                expires_at_ms,
                pay_password,
            },
            WalletCall::PostHolds { group } => WalletCommand::PostHolds { group },
            WalletCall::VoidHolds { group } => WalletCommand::VoidHolds { group },
            WalletCall::Credit { reference, amount } => WalletCommand::Credit { reference, amount },
            WalletCall::AdjustPoints {
                reference,
                points,
                kind,
            } => WalletCommand::AdjustPoints {
                reference,
                points,
                kind,
            },
        };
        let stub = match self.wallet(record) {
            Ok(stub) => stub,
            Err(_) => return Answer::Lost,
        };
        if matches!(call, WalletCall::ResolveTransfer { .. }) {
            return match rpc::call::<_, TransferOutcome>(&stub, &command).await {
                Ok(outcome) => Answer::Transfer(outcome),
                Err(Error::Api(detail)) => Answer::WalletRefused(*detail),
                Err(_) => Answer::Lost,
            };
        }
        let debit = matches!(call, WalletCall::Debit { .. });
        match rpc::call::<_, serde_json::Value>(&stub, &command).await {
            Ok(answer) => {
                if debit {
                    // A debit answers the balance after it (`Wallet::handle`).
                    self.debit_summary
                        .replace(serde_json::from_value(answer).ok());
                }
                Answer::WalletOk
            }
            Err(Error::Api(detail)) => Answer::WalletRefused(*detail),
            Err(error) => {
                log_step(&record.id, "wallet", &error.to_string());
                Answer::Lost
            }
        }
    }

    async fn perform_provider(
        &self,
        connector: &MeasuredConnector<'_>,
        call: &ProviderCall,
    ) -> Answer {
        let error = Answer::ProviderError;
        match call {
            ProviderCall::Create(create) => {
                let request = CreatePayment {
                    invoice: &create.invoice,
                    session_id: &create.session_id,
                    amount: create.amount,
                    payer_reference: &create.payer_reference,
                    callback_url: create.callback_url.clone(),
                    notify_url: create.notify_url.clone(),
                    description: &create.description,
                    expires_at_s: create.expires_at_s,
                    wechat: create.wechat.clone(),
                    manual_capture: create.manual_capture,
                };
                connector
                    .create(&request)
                    .await
                    .map_or_else(error, Answer::Created)
            }
            ProviderCall::Complete { reference } => connector
                .complete(reference)
                .await
                .map_or_else(error, Answer::Payment),
            ProviderCall::Query { reference } => connector
                .query(reference)
                .await
                .map_or_else(error, Answer::Payment),
            ProviderCall::Close { reference } => connector
                .cancel(reference)
                .await
                .map_or_else(error, |decline| Answer::Closed { decline }),
            ProviderCall::Capture {
                payment_id,
                transaction_id,
                amount,
            } => connector
                .capture(payment_id, transaction_id, *amount)
                .await
                .map_or_else(error, Answer::Payment),
            ProviderCall::Void {
                payment_id,
                transaction_id,
            } => connector
                .void(payment_id, transaction_id)
                .await
                .map_or_else(error, Answer::Payment),
            ProviderCall::Refund(refund) => connector
                .refund(&refund_request(refund))
                .await
                .map_or_else(error, Answer::Refund),
            ProviderCall::FindRefund(refund) => connector
                .find_refund(&refund_request(refund))
                .await
                .map_or_else(error, Answer::FoundRefund),
        }
    }

    /// Writes down when the provider has moved on while this session still waits: the shopper
    /// approved or the payment ended without the callback or notification that should have told
    /// us. The settlement that follows applies the provider's word.
    fn record_disagreement(&self, record: &SessionRecord, payment_id: &str, answer: &Answer) {
        let Answer::Payment(provider) = answer else {
            return;
        };
        if provider.state == ProviderState::Pending {
            return;
        }
        let local_stage = record
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .and_then(|p| p.provider.as_ref())
            .map(|l| l.stage);
        let finding = serde_json::json!({
            "what": "reconciliation_disagreement", "payment_id": payment_id,
            "local_stage": local_stage, "provider_status": provider.provider_status,
        });
        crate::log::event(crate::log::Level::Warn, finding.clone());
        if let Err(e) = self.audit_finding(finding) {
            log_step(payment_id, "audit", &e.to_string());
        }
    }

    /// The provider of `method` with the session's mode's account, every call timed.
    pub(super) fn connector(
        &self,
        record: &SessionRecord,
        method: checkout_core::api::PaymentMethod,
    ) -> Result<MeasuredConnector<'_>> {
        // The session's mode picks the provider account: test sessions never move real money.
        let mode = Mode::of(record.livemode);
        let inner = Connector::for_method(method, &self.env, mode)?
            .ok_or_else(|| Error::api(ErrorCode::PaymentMethodUnavailable))?;
        Ok(MeasuredConnector::new(inner, method, self))
    }

    /// What the provider says now about `payment_id`, for the merchant. A read: the record is
    /// not changed.
    pub(super) async fn provider_status(
        &self,
        record: &SessionRecord,
        payment_id: &str,
    ) -> Result<ProviderPaymentStatus> {
        let payment = record
            .payments
            .iter()
            .find(|p| p.id == payment_id)
            .ok_or_else(|| Error::api(ErrorCode::NotFound))?;
        let reference = payment
            .provider
            .as_ref()
            .and_then(|l| l.reference.clone())
            .ok_or_else(|| {
                Error::api_with(
                    ErrorCode::NotFound,
                    "This payment has no provider reference.",
                )
            })?;
        let connector = self.connector(record, payment.method)?;
        let answer = connector.query(&reference).await?;
        let transaction = match answer.transaction_id.as_deref() {
            Some(id) => Some(connector.search_transaction(id).await?),
            None => None,
        };
        Ok(ProviderPaymentStatus {
            transaction,
            payment_id: payment.id.clone(),
            method: payment.method,
            provider_reference: reference,
            provider_status: answer.provider_status,
            provider_transaction_id: answer.transaction_id,
            amount: answer.amount.map(|a| a.to_decimal_string()),
        })
    }
}

fn refund_request(call: &saga::RefundCall) -> RefundRequest<'_> {
    RefundRequest {
        reference: &call.reference,
        transaction_id: &call.transaction_id,
        refund_id: &call.refund_id,
        amount: call.amount,
        reason: &call.reason,
        payment_amount: call.payment_amount,
        notify_url: call.notify_url.clone(),
        others: call.others.clone(),
    }
}

fn kind_of(call: &ProviderCall) -> &'static str {
    match call {
        ProviderCall::Create(_) => "create",
        ProviderCall::Complete { .. } => "execute",
        ProviderCall::Query { .. } => "query",
        ProviderCall::Close { .. } => "close",
        ProviderCall::Capture { .. } => "capture",
        ProviderCall::Void { .. } => "void",
        ProviderCall::Refund(_) => "refund",
        ProviderCall::FindRefund(_) => "find_refund",
    }
}

fn log_step(subject: &str, step: &str, error: &str) {
    crate::log::event(
        crate::log::Level::Warn,
        serde_json::json!({"level": "warn", "subject": subject, "step": step, "provider_error": error}),
    );
}
