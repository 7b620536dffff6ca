//! The provider simulators, started with the credentials in `.dev.vars`, and the Worker variables
//! that point the Worker at them. Used by the tests and by `cargo xtask dev`.

use std::time::Duration;

use checkout_simulators::bkash::{BkashSimulator, RunningBkash, SimConfig};
use checkout_simulators::stripe::{RunningStripe, StripeSimConfig, StripeSimulator};
use checkout_simulators::wechat::{RunningWechat, WechatSimConfig, WechatSimulator};

use crate::dev_vars::DevVars;
use crate::webdriver::Browser;

/// A bKash simulator on `port` (0: a free one) accepting the Worker's dev credentials.
pub fn start_bkash(vars: &DevVars, port: u16) -> RunningBkash {
    BkashSimulator::start(SimConfig {
        username: vars.bkash.username.clone(),
        password: vars.bkash.password.clone(),
        app_key: vars.bkash.app_key.clone(),
        app_secret: vars.bkash.app_secret.clone(),
        port,
        ..SimConfig::default()
    })
}

/// `BKASH_TEST_BASE_URL` and friends for a Worker whose test sessions talk to `sim` (the
/// sandbox credentials are in `.dev.vars`).
pub fn bkash_worker_vars(sim: &RunningBkash) -> Vec<(String, String)> {
    vec![
        ("BKASH_TEST_BASE_URL".into(), sim.base_url()),
        // Short enough that a simulated hang ends a test in seconds, not half a minute.
        ("BKASH_TIMEOUT_MS".into(), "3000".into()),
    ]
}

/// A WeChat Pay simulator on `port` (0: a free one) holding the dev platform keys and accepting
/// the Worker's merchant signatures.
pub fn start_wechat(vars: &DevVars, port: u16) -> RunningWechat {
    WechatSimulator::start(wechat_config(vars, port))
}

/// As [`start_wechat`], retrying unacknowledged notifications every `gap` instead of on
/// WeChat's day-long schedule, so tests see retries within seconds.
pub fn start_wechat_with_retries(vars: &DevVars, port: u16, gap: Duration) -> RunningWechat {
    let mut config = wechat_config(vars, port);
    config.retry_schedule = vec![gap; 15];
    WechatSimulator::start(config)
}

fn wechat_config(vars: &DevVars, port: u16) -> WechatSimConfig {
    let keys = &vars.wechat;
    let mut config = WechatSimConfig::new(
        keys.mchid.clone(),
        keys.appid.clone(),
        keys.merchant_serial_no.clone(),
        keys.merchant_public_key_pem.clone(),
        keys.platform_private_key_pem.clone(),
        keys.platform_public_key_id.clone(),
        keys.api_v3_key.clone(),
    );
    config.port = port;
    config
}

/// `WECHATPAY_TEST_BASE_URL` and friends for a Worker whose test sessions talk to `sim`; the
/// keys are in `.dev.vars`.
pub fn wechat_worker_vars(sim: &RunningWechat) -> Vec<(String, String)> {
    vec![
        ("WECHATPAY_TEST_BASE_URL".into(), sim.base_url()),
        ("WECHATPAY_TIMEOUT_MS".into(), "3000".into()),
    ]
}

/// A Stripe simulator, with what a Worker needs to talk to it: its base URL (replacing
/// `https://api.stripe.com`), its secret key and its webhook signing secret. It derefs to the
/// simulator for the test controls (faults, `pay`, snapshots, events, deliveries).
pub struct Stripe {
    pub sim: RunningStripe,
}

impl Stripe {
    /// `http://127.0.0.1:PORT`, what `STRIPE_BASE_URL` points at.
    pub fn base_url(&self) -> String {
        self.sim.base_url()
    }

    /// The `sk_test_...` key the simulator accepts.
    pub fn secret_key(&self) -> &str {
        self.sim.secret_key()
    }

    /// The `whsec_...` secret webhooks are signed with.
    pub fn webhook_secret(&self) -> &str {
        self.sim.webhook_secret()
    }

