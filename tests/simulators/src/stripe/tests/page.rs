//! The hosted page: each test card through the form's POST, retries after a decline, 3-D Secure.

use super::rig;
use crate::stripe::cards::*;

#[test]
fn the_page_has_the_documented_fields_and_a_cancel_link() {
    let rig = rig();
    let id = rig.session(1999, "");
    let url = rig.retrieve(&id)["url"].as_str().unwrap().to_owned();
    let page = super::send("GET", &url, &[], None);
    assert_eq!(page.status, 200);
    for needle in [
        r#"id="email""#,
        r#"id="cardNumber" name="cardNumber""#,
        r#"id="cardExpiry" name="cardExpiry""#,
        r#"id="cardCvc" name="cardCvc""#,
        r#"id="billingName" name="billingName""#,
        r#"<label for="cardNumber">"#,
        r#"id="submit""#,
        r#"id="card-errors""#,
        r#"href="https://shop.example/cancel""#,
        "USD 19.99",
        &format!(r#"action="/c/pay/{id}""#),
    ] {
        assert!(page.text.contains(needle), "{needle} missing");
    }
    assert!(!page.text.contains("<script"), "the page runs no script");
    let csp = page.header("Content-Security-Policy").unwrap();
    assert!(
        csp.contains("form-action 'self' https://shop.example"),
        "{csp}"
    );
}

#[test]
fn a_good_card_completes_the_session_and_redirects_with_its_id() {
    let rig = rig();
    let id = rig.session(2500, "");
    let answer = rig.post_card(&id, "4242 4242 4242 4242");
    assert_eq!(answer.status, 303, "{}", answer.text);
    assert_eq!(
        answer.header("Location").unwrap(),
        format!("https://shop.example/done?s={id}")
    );
    let s = rig.retrieve(&id);
    assert_eq!(
        (s["status"].as_str(), s["payment_status"].as_str()),
        (Some("complete"), Some("paid"))
    );
    let pi = &s["payment_intent"];
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount_received"], 2500);
    assert!(pi["latest_charge"].as_str().unwrap().starts_with("ch_"));
    assert_eq!(s["customer_details"]["email"], "a@b.example");
    let page = super::send(
        "GET",
        &format!("{}/c/pay/{id}", rig.sim.origin()),
        &[],
        None,
    );
    assert!(page.text.contains("This payment is complete."));
    let nested = rig.call(
        "GET",
        &format!("/v1/checkout/sessions/{id}"),
        "expand[]=payment_intent.latest_charge",
    );
    let charge = &nested.body["payment_intent"]["latest_charge"];
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["payment_method_details"]["card"]["last4"], "4242");
    assert_eq!(
        (
            charge["captured"].as_bool(),
            charge["amount_captured"].as_i64()
        ),
        (Some(true), Some(2500))
    );
    let snapshot = rig.sim.payment_intent(pi["id"].as_str().unwrap()).unwrap();
    assert!(
        !snapshot.to_string().contains("4242424242424242"),
        "only the last 4 digits are kept"
    );
}

#[test]
fn each_decline_card_shows_its_error_and_leaves_the_session_open() {
    let rig = rig();
    let cases = [
        (
            GENERIC_DECLINE_CARD,
            "card_declined",
            "generic_decline",
            "Your card has been declined.",
        ),
        (
            INSUFFICIENT_FUNDS_CARD,
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        (
            EXPIRED_CARD,
            "expired_card",
            "expired_card",
            "Your card has expired.",
        ),
        (
            INCORRECT_CVC_CARD,
            "incorrect_cvc",
            "incorrect_cvc",
            "Your card&#39;s security code is incorrect.",
        ),
        (
            PROCESSING_ERROR_CARD,
            "processing_error",
            "processing_error",
            "An error occurred while processing your card.",
        ),
        (
            LOST_CARD,
            "card_declined",
            "lost_card",
            "Your card has been declined.",
        ),
        (
            STOLEN_CARD,
            "card_declined",
            "stolen_card",
            "Your card has been declined.",
        ),
    ];
    for (card, code, decline_code, message) in cases {
        let id = rig.session(700, "");
        let answer = rig.post_card(&id, card);
        assert_eq!(answer.status, 402, "{card}");
        assert!(answer.text.contains(message), "{card}: {}", answer.text);
        assert!(
            answer.text.contains(r#"id="cardNumber""#),
            "the form is offered again"
        );
        let s = rig.retrieve(&id);
        assert_eq!(s["status"], "open", "{card}");
        let pi = &s["payment_intent"];
        assert_eq!(pi["status"], "requires_payment_method");
        let error = &pi["last_payment_error"];
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str()),
            (Some("card_error"), Some(code))
        );
        assert_eq!(error["decline_code"], decline_code, "{card}");
    }
}

