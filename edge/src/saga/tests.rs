//! The machine's transitions, natively: each test drives `step` as the shell would and checks the
//! invariants after every step.

use checkout_core::api::{
    CreateRefundRequest, NextAction, PaymentMethod, PaymentStatus, RefundStatus, ResolveAction,
    SessionStatus,
};
use checkout_core::error::ErrorDetail;
use checkout_core::{Currency, ErrorCode, Money};

use super::record::tests::record;
use super::*;

fn bdt(minor: i64) -> Money {
    Money::from_minor(minor, Currency::BDT).unwrap()
}

fn ctx(now_s: i64) -> Ctx {
    Ctx {
        now_s,
        available: vec![
            PaymentMethod::Balance,
            PaymentMethod::Bkash,
            PaymentMethod::Card,
        ],
        limits: vec![
            MethodLimits {
                method: PaymentMethod::Bkash,
                min: bdt(100),
                max: bdt(10_000_000),
            },
            MethodLimits {
                method: PaymentMethod::Card,
                min: bdt(100),
                max: bdt(99_999_999),
            },
        ],
        stranger_call_allowed: true,
        authorization_void_after_s: crate::saga::AUTHORIZATION_VOID_AFTER_S,
    }
}

struct Sim {
    r: SessionRecord,
    now: i64,
}

impl Sim {
    fn new(methods: &[PaymentMethod]) -> Sim {
        let mut r = record();
        r.request.methods = methods.to_vec();
        Sim { r, now: 10 }
    }

    fn step(&mut self, input: Input) -> Result<Vec<Intent>, crate::error::Error> {
        let out = step(&mut self.r, input, &ctx(self.now))?;
        check_invariants(&self.r).unwrap();
        Ok(out.intents)
    }

    fn answer(&mut self, intent: &Intent, answer: Answer) -> Vec<Intent> {
        self.step(Input::Answer {
            intent_id: intent.id.clone(),
            answer,
        })
        .unwrap()
    }

    fn pay(&mut self, key: &str, method: PaymentMethod, id: &str) -> Vec<Intent> {
        self.step(Input::Pay(PayInput {
            idempotency_key: key.into(),
            method,
            payment_id: id.into(),
            allocation: None,
            callback_url: "https://edge/cb".into(),
            notify_url: "https://edge/n".into(),
            wechat_flow: None,
            client_ip: None,
        }))
        .unwrap()
    }

    fn payment(&self, id: &str) -> &record::PaymentRecord {
        self.r.payments.iter().find(|p| p.id == id).unwrap()
    }

    /// A bKash payment created and awaiting the shopper.
    fn bkash_created(&mut self) {
        let intents = self.pay("k1", PaymentMethod::Bkash, "pay_1");
        assert!(matches!(
            intents[0].call,
            Call::Provider {
                call: ProviderCall::Create(_),
                ..
            }
        ));
        let created = Answer::Created(Created {
            reference: "TR1".into(),
            next_action: NextAction::Redirect {
                url: "https://bkash/pay".into(),
            },
        });
        assert!(self.answer(&intents[0], created).is_empty());
    }

    fn callback_success(&mut self) -> Vec<Intent> {
        self.step(Input::Callback {
            provider: PaymentMethod::Bkash,
            reference: "TR1".into(),
            outcome: CallbackOutcome::Success,
        })
        .unwrap()
    }
}

fn provider_payment(state: ProviderState, minor: i64, invoice: &str) -> ProviderPayment {
    ProviderPayment {
        state,
        provider_status: format!("{state:?}"),
        transaction_id: Some("TRX1".into()),
        amount: Some(bdt(minor)),
        invoice: Some(invoice.into()),
        decline: None,
    }
}

fn is_provider(intent: &Intent, f: fn(&ProviderCall) -> bool) -> bool {
    matches!(&intent.call, Call::Provider { call, .. } if f(call))
}

#[test]
fn a_balance_payment_debits_once_and_pays() {
    let mut s = Sim::new(&[PaymentMethod::Balance]);
    let intents = s.pay("k1", PaymentMethod::Balance, "pay_1");
    assert_eq!(intents.len(), 1);
    assert!(intents[0].needs_password());
    assert_eq!(s.r.intents.len(), 1, "written down before it runs");
    assert!(s.answer(&intents[0], Answer::WalletOk).is_empty());
    assert_eq!(s.r.status, SessionStatus::Paid);
    assert!(s.r.intents.is_empty());
    // A duplicate answer changes nothing.
    assert!(s.answer(&intents[0], Answer::WalletOk).is_empty());
    // The same key replays; another method with it is refused.
    assert!(s.pay("k1", PaymentMethod::Balance, "pay_2").is_empty());
    assert_eq!(s.r.payments.len(), 1);
}

