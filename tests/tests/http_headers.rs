//! The headers every answer carries against the Worker in workerd: a unique Request-Id, no
//! caching of API answers, CORS on the widget API (errors included) and none on the merchant API.

mod common;

use std::collections::HashSet;

use checkout_tests::fixtures::{session_body, Rig, ORIGIN};
use common::{assert_refused, grant, widget_read};
use serde_json::json;

const EVIL: &str = "https://evil.example";

#[test]
fn every_answer_has_its_own_request_id_and_the_merchant_api_sends_no_cors() {
    let rig = Rig::start("api-headers");
    let replies = [
        rig.client.call("GET", "/healthz").send(),
        rig.client.call("GET", "/v1/nothing/here").send(),
        rig.client.call("DELETE", "/v1/checkout_sessions").send(),
        rig.client
            .call("POST", "/v1/checkout_sessions")
            .json(&json!({})),
        rig.create_session(&session_body("order-h", "1.00", "cus_h")),
        rig.client
            .call("OPTIONS", "/v1/checkout_sessions")
            .header("Origin", ORIGIN)
            .header("Access-Control-Request-Method", "POST")
            .send(),
    ];
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 404, 405, 401, 200, 405]);
    let ids: HashSet<&str> = replies
        .iter()
        .filter_map(|r| r.header("Request-Id"))
        .collect();
    assert_eq!(ids.len(), replies.len(), "Request-Ids not unique: {ids:?}");
    for reply in &replies[1..] {
        assert_eq!(
            reply.header("Cache-Control"),
            Some("no-store"),
            "{:?}",
            reply.headers
        );
        assert_eq!(
            reply.header("Access-Control-Allow-Origin"),
            None,
            "{:?}",
            reply.headers
        );
    }
    assert_refused(&replies[2], 405, "method_not_allowed");
    assert_refused(&replies[1], 404, "not_found");
}

#[test]
fn the_widget_api_answers_preflights_and_puts_cors_on_its_errors() {
    let rig = Rig::start("auth-cors");
    for path in [
        "/v1/widget/token",
        "/v1/widget/sessions/cs_x/pay",
        "/v1/widget/sessions/cs_x",
    ] {
        let preflight = rig
            .client
            .call("OPTIONS", path)
            .header("Origin", ORIGIN)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type, idempotency-key",
            )
            .send();
        assert_eq!(preflight.status, 204, "{path}");
        assert_eq!(
            preflight.header("Access-Control-Allow-Origin"),
            Some(ORIGIN)
        );
        let methods = preflight
            .header("Access-Control-Allow-Methods")
            .unwrap_or("");
        assert!(
            methods.contains("POST") && methods.contains("GET"),
            "{methods}"
        );
        let headers = preflight
            .header("Access-Control-Allow-Headers")
            .unwrap_or("")
            .to_lowercase();
        for needed in ["authorization", "content-type", "idempotency-key"] {
            assert!(headers.contains(needed), "{headers}");
        }
        assert!(preflight.header("Vary").unwrap_or("").contains("Origin"));
        assert!(preflight.header("Request-Id").is_some());
    }
    // Errors are readable by the page: they carry the CORS header too.
    let refused = grant(&rig, Some(EVIL), "nonsense");
    assert_refused(&refused, 401, "invalid_client_secret");
    assert_eq!(refused.header("Access-Control-Allow-Origin"), Some(EVIL));
    let not_found = widget_read(&rig, "cs_nothing", "wt1.x.y", ORIGIN);
    assert_eq!(not_found.status, 401);
    assert_eq!(
        not_found.header("Access-Control-Allow-Origin"),
        Some(ORIGIN)
    );
}
