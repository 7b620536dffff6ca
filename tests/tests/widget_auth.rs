//! The widget's credentials against the Worker in workerd: the client secret, the token's scope
//! to one session and one origin, the merchant's allowed origins, forged, tampered and expired
//! tokens, and strict, bounded token requests.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use checkout_core::token::{sign, WidgetClaims};
use checkout_tests::dev_vars::OTHER_ALLOWED_ORIGIN;
use checkout_tests::fixtures::{session_body, Rig, ORIGIN};
use common::{assert_refused, bdt, create_with_key, grant, now_s, pay_as, widget_read};
use serde_json::json;

const EVIL: &str = "https://evil.example";

#[test]
fn a_client_secret_buys_a_short_lived_token_and_a_wrong_one_buys_nothing() {
    let rig = Rig::start("auth-secret");
    let a = rig.checkout("order-a", "10.00", "cus_a");
    let b = rig.checkout("order-b", "20.00", "cus_b");

    let granted = grant(&rig, Some(ORIGIN), &a.client_secret).expect_status(200);
    assert_eq!(granted.body["session_id"].as_str(), Some(a.id.as_str()));
    let token = granted.body["token"].as_str().unwrap();
    assert!(token.starts_with("wt1."), "{token}");
    let lifetime = granted.body["expires_at"].as_i64().unwrap() - now_s();
    assert!((840..=900).contains(&lifetime), "lifetime {lifetime}");
    assert_eq!(granted.header("Access-Control-Allow-Origin"), Some(ORIGIN));

    let view = widget_read(&rig, &a.id, token, ORIGIN).expect_status(200);
    assert_eq!(
        (&view.body["id"], &view.body["amount_minor"]),
        (&json!(a.id), &json!(1_000))
    );
    assert_eq!(
        (&view.body["status"], &view.body["merchant_name"]),
        (&json!("open"), &json!("Tea House"))
    );
    assert_eq!(view.body["balance"]["available_minor"], 0);
    assert_eq!(view.body["balance"]["pay_password_set"], false);
    for secret_field in ["client_secret", "customer_id", "livemode"] {
        assert!(
            view.body.get(secret_field).is_none(),
            "widget sees {secret_field}"
        );
    }

    let b_tail = b.client_secret.rsplit_once("_secret_").unwrap().1;
    let wrong_secrets = [
        format!("{}_secret_{}", a.id, "x".repeat(32)),
        format!("{}_secret_{b_tail}", a.id),
        format!("{}_secret_", a.id),
        format!("{}x", a.client_secret),
        a.client_secret[..a.client_secret.len() - 1].to_owned(),
        format!("cs_{}_secret_{b_tail}", "0".repeat(64)),
        "nonsense".to_owned(),
        String::new(),
    ];
    for secret in &wrong_secrets {
        assert_refused(
            &grant(&rig, Some(ORIGIN), secret),
            401,
            "invalid_client_secret",
        );
    }
    let no_field = rig
        .client
        .call("POST", "/v1/widget/token")
        .header("Origin", ORIGIN)
        .json(&json!({}));
    assert_refused(&no_field, 400, "malformed_json");
}