#[test]
fn a_refused_debit_fails_the_attempt_and_reopens() {
    let mut s = Sim::new(&[PaymentMethod::Balance]);
    let intents = s.pay("k1", PaymentMethod::Balance, "pay_1");
    let refused = ErrorDetail::new(ErrorCode::InsufficientBalance);
    s.answer(&intents[0], Answer::WalletRefused(refused));
    assert_eq!(s.r.status, SessionStatus::Open);
    assert_eq!(s.payment("pay_1").status, PaymentStatus::Failed);
    assert_eq!(
        replies::pay_outcome(&s.r, "k1").unwrap_err().detail().code,
        ErrorCode::InsufficientBalance
    );
}

#[test]
fn a_lost_debit_is_resolved_by_the_alarm_never_repeated() {
    let mut s = Sim::new(&[PaymentMethod::Balance]);
    let intents = s.pay("k1", PaymentMethod::Balance, "pay_1");
    assert!(s.answer(&intents[0], Answer::Lost).is_empty());
    assert_eq!(s.r.intents.len(), 1, "kept for the alarm");
    let alarm_at = next_alarm_at_s(&s.r, s.now).unwrap();
    assert_eq!(alarm_at, s.now + RECOVERY_AFTER_S);
    s.now = alarm_at;
    let recovered = s.step(Input::Alarm).unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(matches!(
        recovered[0].call,
        Call::Wallet {
            call: WalletCall::ResolveTransfer { .. }
        }
    ));
    assert!(!recovered[0].needs_password());
    // The original debit's late answer is stale now.
    s.answer(&intents[0], Answer::WalletOk);
    assert_eq!(s.r.status, SessionStatus::Processing);
    s.answer(&recovered[0], Answer::Transfer(TransferOutcome::Aborted));
    assert_eq!(s.r.status, SessionStatus::Open);
}

#[test]
fn bkash_completes_once_and_a_lost_execute_becomes_a_query() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    assert!(s.r.widget_view(None).next_action.is_some());
    let complete = s.callback_success();
    assert!(complete[0].moves_provider_money());
    // A repeated callback while completing sends nothing.
    assert!(s.callback_success().is_empty());
    let query = s.answer(&complete[0], Answer::Lost);
    assert!(is_provider(&query[0], |c| matches!(
        c,
        ProviderCall::Query { .. }
    )));
    s.answer(
        &query[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 3050, "pay_1")),
    );
    assert_eq!(s.r.status, SessionStatus::Paid);
    assert_eq!(
        s.payment("pay_1").provider.as_ref().unwrap().transaction_id,
        Some("TRX1".into())
    );
}

#[test]
fn a_completing_leg_stays_completing_until_final_and_the_alarm_queries() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Pending, 3050, "pay_1")),
    );
    s.now = 2_000; // past expiry
    let alarm = s.step(Input::Alarm).unwrap();
    assert_eq!(
        s.r.status,
        SessionStatus::Processing,
        "not expired while completing"
    );
    assert!(is_provider(&alarm[0], |c| matches!(
        c,
        ProviderCall::Query { .. }
    )));
    s.answer(
        &alarm[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 3050, "pay_1")),
    );
    assert_eq!(s.r.status, SessionStatus::Paid);
}

#[test]
fn an_expired_awaiting_leg_is_closed_before_it_fails() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    s.now = 1_000;
    let query = s.step(Input::Alarm).unwrap();
    s.answer(
        &query[0],
        Answer::Payment(provider_payment(ProviderState::Pending, 3050, "pay_1")),
    );
    let close = s.r.intents.clone();
    assert!(is_provider(&close[0], |c| matches!(
        c,
        ProviderCall::Close { .. }
    )));
    assert_eq!(s.r.status, SessionStatus::Processing);
    s.answer(&close[0], Answer::Closed { decline: None });
    assert_eq!(s.payment("pay_1").status, PaymentStatus::Failed);
    assert_eq!(
        s.payment("pay_1").failure.as_ref().unwrap().code,
        ErrorCode::SessionExpired
    );
}

