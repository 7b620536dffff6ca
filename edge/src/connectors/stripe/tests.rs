//! The requests the connector sends, built without I/O: paths, bodies, idempotency keys.

use checkout_core::{Currency, Money};
use url::form_urlencoded;
use worker::Method;

use super::wire::{CaptureMethod, Operation};
use super::{check_key_mode, keys, path_id, Stripe, StripeConfig, StripeRequest};
use crate::config::{Mode, Secret};
use crate::connectors::{ConnectorError, CreatePayment, OtherRefunds, RefundRequest};

fn bdt(minor: i64) -> Money {
    Money::from_minor(minor, Currency::BDT).unwrap()
}

fn form_value(form: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

const NOW: i64 = 1_700_000_000;

fn payment(callback_url: &str, expires_at_s: i64) -> CreatePayment<'static> {
    CreatePayment {
        invoice: "pay_7",
        session_id: "cs_ours",
        amount: bdt(50_000),
        payer_reference: "cus_1",
        callback_url: callback_url.to_owned(),
        notify_url: "https://edge.example/v1/notifications/stripe".into(),
        description: "Order 7",
        expires_at_s,
        wechat: None,
        manual_capture: false,
    }
}

#[test]
fn create_posts_a_session_keyed_by_our_payment_id() {
    let request = StripeRequest::create_session(
        &payment("https://edge.example/v1/callbacks/card/cs_ours", NOW + 600),
        CaptureMethod::Automatic,
        NOW,
    );
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.path, "/v1/checkout/sessions");
    assert_eq!(request.idempotency_key.as_deref(), Some("pay_7:create"));
    assert_eq!(request.operation, Operation::CreateSession);
    let form = request.form.unwrap();
    assert_eq!(
        form_value(&form, "success_url").as_deref(),
        Some(
            "https://edge.example/v1/callbacks/card/cs_ours?checkout_session={CHECKOUT_SESSION_ID}"
        )
    );
    assert_eq!(
        form_value(&form, "cancel_url").as_deref(),
        Some("https://edge.example/v1/callbacks/card/cs_ours?status=cancel&payment=pay_7")
    );
    // Ours ends in 10 minutes; Stripe's minimum is 30, so the edge expires it itself.
    assert_eq!(
        form_value(&form, "expires_at"),
        Some((NOW + 31 * 60).to_string())
    );
    assert_eq!(
        form_value(&form, "line_items[0][price_data][unit_amount]").as_deref(),
        Some("50000")
    );
    assert_eq!(
        form_value(&form, "client_reference_id").as_deref(),
        Some("pay_7")
    );
}

#[test]
fn a_callback_url_with_a_query_gets_the_template_appended() {
    let request = StripeRequest::create_session(
        &payment(
            "https://edge.example/v1/callbacks/card/cs_ours?lang=bn",
            NOW + 7_200,
        ),
        CaptureMethod::Manual,
        NOW,
    );
    let form = request.form.unwrap();
    assert_eq!(
        form_value(&form, "success_url").as_deref(),
        Some("https://edge.example/v1/callbacks/card/cs_ours?lang=bn&checkout_session={CHECKOUT_SESSION_ID}")
    );
    assert_eq!(
        form_value(&form, "expires_at"),
        Some((NOW + 7_200).to_string())
    );
    assert_eq!(
        form_value(&form, "payment_intent_data[capture_method]").as_deref(),
        Some("manual")
    );
}

#[test]
fn reads_are_gets_with_the_intent_expanded_and_no_key() {
    let request = StripeRequest::retrieve_session("cs_test_a1").unwrap();
    assert_eq!(request.method, Method::Get);
    assert_eq!(
        request.path,
        "/v1/checkout/sessions/cs_test_a1?expand%5B%5D=payment_intent"
    );
    assert_eq!(request.idempotency_key, None);
    assert_eq!(request.form, None);
    let request = StripeRequest::retrieve_intent("pi_1").unwrap();
    assert_eq!(request.path, "/v1/payment_intents/pi_1");
    let request = StripeRequest::list_refunds("pi_1", Some("re_5")).unwrap();
    assert_eq!(
        request.path,
        "/v1/refunds?payment_intent=pi_1&limit=100&starting_after=re_5"
    );
}

