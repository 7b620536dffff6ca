//! Browser: back from bKash, the widget resumes from the session's real status, not from the
//! URL or from what a tab last showed. Approving bKash's page in another tab ends paid there,
//! and the first tab shows paid once reloaded; a reload after a canceled attempt shows the
//! session still open with the reason, and a stale tab left on the pay form shows paid after a
//! reload once another tab has paid.

use std::time::Duration;

use checkout_simulators::bkash::{RunningBkash, RICH_WALLET, SANDBOX_PIN};
use checkout_tests::providers;
use checkout_tests::shop::BrowserShop;
use checkout_tests::webdriver::Browser;

const WAIT: Duration = Duration::from_secs(25);

/// The demo shop with bKash (through the simulator) and a browser.
type Shop = BrowserShop<RunningBkash>;

/// Buys the tea set with bKash in the current tab (on the shop): the tab ends on bKash's page.
fn buy_with_bkash(shop: &Shop) {
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=buy-button]", WAIT));
    pay_with_bkash(shop);
}

/// Chooses bKash in the widget on the page and pays: the tab goes to bKash's page.
fn pay_with_bkash(shop: &Shop) {
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=method-bkash]", WAIT));
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    b.wait_for("[data-testid=wallet-number]", WAIT);
}

/// Approves the payment on bKash's page in the current tab.
fn approve(shop: &Shop) {
    providers::approve_on_bkash_page(&shop.browser, RICH_WALLET, SANDBOX_PIN);
}

fn url(shop: &Shop) -> String {
    let href = shop.browser.script("return location.href", vec![]);
    href.as_str().expect("the page's address").to_owned()
}

/// The widget on the page shows the paid result and no pay form.
#[track_caller]
fn assert_paid(shop: &Shop) {
    let b = &shop.browser;
    b.wait_for("[data-testid=result-success]", WAIT);
    assert!(b.find("[data-testid=pay-button]").is_none());
}

#[test]
fn bkash_approved_in_a_new_tab_shows_paid_there_and_in_the_first_tab_after_a_reload() {
    let shop = Shop::bkash("browser-resume-new-tab", 1280);
    let b = &shop.browser;
    buy_with_bkash(&shop);
    let bkash_page = url(&shop);

    let first_tab = b.open_tab();
    b.goto(&bkash_page);
    approve(&shop);
    assert_paid(&shop);
    let returned = url(&shop);
    let id = shop.returned_session_id();
    assert_eq!(shop.merchant_view(&id)["status"], "paid");

    // The first tab still shows bKash's page; going back to the shop shows the real status.
    b.switch_to(&first_tab);
    b.goto(&returned);
    assert_paid(&shop);
    b.goto(&returned);
    assert_paid(&shop);
}

#[test]
fn a_reload_after_a_canceled_attempt_shows_the_open_session_and_a_stale_tab_catches_up() {
    let shop = Shop::bkash("browser-resume-reload", 1280);
    let b = &shop.browser;
    buy_with_bkash(&shop);
    b.click(&b.wait_for("[data-testid=cancel]", WAIT));
    let canceled = |b: &Browser| {
        let text = b.wait_for_text("[data-testid=error-message]", WAIT);
        assert!(text.contains("canceled"), "{text}");
        b.wait_for("[data-testid=pay-button]", WAIT);
        assert!(b.find("[data-testid=result-success]").is_none());
    };
    canceled(b);
    let returned = url(&shop);
    let id = shop.returned_session_id();

    // A reload mid-way: still open, with the reason, ready to pay again.
    b.goto(&returned);
    canceled(b);
    assert_eq!(shop.merchant_view(&id)["status"], "open");

    // Another tab pays the same session while this one sits on the pay form.
    let first_tab = b.open_tab();
    b.goto(&returned);
    pay_with_bkash(&shop);
    approve(&shop);
    assert_paid(&shop);
    assert_eq!(shop.merchant_view(&id)["status"], "paid");

    b.switch_to(&first_tab);
    b.wait_for("[data-testid=pay-button]", WAIT);
    b.goto(&returned);
    assert_paid(&shop);
}
