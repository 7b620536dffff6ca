//! Stripe wire fixtures, shaped after the API reference's example objects.

use super::*;

fn bdt(minor: i64) -> Money {
    Money::from_minor(minor, Currency::BDT).unwrap()
}

fn pairs(form: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(form.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn create(capture: CaptureMethod) -> SessionCreate<'static> {
    SessionCreate {
        payment_id: "pay_1",
        session_id: "cs_our",
        customer_id: "cus 1&2",
        amount: bdt(12_345),
        description: "Order #42 — tea & cups",
        success_url:
            "https://edge.example/v1/callbacks/card/cs_our?checkout_session={CHECKOUT_SESSION_ID}"
                .into(),
        cancel_url: "https://edge.example/v1/callbacks/card/cs_our?status=cancel".into(),
        expires_at_s: 1_700_003_600,
        capture,
    }
}

#[test]
fn a_session_is_created_in_bracket_notation_with_minor_units() {
    let form = create(CaptureMethod::Automatic).to_form();
    let pairs = pairs(&form);
    assert_eq!(value(&pairs, "mode"), Some("payment"));
    assert_eq!(value(&pairs, "payment_method_types[0]"), Some("card"));
    assert_eq!(value(&pairs, "client_reference_id"), Some("pay_1"));
    assert_eq!(value(&pairs, "line_items[0][quantity]"), Some("1"));
    assert_eq!(
        value(&pairs, "line_items[0][price_data][currency]"),
        Some("bdt")
    );
    assert_eq!(
        value(&pairs, "line_items[0][price_data][unit_amount]"),
        Some("12345")
    );
    assert_eq!(
        value(&pairs, "line_items[0][price_data][product_data][name]"),
        Some("Order #42 — tea & cups")
    );
    assert_eq!(value(&pairs, "metadata[payment_id]"), Some("pay_1"));
    assert_eq!(value(&pairs, "metadata[customer_id]"), Some("cus 1&2"));
    assert_eq!(
        value(&pairs, "payment_intent_data[metadata][payment_id]"),
        Some("pay_1")
    );
    assert_eq!(value(&pairs, "expires_at"), Some("1700003600"));
    // Stripe substitutes the template itself: it must arrive unencoded after form decoding.
    assert_eq!(
        value(&pairs, "success_url"),
        Some(
            "https://edge.example/v1/callbacks/card/cs_our?checkout_session={CHECKOUT_SESSION_ID}"
        )
    );
    assert_eq!(value(&pairs, "payment_intent_data[capture_method]"), None);
    // The wire text itself: brackets and specials percent-encoded, spaces as `+`.
    assert!(form.contains("line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=12345"));
    assert!(form.contains("metadata%5Bcustomer_id%5D=cus+1%262"));
}

#[test]
fn manual_capture_asks_for_capture_method_manual() {
    let pairs = pairs(&create(CaptureMethod::Manual).to_form());
    assert_eq!(
        value(&pairs, "payment_intent_data[capture_method]"),
        Some("manual")
    );
}

#[test]
fn a_zero_decimal_currency_goes_out_in_whole_units() {
    let mut request = create(CaptureMethod::Automatic);
    request.amount = Money::from_minor(1_500, Currency::JPY).unwrap();
    let pairs = pairs(&request.to_form());
    assert_eq!(
        value(&pairs, "line_items[0][price_data][currency]"),
        Some("jpy")
    );
    assert_eq!(
        value(&pairs, "line_items[0][price_data][unit_amount]"),
        Some("1500")
    );
    assert_eq!(
        money_from_wire(Some(1_500), Some("jpy")),
        Some(request.amount)
    );
    assert_eq!(money_from_wire(Some(1_500), Some("usd")), None);
    assert_eq!(money_from_wire(Some(-1), Some("bdt")), None);
}

#[test]
fn expand_capture_and_refund_bodies() {
    assert_eq!(expand_payment_intent(), "expand%5B%5D=payment_intent");
    assert_eq!(capture_form(None), "");
    assert_eq!(capture_form(Some(bdt(500))), "amount_to_capture=500");
    let refund = pairs(&refund_form("pi_1", bdt(250), "re_our_1", &"x".repeat(600)));
    assert_eq!(value(&refund, "payment_intent"), Some("pi_1"));
    assert_eq!(value(&refund, "amount"), Some("250"));
    assert_eq!(value(&refund, "metadata[refund_id]"), Some("re_our_1"));
    assert_eq!(value(&refund, "metadata[reason]").unwrap().len(), 500);
    let list = pairs(&refund_list_query("pi_1", Some("re_9")));
    assert_eq!(value(&list, "payment_intent"), Some("pi_1"));
    assert_eq!(value(&list, "limit"), Some("100"));
    assert_eq!(value(&list, "starting_after"), Some("re_9"));
}

#[test]
fn stripe_gets_at_least_31_minutes_and_at_most_a_day() {
    let now = 1_700_000_000;
    assert_eq!(session_expires_at(now + 600, now), now + 31 * 60);
    assert!(must_expire_explicitly(
        now + 600,
        session_expires_at(now + 600, now)
    ));
    assert_eq!(session_expires_at(now + 7_200, now), now + 7_200);
    assert!(!must_expire_explicitly(now + 7_200, now + 7_200));
    assert_eq!(session_expires_at(now + 200_000, now), now + 86_400);
    assert_eq!(session_expires_at(i64::MAX, i64::MAX), i64::MAX);
}

const OPEN_SESSION: &str = r#"{
  "id": "cs_test_a1", "object": "checkout.session", "status": "open",
  "payment_status": "unpaid", "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
  "client_reference_id": "pay_1", "amount_total": 12345, "currency": "bdt",
  "payment_intent": null, "metadata": {"payment_id": "pay_1"}, "expires_at": 1700003600
}"#;

