//! Browser: a shopper buys in the demo shop through the embedded widget, in headless Chromium.

use std::time::Duration;

use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::WorkerProcess;
use checkout_tests::{repo_root, temp_dir};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

fn seed_demo_customer(client: &Client, balance: &str) {
    let key = DevVars::of_repo().demo_merchant_key;
    client
        .call("POST", "/v1/customers/cus_demo/balance_credits")
        .bearer(&key)
        .json(&json!({"amount": balance, "currency": "BDT", "reference": "browser-seed"}))
        .expect_status(200);
    client
        .call("PUT", "/v1/customers/cus_demo/pay_password")
        .bearer(&key)
        .json(&json!({"pay_password": "123456"}))
        .expect_status(200);
}

/// The demo customer's available store balance, as the merchant API reports it.
fn demo_available(client: &Client) -> String {
    let key = DevVars::of_repo().demo_merchant_key;
    let wallet = client
        .call("GET", "/v1/customers/cus_demo/wallet")
        .bearer(&key)
        .send()
        .expect_status(200);
    wallet.body["balances"][0]["available"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_shopper_buys_with_store_balance_and_the_merchant_sees_it_paid() {
    let worker = WorkerProcess::start(&temp_dir("browser-buy"));
    let client = Client::new(&worker.base_url);
    seed_demo_customer(&client, "5000.00");
    let browser = Browser::start(1280, 900);

    browser.goto(&format!("{}/", worker.base_url));
    browser.click(&browser.wait_for("[data-testid=buy-button]", WAIT));
    let amount = browser.wait_for("[data-testid=order-amount]", WAIT);
    assert!(
        browser.text(&amount).contains("1,250.00"),
        "{}",
        browser.text(&amount)
    );
    let available = browser.wait_for("[data-testid=balance-available]", WAIT);
    assert!(
        browser.text(&available).contains("5,000.00"),
        "{}",
        browser.text(&available)
    );

    let frame = browser.wait_for("[data-testid=pay-password-frame]", WAIT);
    browser.type_pay_password(&frame, "123456");
    browser.click(&browser.wait_for("[data-testid=pay-button]", WAIT));
    browser.wait_for("[data-testid=result-success]", WAIT);

    let merchant_status = browser.wait_for("[data-testid=merchant-status]", WAIT);
    browser.wait_until(
        "the merchant panel to show the order paid",
        "const el = document.querySelector('[data-testid=merchant-status]'); \
         return !!el && /paid/i.test(el.textContent);",
        WAIT,
    );
    assert!(browser
        .text(&merchant_status)
        .to_lowercase()
        .contains("paid"));
    browser.screenshot(&repo_root().join("artifacts/screenshots/demo-shop-paid-1280.png"));

    assert_eq!(demo_available(&client), "3750.00");
}

#[test]
fn a_wrong_pay_password_shows_the_attempts_left_and_nothing_is_paid() {
    let worker = WorkerProcess::start(&temp_dir("browser-wrong-password"));
    let client = Client::new(&worker.base_url);
    seed_demo_customer(&client, "5000.00");
    let browser = Browser::start(375, 812);

    browser.goto(&format!("{}/", worker.base_url));
    browser.click(&browser.wait_for("[data-testid=buy-button]", WAIT));
    let frame = browser.wait_for("[data-testid=pay-password-frame]", WAIT);
    browser.type_pay_password(&frame, "000000");
    browser.click(&browser.wait_for("[data-testid=pay-button]", WAIT));
    let attempts = browser.wait_for("[data-testid=attempts-left]", WAIT);
    assert!(
        browser.text(&attempts).contains('4'),
        "{}",
        browser.text(&attempts)
    );
    browser.screenshot(&repo_root().join("artifacts/screenshots/demo-shop-wrong-password-375.png"));
    assert!(browser.find("[data-testid=result-success]").is_none());

    assert_eq!(demo_available(&client), "5000.00");
}

#[test]
fn one_script_tag_with_a_client_secret_embeds_a_working_widget() {
    let worker = WorkerProcess::start(&temp_dir("browser-embed"));
    let client = Client::new(&worker.base_url);
    seed_demo_customer(&client, "2000.00");
    let browser = Browser::start(1280, 900);

    browser.goto(&format!("{}/embed.html", worker.base_url));
    let amount = browser.wait_for("[data-testid=order-amount]", WAIT);
    assert!(browser.text(&amount).contains("1,250.00"));
    let frame = browser.wait_for("[data-testid=pay-password-frame]", WAIT);
    browser.type_pay_password(&frame, "123456");
    browser.click(&browser.wait_for("[data-testid=pay-button]", WAIT));
    browser.wait_for("[data-testid=result-success]", WAIT);
    browser.screenshot(&repo_root().join("artifacts/screenshots/embed-script-tag-paid-1280.png"));
}