#[test]
fn a_mismatch_is_held_for_review_and_resolved_by_refund() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    let out = step(
        &mut s.r,
        Input::Answer {
            intent_id: complete[0].id.clone(),
            answer: Answer::Payment(provider_payment(ProviderState::Succeeded, 1999, "pay_1")),
        },
        &ctx(s.now),
    )
    .unwrap();
    assert_eq!(out.alerts[0].alert, "provider_mismatch");
    assert_eq!(s.r.status, SessionStatus::RequiresReview);
    assert_eq!(s.r.amount_paid(), bdt(0));
    assert_eq!(s.payment("pay_1").status, PaymentStatus::RequiresReview);
    // No other payment while it holds, and it does not expire.
    let error = s
        .step(Input::Pay(PayInput {
            idempotency_key: "k2".into(),
            method: PaymentMethod::Bkash,
            payment_id: "pay_2".into(),
            allocation: None,
            callback_url: String::new(),
            notify_url: String::new(),
            wechat_flow: None,
            client_ip: None,
        }))
        .unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::PaymentRequiresReview);
    s.now = 5_000;
    s.step(Input::Alarm).unwrap();
    assert_eq!(s.r.status, SessionStatus::RequiresReview);

    let resolve = |action| Input::ResolvePayment {
        payment_id: "pay_1".into(),
        action,
    };
    let refund = s.step(resolve(ResolveAction::RefundAtProvider)).unwrap();
    assert!(refund[0].moves_provider_money());
    match &refund[0].call {
        Call::Provider {
            call: ProviderCall::Refund(call),
            ..
        } => assert_eq!(call.amount, bdt(1999)),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.r.status, SessionStatus::Expired, "past its time");
    // Idempotent; the other action is refused.
    assert!(s
        .step(resolve(ResolveAction::RefundAtProvider))
        .unwrap()
        .is_empty());
    let error = s.step(resolve(ResolveAction::Accept)).unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::ReviewActionNotAllowed);
    s.answer(
        &refund[0],
        Answer::Refund(ProviderRefund {
            refund_transaction_id: "RF1".into(),
            amount: Some(bdt(1999)),
            state: RefundState::Succeeded,
        }),
    );
    assert_eq!(s.r.refunds[0].status, RefundStatus::Succeeded);
    assert_eq!(s.r.amount_refunded(), bdt(0), "not the merchant's refund");
    let view = serde_json::to_value(s.r.refund_view(&s.r.refunds[0])).unwrap();
    assert_eq!(view["automatic"], true, "so reports leave it out");
}

#[test]
fn an_accepted_review_pays_with_what_the_provider_took() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 1999, "pay_1")),
    );
    s.step(Input::ResolvePayment {
        payment_id: "pay_1".into(),
        action: ResolveAction::Accept,
    })
    .unwrap();
    assert_eq!(s.r.status, SessionStatus::Paid);
    assert_eq!(s.r.amount_paid(), bdt(1999));
}

#[test]
fn a_late_success_pays_an_open_session_or_is_refunded() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let cancel = s.step(Input::Cancel).unwrap();
    s.answer(&cancel[0], Answer::Closed { decline: None });
    assert_eq!(s.r.status, SessionStatus::Open);
    let mut s2 = s.r.clone();
    let by_invoice = provider_payment(ProviderState::Succeeded, 3050, "pay_1");
    // A notification names the leg by the provider's reference, which is our invoice at WeChat.
    s.r.payments[0].provider.as_mut().unwrap().reference = Some("pay_1".into());
    s.step(Input::Notification {
        provider: PaymentMethod::Bkash,
        event: NotifiedEvent::Payment {
            payment: by_invoice.clone(),
        },
    })
    .unwrap();
    assert_eq!(s.r.status, SessionStatus::Paid);
    assert_eq!(
        s.payment("pay_1").late_success.as_ref().unwrap().outcome,
        checkout_core::api::LateSuccessOutcome::PaidSession
    );

    // Expired meanwhile: refunded automatically, once.
    s2.payments[0].provider.as_mut().unwrap().reference = Some("pay_1".into());
    let mut s2 = Sim { r: s2, now: 5_000 };
    let event = Input::Notification {
        provider: PaymentMethod::Bkash,
        event: NotifiedEvent::Payment {
            payment: by_invoice,
        },
    };
    let refund = s2.step(event.clone()).unwrap();
    assert!(refund[0].moves_provider_money());
    assert_eq!(s2.r.status, SessionStatus::Expired);
    assert!(
        s2.step(event).unwrap().is_empty(),
        "a duplicate changes nothing"
    );
    assert_eq!(s2.r.refunds.len(), 1);
    assert!(s2.r.refunds[0].automatic);
}

#[test]
fn an_unsettled_refund_backs_off_and_goes_to_review_after_a_day() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 3050, "pay_1")),
    );
    let refund = s
        .step(Input::Refund(RefundInput {
            idempotency_key: "r1".into(),
            refund_id: "re_1".into(),
            request: CreateRefundRequest {
                amount: "10.00".into(),
                reason: "x".into(),
            },
            notify_url: None,
        }))
        .unwrap();
    assert!(refund[0].moves_provider_money());
    s.answer(&refund[0], Answer::Lost);
    let mut gaps = Vec::new();
    let mut finds = 0;
    while s.r.refunds[0].status == RefundStatus::Pending {
        let at = next_alarm_at_s(&s.r, s.now).unwrap();
        gaps.push(at - s.now);
        s.now = at;
        for intent in s.step(Input::Alarm).unwrap() {
            assert!(!intent.moves_provider_money(), "never refunded twice");
            finds += 1;
            s.answer(&intent, Answer::FoundRefund(None));
        }
    }
    assert_eq!(s.r.refunds[0].status, RefundStatus::RequiresReview);
    assert!(gaps.iter().all(|g| *g <= REFUND_RETRY_MAX_S));
    assert!(gaps.contains(&60) && gaps.contains(&REFUND_RETRY_MAX_S));
    assert!(finds > 5 && finds < 40, "{finds}");
    assert_eq!(next_alarm_at_s(&s.r, s.now), None);
}