fn session_with_intent(status: &str, intent: &str) -> CheckoutSession {
    let json = format!(
        r#"{{"id":"cs_test_a1","status":"{status}","payment_status":"{}",
        "client_reference_id":"pay_1","amount_total":12345,"currency":"bdt",
        "url":null,"metadata":{{}},"payment_intent":{intent}}}"#,
        if status == "complete" {
            "paid"
        } else {
            "unpaid"
        }
    );
    serde_json::from_str(&json).unwrap()
}

fn intent(status: &str, received: i64, capturable: i64, error: &str) -> String {
    format!(
        r#"{{"id":"pi_1","object":"payment_intent","status":"{status}","amount":12345,
        "amount_received":{received},"amount_capturable":{capturable},"currency":"bdt",
        "capture_method":"automatic","latest_charge":"ch_1","last_payment_error":{error},
        "metadata":{{"payment_id":"pay_1"}}}}"#
    )
}

const DECLINE: &str = r#"{"type":"card_error","code":"card_declined",
  "decline_code":"insufficient_funds","message":"Your card has insufficient funds.",
  "param":null}"#;

#[test]
fn an_open_session_is_pending_with_its_url() {
    let session: CheckoutSession = serde_json::from_str(OPEN_SESSION).unwrap();
    assert_eq!(
        session.url.as_deref(),
        Some("https://checkout.stripe.com/c/pay/cs_test_a1")
    );
    let payment = session_payment(&session);
    assert_eq!(payment.state, ProviderState::Pending);
    assert_eq!(payment.transaction_id, None);
    assert_eq!(payment.amount, Some(bdt(12_345)));
    assert_eq!(payment.invoice.as_deref(), Some("pay_1"));
    assert!(session_decline(&session).is_none());
}

