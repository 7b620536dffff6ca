//! Browser: a mixed payment in the demo shop (points, store balance and bKash for the rest) ends
//! paid, and the wallet and the session agree.

use std::time::Duration;

use checkout_simulators::bkash::{RICH_WALLET, SANDBOX_PIN};
use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{providers, repo_root, temp_dir};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(25);

#[test]
fn points_balance_and_bkash_pay_one_order_in_the_demo_shop() {
    let vars = DevVars::of_repo();
    let sim = providers::start_bkash(&vars, 0);
    let options = WorkerOptions {
        vars: providers::bkash_worker_vars(&sim),
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&temp_dir("browser-split"), options);
    let client = Client::new(&worker.base_url);
    let key = vars.demo_merchant_key.clone();
    let admin = |method: &str, path: &str, body: serde_json::Value| {
        client
            .call(method, path)
            .bearer(&key)
            .json(&body)
            .expect_status(200)
    };
    admin(
        "POST",
        "/v1/customers/cus_demo/balance_credits",
        json!({"amount": "500.00", "currency": "BDT", "reference": "s"}),
    );
    admin(
        "PUT",
        "/v1/customers/cus_demo/pay_password",
        json!({"pay_password": "123456"}),
    );
    admin(
        "POST",
        "/v1/customers/cus_demo/points_credits",
        json!({"points": 2000, "reference": "s"}),
    );

    let b = Browser::start(1280, 1000);
    b.goto(&format!("{}/", worker.base_url));
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
        "123456",
    );
    b.screenshot(&repo_root().join("artifacts/screenshots/split-editor-1280.png"));
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));

    providers::approve_on_bkash_page(&b, RICH_WALLET, SANDBOX_PIN);
    b.wait_for("[data-testid=result-success]", WAIT);
    let status = b.wait_for("[data-testid=merchant-status]", WAIT);
    assert_eq!(b.text(&status), "PAID");

    let wallet = client
        .call("GET", "/v1/customers/cus_demo/wallet")
        .bearer(&key)
        .send()
        .expect_status(200);
    assert_eq!(wallet.body["points"], json!({"available": 0, "held": 0}));
    assert_eq!(wallet.body["balances"][0]["available"], "0.00");
    assert_eq!(wallet.body["balances"][0]["held"], "0.00");
    let session_id = b.script(
        "return new URLSearchParams(location.search).get('checkout_session')",
        vec![],
    );
    let session = client
        .call(
            "GET",
            format!("/v1/checkout_sessions/{}", session_id.as_str().unwrap()),
        )
        .bearer(&key)
        .send()
        .expect_status(200);
    assert_eq!(session.body["status"], "paid");
    assert_eq!(session.body["amount_paid"], "1250.00");
    assert_eq!(session.body["payments"][0]["points"], 2000);
}