#[test]
fn a_split_posts_its_holds_after_the_provider() {
    let mut s = Sim::new(&[PaymentMethod::Bkash, PaymentMethod::Balance]);
    let intents = s
        .step(Input::Pay(PayInput {
            idempotency_key: "k1".into(),
            method: PaymentMethod::Bkash,
            payment_id: "pay_1".into(),
            allocation: Some(checkout_core::api::AllocationRequest {
                points: 0,
                balance: "10.00".into(),
            }),
            callback_url: String::new(),
            notify_url: String::new(),
            wechat_flow: None,
            client_ip: None,
        }))
        .unwrap();
    assert!(intents[0].needs_password());
    let create = s.answer(&intents[0], Answer::WalletOk);
    s.answer(
        &create[0],
        Answer::Created(Created {
            reference: "TR1".into(),
            next_action: NextAction::Redirect { url: "u".into() },
        }),
    );
    let complete = s.callback_success();
    let post = s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 2050, "pay_1")),
    );
    assert!(matches!(
        post[0].call,
        Call::Wallet {
            call: WalletCall::PostHolds { .. }
        }
    ));
    assert_eq!(s.r.status, SessionStatus::Processing);
    s.answer(&post[0], Answer::WalletOk);
    assert_eq!(s.r.status, SessionStatus::Paid);
}

#[test]
fn a_hold_placed_without_answer_is_abandoned_after_a_restart() {
    let mut s = Sim::new(&[PaymentMethod::Bkash, PaymentMethod::Balance]);
    s.step(Input::Pay(PayInput {
        idempotency_key: "k1".into(),
        method: PaymentMethod::Bkash,
        payment_id: "pay_1".into(),
        allocation: Some(checkout_core::api::AllocationRequest {
            points: 0,
            balance: "10.00".into(),
        }),
        callback_url: String::new(),
        notify_url: String::new(),
        wechat_flow: None,
        client_ip: None,
    }))
    .unwrap();
    s.now += RECOVERY_AFTER_S;
    let void = s.step(Input::Alarm).unwrap();
    assert!(matches!(
        void[0].call,
        Call::Wallet {
            call: WalletCall::VoidHolds { .. }
        }
    ));
    assert_eq!(s.r.status, SessionStatus::Open);
}

fn split_pay(s: &mut Sim) -> Vec<Intent> {
    s.step(Input::Pay(PayInput {
        idempotency_key: "k1".into(),
        method: PaymentMethod::Bkash,
        payment_id: "pay_1".into(),
        allocation: Some(checkout_core::api::AllocationRequest {
            points: 0,
            balance: "10.00".into(),
        }),
        callback_url: String::new(),
        notify_url: String::new(),
        wechat_flow: None,
        client_ip: None,
    }))
    .unwrap()
}

/// A split whose bKash leg was created and awaits the shopper.
fn split_created(s: &mut Sim) {
    let holds = split_pay(s);
    let create = s.answer(&holds[0], Answer::WalletOk);
    s.answer(
        &create[0],
        Answer::Created(Created {
            reference: "pay_1".into(),
            next_action: NextAction::Redirect { url: "u".into() },
        }),
    );
}

fn is_wallet(intent: &Intent, f: fn(&WalletCall) -> bool) -> bool {
    matches!(&intent.call, Call::Wallet { call } if f(call))
}

#[test]
fn a_late_success_posts_the_kept_holds_and_pays() {
    let mut s = Sim::new(&[PaymentMethod::Bkash, PaymentMethod::Balance]);
    split_created(&mut s);
    let query = s
        .step(Input::Callback {
            provider: PaymentMethod::Bkash,
            reference: "pay_1".into(),
            outcome: CallbackOutcome::Cancel,
        })
        .unwrap();
    s.answer(
        &query[0],
        Answer::Payment(provider_payment(ProviderState::Canceled, 2050, "pay_1")),
    );
    assert_eq!(s.r.status, SessionStatus::Open);
    assert!(s.r.retained_holds.is_some(), "kept for a retry");
    let post = s
        .step(Input::Notification {
            provider: PaymentMethod::Bkash,
            event: NotifiedEvent::Payment {
                payment: provider_payment(ProviderState::Succeeded, 2050, "pay_1"),
            },
        })
        .unwrap();
    assert!(is_wallet(&post[0], |c| matches!(
        c,
        WalletCall::PostHolds { .. }
    )));
    assert!(s.r.retained_holds.is_none());
    s.answer(&post[0], Answer::WalletOk);
    assert_eq!(s.r.status, SessionStatus::Paid);
    assert_eq!(s.r.amount_paid(), bdt(3050));
}

