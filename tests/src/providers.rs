//! The provider simulators, started with the credentials in `.dev.vars`, and the Worker variables
//! that point the Worker at them. Used by the tests and by `cargo xtask dev`.

use std::time::Duration;

use checkout_simulators::bkash::{BkashSimulator, RunningBkash, SimConfig};
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
