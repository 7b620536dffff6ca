//! Browser: a mixed payment in the demo shop (points, store balance and bKash for the rest) ends
//! paid, and the wallet and the session agree.

use std::time::Duration;

use checkout_simulators::bkash::{RICH_WALLET, SANDBOX_PIN};
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures::{Rig, PAY_PASSWORD};
use checkout_tests::shop::returned_session_id;
use checkout_tests::webdriver::Browser;
use checkout_tests::{providers, repo_root};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(25);

#[test]
fn points_balance_and_bkash_pay_one_order_in_the_demo_shop() {
    let sim = providers::start_bkash(&DevVars::of_repo(), 0);
    let rig = Rig::start_with_vars("browser-split", providers::bkash_worker_vars(&sim), &[]);
    rig.seed("cus_demo", "500.00", "BDT", 2000);

    let b = Browser::start(1280, 1000);
    b.goto(&format!("{}/", rig.worker.base_url));
    b.click(&b.wait_for("[data-testid=buy-button]", WAIT));
    b.click(&b.wait_for("[data-testid=method-bkash]", WAIT));
    b.click(&b.wait_for("[data-testid=use-points]", WAIT));
    b.click(&b.wait_for("[data-testid=use-balance]", WAIT));
    let breakdown = b.wait_for("[data-testid=split-breakdown]", WAIT);
    let text = b.text(&breakdown);
    for expected in [
        "2000 points: BDT 200.00",
        "Store balance: BDT 500.00",
        "bKash: BDT 550.00",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        PAY_PASSWORD,
    );
    b.screenshot(&repo_root().join("artifacts/screenshots/split-editor-1280.png"));
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));

    providers::approve_on_bkash_page(&b, RICH_WALLET, SANDBOX_PIN);
    b.wait_for("[data-testid=result-success]", WAIT);
    let status = b.wait_for("[data-testid=merchant-status]", WAIT);
    assert_eq!(b.text(&status), "PAID");

    let wallet = rig
        .client
        .call("GET", "/v1/customers/cus_demo/wallet")
        .bearer(&rig.key())
        .send()
        .expect_status(200);
    assert_eq!(wallet.body["points"], json!({"available": 0, "held": 0}));
    assert_eq!(wallet.body["balances"][0]["available"], "0.00");
    assert_eq!(wallet.body["balances"][0]["held"], "0.00");
    let session = rig.merchant_view(&returned_session_id(&b));
    assert_eq!(session["status"], "paid");
    assert_eq!(session["amount_paid"], "1250.00");
    assert_eq!(session["payments"][0]["points"], 2000);
}
