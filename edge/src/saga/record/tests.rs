use super::*;
use checkout_core::api::NextAction;
use checkout_core::Currency;

const AVAILABLE: &[PaymentMethod] = &[PaymentMethod::Balance, PaymentMethod::Bkash];

pub(crate) fn record() -> SessionRecord {
    let request = CreateSessionRequest {
        order_id: "o1".into(),
        amount: "30.50".into(),
        currency: Currency::BDT,
        description: "Tea".into(),
        customer_id: "cus_1".into(),
        methods: vec![PaymentMethod::Balance],
        return_url: "https://shop.example/".into(),
        expires_in_s: None,
        wechat_openid: None,
        capture: None,
    };
    SessionRecord {
        id: "cs_1".into(),
        merchant_scope: "test:m".into(),
        merchant_name: "Shop".into(),
        livemode: false,
        amount: Money::from_minor(3050, Currency::BDT).unwrap(),
        request,
        client_secret: "cs_1_secret_x".into(),
        status: SessionStatus::Open,
        created_at_s: 0,
        expires_at_s: 1_000,
        payments: Vec::new(),
        refunds: Vec::new(),
        points_rules: None,
        retained_holds: None,
        wallet_priority: checkout_core::api::default_wallet_priority(),
        intents: Vec::new(),
        intent_seq: 0,
    }
}

fn start(record: &mut SessionRecord, key: &str, id: &str) -> Result<PayStart> {
    record.start_payment(key, PaymentMethod::Balance, id.into(), 10, AVAILABLE)
}

#[test]
fn a_successful_payment_marks_the_session_paid() {
    let mut r = record();
    let PayStart::Started(p) = start(&mut r, "key-1", "pay_1").unwrap() else {
        panic!("expected a new attempt");
    };
    assert_eq!(r.status, SessionStatus::Processing);
    r.finish_payment(&p.id, Ok(())).unwrap();
    assert_eq!(r.status, SessionStatus::Paid);
    assert_eq!(r.amount_paid().amount_minor(), 3050);
}

#[test]
fn the_same_key_replays_the_first_outcome() {
    let mut r = record();
    start(&mut r, "key-1", "pay_1").unwrap();
    let detail = ErrorDetail::new(ErrorCode::InsufficientBalance);
    r.finish_payment("pay_1", Err(detail.clone())).unwrap();
    assert_eq!(r.status, SessionStatus::Open);
    let PayStart::Replayed(earlier) = start(&mut r, "key-1", "pay_2").unwrap() else {
        panic!("expected a replay");
    };
    assert_eq!(earlier.failure, Some(detail));
    assert_eq!(r.payments.len(), 1);
}

#[test]
fn a_second_attempt_while_one_is_processing_is_refused() {
    let mut r = record();
    start(&mut r, "key-1", "pay_1").unwrap();
    let same_key = start(&mut r, "key-1", "pay_2").unwrap_err();
    let other_key = start(&mut r, "key-2", "pay_3").unwrap_err();
    for error in [same_key, other_key] {
        assert_eq!(error.detail().code, ErrorCode::PaymentInProgress);
    }
}

#[test]
fn a_paid_or_expired_session_takes_no_new_payment() {
    let mut r = record();
    start(&mut r, "key-1", "pay_1").unwrap();
    r.finish_payment("pay_1", Ok(())).unwrap();
    let error = start(&mut r, "key-2", "pay_2").unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::SessionNotOpen);

    let mut r = record();
    assert!(r.expire_if_due(1_000));
    let error = start(&mut r, "key-1", "pay_1").unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::SessionExpired);
}

#[test]
fn a_processing_session_does_not_expire_under_a_payment() {
    let mut r = record();
    start(&mut r, "key-1", "pay_1").unwrap();
    assert!(!r.expire_if_due(5_000));
    r.finish_payment("pay_1", Ok(())).unwrap();
    assert_eq!(r.status, SessionStatus::Paid);
}

#[test]
fn a_key_reused_for_another_method_is_refused() {
    let mut r = record();
    r.request.methods.push(PaymentMethod::Points);
    start(&mut r, "key-1", "pay_1").unwrap();
    r.finish_payment("pay_1", Ok(())).unwrap();
    let error = r
        .start_payment(
            "key-1",
            PaymentMethod::Points,
            "pay_2".into(),
            10,
            AVAILABLE,
        )
        .unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::IdempotencyKeyReused);
}

#[test]
fn methods_outside_the_session_or_not_yet_offered_are_refused() {
    let mut r = record();
    let error = r
        .start_payment("key-1", PaymentMethod::Bkash, "pay_1".into(), 10, AVAILABLE)
        .unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::MethodNotAllowedForSession);
    r.request.methods.push(PaymentMethod::Card);
    let error = r
        .start_payment("key-2", PaymentMethod::Card, "pay_2".into(), 10, AVAILABLE)
        .unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::PaymentMethodUnavailable);
    assert!(r.payments.is_empty());
}

