//! Browser: accessibility. axe-core finds no serious or critical violation in any state of the
//! widget in the demo shop (method list, split editor, a wrong pay password, WeChat's QR code,
//! paid) nor in the dark theme, at 1280 px and on a 375 px phone, and each state is saved as a
//! screenshot for review (`artifacts/screenshots/a11y-*`). A shopper pays with store balance using the keyboard alone,
//! and focus lands where they need it after a wrong password and after paying; another adds
//! points, pays with WeChat and cancels at the QR code, from the keyboard too.
//!
//! axe-core is the npm dev dependency (`cargo xtask setup` installs it); its script is injected
//! through WebDriver, which the pages' CSP does not govern, and it checks open shadow roots.

use std::time::{Duration, Instant};

use checkout_simulators::wechat::RunningWechat;
use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{providers, repo_root, temp_dir};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(25);
const TAB: &str = "\u{E004}";
const SHIFT_TAB: &str = "\u{E008}\u{E004}";
const ENTER: &str = "\u{E007}";
const SPACE: &str = "\u{E00D}";
const ARROW_DOWN: &str = "\u{E015}";
const BACKSPACE: &str = "\u{E003}";
/// Enough Tab presses to cross the demo shop's page to the widget's first control.
const MAX_TABS: usize = 20;
/// More arrow presses than there are methods.
const MAX_ARROWS: usize = 6;

/// The demo shop with WeChat Pay (through the simulator), its customer holding store balance,
/// points and the pay password `123456`, and a browser.
struct Shop {
    _sim: RunningWechat,
    worker: WorkerProcess,
    browser: Browser,
}

impl Shop {
    fn start(label: &str, browser: Browser) -> Shop {
        let vars = DevVars::of_repo();
        let sim = providers::start_wechat(&vars, 0);
        let options = WorkerOptions {
            vars: providers::wechat_worker_vars(&sim),
            ..WorkerOptions::default()
        };
        let worker = WorkerProcess::start_with(&temp_dir(label), options);
        let client = Client::new(&worker.base_url);
        let key = vars.demo_merchant_key;
        let admin = |method: &str, path: &str, body: Value| {
            client
                .call(method, path)
                .bearer(&key)
                .json(&body)
                .expect_status(200);
        };
        let credit = json!({"amount": "5000.00", "currency": "BDT", "reference": "a11y"});
        admin("POST", "/v1/customers/cus_demo/balance_credits", credit);
        let password = json!({"pay_password": "123456"});
        admin("PUT", "/v1/customers/cus_demo/pay_password", password);
        let points = json!({"points": 2000, "reference": "a11y"});
        admin("POST", "/v1/customers/cus_demo/points_credits", points);
        Shop {
            _sim: sim,
            worker,
            browser,
        }
    }

    /// The demo shop's page, the widget opened for the product behind `buy` (a test id).
    fn buy(&self, buy: &str) {
        let b = &self.browser;
        b.goto(&format!("{}/", self.worker.base_url));
        b.click(&b.wait_for(&format!("[data-testid={buy}]"), WAIT));
        b.wait_for("[data-testid=pay-button]", WAIT);
    }

    fn click(&self, testid: &str) {
        let b = &self.browser;
        b.click(&b.wait_for(&format!("[data-testid={testid}]"), WAIT));
    }

    /// Runs axe-core on the whole page (the widget's shadow root included), saves a screenshot
    /// of `state` with `shown` scrolled into view, and returns the serious and critical
    /// violations, described.
    fn check(&self, state: &str, width: u32, shown: &str) -> Vec<String> {
        let b = &self.browser;
        b.script(SCROLL_TO, vec![json!(shown)]);
        std::thread::sleep(Duration::from_millis(300));
        let path = format!("artifacts/screenshots/a11y-{state}-{width}.png");
        b.screenshot(&repo_root().join(path));
        axe_violations(b, shown != "body")
            .into_iter()
            .map(|v| format!("[{state} at {width} px] {v}"))
            .collect()
    }
}

