//! The headers every answer carries against the Worker in workerd: a unique Request-Id, no
//! caching of API answers, security headers on everything (API answers and static files alike),
//! CORS on the widget API for allowed origins only (errors included) and none on the merchant API.

mod common;

use std::collections::HashSet;

use checkout_tests::api::Reply;
use checkout_tests::dev_vars::OTHER_ALLOWED_ORIGIN;
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
    for reply in &replies {
        assert_api_security_headers(reply);
    }
    // Widget answers, provider callbacks (a redirect or a refusal) and the demo back end too.
    let more = [
        grant(&rig, Some(ORIGIN), "nonsense"),
        rig.client
            .call("GET", "/v1/callbacks/bkash/cs_x?paymentID=p&status=success")
            .send(),
        rig.client.call("GET", "/demo/api/orders/cs_x").send(),
        rig.client
            .call("OPTIONS", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .send(),
    ];
    for reply in &more {
        assert_api_security_headers(reply);
    }
}

/// What every answer of the Worker itself carries: nothing it sends may run as a page or be
/// framed, sniffed or leak its address in a Referer.
#[track_caller]
fn assert_api_security_headers(reply: &Reply) {
    let expected = [
        (
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (
            "Strict-Transport-Security",
            "max-age=63072000; includeSubDomains",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ];
    for (name, value) in expected {
        assert_eq!(
            reply.header(name),
            Some(value),
            "{name} on a {} answer: {:?}",
            reply.status,
            reply.headers
        );
    }
}

#[test]
fn static_pages_get_a_csp_that_lets_the_widget_run_and_the_loader_is_embeddable() {
    let rig = Rig::start("asset-headers");
    let get = |path: &str| rig.client.call("GET", path).send();
    for path in ["/", "/embed", "/shop.css", "/embed.js"] {
        let reply = get(path);
        assert_eq!(reply.status, 200, "{path}");
        let csp = reply.header("Content-Security-Policy").unwrap_or("");
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(
                csp.contains(directive),
                "{path}: {directive} not in {csp:?}"
            );
        }
        assert!(!csp.contains(" 'unsafe-eval'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{path}");
        assert_eq!(
            reply.header("Strict-Transport-Security"),
            Some("max-age=63072000; includeSubDomains"),
            "{path}"
        );
        assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
        assert_eq!(
            reply.header("Referrer-Policy"),
            Some("strict-origin-when-cross-origin"),
            "{path}"
        );
        assert_eq!(reply.header("X-Frame-Options"), Some("DENY"), "{path}");
        assert_eq!(
            reply.header("Access-Control-Allow-Origin"),
            None,
            "{path} is not for other origins"
        );
    }
    // The loader and what it imports run on merchants' pages, which fetch them with CORS.
    for path in [
        "/checkout.js",
        "/pkg/checkout_widget.js",
        "/pkg/checkout_widget_bg.wasm",
    ] {
        let reply = get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.header("Access-Control-Allow-Origin"),
            Some("*"),
            "{path}"
        );
        assert_eq!(
            reply.header("Cross-Origin-Resource-Policy"),
            Some("cross-origin"),
            "{path}"
        );
        assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
        assert!(
            reply.header("Strict-Transport-Security").is_some(),
            "{path}"
        );
    }
    // The header rules themselves are not served.
    assert_eq!(get("/_headers").status, 404);
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
    // Errors are readable by an allowed page: they carry the CORS header too.
    let refused = grant(&rig, Some(ORIGIN), "nonsense");
    assert_refused(&refused, 401, "invalid_client_secret");
    assert_eq!(refused.header("Access-Control-Allow-Origin"), Some(ORIGIN));
    let not_found = widget_read(&rig, "cs_nothing", "wt1.x.y", ORIGIN);
    assert_eq!(not_found.status, 401);
    assert_eq!(
        not_found.header("Access-Control-Allow-Origin"),
        Some(ORIGIN)
    );
    // Another merchant's origin is allowed too: which merchant is checked at the token grant.
    let other = grant(&rig, Some(OTHER_ALLOWED_ORIGIN), "nonsense");
    assert_eq!(
        other.header("Access-Control-Allow-Origin"),
        Some(OTHER_ALLOWED_ORIGIN)
    );
}

#[test]
fn origins_no_merchant_allows_get_no_cors_so_browsers_refuse_them() {
    let rig = Rig::start("cors-allowlist");
    for origin in [
        EVIL,
        "https://shop.example.evil.example",
        "http://shop.example",
        "https://shop.example:8443",
        "null",
    ] {
        let preflight = rig
            .client
            .call("OPTIONS", "/v1/widget/token")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send();
        assert_eq!(
            preflight.header("Access-Control-Allow-Origin"),
            None,
            "{origin}"
        );
        assert!(preflight.header("Vary").unwrap_or("").contains("Origin"));
        let refused = grant(&rig, Some(origin), "nonsense");
        assert_refused(&refused, 401, "invalid_client_secret");
        assert_eq!(
            refused.header("Access-Control-Allow-Origin"),
            None,
            "{origin}"
        );
    }
    // The Worker's own pages (the demo shop) are always allowed.
    let own = rig.client.base_url.clone();
    let preflight = rig
        .client
        .call("OPTIONS", "/v1/widget/token")
        .header("Origin", &own)
        .header("Access-Control-Request-Method", "POST")
        .send();
    assert_eq!(
        preflight.header("Access-Control-Allow-Origin"),
        Some(own.as_str())
    );
}