#[test]
fn holds_lost_after_a_provider_success_give_the_provider_part_back() {
    let mut s = Sim::new(&[PaymentMethod::Bkash, PaymentMethod::Balance]);
    split_created(&mut s);
    let complete = s
        .step(Input::Callback {
            provider: PaymentMethod::Bkash,
            reference: "pay_1".into(),
            outcome: CallbackOutcome::Success,
        })
        .unwrap();
    let post = s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 2050, "pay_1")),
    );
    let refund = s.answer(
        &post[0],
        Answer::WalletRefused(ErrorDetail::new(ErrorCode::InternalError)),
    );
    assert!(refund[0].moves_provider_money());
    assert_eq!(s.r.status, SessionStatus::Open);
    assert_eq!(s.r.refunds[0].amount, bdt(2050));
    assert!(s.r.refunds[0].automatic);
}

#[test]
fn an_execute_abandoned_by_a_restart_becomes_a_query() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    // The object restarts: the answer never comes back, the intent stays listed.
    s.now += RECOVERY_AFTER_S;
    let recovered = s.step(Input::Alarm).unwrap();
    assert_eq!(recovered.len(), 1);
    assert!(is_provider(&recovered[0], |c| matches!(
        c,
        ProviderCall::Query { .. }
    )));
    assert!(!s.r.intents.iter().any(|i| i.id == complete[0].id));
    // The execute's own answer arriving now is stale.
    s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 3050, "pay_1")),
    );
    assert_eq!(s.r.status, SessionStatus::Processing);
}

#[test]
fn strangers_past_the_budget_cause_no_provider_call() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let mut tight = ctx(s.now);
    tight.stranger_call_allowed = false;
    let callback = Input::Callback {
        provider: PaymentMethod::Bkash,
        reference: "TR1".into(),
        outcome: CallbackOutcome::Success,
    };
    let out = step(&mut s.r, callback, &tight).unwrap();
    assert!(out.intents.is_empty());
    assert_eq!(
        s.payment("pay_1").provider.as_ref().unwrap().stage,
        record::LegStage::AwaitingShopper
    );
    // A callback for a leg nobody knows is refused.
    let unknown = Input::Callback {
        provider: PaymentMethod::WechatPay,
        reference: "TR1".into(),
        outcome: CallbackOutcome::Success,
    };
    let error = step(&mut s.r, unknown, &ctx(s.now)).unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::UnknownProviderPayment);
}

#[test]
fn a_refund_notification_settles_by_asking_the_provider() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 3050, "pay_1")),
    );
    let refund = s
        .step(Input::Refund(RefundInput {
            idempotency_key: "r1".into(),
            refund_id: "re_1".into(),
            request: CreateRefundRequest {
                amount: "30.50".into(),
                reason: "x".into(),
            },
            notify_url: None,
        }))
        .unwrap();
    let processing = ProviderRefund {
        refund_transaction_id: "RF1".into(),
        amount: Some(bdt(3050)),
        state: RefundState::Processing,
    };
    s.answer(&refund[0], Answer::Refund(processing));
    assert_eq!(s.r.refunds[0].status, RefundStatus::Pending);
    let find = s
        .step(Input::Notification {
            provider: PaymentMethod::Bkash,
            event: NotifiedEvent::Refund {
                refund_id: "re_1".into(),
            },
        })
        .unwrap();
    assert!(is_provider(&find[0], |c| matches!(
        c,
        ProviderCall::FindRefund(_)
    )));
    s.answer(
        &find[0],
        Answer::FoundRefund(Some(ProviderRefund {
            refund_transaction_id: "RF1".into(),
            amount: Some(bdt(3050)),
            state: RefundState::Succeeded,
        })),
    );
    assert_eq!(s.r.refunds[0].status, RefundStatus::Succeeded);
    assert_eq!(s.r.amount_refunded(), bdt(3050));
    assert!(s.r.intents.is_empty());
}

#[test]
fn an_unanswering_provider_is_asked_again_later_not_in_a_loop() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    s.now = 1_000; // expired: the alarm asks, then closes
    let query = s.step(Input::Alarm).unwrap();
    assert_eq!(next_alarm_at_s(&s.r, s.now), Some(s.now + RECOVERY_AFTER_S));
    s.answer(
        &query[0],
        Answer::Payment(provider_payment(ProviderState::Pending, 3050, "pay_1")),
    );
    let close = s.r.intents[0].clone();
    s.answer(
        &close,
        Answer::ProviderError(ConnectorError::Unknown("timeout".into())),
    );
    assert!(s.r.intents.is_empty());
    assert_eq!(next_alarm_at_s(&s.r, s.now), Some(s.now + RECOVERY_AFTER_S));
    assert_eq!(s.r.status, SessionStatus::Processing);
}