#[test]
fn after_a_decline_the_shopper_retries_on_the_same_payment_intent() {
    let rig = rig();
    let id = rig.session(700, "");
    assert_eq!(rig.post_card(&id, GENERIC_DECLINE_CARD).status, 402);
    let first = rig.retrieve(&id)["payment_intent"]["id"].clone();
    assert_eq!(rig.post_card(&id, SUCCESS_CARD).status, 303);
    let s = rig.retrieve(&id);
    assert_eq!(s["payment_intent"]["id"], first);
    assert_eq!(s["payment_intent"]["status"], "succeeded");
    assert_eq!(
        s["payment_intent"]["last_payment_error"],
        serde_json::Value::Null
    );
}

#[test]
fn typing_mistakes_are_refused_before_any_attempt() {
    let rig = rig();
    let id = rig.session(700, "");
    let luhn = rig.post_card(&id, "4242 4242 4242 4241");
    assert_eq!(luhn.status, 400);
    assert!(luhn.text.contains("Your card number is invalid."));
    let past = rig.post_card_with(&id, SUCCESS_CARD, "01 / 20", "123");
    assert!(past.text.contains("in the past"), "{}", past.text);
    let cvc = rig.post_card_with(&id, SUCCESS_CARD, "12 / 34", "1");
    assert!(cvc.text.contains("security code is incomplete"));
    assert_eq!(rig.retrieve(&id)["payment_intent"], serde_json::Value::Null);
}

#[test]
fn three_d_secure_cards_are_challenged_and_can_pass_or_fail() {
    let rig = rig();
    for card in [THREE_DS_CARD, THREE_DS_REQUIRED_CARD] {
        // Passed.
        let id = rig.session(1500, "");
        let answer = rig.post_card(&id, card);
        assert_eq!(answer.status, 303);
        let challenge_url = format!("{}{}", rig.sim.origin(), answer.header("Location").unwrap());
        assert!(challenge_url.ends_with("/3ds"));
        assert_eq!(
            rig.retrieve(&id)["payment_intent"]["status"],
            "requires_action"
        );
        let page = super::send("GET", &challenge_url, &[], None);
        assert!(page.text.contains(r#"id="test-source-authorize-3ds""#));
        assert!(page.text.contains(r#"id="test-source-fail-3ds""#));
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let done = super::send("POST", &challenge_url, &form, Some("action=complete"));
        assert_eq!(done.status, 303);
        assert_eq!(
            done.header("Location").unwrap(),
            format!("https://shop.example/done?s={id}")
        );
        assert_eq!(rig.retrieve(&id)["payment_intent"]["status"], "succeeded");

        // Failed, then retried with a good card.
        let id = rig.session(1500, "");
        rig.post_card(&id, card);
        let challenge_url = format!("{}/c/pay/{id}/3ds", rig.sim.origin());
        let failed = super::send("POST", &challenge_url, &form, Some("action=fail"));
        assert_eq!(failed.status, 402);
        assert!(failed.text.contains("failed authentication"));
        let pi = &rig.retrieve(&id)["payment_intent"];
        assert_eq!(pi["status"], "requires_payment_method");
        assert_eq!(
            pi["last_payment_error"]["code"],
            "payment_intent_authentication_failure"
        );
        assert_eq!(rig.post_card(&id, SUCCESS_CARD).status, 303);
    }
}
