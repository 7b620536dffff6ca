//! The demo shop in headless Chromium with a provider simulator beside the Worker: the rig of
//! the browser tests that pay through a provider (its hosted page, QR code or pay sheet).

use std::time::Duration;

use checkout_simulators::bkash::RunningBkash;
use checkout_simulators::wechat::RunningWechat;
use serde_json::Value;

use crate::api::Client;
use crate::dev_vars::DevVars;
use crate::webdriver::Browser;
use crate::worker::{WorkerOptions, WorkerProcess};
use crate::{providers, repo_root, temp_dir};

/// How long a browser step may wait for the page.
const WAIT: Duration = Duration::from_secs(25);

/// A provider simulator, a Worker that pays through it, and a browser on the Worker's demo shop.
pub struct BrowserShop<S> {
    pub sim: S,
    pub worker: WorkerProcess,
    pub browser: Browser,
}

impl BrowserShop<RunningWechat> {
    /// The demo shop with WeChat Pay in a `width` x 900 window (with `user_agent`, when given),
    /// the shopper at the checkout of the yuan-priced gift box with WeChat Pay chosen.
    pub fn at_wechat_checkout(label: &str, width: u32, user_agent: Option<&str>) -> Self {
        let sim = providers::start_wechat(&DevVars::of_repo(), 0);
        let vars = providers::wechat_worker_vars(&sim);
        let shop = BrowserShop::open(label, sim, vars, width, user_agent);
        shop.choose("buy-cny-button", "method-wechat_pay");
        shop
    }
}

impl BrowserShop<RunningBkash> {
    /// The demo shop with bKash in a `width` x 900 window.
    pub fn bkash(label: &str, width: u32) -> Self {
        let sim = providers::start_bkash(&DevVars::of_repo(), 0);
        let vars = providers::bkash_worker_vars(&sim);
        BrowserShop::open(label, sim, vars, width, None)
    }
}

impl<S> BrowserShop<S> {
    /// A Worker with `vars` beside `sim`, and a browser on its demo shop.
    fn open(
        label: &str,
        sim: S,
        vars: Vec<(String, String)>,
        width: u32,
        user_agent: Option<&str>,
    ) -> Self {
        let options = WorkerOptions {
            vars,
            ..WorkerOptions::default()
        };
        let worker = WorkerProcess::start_with(&temp_dir(label), options);
        let browser = Browser::start_as(width, 900, user_agent);
        browser.goto(&format!("{}/", worker.base_url));
        BrowserShop {
            sim,
            worker,
            browser,
        }
    }

    /// Clicks the shop's `buy` button, then `method` in the widget (both `data-testid`s).
    pub fn choose(&self, buy: &str, method: &str) {
        let b = &self.browser;
        b.click(&b.wait_for(&format!("[data-testid={buy}]"), WAIT));
        b.click(&b.wait_for(&format!("[data-testid={method}]"), WAIT));
    }

    /// Saves the page as `artifacts/screenshots/{name}.png`.
    pub fn screenshot(&self, name: &str) {
        let path = repo_root().join(format!("artifacts/screenshots/{name}.png"));
        self.browser.screenshot(&path);
    }

    /// The session id the shop got back in its return URL (`?checkout_session=`).
    pub fn returned_session_id(&self) -> String {
        returned_session_id(&self.browser)
    }

    /// The demo merchant's view of `session_id`.
    pub fn merchant_view(&self, session_id: &str) -> Value {
        merchant_view(&self.worker.base_url, session_id)
    }

    /// The Worker's request lines (method, path, status), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.worker
            .log()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line.get("path").is_some() && line.get("status").is_some())
            .collect()
    }
}

/// The session id the demo shop, on the page in `browser`, got back in its return URL
/// (`?checkout_session=`).
pub fn returned_session_id(browser: &Browser) -> String {
    let id = browser.script(
        "return new URLSearchParams(location.search).get('checkout_session')",
        vec![],
    );
    id.as_str()
        .expect("back on the shop with the session id")
        .to_owned()
}

/// The demo merchant's view of `session_id`, asked of the Worker (or a proxy in front of it) at
/// `base_url`.
pub fn merchant_view(base_url: &str, session_id: &str) -> Value {
    Client::new(base_url)
        .call("GET", format!("/v1/checkout_sessions/{session_id}"))
        .bearer(&DevVars::of_repo().demo_merchant_key)
        .send()
        .expect_status(200)
        .body
}