fn paid_by_bkash() -> SessionRecord {
    let mut r = record();
    r.request.methods = vec![PaymentMethod::Bkash];
    r.start_payment("key-1", PaymentMethod::Bkash, "pay_1".into(), 10, AVAILABLE)
        .unwrap();
    r.leg_created(
        "pay_1",
        "TR001".into(),
        NextAction::Redirect {
            url: "https://bkash.example/pay".into(),
        },
        11,
    )
    .unwrap();
    r
}

#[test]
fn an_external_payment_offers_its_redirect_until_it_settles() {
    let mut r = paid_by_bkash();
    assert_eq!(
        r.widget_view(None).next_action,
        Some(NextAction::Redirect {
            url: "https://bkash.example/pay".into()
        })
    );
    assert_eq!(
        r.payment_by_reference(PaymentMethod::Bkash, "TR001")
            .unwrap()
            .id,
        "pay_1"
    );
    r.set_leg_stage("pay_1", LegStage::Completing, 12).unwrap();
    assert_eq!(r.widget_view(None).next_action, None);
    r.set_transaction_id("pay_1", Some("TRX1".into())).unwrap();
    r.finish_payment("pay_1", Ok(())).unwrap();
    let view = r.merchant_view();
    assert_eq!(view.status, SessionStatus::Paid);
    assert_eq!(
        view.payments[0].provider_transaction_id.as_deref(),
        Some("TRX1")
    );
}

#[test]
fn refunds_never_exceed_what_was_paid() {
    let mut r = paid_by_bkash();
    r.finish_payment("pay_1", Ok(())).unwrap();
    let part = Money::from_minor(1000, Currency::BDT).unwrap();
    let RefundStart::Started(first) = r
        .start_refund("rk-1", part, "damaged", "re_1".into(), 20)
        .unwrap()
    else {
        panic!("expected a new refund");
    };
    // A pending refund already counts against what is left.
    let rest = Money::from_minor(2051, Currency::BDT).unwrap();
    let error = r
        .start_refund("rk-2", rest, "all", "re_2".into(), 21)
        .unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::RefundExceedsPayment);
    r.finish_refund(&first.id, Ok(Some("RTRX1".into())))
        .unwrap();
    let rest = Money::from_minor(2050, Currency::BDT).unwrap();
    assert!(matches!(
        r.start_refund("rk-2", rest, "all", "re_2".into(), 22),
        Ok(RefundStart::Started(_))
    ));
    assert_eq!(r.amount_refunded().amount_minor(), 3050);
    assert!(matches!(
        r.start_refund("rk-1", part, "damaged", "re_3".into(), 23),
        Ok(RefundStart::Replayed(_))
    ));
    assert_eq!(r.refunds.len(), 2);
}

#[test]
fn a_failed_refund_frees_its_amount_and_an_unpaid_session_refunds_nothing() {
    let mut r = paid_by_bkash();
    let amount = Money::from_minor(100, Currency::BDT).unwrap();
    let error = r
        .start_refund("rk-1", amount, "x", "re_1".into(), 20)
        .unwrap_err();
    assert_eq!(error.detail().code, ErrorCode::SessionNotPaid);
    r.finish_payment("pay_1", Ok(())).unwrap();
    r.start_refund("rk-1", amount, "x", "re_1".into(), 20)
        .unwrap();
    r.finish_refund("re_1", Err(ErrorDetail::new(ErrorCode::ProviderError)))
        .unwrap();
    assert_eq!(r.amount_refunded().amount_minor(), 0);
}

#[test]
fn a_reference_names_a_leg_only_for_its_own_provider() {
    let r = paid_by_bkash();
    assert!(r
        .payment_by_reference(PaymentMethod::WechatPay, "TR001")
        .is_none());
    assert!(r
        .payment_by_reference(PaymentMethod::Bkash, "TR002")
        .is_none());
}

#[test]
fn a_lost_refund_knows_its_payments_other_refunds_by_provider_id() {
    let mut r = paid_by_bkash();
    r.finish_payment("pay_1", Ok(())).unwrap();
    let part = Money::from_minor(1000, Currency::BDT).unwrap();
    r.start_refund("rk-1", part, "a", "re_1".into(), 20)
        .unwrap();
    r.finish_refund("re_1", Ok(Some("RF1".into()))).unwrap();
    let RefundStart::Started(lost) = r
        .start_refund("rk-2", part, "b", "re_2".into(), 21)
        .unwrap()
    else {
        panic!("expected a new refund");
    };
    let others = r.other_provider_refunds(&lost);
    assert_eq!(others.made, vec!["RF1".to_owned()]);
    assert!(!others.unresolved);
    r.start_refund("rk-3", part, "c", "re_3".into(), 22)
        .unwrap();
    assert!(r.other_provider_refunds(&lost).unresolved);
}
