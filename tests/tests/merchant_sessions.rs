//! The merchant API over HTTP against the Worker in workerd: sessions, keys, modes.

use checkout_tests::fixtures::{session_body, Rig};
use serde_json::json;

#[test]
fn the_same_order_returns_the_same_session_and_a_changed_one_conflicts() {
    let rig = Rig::start("sessions-idempotent");
    let first = rig
        .create_session(&session_body("order-1", "100.50", "cus_1"))
        .expect_status(200);
    assert_eq!(first.body["status"], "open");
    assert_eq!(first.body["amount"], "100.50");
    assert!(first.body["id"].as_str().unwrap().starts_with("cs_"));
    let secret = first.body["client_secret"].as_str().unwrap();
    assert!(secret.starts_with(first.body["id"].as_str().unwrap()));
    assert!(
        first.body["expires_at"].as_i64().unwrap() > first.body["created_at"].as_i64().unwrap()
    );

    let again = rig
        .create_session(&session_body("order-1", "100.50", "cus_1"))
        .expect_status(200);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["client_secret"], first.body["client_secret"]);

    let changed = rig.create_session(&session_body("order-1", "100.51", "cus_1"));
    assert_eq!(changed.status, 409);
    assert_eq!(changed.code(), "order_conflict");
    assert!(!changed.body["error"]["message"]
        .as_str()
        .unwrap()
        .is_empty());

    let read = rig.merchant_view(first.body["id"].as_str().unwrap());
    assert_eq!(read["order_id"], "order-1");
    assert_eq!(read["payments"], json!([]));
}

#[test]
fn a_missing_or_wrong_key_is_refused() {
    let rig = Rig::start("sessions-keys");
    let body = session_body("order-keys", "10.00", "cus_1");
    let missing = rig.client.call("POST", "/v1/checkout_sessions").json(&body);
    assert_eq!((missing.status, missing.code()), (401, "invalid_api_key"));
    let wrong = rig
        .client
        .call("POST", "/v1/checkout_sessions")
        .bearer("sk_test_thisisnotarealkeythisisnotarealkey")
        .json(&body);
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_api_key"));
    let not_bearer = rig
        .client
        .call("POST", "/v1/checkout_sessions")
        .header("Authorization", &format!("Basic {}", rig.key()))
        .json(&body);
    assert_eq!(not_bearer.status, 401);
}

#[test]
fn merchants_and_modes_never_see_each_others_sessions() {
    let rig = Rig::start("sessions-isolation");
    let session = rig
        .create_session(&session_body("order-iso", "10.00", "cus_1"))
        .expect_status(200);
    let id = session.body["id"].as_str().unwrap();
    let path = format!("/v1/checkout_sessions/{id}");

    let other = rig.vars.merchant("m_other").test_key().to_owned();
    let foreign = rig.client.call("GET", path.as_str()).bearer(&other).send();
    assert_eq!((foreign.status, foreign.code()), (404, "not_found"));

    let live = rig.vars.merchant("m_demo").live_key().to_owned();
    let other_mode = rig.client.call("GET", path.as_str()).bearer(&live).send();
    assert_eq!(other_mode.status, 404);

    // The same order id in live mode is a different session.
    let live_session = rig
        .client
        .call("POST", "/v1/checkout_sessions")
        .bearer(&live)
        .json(&session_body("order-iso", "10.00", "cus_1"))
        .expect_status(200);
    assert_eq!(live_session.body["livemode"], true);
    assert_ne!(live_session.body["id"], session.body["id"]);

    for bad_id in ["cs_nothex", "nope", &format!("{id}0")] {
        let reply = rig
            .client
            .call("GET", format!("/v1/checkout_sessions/{bad_id}"))
            .bearer(&rig.key())
            .send();
        assert_eq!(reply.status, 404, "{bad_id}");
    }
}

#[test]
fn every_answer_names_its_request_and_unknown_routes_are_404() {
    let rig = Rig::start("sessions-routes");
    let health = rig.client.call("GET", "/healthz").send().expect_status(200);
    assert!(health.header("Request-Id").unwrap().starts_with("req_"));
    let unknown = rig.client.call("GET", "/v1/nothing").send();
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    let wrong_method = rig.client.call("DELETE", "/v1/checkout_sessions").send();
    assert_eq!(
        (wrong_method.status, wrong_method.code()),
        (405, "method_not_allowed")
    );
}
