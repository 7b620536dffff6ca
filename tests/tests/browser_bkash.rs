//! Browser: the demo shop paid with bKash through the simulator's hosted page, in headless
//! Chromium: the redirect out, the shopper's choice there, and the widget's view on return.

use std::time::Duration;

use checkout_simulators::bkash::RunningBkash;
use checkout_simulators::bkash::{LOW_BALANCE_WALLET, RICH_WALLET, SANDBOX_PIN};
use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{providers, repo_root, temp_dir};

const WAIT: Duration = Duration::from_secs(25);

struct Shop {
    _sim: RunningBkash,
    worker: WorkerProcess,
    browser: Browser,
}

/// The demo shop with bKash, the shopper already sent to bKash's page for the tea set.
fn at_bkash_page(label: &str, width: u32) -> Shop {
    let sim = providers::start_bkash(&DevVars::of_repo(), 0);
    let options = WorkerOptions {
        vars: providers::bkash_worker_vars(&sim),
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&temp_dir(label), options);
    let browser = Browser::start(width, 900);
    browser.goto(&format!("{}/", worker.base_url));
    browser.click(&browser.wait_for("[data-testid=buy-button]", WAIT));
    browser.click(&browser.wait_for("[data-testid=method-bkash]", WAIT));
    browser.click(&browser.wait_for("[data-testid=pay-button]", WAIT));
    browser.wait_for("[data-testid=wallet-number]", WAIT);
    Shop {
        _sim: sim,
        worker,
        browser,
    }
}

impl Shop {
    fn approve_with(&self, wallet: &str, pin: &str) {
        providers::approve_on_bkash_page(&self.browser, wallet, pin);
    }

    fn merchant_status(&self) -> String {
        let key = DevVars::of_repo().demo_merchant_key;
        let client = Client::new(&self.worker.base_url);
        let session_id = self.browser.script(
            "return new URLSearchParams(location.search).get('checkout_session')",
            vec![],
        );
        let id = session_id
            .as_str()
            .expect("back on the shop with the session id");
        let view = client
            .call("GET", format!("/v1/checkout_sessions/{id}"))
            .bearer(&key)
            .send()
            .expect_status(200);
        view.body["status"].as_str().unwrap_or_default().to_owned()
    }

    fn screenshot(&self, name: &str) {
        let path = repo_root().join(format!("artifacts/screenshots/{name}.png"));
        self.browser.screenshot(&path);
    }
}

#[test]
fn a_shopper_pays_with_bkash_and_returns_to_a_paid_order() {
    let shop = at_bkash_page("browser-bkash-success", 375);
    shop.screenshot("bkash-page-375");
    shop.approve_with(RICH_WALLET, SANDBOX_PIN);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    let status = shop.browser.wait_for("[data-testid=merchant-status]", WAIT);
    assert_eq!(shop.browser.text(&status), "PAID");
    assert_eq!(shop.merchant_status(), "paid");
    shop.screenshot("bkash-returned-paid-375");
}

#[test]
fn a_wrong_pin_at_bkash_can_be_corrected_and_then_pays() {
    let shop = at_bkash_page("browser-bkash-wrong-pin", 1280);
    shop.approve_with(RICH_WALLET, "99999");
    // bKash's page says so and stays; nothing went back to the shop. Waiting for the error, which
    // only the re-rendered page has, keeps the next step off the old page's fields.
    shop.browser.wait_for("[data-testid=error]", WAIT);
    shop.approve_with(RICH_WALLET, SANDBOX_PIN);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    assert_eq!(shop.merchant_status(), "paid");
}

#[test]
fn a_cancel_at_bkash_returns_to_an_open_order_with_the_reason() {
    let shop = at_bkash_page("browser-bkash-cancel", 1280);
    shop.browser
        .click(&shop.browser.wait_for("[data-testid=cancel]", WAIT));
    let notice = shop
        .browser
        .wait_for_text("[data-testid=error-message]", WAIT);
    assert!(notice.contains("canceled"), "{notice}");
    assert!(shop.browser.find("[data-testid=result-success]").is_none());
    assert_eq!(shop.merchant_status(), "open");
    shop.screenshot("bkash-returned-canceled-1280");
}

#[test]
fn a_wallet_with_too_little_money_fails_and_nothing_is_paid() {
    let shop = at_bkash_page("browser-bkash-low-balance", 1280);
    shop.approve_with(LOW_BALANCE_WALLET, SANDBOX_PIN);
    let notice = shop
        .browser
        .wait_for_text("[data-testid=error-message]", WAIT);
    assert!(notice.contains("declined"), "{notice}");
    assert_eq!(shop.merchant_status(), "open");
    // The shopper can still pay another way: the pay button is there again.
    shop.browser.wait_for("[data-testid=pay-button]", WAIT);
}
