//! `cargo xtask dev`: the demo shop on this machine, from nothing.

use checkout_simulators::bkash::{RICH_WALLET, SANDBOX_OTP, SANDBOX_PIN};
use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::providers;
use checkout_tests::worker::{Profile, WorkerOptions, WorkerProcess};
use serde_json::json;

use crate::shell::{root, Result};
use crate::{build, setup};

/// The port the demo shop listens on, unless `CHECKOUT_PORT` says otherwise.
const DEFAULT_PORT: u16 = 8787;
const DEMO_CUSTOMER: &str = "cus_demo";
const DEMO_PAY_PASSWORD: &str = "123456";

pub fn run() -> Result {
    setup::run(setup::Needs::Dev)?;
    build::run()?;
    let port = std::env::var("CHECKOUT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    let persist_dir = root().join(".state/dev");
    // The provider simulators run beside the Worker, so the demo shop can pay with bKash,
    // WeChat Pay and cards (Stripe) offline.
    let vars = DevVars::of_repo();
    let bkash = providers::start_bkash(&vars, port + 1);
    let wechat = providers::start_wechat(&vars, port + 2);
    let stripe = providers::start_stripe(port + 3);
    stripe.send_webhooks_to(&format!("http://127.0.0.1:{port}"));
    let mut worker_vars = providers::bkash_worker_vars(&bkash);
    worker_vars.extend(providers::wechat_worker_vars(&wechat));
    worker_vars.extend(providers::stripe_worker_vars(&stripe));
    // The demo shop's routes are on (`CHECKOUT_DEMO=1`); the test pages are not served.
    let options = WorkerOptions {
        profile: Profile::Dev,
        port: Some(port),
        vars: worker_vars,
        foreground: true,
    };
    let mut worker = WorkerProcess::start_with(&persist_dir, options);
    seed(&Client::new(&worker.base_url))?;
    println!();
    println!("  Demo shop:      {}/", worker.base_url);
    println!("  Pay password:   {DEMO_PAY_PASSWORD} (customer {DEMO_CUSTOMER}, 5,000.00 BDT and 500.00 CNY store balance, 2,000 points)");
    println!(
        "  bKash sandbox:  {} (wallet {RICH_WALLET}, OTP {SANDBOX_OTP}, PIN {SANDBOX_PIN})",
        bkash.origin()
    );
    println!(
        "  WeChat Pay:     {} (scan page /scan, H5 page /h5pay; the QR's code_url opens on /scan)",
        wechat.origin()
    );
    println!(
        "  Stripe (cards): {} (card 4242 4242 4242 4242, any future expiry, any CVC; 4000 0025 0000 3155 for 3-D Secure; keys {} / {})",
        stripe.origin(),
        stripe.secret_key(),
        stripe.webhook_secret()
    );
    println!("  Worker log:     {}", worker.log_path.display());
    println!(
        "  Data:           {} (delete it to start over)",
        persist_dir.display()
    );
    println!("  Stop with Ctrl-C.");
    worker.wait();
    Ok(())
}

/// Funds the demo customer once (the credit reference makes it idempotent) and sets the demo
/// pay password.
fn seed(client: &Client) -> Result {
    let vars = DevVars::of_repo();
    let key = &vars.demo_merchant_key;
    let credit = client
        .call(
            "POST",
            format!("/v1/customers/{DEMO_CUSTOMER}/balance_credits"),
        )
        .bearer(key)
        .json(&json!({"amount": "5000.00", "currency": "BDT", "reference": "demo-seed-1"}));
    let yuan = client
        .call(
            "POST",
            format!("/v1/customers/{DEMO_CUSTOMER}/balance_credits"),
        )
        .bearer(key)
        .json(&json!({"amount": "500.00", "currency": "CNY", "reference": "demo-seed-cny-1"}));
    let password = client
        .call("PUT", format!("/v1/customers/{DEMO_CUSTOMER}/pay_password"))
        .bearer(key)
        .json(&json!({"pay_password": DEMO_PAY_PASSWORD}));
    let points = client
        .call(
            "POST",
            format!("/v1/customers/{DEMO_CUSTOMER}/points_credits"),
        )
        .bearer(key)
        .json(&json!({"points": 2000, "reference": "demo-seed-1"}));
    for reply in [credit, yuan, password, points] {
        if reply.status != 200 {
            return Err(format!(
                "seeding the demo failed: {} {}",
                reply.status, reply.body
            ));
        }
    }
    Ok(())
}
