//! Browser: the widget's lazily loaded parts. None is fetched before the widget is usable, and a
//! part the network refuses is a problem the shopper can retry, not a dead widget. The loader
//! sends the first calls while the main part loads.

use std::time::Duration;

use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{providers, temp_dir};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(25);

#[test]
fn the_first_view_fetches_no_lazy_part() {
    let worker = WorkerProcess::start(&temp_dir("lazy-first-view"));
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{}/test/script-tag.html", worker.base_url));
    browser.wait_for("[data-testid=pay-button]", WAIT);
    let parts_fetched = browser.script(
        "return performance.getEntriesByType('resource').map(e => e.name)\
         .filter(n => n.includes('/pkg/split_')).length",
        vec![],
    );
    assert_eq!(parts_fetched, json!(0));
    // Then, with the first view up, they are fetched in the background.
    browser.wait_until(
        "the parts are prefetched",
        "return performance.getEntriesByType('resource')\
         .filter(e => e.name.includes('/pkg/split_pay')).length === 1",
        WAIT,
    );
}

/// A part the first view shows at once (the wallet form, when the store balance is the method
/// chosen first) is asked for once the first frame with the pay button has been laid out, not
/// during the render: its requests would keep the browser busy while that layout waits on it.
#[test]
fn a_part_the_first_view_shows_is_fetched_after_its_first_frame() {
    let worker = WorkerProcess::start(&temp_dir("lazy-after-frame"));
    let key = DevVars::of_repo().merchant("m_demo").test_key().to_owned();
    // The demo customer needs a pay password, or the store balance is not the method chosen.
    Client::new(&worker.base_url)
        .call("PUT", "/v1/customers/cus_demo/pay_password")
        .bearer(&key)
        .json(&json!({"pay_password": "123456"}))
        .expect_status(200);
    let browser = Browser::start(1280, 900);
    // The bench page: it notes when the pay button was first laid out, enabled (`tti.interactive`).
    browser.goto(&format!("{}/test/tti.html", worker.base_url));
    browser.wait_until(
        "the wallet form's part is fetched",
        "return !!(window.tti && window.tti.interactive) && performance.getEntriesByType('resource')\
         .some(e => e.name.includes('/pkg/split_wallet_form'))",
        WAIT,
    );
    let times = browser.script(
        "const form = performance.getEntriesByType('resource')\
           .find(e => e.name.includes('/pkg/split_wallet_form'));\
         return {asked: form.startTime, laidOut: window.tti.interactive};",
        vec![],
    );
    let at = |name: &str| times[name].as_f64().unwrap_or(f64::NAN);
    assert!(at("asked") >= at("laidOut"), "{times}");
}

#[test]
fn a_part_the_network_refuses_is_a_retryable_problem() {
    let sim = providers::start_bkash(&DevVars::of_repo(), 0);
    let options = WorkerOptions {
        vars: providers::bkash_worker_vars(&sim),
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&temp_dir("lazy-offline"), options);
    let b = Browser::start(1280, 900);
    b.goto(&format!(
        "{}/test/script-tag.html?offline-parts",
        worker.base_url
    ));
    b.click(&b.wait_for("[data-testid=method-bkash]", WAIT));
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    let error = b.wait_for("[data-testid=error-message]", WAIT);
    assert_eq!(
        b.attribute(&error, "data-code").as_deref(),
        Some("internal_error")
    );
    // The error messages are a part too, refused as well: the notice still says what to do.
    wait_for_connection_advice(&b);
    assert!(
        b.find("[data-testid=pay-button]").is_some(),
        "the widget is still there"
    );

    b.script("window.partsOnline = true;", vec![]);
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    // The retry loads the parts and pays: the shopper is at bKash's page.
    b.wait_for("[data-testid=wallet-number]", WAIT);
}

#[test]
fn error_words_the_network_refuses_are_not_fetched_in_a_loop() {
    let worker = WorkerProcess::start(&temp_dir("lazy-words-offline"));
    let b = Browser::start(1280, 900);
    b.goto(&format!(
        "{}/test/script-tag.html?offline-parts&wrong-secret",
        worker.base_url
    ));
    // The edge refuses the secret: an API error, whose words are in a part the network refuses.
    b.wait_for("[data-testid=error-message]", WAIT);
    wait_for_connection_advice(&b);
    std::thread::sleep(Duration::from_millis(1500));
    let asked = b.script(
        "return window.partRequests.filter(n => n.startsWith('split_error_words')).length",
        vec![],
    );
    let asked = asked.as_u64().unwrap_or(u64::MAX);
    // The first view's ask, the error report's, and the prefetch's at most.
    assert!(
        (1..=3).contains(&asked),
        "the error words were requested {asked} times"
    );
}

/// Waits until the error notice tells the shopper to check their connection: the words the
/// widget has without any part.
fn wait_for_connection_advice(b: &Browser) {
    b.wait_until(
        "the notice explains",
        "const root = document.querySelector('#checkout').shadowRoot;\
         return root.querySelector('[data-testid=error-message]').textContent\
         .includes('Check your connection');",
        WAIT,
    );
}

/// The loader sends the widget's first two calls itself, so they travel while the WebAssembly
/// downloads and compiles: the token request leaves before the wasm is asked for, and each call is
/// made once (the widget reads the loader's answers rather than asking again).
#[test]
fn the_loader_sends_the_first_calls_while_the_widget_loads_and_each_once() {
    let worker = WorkerProcess::start(&temp_dir("lazy-first-calls"));
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{}/test/script-tag.html", worker.base_url));
    browser.wait_for("[data-testid=pay-button]", WAIT);
    let calls = browser.script(
        "const all = performance.getEntriesByType('resource');\
         const of = (part) => all.filter(e => e.name.includes(part));\
         return {tokens: of('/v1/widget/token').length, reads: of('/v1/widget/sessions/').length,\
                 tokenFirst: of('/v1/widget/token')[0].startTime\
                   <= of('checkout_widget_bg.wasm')[0].startTime};",
        vec![],
    );
    assert_eq!(calls["tokens"], json!(1), "{calls}");
    assert_eq!(calls["reads"], json!(1), "{calls}");
    assert_eq!(calls["tokenFirst"], json!(true), "{calls}");
}