#[test]
fn every_post_carries_a_key_from_our_ids() {
    let expire = StripeRequest::expire_session("cs_test_a1").unwrap();
    assert_eq!(expire.path, "/v1/checkout/sessions/cs_test_a1/expire");
    assert_eq!(expire.idempotency_key.as_deref(), Some("cs_test_a1:expire"));

    let full = StripeRequest::capture_intent("pay_7", "pi_1", None).unwrap();
    assert_eq!(full.path, "/v1/payment_intents/pi_1/capture");
    assert_eq!(full.idempotency_key.as_deref(), Some("pay_7:capture:full"));
    assert_eq!(full.form.as_deref(), Some(""));
    let part = StripeRequest::capture_intent("pay_7", "pi_1", Some(bdt(1_000))).unwrap();
    assert_eq!(part.idempotency_key.as_deref(), Some("pay_7:capture:1000"));
    assert_eq!(part.form.as_deref(), Some("amount_to_capture=1000"));

    let void = StripeRequest::cancel_intent("pay_7", "pi_1").unwrap();
    assert_eq!(void.path, "/v1/payment_intents/pi_1/cancel");
    assert_eq!(void.idempotency_key.as_deref(), Some("pay_7:void"));

    let refund = RefundRequest {
        reference: "cs_test_a1",
        transaction_id: "pi_1",
        refund_id: "rf_3",
        amount: bdt(2_500),
        reason: "damaged",
        payment_amount: bdt(50_000),
        notify_url: None,
        others: OtherRefunds::default(),
    };
    let request = StripeRequest::create_refund(&refund).unwrap();
    assert_eq!(request.path, "/v1/refunds");
    assert_eq!(request.idempotency_key.as_deref(), Some("rf_3"));
    let form = request.form.unwrap();
    assert_eq!(form_value(&form, "payment_intent").as_deref(), Some("pi_1"));
    assert_eq!(form_value(&form, "amount").as_deref(), Some("2500"));
    assert_eq!(
        form_value(&form, "metadata[refund_id]").as_deref(),
        Some("rf_3")
    );

    for request in [expire, full, part, void] {
        assert_eq!(request.method, Method::Post);
        assert!(request.idempotency_key.is_some());
    }
    assert_ne!(keys::capture("p", None), keys::capture("p", Some(bdt(1))));
}

#[test]
fn ids_that_could_leave_the_path_are_refused() {
    assert_eq!(
        path_id("pi_3MtwBwLkdIwHu7ix28a3tqPa").ok(),
        Some("pi_3MtwBwLkdIwHu7ix28a3tqPa")
    );
    for bad in [
        "",
        "pi_1/../../v1/refunds",
        "pi_1?expand[]=x",
        "cs 1",
        "pi_1#",
        "пи_1",
    ] {
        assert!(
            matches!(path_id(bad), Err(ConnectorError::InvalidState(_))),
            "{bad:?}"
        );
        assert!(StripeRequest::retrieve_session(bad).is_err());
    }
}

#[test]
fn keys_must_match_the_accounts_mode() {
    assert!(check_key_mode("sk_test_123", Mode::Test).is_ok());
    assert!(check_key_mode("rk_test_123", Mode::Test).is_ok());
    assert!(check_key_mode("sk_live_123", Mode::Live).is_ok());
    assert!(check_key_mode("sk_live_123", Mode::Test).is_err());
    assert!(check_key_mode("sk_test_123", Mode::Live).is_err());
    assert!(check_key_mode("sk_test_", Mode::Test).is_err());
    assert!(check_key_mode("pk_test_123", Mode::Test).is_err());
    let error = check_key_mode("sk_live_secretvalue", Mode::Test).unwrap_err();
    assert!(!error.contains("secretvalue"));
}

#[test]
fn the_config_never_prints_its_secrets() {
    let config = StripeConfig {
        mode: Mode::Test,
        base_url: "https://api.stripe.com".into(),
        secret_key: Secret::new("sk_test_51SuperSecretValue".into()),
        webhook_secret: Secret::new("whsec_AnotherSecretValue".into()),
        timeout: std::time::Duration::from_secs(10),
    };
    let printed = format!("{config:?}");
    assert!(!printed.contains("SuperSecretValue"));
    assert!(!printed.contains("AnotherSecretValue"));
}

#[test]
fn limits_run_from_one_major_unit_to_stripes_eight_digits() {
    assert_eq!(
        Stripe::amount_limits(Currency::BDT),
        (bdt(100), bdt(99_999_999))
    );
    let (min, max) = Stripe::amount_limits(Currency::JPY);
    assert_eq!(min, Money::from_minor(1, Currency::JPY).unwrap());
    assert_eq!(max.amount_minor(), 99_999_999);
}