#[test]
fn a_refund_the_provider_does_not_have_is_sent_again_only_where_our_id_keys_it() {
    let mut s = Sim::new(&[PaymentMethod::Bkash]);
    s.bkash_created();
    let complete = s.callback_success();
    s.answer(
        &complete[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 3050, "pay_1")),
    );
    // The leg as WeChat Pay would hold it: WeChat keys a refund by our `out_refund_no`. (bKash
    // keys nothing of ours: `an_unsettled_refund_backs_off_and_goes_to_review_after_a_day`.)
    s.r.payments[0].method = PaymentMethod::WechatPay;
    let refund = s
        .step(Input::Refund(RefundInput {
            idempotency_key: "r1".into(),
            refund_id: "re_1".into(),
            request: CreateRefundRequest {
                amount: "10.00".into(),
                reason: "x".into(),
            },
            notify_url: None,
        }))
        .unwrap();
    s.answer(&refund[0], Answer::Lost);
    s.now = next_alarm_at_s(&s.r, s.now).unwrap();
    let find = s.step(Input::Alarm).unwrap();
    assert!(is_provider(&find[0], |c| matches!(
        c,
        ProviderCall::FindRefund(_)
    )));
    let again = s.answer(&find[0], Answer::FoundRefund(None));
    assert_eq!(again.len(), 1);
    assert!(again[0].moves_provider_money());
    assert_ne!(
        again[0].id, refund[0].id,
        "a new intent, never the same one twice"
    );
    match &again[0].call {
        Call::Provider {
            call: ProviderCall::Refund(call),
            ..
        } => assert_eq!(call.refund_id, "re_1", "under the same refund id"),
        other => panic!("{other:?}"),
    }
    s.answer(
        &again[0],
        Answer::Refund(ProviderRefund {
            refund_transaction_id: "50301".into(),
            amount: Some(bdt(1000)),
            state: RefundState::Succeeded,
        }),
    );
    assert_eq!(s.r.refunds[0].status, RefundStatus::Succeeded);
    assert!(s.r.intents.is_empty());
}

#[test]
fn a_closed_leg_is_asked_once_more_and_a_payment_that_got_through_is_not_lost() {
    for (state, paid) in [
        (ProviderState::Succeeded, true),
        (ProviderState::Canceled, false),
    ] {
        let mut s = Sim::new(&[PaymentMethod::Bkash]);
        s.bkash_created();
        let close = s.step(Input::Cancel).unwrap();
        assert!(is_provider(&close[0], |c| matches!(
            c,
            ProviderCall::Close { .. }
        )));
        s.answer(&close[0], Answer::Closed { decline: None });
        assert_eq!(s.payment("pay_1").status, PaymentStatus::Failed);
        assert_eq!(s.r.status, SessionStatus::Open);
        assert!(
            needs_tracking(&s.r),
            "the cron covers the check if the alarm is lost"
        );
        let at = next_alarm_at_s(&s.r, s.now).unwrap();
        assert_eq!(at, s.now + crate::saga::CLOSE_CHECK_AFTER_S);
        s.now = at;
        let check = s.step(Input::Alarm).unwrap();
        assert!(is_provider(&check[0], |c| matches!(
            c,
            ProviderCall::Query { .. }
        )));
        // No notification ever says so: only this answer does.
        s.answer(
            &check[0],
            Answer::Payment(provider_payment(state, 3050, "pay_1")),
        );
        assert!(s.payment("pay_1").close_check_at_s.is_none());
        assert_eq!(s.r.status == SessionStatus::Paid, paid, "{state:?}");
        assert_eq!(s.payment("pay_1").late_success.is_some(), paid);
        assert!(s.r.intents.is_empty());
        assert!(!needs_tracking(&s.r));
    }
}

/// A card payment of a manual-capture session, authorized at the gateway.
fn card_authorized(s: &mut Sim) {
    s.r.request.capture = Some(checkout_core::api::CaptureMode::Manual);
    let intents = s.pay("k1", PaymentMethod::Card, "pay_1");
    match &intents[0].call {
        Call::Provider {
            call: ProviderCall::Create(create),
            ..
        } => assert!(create.manual_capture),
        other => panic!("{other:?}"),
    }
    let created = Answer::Created(Created {
        reference: "cs_test_1".into(),
        next_action: NextAction::Redirect {
            url: "https://stripe/pay".into(),
        },
    });
    assert!(s.answer(&intents[0], created).is_empty());
    let query = s
        .step(Input::Callback {
            provider: PaymentMethod::Card,
            reference: "cs_test_1".into(),
            outcome: CallbackOutcome::Returned,
        })
        .unwrap();
    assert!(is_provider(&query[0], |c| matches!(
        c,
        ProviderCall::Query { .. }
    )));
    s.answer(
        &query[0],
        Answer::Payment(provider_payment(ProviderState::Approved, 3050, "pay_1")),
    );
    assert!(s.payment("pay_1").is_authorized());
    assert_eq!(s.r.status_view(), SessionStatus::Authorized);
    assert_eq!(s.payment("pay_1").view().status, PaymentStatus::Authorized);
}