#[test]
fn a_token_acts_only_on_its_own_session_and_only_from_its_origin() {
    let rig = Rig::start("auth-scope");
    rig.fund("cus_scope", "100.00", "seed-1");
    let a = rig.checkout("order-a", "10.00", "cus_scope");
    let b = rig.checkout("order-b", "20.00", "cus_scope");

    assert_refused(
        &widget_read(&rig, &b.id, &a.token, ORIGIN),
        403,
        "token_scope_mismatch",
    );
    let cross_pay = pay_as(&rig, &b.id, &a.token, ORIGIN, "scope-key-0001");
    assert_refused(&cross_pay, 403, "token_scope_mismatch");
    // A payment with a password comes from the pay-password frame, on the Worker's own origin.
    assert_eq!(
        cross_pay.header("Access-Control-Allow-Origin"),
        Some(rig.worker.base_url.as_str())
    );
    for origin in [
        EVIL,
        "https://shop.example.evil.example",
        "http://shop.example",
        "https://shop.example:8443",
    ] {
        assert_refused(
            &widget_read(&rig, &a.id, &a.token, origin),
            403,
            "token_scope_mismatch",
        );
        assert_refused(
            &pay_as(&rig, &a.id, &a.token, origin, "scope-key-0002"),
            403,
            "token_scope_mismatch",
        );
    }
    assert_eq!(bdt(&rig, "cus_scope"), "100.00");
    for id in [&a.id, &b.id] {
        let view = rig.merchant_view(id);
        assert_eq!(
            (&view["status"], &view["payments"]),
            (&json!("open"), &json!([]))
        );
    }

    // A token granted to the Worker's own origin (its demo and embed pages) works there only;
    // a same-origin GET carries no Origin, which means the Worker's own.
    let own = rig.client.base_url.clone();
    let bare = grant(&rig, Some(&own), &a.client_secret).expect_status(200);
    let bare_token = bare.body["token"].as_str().unwrap();
    assert_refused(
        &widget_read(&rig, &a.id, bare_token, ORIGIN),
        403,
        "token_scope_mismatch",
    );
    let same_origin = rig
        .client
        .call("GET", format!("/v1/widget/sessions/{}", a.id))
        .bearer(bare_token)
        .send();
    assert_eq!(same_origin.status, 200, "{}", same_origin.body);

    // The token still works where it belongs.
    let paid = pay_as(&rig, &a.id, &a.token, ORIGIN, "scope-key-0003").expect_status(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(bdt(&rig, "cus_scope"), "90.00");
}

#[test]
fn forged_tampered_expired_and_overlong_tokens_are_refused() {
    let rig = Rig::start("auth-forged");
    rig.fund("cus_forge", "100.00", "seed-1");
    let a = rig.checkout("order-f", "10.00", "cus_forge");
    let b = rig.checkout("order-g", "10.00", "cus_forge");
    let real_key = rig.vars.token_signing_key.as_bytes();
    let now = now_s();

    let wrong_key = b"not-the-edge-key-not-the-edge-key-not-the-edge-key";
    let forged = sign(&WidgetClaims::new(&a.id, ORIGIN, now, 600), wrong_key).unwrap();
    // B's claims under A's genuine signature.
    let b_claims = serde_json::to_vec(&WidgetClaims::new(&b.id, ORIGIN, now, 600)).unwrap();
    let signature = a.token.rsplit_once('.').unwrap().1;
    let swapped = format!("wt1.{}.{signature}", URL_SAFE_NO_PAD.encode(b_claims));
    let unsigned = a.token.rsplit_once('.').unwrap().0.to_owned();
    let invalid = [
        (a.id.as_str(), forged.as_str()),
        (b.id.as_str(), swapped.as_str()),
        (a.id.as_str(), unsigned.as_str()),
        (a.id.as_str(), &*format!("{}x", a.token)),
        (a.id.as_str(), &*a.token.replacen("wt1.", "wt2.", 1)),
        (a.id.as_str(), "garbage"),
        (a.id.as_str(), "wt1.."),
        (a.id.as_str(), &*rig.key()),
        (a.id.as_str(), &*a.client_secret),
    ];
    for (session, token) in invalid {
        assert_refused(
            &widget_read(&rig, session, token, ORIGIN),
            401,
            "invalid_token",
        );
        assert_refused(
            &pay_as(&rig, session, token, ORIGIN, "forge-key-0001"),
            401,
            "invalid_token",
        );
    }
    let anonymous = rig
        .client
        .call("GET", format!("/v1/widget/sessions/{}", a.id))
        .header("Origin", ORIGIN)
        .send();
    assert_refused(&anonymous, 401, "invalid_token");

    let claims = |iat: i64, exp: i64| WidgetClaims {
        sid: a.id.clone(),
        origin: ORIGIN.into(),
        iat,
        exp,
    };
    let expired = [
        sign(&claims(now - 1_000, now - 400), real_key).unwrap(),
        sign(&claims(now - 900, now - 1), real_key).unwrap(),
        // Validly signed, but claiming more than the 15 minutes a token may live.
        sign(&claims(now, now + 3_600), real_key).unwrap(),
    ];
    for token in &expired {
        assert_refused(
            &widget_read(&rig, &a.id, token, ORIGIN),
            401,
            "token_expired",
        );
        assert_refused(
            &pay_as(&rig, &a.id, token, ORIGIN, "forge-key-0002"),
            401,
            "token_expired",
        );
    }
    // A token the test signs with the real key and a fresh time is accepted: the checks above
    // refused the claims, not the test's signing.
    let fresh = sign(&claims(now, now + 600), real_key).unwrap();
    widget_read(&rig, &a.id, &fresh, ORIGIN).expect_status(200);

    assert_eq!(common::bdt(&rig, "cus_forge"), "100.00");
    assert_eq!(rig.merchant_view(&a.id)["payments"], json!([]));
}

#[test]
fn a_token_is_granted_only_to_the_session_merchants_origins_and_the_workers_own() {
    let rig = Rig::start("auth-origins");
    let demo = rig.checkout("order-o", "10.00", "cus_o");
    let other_key = rig.vars.merchant("m_other").test_key().to_owned();
    let other = create_with_key(&rig, &other_key, &session_body("order-o", "10.00", "cus_o"))
        .expect_status(200);
    let other_secret = other.body["client_secret"].as_str().unwrap();

    // Each merchant's own origin works for its sessions, and only for its sessions.
    grant(&rig, Some(ORIGIN), &demo.client_secret).expect_status(200);
    grant(&rig, Some(OTHER_ALLOWED_ORIGIN), other_secret).expect_status(200);
    let crossed = [
        (ORIGIN, other_secret),
        (OTHER_ALLOWED_ORIGIN, demo.client_secret.as_str()),
        (EVIL, demo.client_secret.as_str()),
        ("https://shop.example:8443", demo.client_secret.as_str()),
        ("http://shop.example", demo.client_secret.as_str()),
    ];
    for (origin, secret) in crossed {
        let refused = grant(&rig, Some(origin), secret);
        assert_refused(&refused, 403, "origin_not_allowed");
    }
    // The Worker's own origin (the demo shop's pages) is always allowed; no Origin at all (a
    // script replaying a stolen secret) gets no token.
    let own = rig.client.base_url.clone();
    grant(&rig, Some(&own), other_secret).expect_status(200);
    let bare = grant(&rig, None, other_secret);
    assert_refused(&bare, 400, "invalid_header");
    assert_eq!(bare.body["error"]["param"], "Origin");
    // A wrong secret is refused as such whatever the origin: the origin says nothing about it.
    let wrong = format!("{}x", demo.client_secret);
    assert_refused(
        &grant(&rig, Some(EVIL), &wrong),
        401,
        "invalid_client_secret",
    );
}

#[test]
fn token_requests_are_strict_json_of_bounded_size() {
    let rig = Rig::start("auth-strict");
    let demo = rig.checkout("order-s", "10.00", "cus_s");
    let typo = rig
        .client
        .call("POST", "/v1/widget/token")
        .header("Origin", ORIGIN)
        .json(&json!({"client_secret": demo.client_secret, "origin": "https://evil.example"}));
    assert_refused(&typo, 400, "malformed_json");
    let huge = rig
        .client
        .call("POST", "/v1/widget/token")
        .header("Origin", ORIGIN)
        .json(&json!({ "client_secret": "x".repeat(20_000) }));
    assert_refused(&huge, 413, "body_too_large");
    let big_pay = rig
        .client
        .call("POST", format!("/v1/widget/sessions/{}/pay", demo.id))
        .bearer(&demo.token)
        .from_frame_of(ORIGIN)
        .header("Idempotency-Key", "strict-key-0001")
        .json(&json!({"method": "balance", "pay_password": "1".repeat(20_000)}));
    assert_refused(&big_pay, 413, "body_too_large");
}
