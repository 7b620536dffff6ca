//! The pay-password frame over HTTP, against the Worker in workerd: it is framed only by the
//! page it names (checked against the session merchant's allowed origins), it pays with the
//! token of that page from the Worker's own origin, and a pay password sent from any other origin
//! (a merchant's page) is refused before anything looks at it.

use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body, Checkout, Rig, ORIGIN, PAY_PASSWORD};
use serde_json::{json, Value};

const EVIL: &str = "https://evil.example";

fn frame(rig: &Rig, session: &str, parent: &str) -> Reply {
    let parent: String = url_encode(parent);
    rig.client
        .call(
            "GET",
            format!("/v1/widget/frames/pay_password?session={session}&parent={parent}&locale=bn"),
        )
        .send()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A pay request as the frame sends it: from the Worker's own origin, naming its parent page.
fn pay_from(
    rig: &Rig,
    checkout: &Checkout,
    key: &str,
    origin: &str,
    parent: Option<&str>,
    body: Value,
) -> Reply {
    let mut call = rig
        .client
        .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
        .bearer(&checkout.token)
        .header("Origin", origin)
        .header("Idempotency-Key", key);
    if let Some(parent) = parent {
        call = call.header("Checkout-Parent-Origin", parent);
    }
    call.json(&body)
}

#[test]
fn the_frame_is_framed_only_by_the_page_it_names_when_the_merchant_allows_it() {
    let rig = Rig::start("frame-ancestors");
    let created = rig
        .create_session(&session_body("frame-1", "10.00", "cus_frame"))
        .expect_status(200);
    let id = created.body["id"].as_str().unwrap();

    let page = frame(&rig, id, ORIGIN);
    assert_eq!(page.status, 200);
    assert!(page
        .header("Content-Type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let policy = page.header("Content-Security-Policy").unwrap_or_default();
    assert!(
        policy.ends_with(&format!("frame-ancestors 'self' {ORIGIN}")),
        "{policy}"
    );
    assert!(
        policy.starts_with("default-src 'none'; script-src 'self'"),
        "{policy}"
    );
    assert!(
        page.header("X-Frame-Options").is_none(),
        "X-Frame-Options would forbid framing"
    );
    assert_eq!(page.header("Cache-Control"), Some("no-store"));

    // The Worker's own pages may frame it for any session; no one else may.
    let own = rig.worker.base_url.clone();
    let policy = frame(&rig, id, &own).expect_status(200);
    assert!(policy
        .header("Content-Security-Policy")
        .unwrap_or_default()
        .ends_with(&format!("frame-ancestors 'self' {own}")));
    for (session, parent) in [
        (id, EVIL),
        // Allowed for the other merchant, not for this session's.
        (id, checkout_tests::dev_vars::OTHER_ALLOWED_ORIGIN),
        (id, "https://shop.example/"),
        (id, "https://shop.example 'unsafe-inline'"),
        (&format!("cs_{}", "0".repeat(64)), ORIGIN),
        ("nonsense", ORIGIN),
    ] {
        let refused = frame(&rig, session, parent);
        assert_eq!(
            refused.status, 403,
            "{session} {parent}: {:#}",
            refused.body
        );
        assert_eq!(refused.body["error"]["code"], "origin_not_allowed");
        assert_eq!(
            refused.header("Content-Security-Policy"),
            Some("default-src 'none'; frame-ancestors 'none'")
        );
        assert_eq!(refused.header("X-Frame-Options"), Some("DENY"));
    }
    let missing = rig
        .client
        .call(
            "GET",
            format!("/v1/widget/frames/pay_password?session={id}"),
        )
        .send()
        .expect_status(400);
    assert_eq!(missing.body["error"]["code"], "invalid_parameter");
}

#[test]
fn the_frame_pays_with_its_parents_token_and_a_merchant_page_cannot_send_a_password() {
    let rig = Rig::start("frame-pay");
    rig.fund("cus_frame", "100.00", "frame-fund");
    let checkout = rig.checkout("frame-pay-1", "10.00", "cus_frame");
    let own = rig.worker.base_url.clone();
    let with_password = json!({"method": "balance", "pay_password": PAY_PASSWORD});

    // From the merchant's page: refused with its own code, the password never looked at (the
    // wallet's attempts are untouched, and nothing was paid).
    let refused = pay_from(
        &rig,
        &checkout,
        "key-page-1",
        ORIGIN,
        None,
        with_password.clone(),
    );
    assert_eq!(refused.status, 403, "{:#}", refused.body);
    assert_eq!(refused.body["error"]["code"], "pay_password_outside_frame");
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(!message.contains(PAY_PASSWORD), "{message}");
    let wrong = pay_from(
        &rig,
        &checkout,
        "key-page-2",
        ORIGIN,
        None,
        json!({"method": "balance", "pay_password": "000000"}),
    );
    assert_eq!(wrong.body["error"]["code"], "pay_password_outside_frame");

    // The Worker's own origin acts only for the page its token was granted to.
    for parent in [None, Some(EVIL), Some(own.as_str())] {
        let scoped = pay_from(
            &rig,
            &checkout,
            "key-frame-x",
            &own,
            parent,
            with_password.clone(),
        );
        assert_eq!(scoped.status, 403, "{parent:?}: {:#}", scoped.body);
        assert_eq!(scoped.body["error"]["code"], "token_scope_mismatch");
    }
    // Another origin cannot borrow the frame's header.
    let borrowed = pay_from(
        &rig,
        &checkout,
        "key-evil-1",
        EVIL,
        Some(ORIGIN),
        json!({"method": "balance"}),
    );
    assert_eq!(borrowed.body["error"]["code"], "token_scope_mismatch");

    assert_eq!(rig.available("cus_frame"), "100.00");
    let paid = pay_from(
        &rig,
        &checkout,
        "key-frame-1",
        &own,
        Some(ORIGIN),
        with_password,
    );
    assert_eq!(paid.status, 200, "{:#}", paid.body);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(rig.available("cus_frame"), "90.00");
}