#[test]
fn a_card_authorization_is_captured_once_and_a_lost_capture_becomes_a_query() {
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_authorized(&mut s);
    let capture = s.step(Input::Capture { amount: None }).unwrap();
    assert!(capture[0].moves_provider_money());
    // A second capture request while the first is unanswered is the same capture.
    assert!(s.step(Input::Capture { amount: None }).unwrap().is_empty());
    let query = s.answer(&capture[0], Answer::Lost);
    assert!(is_provider(&query[0], |c| matches!(
        c,
        ProviderCall::Query { .. }
    )));
    // The gateway never saw it: still authorized, and nothing is captured again by itself.
    assert!(s
        .answer(
            &query[0],
            Answer::Payment(provider_payment(ProviderState::Approved, 3050, "pay_1")),
        )
        .is_empty());
    assert!(s.payment("pay_1").is_authorized());
    // The merchant's retry is a new capture; a partial one pays what was taken.
    let partial = s.step(Input::Capture {
        amount: Some(bdt(2000)),
    });
    let partial = partial.unwrap();
    s.answer(
        &partial[0],
        Answer::Payment(provider_payment(ProviderState::Succeeded, 2000, "pay_1")),
    );
    assert_eq!(s.r.status, SessionStatus::Paid);
    assert_eq!(s.r.amount_paid(), bdt(2000));
    assert!(s.step(Input::Capture { amount: None }).is_err());
}

#[test]
fn an_authorization_nobody_captured_is_voided_at_its_time() {
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_authorized(&mut s);
    let void_at = s
        .payment("pay_1")
        .provider
        .as_ref()
        .unwrap()
        .void_at_s
        .unwrap();
    assert_eq!(next_alarm_at_s(&s.r, s.now), Some(void_at));
    s.now = void_at - 1;
    assert!(s.step(Input::Alarm).unwrap().is_empty());
    s.now = void_at;
    let void = s.step(Input::Alarm).unwrap();
    assert!(is_provider(&void[0], |c| matches!(
        c,
        ProviderCall::Void { .. }
    )));
    assert!(!void[0].moves_provider_money());
    s.answer(
        &void[0],
        Answer::Payment(provider_payment(ProviderState::Canceled, 3050, "pay_1")),
    );
    let payment = s.payment("pay_1");
    assert_eq!(payment.status, PaymentStatus::Failed);
    assert_eq!(
        payment.failure.as_ref().unwrap().code,
        ErrorCode::PaymentCanceled
    );
    assert!(s.step(Input::VoidAuthorization).is_err());
}

/// A card payment of an automatic-capture session, waiting on the gateway's page.
fn card_created(s: &mut Sim) {
    let intents = s.pay("k1", PaymentMethod::Card, "pay_1");
    let created = Answer::Created(Created {
        reference: "cs_test_1".into(),
        next_action: NextAction::Redirect {
            url: "https://stripe/pay".into(),
        },
    });
    assert!(s.answer(&intents[0], created).is_empty());
}

fn lost_card() -> crate::saga::Decline {
    crate::saga::Decline {
        code: ErrorCode::CardDeclined,
        decline_code: Some("lost_card".into()),
        gateway_code: Some("card_declined".into()),
    }
}

fn declined(decline: crate::saga::Decline) -> ProviderPayment {
    ProviderPayment {
        decline: Some(decline),
        ..provider_payment(ProviderState::Pending, 3050, "pay_1")
    }
}

#[test]
fn a_decline_is_recorded_on_the_open_card_leg_for_the_merchant_only() {
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_created(&mut s);
    let query = s
        .step(Input::Notification {
            provider: PaymentMethod::Card,
            event: NotifiedEvent::Changed {
                payment_id: "pay_1".into(),
            },
        })
        .unwrap();
    assert!(s
        .answer(&query[0], Answer::Payment(declined(lost_card())))
        .is_empty());
    // The shopper may retry on the gateway's page: the leg stays open.
    let payment = s.payment("pay_1");
    assert_eq!(payment.status, PaymentStatus::Processing);
    assert_eq!(
        payment.provider.as_ref().map(|l| l.stage),
        Some(record::LegStage::AwaitingShopper)
    );
    assert_eq!(payment.failure, None);
    let merchant = s.r.merchant_view();
    assert_eq!(
        merchant.payments[0].decline_code.as_deref(),
        Some("lost_card")
    );
    assert_eq!(
        merchant.payments[0].gateway_code.as_deref(),
        Some("card_declined")
    );
    let widget = serde_json::to_string(&s.r.widget_view(None)).unwrap();
    assert!(!widget.contains("lost_card"), "{widget}");
    assert!(!widget.contains("gateway_code"), "{widget}");
    // An answer without a decline (the gateway cleared it) keeps the one known.
    let poll = s.step(Input::StatusPoll).unwrap();
    s.answer(
        &poll[0],
        Answer::Payment(provider_payment(ProviderState::Pending, 3050, "pay_1")),
    );
    assert_eq!(s.payment("pay_1").decline, Some(lost_card()));
}