#[test]
fn a_paid_session_is_settled_from_the_intents_amount_received() {
    let session = session_with_intent("complete", &intent("succeeded", 12_345, 0, "null"));
    let payment = session_payment(&session);
    assert_eq!(payment.state, ProviderState::Succeeded);
    assert_eq!(payment.transaction_id.as_deref(), Some("pi_1"));
    assert_eq!(payment.amount, Some(bdt(12_345)));
    assert_eq!(payment.provider_status, "complete/paid/succeeded");
    // Unexpanded, the session's own word decides.
    let session = session_with_intent("complete", r#""pi_1""#);
    assert_eq!(session_payment(&session).state, ProviderState::Succeeded);
    assert_eq!(
        session_payment(&session).transaction_id.as_deref(),
        Some("pi_1")
    );
}

#[test]
fn an_authorized_intent_is_approved_for_its_capturable_amount() {
    let session = session_with_intent("complete", &intent("requires_capture", 0, 12_345, "null"));
    let payment = session_payment(&session);
    assert_eq!(payment.state, ProviderState::Approved);
    assert_eq!(payment.amount, Some(bdt(12_345)));
}

#[test]
fn a_decline_keeps_the_session_pending_until_it_ends() {
    let session = session_with_intent("open", &intent("requires_payment_method", 0, 0, DECLINE));
    assert_eq!(session_payment(&session).state, ProviderState::Pending);
    let decline = Decline {
        code: ErrorCode::CardInsufficientFunds,
        decline_code: Some("insufficient_funds".into()),
        gateway_code: Some("card_declined".into()),
    };
    assert_eq!(session_decline(&session), Some(decline.clone()));
    assert_eq!(session_payment(&session).decline, Some(decline.clone()));
    // Stripe cancels the intent of an expired session; a decline still on it is kept.
    let canceled = session_with_intent("expired", &intent("canceled", 0, 0, DECLINE));
    assert_eq!(session_payment(&canceled).state, ProviderState::Canceled);
    assert_eq!(session_payment(&canceled).decline, Some(decline));
    let expired = session_with_intent("expired", &intent("requires_payment_method", 0, 0, DECLINE));
    assert_eq!(session_payment(&expired).state, ProviderState::Failed);
    let abandoned: CheckoutSession = serde_json::from_str(
        &OPEN_SESSION.replace(r#""status": "open""#, r#""status": "expired""#),
    )
    .unwrap();
    assert_eq!(session_payment(&abandoned).state, ProviderState::Canceled);
    let voided = session_with_intent("complete", &intent("canceled", 0, 0, "null"));
    assert_eq!(session_payment(&voided).state, ProviderState::Canceled);
    assert_eq!(session_payment(&voided).decline, None);
}

#[test]
fn a_lost_or_stolen_card_is_a_plain_decline_for_the_shopper_and_the_real_one_for_the_merchant() {
    for reason in ["lost_card", "stolen_card", "fraudulent", "pickup_card"] {
        let error = format!(
            r#"{{"type":"card_error","code":"card_declined","decline_code":"{reason}",
            "message":"Your card has been declined."}}"#
        );
        let session = session_with_intent("open", &intent("requires_payment_method", 0, 0, &error));
        let decline = session_decline(&session).expect("a decline");
        assert_eq!(decline.code, ErrorCode::CardDeclined, "{reason}");
        assert_eq!(decline.decline_code.as_deref(), Some(reason));
        assert_eq!(decline.gateway_code.as_deref(), Some("card_declined"));
    }
    // An error that is not the card's (a failed API call recorded on the intent) is no decline.
    let api = r#"{"type":"invalid_request_error","code":"resource_missing","message":"x"}"#;
    let session = session_with_intent("open", &intent("requires_payment_method", 0, 0, api));
    assert_eq!(session_decline(&session), None);
}

#[test]
fn an_intent_alone_maps_like_the_session() {
    let captured: PaymentIntent =
        serde_json::from_str(&intent("succeeded", 10_000, 0, "null")).unwrap();
    let payment = intent_payment(&captured);
    assert_eq!(payment.state, ProviderState::Succeeded);
    assert_eq!(payment.amount, Some(bdt(10_000)));
    assert_eq!(payment.invoice.as_deref(), Some("pay_1"));
    assert_eq!(
        captured.latest_charge.as_ref().map(|c| c.id()),
        Some("ch_1")
    );
    let processing: PaymentIntent =
        serde_json::from_str(&intent("processing", 0, 0, "null")).unwrap();
    assert_eq!(intent_payment(&processing).state, ProviderState::Pending);
}

fn error(status: u16, body: &str, operation: Operation) -> ConnectorError {
    read_answer::<CheckoutSession>(status, body, operation).unwrap_err()
}

fn card(decline: &str) -> String {
    format!(
        r#"{{"error":{{"type":"card_error","code":"card_declined","decline_code":"{decline}",
        "message":"Your card was declined."}}}}"#
    )
}

#[test]
fn declines_map_to_stable_codes_and_keep_stripes_code_for_the_merchant() {
    let cases = [
        ("generic_decline", ErrorCode::CardDeclined),
        ("insufficient_funds", ErrorCode::CardInsufficientFunds),
        ("lost_card", ErrorCode::CardDeclined),
        ("stolen_card", ErrorCode::CardDeclined),
        ("fraudulent", ErrorCode::CardDeclined),
        ("expired_card", ErrorCode::CardExpired),
        ("incorrect_cvc", ErrorCode::CardIncorrectCvc),
        ("processing_error", ErrorCode::CardProcessingError),
        (
            "authentication_required",
            ErrorCode::CardAuthenticationFailed,
        ),
        ("something_new", ErrorCode::CardDeclined),
    ];
    for (decline, expected) in cases {
        let ConnectorError::Refused {
            code,
            message,
            provider_code,
            ..
        } = error(402, &card(decline), Operation::CreateSession)
        else {
            panic!("{decline}: expected a refusal");
        };
        assert_eq!(code, expected, "{decline}");
        assert_eq!(provider_code, decline);
        assert_eq!(message, expected.default_message());
        assert!(
            !message.contains(decline),
            "the shopper never sees {decline}"
        );
    }
    // No decline code: the error code decides (3-D Secure failed on the hosted page).
    assert_eq!(
        card_error_code(None, Some("payment_intent_authentication_failure")),
        ErrorCode::CardAuthenticationFailed
    );
    assert_eq!(
        card_error_code(None, Some("expired_card")),
        ErrorCode::CardExpired
    );
    assert_eq!(card_error_code(None, None), ErrorCode::CardDeclined);
}