    /// Sends events to a Worker's Stripe notification route, `{worker}/v1/notifications/stripe`.
    pub fn send_webhooks_to(&self, worker_base_url: &str) {
        let url = format!(
            "{}/v1/notifications/stripe",
            worker_base_url.trim_end_matches('/')
        );
        self.sim.set_webhook_endpoint(Some(&url));
    }
}

impl std::ops::Deref for Stripe {
    type Target = RunningStripe;

    fn deref(&self) -> &RunningStripe {
        &self.sim
    }
}

/// `STRIPE_TEST_BASE_URL` and friends for a Worker whose test sessions take cards through `sim`.
/// The simulator's keys are its own fixed test values (not secrets), so they are passed as
/// variables rather than kept in `.dev.vars`.
pub fn stripe_worker_vars(sim: &Stripe) -> Vec<(String, String)> {
    vec![
        ("STRIPE_TEST_BASE_URL".into(), sim.base_url()),
        ("STRIPE_TEST_SECRET_KEY".into(), sim.secret_key().to_owned()),
        (
            "STRIPE_TEST_WEBHOOK_SECRET".into(),
            sim.webhook_secret().to_owned(),
        ),
        ("STRIPE_TIMEOUT_MS".into(), "3000".into()),
    ]
}

/// A Stripe simulator on `port` (0: a free one) with the simulator's default test keys
/// (`checkout_simulators::stripe::DEFAULT_SECRET_KEY`, `DEFAULT_WEBHOOK_SECRET`), retrying
/// unacknowledged webhooks 2 s apart, doubling, 6 times in all.
pub fn start_stripe(port: u16) -> Stripe {
    start_stripe_with(StripeSimConfig {
        port,
        retry_base: Duration::from_secs(2),
        ..StripeSimConfig::default()
    })
}

/// As [`start_stripe`], retrying unacknowledged webhooks `gap` apart (doubling) so tests see
/// retries within seconds.
pub fn start_stripe_with_retries(port: u16, gap: Duration) -> Stripe {
    start_stripe_with(StripeSimConfig {
        port,
        retry_base: gap,
        ..StripeSimConfig::default()
    })
}

/// A Stripe simulator with any configuration (other keys, timings, an endpoint).
pub fn start_stripe_with(config: StripeSimConfig) -> Stripe {
    Stripe {
        sim: StripeSimulator::start(config),
    }
}

/// The shopper's steps on the Stripe simulator's hosted page, in the browser's current tab:
/// card number, expiry (`MM / YY`), CVC and name, then Pay. The field ids are Stripe Checkout's
/// (`cardNumber`, `cardExpiry`, `cardCvc`, `billingName`, `submit`).
pub fn pay_on_stripe_page(browser: &Browser, card: &str, expiry: &str, cvc: &str) {
    const WAIT: Duration = Duration::from_secs(25);
    let b = browser;
    b.type_text(&b.wait_for("#cardNumber", WAIT), card);
    b.type_text(&b.wait_for("#cardExpiry", WAIT), expiry);
    b.type_text(&b.wait_for("#cardCvc", WAIT), cvc);
    b.type_text(&b.wait_for("#billingName", WAIT), "Test Shopper");
    b.click(&b.wait_for("#submit", WAIT));
}

/// Completes (`passed`) or fails the 3-D Secure test challenge the hosted page led to.
pub fn answer_stripe_challenge(browser: &Browser, passed: bool) {
    let id = if passed {
        "#test-source-authorize-3ds"
    } else {
        "#test-source-fail-3ds"
    };
    browser.click(&browser.wait_for(id, Duration::from_secs(25)));
}

/// The shopper's steps on the bKash simulator's hosted page, in the browser's current tab:
/// wallet number, the sandbox code, `pin`, confirm.
pub fn approve_on_bkash_page(browser: &Browser, wallet: &str, pin: &str) {
    const WAIT: Duration = Duration::from_secs(25);
    let b = browser;
    b.type_text(&b.wait_for("[data-testid=wallet-number]", WAIT), wallet);
    b.type_text(
        &b.wait_for("[data-testid=otp]", WAIT),
        checkout_simulators::bkash::SANDBOX_OTP,
    );
    b.type_text(&b.wait_for("[data-testid=pin]", WAIT), pin);
    b.click(&b.wait_for("[data-testid=confirm]", WAIT));
}