#[test]
fn a_card_leg_closed_after_a_decline_fails_with_the_declines_shopper_code() {
    // The decline comes with the close's answer (read before the gateway's session expired).
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_created(&mut s);
    let close = s.step(Input::Cancel).unwrap();
    let insufficient = crate::saga::Decline {
        code: ErrorCode::CardInsufficientFunds,
        decline_code: Some("insufficient_funds".into()),
        gateway_code: Some("card_declined".into()),
    };
    s.answer(
        &close[0],
        Answer::Closed {
            decline: Some(insufficient.clone()),
        },
    );
    let payment = s.payment("pay_1");
    assert_eq!(payment.status, PaymentStatus::Failed);
    assert_eq!(
        payment.failure.as_ref().map(|f| f.code),
        Some(ErrorCode::CardInsufficientFunds)
    );
    assert_eq!(payment.decline, Some(insufficient));

    // A decline known before, and a close that reports none: the known one is the failure; a
    // lost card is a plain decline to the shopper.
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_created(&mut s);
    let poll = s.step(Input::StatusPoll).unwrap();
    s.answer(&poll[0], Answer::Payment(declined(lost_card())));
    s.now = s.r.expires_at_s;
    // At expiry the alarm asks the gateway; still unpaid, the leg is closed.
    let query = s.step(Input::Alarm).unwrap();
    let close = s.answer(
        &query[0],
        Answer::Payment(provider_payment(ProviderState::Pending, 3050, "pay_1")),
    );
    assert!(is_provider(&close[0], |c| matches!(
        c,
        ProviderCall::Close { .. }
    )));
    s.answer(&close[0], Answer::Closed { decline: None });
    let payment = s.payment("pay_1");
    assert_eq!(
        payment.failure.as_ref().map(|f| f.code),
        Some(ErrorCode::CardDeclined)
    );
    assert_eq!(payment.view().decline_code.as_deref(), Some("lost_card"));

    // No decline at all: the shopper's cancel stays `payment_canceled`.
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_created(&mut s);
    let close = s.step(Input::Cancel).unwrap();
    s.answer(&close[0], Answer::Closed { decline: None });
    assert_eq!(
        s.payment("pay_1").failure.as_ref().map(|f| f.code),
        Some(ErrorCode::PaymentCanceled)
    );
}

#[test]
fn an_expired_gateway_session_with_a_decline_fails_with_it() {
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_created(&mut s);
    let poll = s.step(Input::StatusPoll).unwrap();
    let expired = ProviderPayment {
        decline: Some(lost_card()),
        ..provider_payment(ProviderState::Canceled, 3050, "pay_1")
    };
    s.answer(&poll[0], Answer::Payment(expired));
    assert_eq!(
        s.payment("pay_1").failure.as_ref().map(|f| f.code),
        Some(ErrorCode::CardDeclined)
    );
}

#[test]
fn leaving_the_gateways_page_closes_the_leg_even_while_a_webhooks_read_is_under_way() {
    let mut s = Sim::new(&[PaymentMethod::Card]);
    card_created(&mut s);
    // `payment_intent.payment_failed` made the session ask Stripe; before the answer, the
    // shopper leaves through the cancel link.
    let query = s
        .step(Input::Notification {
            provider: PaymentMethod::Card,
            event: NotifiedEvent::Changed {
                payment_id: "pay_1".into(),
            },
        })
        .unwrap();
    let cancel = || Input::Callback {
        provider: PaymentMethod::Card,
        reference: "pay_1".into(),
        outcome: CallbackOutcome::Cancel,
    };
    let close = s.step(cancel()).unwrap();
    assert!(is_provider(&close[0], |c| matches!(
        c,
        ProviderCall::Close { .. }
    )));
    // A repeated cancel adds nothing; the read's answer keeps the leg open until the close.
    assert!(s.step(cancel()).unwrap().is_empty());
    assert!(s
        .answer(&query[0], Answer::Payment(declined(lost_card())))
        .is_empty());
    assert_eq!(s.payment("pay_1").status, PaymentStatus::Processing);
    s.answer(&close[0], Answer::Closed { decline: None });
    assert_eq!(
        s.payment("pay_1").failure.as_ref().map(|f| f.code),
        Some(ErrorCode::CardDeclined)
    );
}