#[test]
fn conflicts_rate_limits_and_server_errors_leave_the_outcome_unknown() {
    let body = |kind: &str| format!(r#"{{"error":{{"type":"{kind}","message":"m"}}}}"#);
    for (status, kind) in [
        (409, "idempotency_error"),
        (400, "idempotency_error"),
        (409, "invalid_request_error"),
        (429, "rate_limit_error"),
        (424, "invalid_request_error"),
        (500, "api_error"),
        (503, "api_error"),
    ] {
        assert!(
            matches!(
                error(status, &body(kind), Operation::CaptureIntent),
                ConnectorError::Unknown(_)
            ),
            "{status} {kind}"
        );
    }
    assert!(matches!(
        error(502, "<html>bad gateway</html>", Operation::CreateSession),
        ConnectorError::Unknown(_)
    ));
    assert!(matches!(
        read_answer::<CheckoutSession>(200, "{not json", Operation::RetrieveSession),
        Err(ConnectorError::Unknown(_))
    ));
}

#[test]
fn invalid_requests_are_told_apart() {
    let body = |code: &str| {
        format!(
            r#"{{"error":{{"type":"invalid_request_error","code":"{code}","message":"m","param":"id"}}}}"#
        )
    };
    let refused = |e: ConnectorError| match e {
        ConnectorError::Refused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(error(
            404,
            &body("resource_missing"),
            Operation::RetrieveSession
        )),
        ErrorCode::UnknownProviderPayment
    );
    assert!(matches!(
        error(
            400,
            &body("charge_already_captured"),
            Operation::CaptureIntent
        ),
        ConnectorError::AlreadyDone(_)
    ));
    assert_eq!(
        refused(error(
            400,
            &body("charge_already_refunded"),
            Operation::CreateRefund
        )),
        ErrorCode::RefundExceedsPayment
    );
    assert!(matches!(
        error(
            400,
            &body("payment_intent_unexpected_state"),
            Operation::CancelIntent
        ),
        ConnectorError::InvalidState(_)
    ));
    assert_eq!(
        refused(error(
            400,
            &body("amount_too_large"),
            Operation::CreateRefund
        )),
        ErrorCode::RefundExceedsPayment
    );
    assert_eq!(
        refused(error(
            400,
            &body("amount_too_small"),
            Operation::CreateSession
        )),
        ErrorCode::AmountOutOfRange
    );
    assert_eq!(
        refused(error(
            400,
            &body("parameter_missing"),
            Operation::CreateSession
        )),
        ErrorCode::ProviderError
    );
    let key = r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****1234"}}"#;
    let ConnectorError::Refused { code, message, .. } = error(401, key, Operation::CreateSession)
    else {
        panic!("expected a refusal");
    };
    assert_eq!(code, ErrorCode::ProviderError);
    assert!(
        !message.contains("sk_"),
        "the client never sees Stripe's message"
    );
}

#[test]
fn refunds_map_their_status_and_are_found_by_our_id() {
    let list: RefundList = serde_json::from_str(
        r#"{"object":"list","has_more":false,"data":[
        {"id":"re_1","object":"refund","amount":500,"currency":"bdt","status":"succeeded",
         "payment_intent":"pi_1","metadata":{"refund_id":"rf_a"}},
        {"id":"re_2","object":"refund","amount":500,"currency":"bdt","status":"pending",
         "payment_intent":"pi_1","metadata":{"refund_id":"rf_b"}},
        {"id":"re_3","object":"refund","amount":200,"currency":"bdt","status":"failed",
         "payment_intent":"pi_1","metadata":{},"failure_reason":"expired_or_canceled_card"}]}"#,
    )
    .unwrap();
    let ours = list.data.iter().find(|r| r.is_ours("rf_b")).unwrap();
    assert_eq!(ours.id, "re_2");
    assert_eq!(ours.to_provider().state, RefundState::Processing);
    assert_eq!(ours.to_provider().amount, Some(bdt(500)));
    assert_eq!(list.data[0].to_provider().state, RefundState::Succeeded);
    assert_eq!(list.data[2].to_provider().state, RefundState::Failed);
    assert!(!list.data.iter().any(|r| r.is_ours("rf_c")));
}
