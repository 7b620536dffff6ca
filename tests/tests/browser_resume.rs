//! Browser: back from bKash, the widget resumes from the session's real status, not from the
//! URL or from what a tab last showed. Approving bKash's page in another tab ends paid there,
//! and the first tab shows paid once reloaded; a reload after a canceled attempt shows the
//! session still open with the reason, and a stale tab left on the pay form shows paid after a
//! reload once another tab has paid.

use std::time::Duration;

use checkout_simulators::bkash::{RunningBkash, RICH_WALLET, SANDBOX_PIN};
use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{providers, temp_dir};

const WAIT: Duration = Duration::from_secs(25);

/// The demo shop with bKash (through the simulator) and a browser.
struct Shop {
    _sim: RunningBkash,
    worker: WorkerProcess,
    browser: Browser,
}

impl Shop {
    fn start(label: &str) -> Shop {
        let sim = providers::start_bkash(&DevVars::of_repo(), 0);
        let options = WorkerOptions {
            vars: providers::bkash_worker_vars(&sim),
            ..WorkerOptions::default()
        };
        let worker = WorkerProcess::start_with(&temp_dir(label), options);
        Shop {
            _sim: sim,
            worker,
            browser: Browser::start(1280, 900),
        }
    }

    /// Buys the tea set with bKash in the current tab: the tab ends on bKash's page.
    fn buy_with_bkash(&self) {
        let b = &self.browser;
        b.goto(&format!("{}/", self.worker.base_url));
        b.click(&b.wait_for("[data-testid=buy-button]", WAIT));
        self.pay_with_bkash();
    }

    /// Chooses bKash in the widget on the page and pays: the tab goes to bKash's page.
    fn pay_with_bkash(&self) {
        let b = &self.browser;
        b.click(&b.wait_for("[data-testid=method-bkash]", WAIT));
        b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
        b.wait_for("[data-testid=wallet-number]", WAIT);
    }

    /// Approves the payment on bKash's page in the current tab.
    fn approve(&self) {
        providers::approve_on_bkash_page(&self.browser, RICH_WALLET, SANDBOX_PIN);
    }

    fn url(&self) -> String {
        let href = self.browser.script("return location.href", vec![]);
        href.as_str().expect("the page's address").to_owned()
    }

    /// The session id the shop was sent back with.
    fn returned_session(&self) -> String {
        let id = self.browser.script(
            "return new URLSearchParams(location.search).get('checkout_session')",
            vec![],
        );
        id.as_str()
            .expect("back on the shop with the session id")
            .to_owned()
    }

    fn merchant_status(&self, id: &str) -> String {
        let key = DevVars::of_repo().demo_merchant_key;
        let view = Client::new(&self.worker.base_url)
            .call("GET", format!("/v1/checkout_sessions/{id}"))
            .bearer(&key)
            .send()
            .expect_status(200);
        view.body["status"].as_str().unwrap_or_default().to_owned()
    }

    /// The widget on the page shows the paid result and no pay form.
    #[track_caller]
    fn assert_paid(&self) {
        let b = &self.browser;
        b.wait_for("[data-testid=result-success]", WAIT);
        assert!(b.find("[data-testid=pay-button]").is_none());
    }
}

#[test]
fn bkash_approved_in_a_new_tab_shows_paid_there_and_in_the_first_tab_after_a_reload() {
    let shop = Shop::start("browser-resume-new-tab");
    let b = &shop.browser;
    shop.buy_with_bkash();
    let bkash_page = shop.url();

    let first_tab = b.open_tab();
    b.goto(&bkash_page);
    shop.approve();
    shop.assert_paid();
    let returned = shop.url();
    let id = shop.returned_session();
    assert_eq!(shop.merchant_status(&id), "paid");

    // The first tab still shows bKash's page; going back to the shop shows the real status.
    b.switch_to(&first_tab);
    b.goto(&returned);
    shop.assert_paid();
    b.goto(&returned);
    shop.assert_paid();
}

#[test]
fn a_reload_after_a_canceled_attempt_shows_the_open_session_and_a_stale_tab_catches_up() {
    let shop = Shop::start("browser-resume-reload");
    let b = &shop.browser;
    shop.buy_with_bkash();
    b.click(&b.wait_for("[data-testid=cancel]", WAIT));
    let canceled = |b: &Browser| {
        let text = b.wait_for_text("[data-testid=error-message]", WAIT);
        assert!(text.contains("canceled"), "{text}");
        b.wait_for("[data-testid=pay-button]", WAIT);
        assert!(b.find("[data-testid=result-success]").is_none());
    };
    canceled(b);
    let returned = shop.url();
    let id = shop.returned_session();

    // A reload mid-way: still open, with the reason, ready to pay again.
    b.goto(&returned);
    canceled(b);
    assert_eq!(shop.merchant_status(&id), "open");

    // Another tab pays the same session while this one sits on the pay form.
    let first_tab = b.open_tab();
    b.goto(&returned);
    shop.pay_with_bkash();
    shop.approve();
    shop.assert_paid();
    assert_eq!(shop.merchant_status(&id), "paid");

    b.switch_to(&first_tab);
    b.wait_for("[data-testid=pay-button]", WAIT);
    b.goto(&returned);
    shop.assert_paid();
}
