//! Browser: the Stripe simulator's hosted card page alone (no Worker), in headless Chromium at
//! phone and desktop widths, driven through the harness helpers the card tests use
//! (`providers::pay_on_stripe_page`, `providers::answer_stripe_challenge`). The success and
//! cancel URLs point back at the simulator's own controls, so the test can see where the shopper
//! landed. axe-core (the npm dev dependency) finds no serious or critical violation on the card
//! form, the decline and the 3-D Secure challenge.

use std::time::Duration;

use checkout_simulators::stripe::cards;
use checkout_tests::providers::{self, Stripe};
use checkout_tests::webdriver::Browser;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(25);

/// A session for 12.34 USD whose success URL is the simulator's own session view.
fn session(stripe: &Stripe) -> (String, String) {
    let origin = stripe.origin();
    let success = format!("{origin}/__sim/sessions/{{CHECKOUT_SESSION_ID}}");
    let cancel = format!("{origin}/__sim/faults");
    let form = format!(
        "mode=payment&line_items[0][price_data][currency]=usd\
         &line_items[0][price_data][unit_amount]=1234\
         &line_items[0][price_data][product_data][name]=Gift+box&line_items[0][quantity]=1\
         &success_url={}&cancel_url={}",
        checkout_simulators::util::percent_encode(&success),
        checkout_simulators::util::percent_encode(&cancel),
    );
    let answer: Value = ureq::post(&format!("{}/v1/checkout/sessions", stripe.base_url()))
        .set("Authorization", &format!("Bearer {}", stripe.secret_key()))
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&form)
        .expect("create a session")
        .into_json()
        .expect("JSON");
    (
        answer["id"].as_str().unwrap().to_owned(),
        answer["url"].as_str().unwrap().to_owned(),
    )
}

fn browser(width: u32) -> Browser {
    let browser = Browser::start(width.max(500), 900);
    if width < 500 {
        browser.emulate_phone(width, 800);
    }
    browser
}

/// axe-core's serious and critical violations on the current page.
fn axe_violations(browser: &Browser) -> Vec<Value> {
    let path = checkout_tests::repo_root().join("node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(path).expect("axe-core (run `cargo xtask setup`)");
    browser.script(&source, vec![]);
    let found = browser.script_async(
        "const done = arguments[arguments.length - 1];\
         axe.run(document).then((r) => done({ violations: r.violations.map((v) =>\
           ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html) })) }))\
           .catch((e) => done({ error: String(e) }));",
        vec![],
    );
    assert!(found.get("error").is_none(), "axe-core failed: {found}");
    found["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .cloned()
        .collect()
}

fn wait_for_url(browser: &Browser, needle: &str) {
    browser.wait_until(
        needle,
        &format!("return location.href.includes({});", Value::from(needle)),
        WAIT,
    );
}

#[test]
fn a_shopper_pays_on_the_hosted_page_at_phone_and_desktop_width() {
    for width in [375, 1280] {
        let stripe = providers::start_stripe(0);
        let (id, url) = session(&stripe);
        let browser = browser(width);
        browser.goto(&url);
        let amount = browser.wait_for("[data-testid=amount]", WAIT);
        assert_eq!(browser.text(&amount), "USD 12.34");
        assert_eq!(
            axe_violations(&browser),
            Vec::<Value>::new(),
            "width {width}"
        );
        browser.screenshot(
            &checkout_tests::repo_root()
                .join(format!("artifacts/screenshots/stripe-page-{width}.png")),
        );
        providers::pay_on_stripe_page(&browser, "4242 4242 4242 4242", "12 / 34", "123");
        wait_for_url(&browser, &format!("/__sim/sessions/{id}"));
        let session = stripe.session(&id).unwrap();
        assert_eq!(session["status"], "complete", "width {width}");
        assert_eq!(session["payment_intent"]["status"], "succeeded");
    }
}

#[test]
fn a_declined_card_shows_why_and_the_shopper_retries() {
    let stripe = providers::start_stripe(0);
    let (id, url) = session(&stripe);
    let browser = browser(1280);
    browser.goto(&url);
    providers::pay_on_stripe_page(&browser, cards::INSUFFICIENT_FUNDS_CARD, "12 / 34", "123");
    browser.wait_until(
        "the decline message",
        "const e = document.getElementById('card-errors'); \
         return !!e && e.textContent.includes('insufficient funds');",
        WAIT,
    );
    assert_eq!(stripe.session(&id).unwrap()["status"], "open");
    assert_eq!(axe_violations(&browser), Vec::<Value>::new());
    providers::pay_on_stripe_page(&browser, cards::SUCCESS_CARD, "12 / 34", "123");
    wait_for_url(&browser, &format!("/__sim/sessions/{id}"));
    assert_eq!(stripe.session(&id).unwrap()["payment_status"], "paid");
}

#[test]
fn a_three_d_secure_challenge_can_be_passed_or_failed() {
    let stripe = providers::start_stripe(0);
    let browser = browser(375);
    for passed in [false, true] {
        let (id, url) = session(&stripe);
        browser.goto(&url);
        providers::pay_on_stripe_page(&browser, cards::THREE_DS_CARD, "12 / 34", "123");
        browser.wait_for("#test-source-authorize-3ds", WAIT);
        assert_eq!(axe_violations(&browser), Vec::<Value>::new());
        browser.screenshot(
            &checkout_tests::repo_root().join("artifacts/screenshots/stripe-3ds-375.png"),
        );
        providers::answer_stripe_challenge(&browser, passed);
        if passed {
            wait_for_url(&browser, &format!("/__sim/sessions/{id}"));
            assert_eq!(stripe.session(&id).unwrap()["status"], "complete");
        } else {
            browser.wait_until(
                "the authentication error",
                "const e = document.getElementById('card-errors'); \
                 return !!e && e.textContent.includes('failed authentication');",
                WAIT,
            );
            let pi = &stripe.session(&id).unwrap()["payment_intent"];
            assert_eq!(
                pi["last_payment_error"]["code"],
                "payment_intent_authentication_failure"
            );
        }
    }
}

#[test]
fn the_cancel_link_returns_to_the_cancel_url() {
    let stripe = providers::start_stripe(0);
    let (id, url) = session(&stripe);
    let browser = browser(1280);
    browser.goto(&url);
    browser.click(&browser.wait_for("#cancel", WAIT));
    wait_for_url(&browser, "/__sim/faults");
    assert_eq!(stripe.session(&id).unwrap()["status"], "open");
}