/// axe-core's serious and critical violations on the current page, each with its nodes. Lesser
/// ones are printed.
fn axe_violations(browser: &Browser, widget_shown: bool) -> Vec<String> {
    let source = std::fs::read_to_string(repo_root().join("node_modules/axe-core/axe.min.js"))
        .expect("node_modules/axe-core/axe.min.js (run `cargo xtask setup`)");
    browser.script(&source, vec![]);
    let found = browser.script_async(RUN_AXE, vec![]);
    if let Some(error) = found.get("error") {
        panic!("axe-core failed: {error}");
    }
    let widget_rules = found["widgetRules"].as_u64().unwrap_or_default();
    assert!(
        !widget_shown || widget_rules > 10,
        "axe-core checked only {widget_rules} rules inside the widget's shadow root"
    );
    let violations = found["violations"]
        .as_array()
        .expect("axe-core's violations");
    for minor in violations
        .iter()
        .filter(|v| !matches!(v["impact"].as_str(), Some("serious" | "critical")))
    {
        eprintln!("axe-core (not failing): {minor}");
    }
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
        .collect()
}

/// Walks the widget's states at `width`, checking each with axe-core.
fn every_state_passes_axe(label: &str, width: u32) {
    let browser = if width < 500 {
        let browser = Browser::start(800, 812);
        browser.emulate_phone(width, 812);
        browser
    } else {
        Browser::start(width, 1000)
    };
    let shop = Shop::start(label, browser);
    let b = &shop.browser;
    let mut violations = Vec::new();

    b.goto(&format!("{}/", shop.worker.base_url));
    b.wait_for("[data-testid=buy-button]", WAIT);
    violations.extend(shop.check("shop", width, "body"));

    shop.buy("buy-button");
    violations.extend(shop.check("methods", width, "#checkout-area"));

    shop.click("use-points");
    b.wait_for("[data-testid=split-breakdown]", WAIT);
    violations.extend(shop.check("split-editor", width, "#checkout-area"));
    shop.click("use-points");

    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "000000",
    );
    shop.click("pay-button");
    b.wait_for("[data-testid=attempts-left]", WAIT);
    violations.extend(shop.check("password-error", width, "[data-testid=error-message]"));

    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "123456",
    );
    shop.click("pay-button");
    b.wait_for("[data-testid=result-success]", WAIT);
    violations.extend(shop.check("paid", width, "#checkout-area"));

    shop.buy("buy-cny-button");
    shop.click("method-wechat_pay");
    shop.click("pay-button");
    b.wait_for("[data-testid=wechat-qr]", WAIT);
    violations.extend(shop.check("wechat-qr", width, "[data-testid=waiting]"));

    // The dark theme (a merchant's option), on the test page that mounts one widget.
    b.goto(&format!(
        "{}/test/widget.html?theme=dark",
        shop.worker.base_url
    ));
    b.wait_for("[data-testid=pay-button]", WAIT);
    b.type_pay_password(
        &b.wait_for("[data-testid=pay-password-frame]", WAIT),
        "000000",
    );
    shop.click("pay-button");
    b.wait_for("[data-testid=attempts-left]", WAIT);
    violations.extend(shop.check("dark-password-error", width, "#checkout"));

    assert!(
        violations.is_empty(),
        "axe-core found {} serious or critical violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

#[test]
fn axe_finds_no_serious_violation_in_any_widget_state_at_1280_px() {
    every_state_passes_axe("a11y-1280", 1280);
}

#[test]
fn axe_finds_no_serious_violation_in_any_widget_state_on_a_375_px_phone() {
    every_state_passes_axe("a11y-375", 375);
}

#[test]
fn a_shopper_pays_with_store_balance_using_only_the_keyboard() {
    let shop = Shop::start("a11y-keyboard", Browser::start(1280, 1000));
    let b = &shop.browser;
    shop.buy("buy-button");

    // From the Buy button, Tab to the method list: the chosen radio takes the focus, and Space
    // picks store balance if it is not chosen yet.
    tab_to(b, TAB, "method-balance");
    if !focused_is_checked(b) {
        b.press_keys(SPACE);
    }
    assert!(focused_is_checked(b), "store balance is chosen");
    wait_for_password_field(b);
    tab_to(b, TAB, "pay-password");
    b.press_keys("000000");
    tab_to(b, TAB, "pay-button");
    let status_before = live_status(b);
    b.press_keys(ENTER);

    // A wrong password: the error is announced, and focus returns to the (cleared) field.
    let error = b.wait_for("[data-testid=error-message]", WAIT);
    let error_text = b.text(&error);
    let landed = wait_for_focus(b, &["pay-password", "error-message"]);
    assert_eq!(landed, "pay-password", "focus after a wrong password");
    let status_after = live_status(b);
    assert_ne!(status_after, status_before, "the status region changed");
    assert!(
        status_after.starts_with(&error_text) && status_after.contains('4'),
        "the status region says what went wrong and how many attempts are left: {status_after}"
    );

    b.press_keys("123456");
    tab_to(b, TAB, "pay-button");
    b.press_keys(ENTER);
    b.wait_for("[data-testid=result-success]", WAIT);
    assert_eq!(
        wait_for_focus(b, &["result-heading"]),
        "result-heading",
        "focus moves to the outcome"
    );
    assert!(live_status(b).to_lowercase().contains("complete"));

    // Back through the page with Shift-Tab: nothing in the result traps the keyboard.
    tab_to(b, TAB, "back-to-shop");
    b.press_keys(SHIFT_TAB);
    assert_ne!(focused(b)["testid"], "back-to-shop");
}

#[test]
fn a_shopper_adds_points_scans_wechat_and_cancels_using_only_the_keyboard() {
    let shop = Shop::start("a11y-keyboard-wechat", Browser::start(1280, 1000));
    let b = &shop.browser;
    shop.buy("buy-cny-button");

    // Into the method list, then the arrow keys move the choice to WeChat Pay.
    tab_to(b, TAB, "method-balance");
    for _ in 0..MAX_ARROWS {
        if focused(b)["testid"] == "method-wechat_pay" {
            break;
        }
        b.press_keys(ARROW_DOWN);
    }
    assert_eq!(focused(b)["testid"], "method-wechat_pay");
    assert!(focused_is_checked(b), "WeChat Pay is chosen");

    // Points pay part: the toggle, then the field the split editor brings. Its suggestion pays
    // the whole order; 200 points leave the rest to WeChat. Points need the pay password.
    tab_to(b, TAB, "use-points");
    b.press_keys(SPACE);
    tab_to(b, TAB, "points-input");
    b.press_keys(&BACKSPACE.repeat(4));
    b.press_keys("200");
    b.wait_until(
        "the breakdown leaves the rest to WeChat",
        "const root = document.querySelector('#checkout').shadowRoot;\
         const split = root.querySelector('[data-testid=split-breakdown]');\
         return !!split && split.textContent.includes('WeChat');",
        WAIT,
    );
    wait_for_password_field(b);
    tab_to(b, TAB, "pay-password");
    b.press_keys("123456");

    tab_to(b, TAB, "pay-button");
    b.press_keys(ENTER);
    b.wait_for("[data-testid=wechat-qr]", WAIT);
    assert!(
        live_status(b).len() > 10,
        "the status region says what is awaited"
    );

    // Giving up is one Tab and Enter away; the order is open again, with the reason.
    tab_to(b, TAB, "cancel-payment");
    b.press_keys(ENTER);
    let error = b.wait_for("[data-testid=error-message]", WAIT);
    assert_eq!(
        b.attribute(&error, "data-code").as_deref(),
        Some("payment_canceled")
    );
    assert!(
        live_status(b).starts_with(&b.text(&error)),
        "the reason is announced"
    );
    // And the shopper carries on from the keyboard.
    tab_to(b, TAB, "pay-button");
}

/// Presses `key` (Tab or Shift-Tab) until the element with test id `testid` has focus.
#[track_caller]
/// Waits until the pay-password frame has loaded its field. The frame is fetched when a method
/// needs the password; a Tab pressed before it arrives lands on the empty frame, as it would for a
/// shopper faster than the network.
fn wait_for_password_field(browser: &Browser) {
    browser.wait_until(
        "the pay-password frame shows its field",
        "const frame = document.querySelector('#checkout').shadowRoot\
           .querySelector('[data-testid=pay-password-frame]');\
         const doc = frame && frame.contentDocument;\
         return !!doc && !!doc.querySelector('[data-testid=pay-password]');",
        WAIT,
    );
}

fn tab_to(browser: &Browser, key: &str, testid: &str) {
    let mut path = Vec::new();
    for _ in 0..MAX_TABS {
        let now = focused(browser);
        if now["testid"] == testid {
            return;
        }
        path.push(now.to_string());
        browser.press_keys(key);
    }
    panic!(
        "{testid} never took the focus; focus went:\n{}",
        path.join("\n")
    );
}

/// Waits until focus is on one of `testids`; returns the one it is on, or what has focus.
fn wait_for_focus(browser: &Browser, testids: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let now = focused(browser);
        let testid = now["testid"].as_str().unwrap_or_default().to_owned();
        if testids.contains(&testid.as_str()) || started.elapsed() > Duration::from_secs(5) {
            return if testid.is_empty() {
                now.to_string()
            } else {
                testid
            };
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The focused element, looking through shadow roots: `{testid, tag, id, text}`.
fn focused(browser: &Browser) -> Value {
    browser.script(FOCUSED, vec![])
}

fn focused_is_checked(browser: &Browser) -> bool {
    browser.script(
        &format!("{FOCUSED_ELEMENT} return !!el && el.checked === true;"),
        vec![],
    ) == json!(true)
}

/// The text of the widget's status region (`aria-live`).
fn live_status(browser: &Browser) -> String {
    let text = browser.script(
        "const live = document.querySelector('#checkout').shadowRoot\
           .querySelector('[aria-live][role=status]');\
         return live ? live.textContent.trim() : null;",
        vec![],
    );
    text.as_str()
        .expect("the widget's status region")
        .to_owned()
}

/// The focused element, through shadow roots and into the pay-password frame (same-origin on the
/// demo shop, which the Worker serves).
const FOCUSED_ELEMENT: &str = "let el = document.activeElement;\
    for (;;) {\
      if (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;\
      else if (el && el.tagName === 'IFRAME' && el.contentDocument\
        && el.contentDocument.activeElement) el = el.contentDocument.activeElement;\
      else break;\
    }";

const FOCUSED: &str = "let el = document.activeElement;\
    for (;;) {\
      if (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;\
      else if (el && el.tagName === 'IFRAME' && el.contentDocument\
        && el.contentDocument.activeElement) el = el.contentDocument.activeElement;\
      else break;\
    }\
    return el ? { testid: el.getAttribute('data-testid'), tag: el.tagName.toLowerCase(),\
                  id: el.id, text: (el.textContent || '').trim().slice(0, 60) } : null;";

/// Scrolls the first element matching `arguments[0]`, in the page or the widget, into view.
const SCROLL_TO: &str = "const selector = arguments[0];\
    const host = document.querySelector('#checkout');\
    const el = document.querySelector(selector)\
      || (host && host.shadowRoot && host.shadowRoot.querySelector(selector));\
    const top = selector === 'body' || selector.startsWith('#checkout');\
    if (el) el.scrollIntoView({ block: top ? 'start' : 'center' });";

/// Runs axe-core on the page and hands back its violations, trimmed to what a report needs, and
/// how many rules passed or were violated inside the widget's shadow root (axe-core names such a
/// node by its host, then its selector in the shadow root), which proves it looked inside.
const RUN_AXE: &str = "const done = arguments[arguments.length - 1];\
    const trim = (v) => ({ id: v.id, impact: v.impact, help: v.help,\
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })) });\
    const inWidget = (rule) => rule.nodes.some((n) => Array.isArray(n.target[0]));\
    axe.run(document)\
      .then((r) => done({ violations: r.violations.map(trim),\
        widgetRules: r.passes.concat(r.violations).filter(inWidget).length }))\
      .catch((e) => done({ error: String(e) }));";
