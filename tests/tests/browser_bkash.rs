//! Browser: the demo shop paid with bKash through the simulator's hosted page, in headless
//! Chromium: the redirect out, the shopper's choice there, and the widget's view on return.

use std::time::Duration;

use checkout_simulators::bkash::RunningBkash;
use checkout_simulators::bkash::{LOW_BALANCE_WALLET, RICH_WALLET, SANDBOX_PIN};
use checkout_tests::providers;
use checkout_tests::shop::BrowserShop;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(25);

type Shop = BrowserShop<RunningBkash>;

/// The demo shop with bKash, the shopper already sent to bKash's page for the tea set.
fn at_bkash_page(label: &str, width: u32) -> Shop {
    let shop = Shop::bkash(label, width);
    shop.choose("buy-button", "method-bkash");
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    b.wait_for("[data-testid=wallet-number]", WAIT);
    shop
}

fn approve_with(shop: &Shop, wallet: &str, pin: &str) {
    providers::approve_on_bkash_page(&shop.browser, wallet, pin);
}

/// The merchant's status of the session the shop got back on return.
fn merchant_status(shop: &Shop) -> Value {
    shop.merchant_view(&shop.returned_session_id())["status"].clone()
}

#[test]
fn a_shopper_pays_with_bkash_and_returns_to_a_paid_order() {
    let shop = at_bkash_page("browser-bkash-success", 375);
    shop.screenshot("bkash-page-375");
    approve_with(&shop, RICH_WALLET, SANDBOX_PIN);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    let status = shop.browser.wait_for("[data-testid=merchant-status]", WAIT);
    assert_eq!(shop.browser.text(&status), "PAID");
    assert_eq!(merchant_status(&shop), "paid");
    shop.screenshot("bkash-returned-paid-375");
}

#[test]
fn a_wrong_pin_at_bkash_can_be_corrected_and_then_pays() {
    let shop = at_bkash_page("browser-bkash-wrong-pin", 1280);
    approve_with(&shop, RICH_WALLET, "99999");
    // bKash's page says so and stays; nothing went back to the shop. Waiting for the error, which
    // only the re-rendered page has, keeps the next step off the old page's fields.
    shop.browser.wait_for("[data-testid=error]", WAIT);
    approve_with(&shop, RICH_WALLET, SANDBOX_PIN);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    assert_eq!(merchant_status(&shop), "paid");
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
    assert_eq!(merchant_status(&shop), "open");
    shop.screenshot("bkash-returned-canceled-1280");
}

#[test]
fn a_wallet_with_too_little_money_fails_and_nothing_is_paid() {
    let shop = at_bkash_page("browser-bkash-low-balance", 1280);
    approve_with(&shop, LOW_BALANCE_WALLET, SANDBOX_PIN);
    let notice = shop
        .browser
        .wait_for_text("[data-testid=error-message]", WAIT);
    assert!(notice.contains("declined"), "{notice}");
    assert_eq!(merchant_status(&shop), "open");
    // The shopper can still pay another way: the pay button is there again.
    shop.browser.wait_for("[data-testid=pay-button]", WAIT);
}
