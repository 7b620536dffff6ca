//! Widget tokens over HTTP: scope to one session and one origin, expiry, forgery.

use checkout_core::token::{sign, WidgetClaims};
use checkout_tests::fixtures::{Rig, ORIGIN};
use serde_json::json;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn a_token_reads_its_own_session_only_and_only_from_its_origin() {
    let rig = Rig::start("tokens-scope");
    let a = rig.checkout("order-a", "10.00", "cus_1");
    let b = rig.checkout("order-b", "20.00", "cus_1");
    let read = |session: &str, token: &str, origin: &str| {
        rig.client
            .call("GET", format!("/v1/widget/sessions/{session}"))
            .bearer(token)
            .header("Origin", origin)
            .send()
    };
    let own = read(&a.id, &a.token, ORIGIN).expect_status(200);
    assert_eq!(own.body["amount"], "10.00");
    assert_eq!(own.header("Access-Control-Allow-Origin"), Some(ORIGIN));

    let other_session = read(&b.id, &a.token, ORIGIN);
    assert_eq!(
        (other_session.status, other_session.code()),
        (403, "token_scope_mismatch")
    );
    let other_origin = read(&a.id, &a.token, "https://evil.example");
    assert_eq!(
        (other_origin.status, other_origin.code()),
        (403, "token_scope_mismatch")
    );
    let no_token = rig
        .client
        .call("GET", format!("/v1/widget/sessions/{}", a.id))
        .header("Origin", ORIGIN)
        .send();
    assert_eq!((no_token.status, no_token.code()), (401, "invalid_token"));
}

#[test]
fn forged_and_expired_tokens_are_refused() {
    let rig = Rig::start("tokens-forged");
    let a = rig.checkout("order-f", "10.00", "cus_1");
    let read = |token: &str| {
        rig.client
            .call("GET", format!("/v1/widget/sessions/{}", a.id))
            .bearer(token)
            .header("Origin", ORIGIN)
            .send()
    };
    let forged_key = b"not-the-edge-key-not-the-edge-key-not-the-edge-key";
    let forged = sign(&WidgetClaims::new(&a.id, ORIGIN, now_s(), 600), forged_key).unwrap();
    let reply = read(&forged);
    assert_eq!((reply.status, reply.code()), (401, "invalid_token"));
    for junk in ["wt1.e30.AAAA", "garbage", &format!("{}x", a.token)] {
        assert_eq!(read(junk).status, 401, "{junk}");
    }

    let real_key = rig.vars.token_signing_key.as_bytes();
    let mut old = WidgetClaims::new(&a.id, ORIGIN, now_s() - 1_000, 600);
    old.exp = now_s() - 400;
    let expired = read(&sign(&old, real_key).unwrap());
    assert_eq!((expired.status, expired.code()), (401, "token_expired"));
}

#[test]
fn a_wrong_client_secret_gets_no_token() {
    let rig = Rig::start("tokens-secret");
    let a = rig.checkout("order-s", "10.00", "cus_1");
    let grant = |secret: &str| {
        rig.client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .json(&json!({ "client_secret": secret }))
    };
    let wrong = grant(&format!("{}_secret_{}", a.id, "x".repeat(32)));
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_client_secret"));
    let malformed = grant("nonsense");
    assert_eq!(
        (malformed.status, malformed.code()),
        (401, "invalid_client_secret")
    );
    let unknown = grant(&format!("cs_{}_secret_abc", "0".repeat(64)));
    assert_eq!(unknown.status, 401);
    let granted = grant(&a.client_secret).expect_status(200);
    let lifetime = granted.body["expires_at"].as_i64().unwrap() - now_s();
    assert!((1..=900).contains(&lifetime), "{lifetime}");
}

#[test]
fn the_widget_api_answers_cors_preflights() {
    let rig = Rig::start("tokens-cors");
    let preflight = rig
        .client
        .call("OPTIONS", "/v1/widget/token")
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "POST")
        .send();
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("Access-Control-Allow-Origin"),
        Some(ORIGIN)
    );
    let allowed = preflight
        .header("Access-Control-Allow-Headers")
        .unwrap_or("");
    assert!(allowed.contains("Idempotency-Key"), "{allowed}");
}
