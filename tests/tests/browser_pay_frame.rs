//! Browser: the pay password never exists in the merchant's page. The page is served from one
//! loopback name (`http://localhost:PORT`) and loads the checkout from another
//! (`http://127.0.0.1:PORT`), as a merchant's page loads ours, so the pay-password frame is
//! cross-origin to it. `tests/pages/hostile-page.js` runs on that page before anything else: key
//! loggers on window, document and the widget's open shadow root, a reader of every input and
//! frame, value and attribute hooks, mutation observers, patched `fetch` and `XMLHttpRequest` and
//! a message listener. The shopper types the password into the frame and pays from the keyboard;
//! the payment succeeds and the hostile script holds nothing of the password. The frame speaks
//! English, Simplified Chinese and Bangla, and axe-core finds nothing serious in it.

use std::time::Duration;

use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures::{session_body, PAY_PASSWORD};
use checkout_tests::shop::merchant_view;
use checkout_tests::webdriver::{Browser, Element};
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use checkout_tests::{free_port, repo_root, temp_dir};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(25);
const HOST: &str = "#checkout";
const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";

/// A Worker whose demo merchant also allows `http://localhost:PORT` (the hostile page's origin),
/// a funded customer with [`PAY_PASSWORD`], and a browser.
struct HostilePage {
    worker: WorkerProcess,
    browser: Browser,
    key: String,
}

impl HostilePage {
    fn start(label: &str) -> HostilePage {
        let port = free_port();
        let mut vars = DevVars::of_repo();
        for merchant in &mut vars.merchants {
            if merchant.id == "m_demo" {
                merchant.allowed_origins.push(page_origin(port));
            }
        }
        let merchants = serde_json::to_string(&vars.merchants).expect("merchants serialise");
        let options = WorkerOptions {
            port: Some(port),
            vars: vec![("MERCHANTS".to_owned(), merchants)],
            ..WorkerOptions::default()
        };
        let worker = WorkerProcess::start_with(&temp_dir(label), options);
        let key = vars.merchant("m_demo").test_key().to_owned();
        let page = HostilePage {
            worker,
            browser: Browser::start(1280, 1000),
            key,
        };
        page.admin(
            "/v1/customers/cus_frame/balance_credits",
            "POST",
            json!({"amount": "500.00", "currency": "BDT", "reference": "pay-frame"}),
        );
        page.admin(
            "/v1/customers/cus_frame/pay_password",
            "PUT",
            json!({ "pay_password": PAY_PASSWORD }),
        );
        page
    }

    fn admin(&self, path: &str, method: &str, body: Value) -> Value {
        Client::new(&self.worker.base_url)
            .call(method, path)
            .bearer(&self.key)
            .json(&body)
            .expect_status(200)
            .body
    }

    /// A new balance session, opened in the hostile page in `locale`; its id.
    fn open(&self, order: &str, locale: &str) -> String {
        let created = self.admin(
            "/v1/checkout_sessions",
            "POST",
            session_body(order, "12.00", "cus_frame"),
        );
        let secret = created["client_secret"].as_str().unwrap();
        let url = format!(
            "{}/test/pay-frame?checkout={}&secret={secret}&locale={locale}",
            page_origin(self.worker.port),
            self.worker.base_url,
        );
        self.browser.goto(&url);
        created["id"].as_str().unwrap().to_owned()
    }

    fn frame(&self) -> Element {
        self.browser
            .wait_in(HOST, "[data-testid=pay-password-frame]", WAIT)
    }

    fn status(&self, session_id: &str) -> Value {
        merchant_view(&self.worker.base_url, session_id)["status"].clone()
    }

    /// The uncaught errors on the page (`tests/pages/pay-frame.js` records them).
    fn errors(&self) -> Vec<String> {
        let value = self.browser.script("return window.pageErrors;", vec![]);
        serde_json::from_value(value).unwrap_or_default()
    }

    /// Everything the hostile script caught, and every key it saw.
    fn captured(&self) -> (Vec<String>, Vec<String>) {
        let value = self.browser.script(
            "return { captured: window.hostileCaptured, keys: window.hostileKeys };",
            vec![],
        );
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        (strings(&value["captured"]), strings(&value["keys"]))
    }
}

/// The hostile page's origin: the same Worker under another loopback name.
fn page_origin(port: u16) -> String {
    format!("http://localhost:{port}")
}

#[test]
fn a_hostile_merchant_page_catches_nothing_of_the_pay_password() {
    let page = HostilePage::start("pay-frame-hostile");
    let b = &page.browser;
    let session_id = page.open("hostile-1", "en");

    // The hostile script works: what is typed into the page itself, it catches.
    b.type_text(&b.wait_for("#coupon", WAIT), "SPRING");

    // A wrong password first: the frame answers, the widget shows the attempts left, and focus
    // returns to the (cleared) field in the frame.
    let frame = page.frame();
    b.type_pay_password(&frame, "000000");
    b.click(&b.wait_in(HOST, "[data-testid=pay-button]", WAIT));
    b.wait_in(HOST, "[data-testid=attempts-left]", WAIT);
    b.enter_frame(&frame);
    let field = b.wait_for("[data-testid=pay-password]", WAIT);
    b.wait_until(
        "the field to be cleared, marked invalid and focused",
        "const f = document.querySelector('[data-testid=pay-password]');\
         return f.value === '' && f.getAttribute('aria-invalid') === 'true'\
           && document.activeElement === f && document.hasFocus();",
        WAIT,
    );
    // The right one, and Enter in the frame pays (the keyboard path).
    b.type_text(&field, PAY_PASSWORD);
    b.press_keys(ENTER);
    b.leave_frames();
    b.wait_in(HOST, "[data-testid=result-success]", WAIT);
    assert_eq!(page.status(&session_id), "paid");
    // Let the reader run once more over the paid widget.
    std::thread::sleep(Duration::from_millis(300));

    assert_eq!(page.errors(), Vec::<String>::new(), "errors on the page");
    let (captured, keys) = page.captured();
    let all = captured.join("\n");
    assert!(
        all.contains("SPRING"),
        "the hostile script caught nothing at all:\n{all}"
    );
    assert!(
        all.contains("message:") && all.contains("\"status\":402"),
        "the hostile script saw the frame's answers:\n{all}"
    );
    assert!(all.contains("frame.refused:SecurityError"), "{all}");
    assert!(
        !all.contains(PAY_PASSWORD) && !all.contains("000000"),
        "the hostile page caught a pay password:\n{all}"
    );
    let digits: Vec<&String> = keys
        .iter()
        .filter(|k| k.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert!(digits.is_empty(), "the page saw digit keys: {digits:?}");
    assert!(
        !keys.iter().any(|k| k == "Enter"),
        "the page saw the Enter pressed in the frame: {keys:?}"
    );
}

#[test]
fn a_shopper_tabs_into_the_frame_types_and_presses_enter_in_each_language() {
    let page = HostilePage::start("pay-frame-keyboard");
    let b = &page.browser;
    for (n, (locale, lang, label)) in [
        ("en", "en", "Pay password"),
        ("zh-CN", "zh-Hans", "支付密码"),
        ("bn", "bn", "পেমেন্ট পাসওয়ার্ড"),
    ]
    .into_iter()
    .enumerate()
    {
        let session_id = page.open(&format!("keyboard-{n}"), locale);
        let frame = page.frame();
        assert_eq!(
            b.attribute(&frame, "title").as_deref(),
            Some(label),
            "{locale}"
        );

        // From the widget's method list, Tab until the frame's field has the focus. The frame is
        // loaded first (a shopper cannot type into a field that is not there yet; a Tab before it
        // loads lands on the empty frame, which is what a slow machine made this test see).
        b.click(&b.wait_in(HOST, "[data-testid=method-balance]", WAIT));
        b.enter_frame(&frame);
        b.wait_for("[data-testid=pay-password]", WAIT);
        b.leave_frames();
        let mut in_frame = false;
        for _ in 0..8 {
            b.press_keys(TAB);
            let focused = b.script(
                "const host = document.querySelector('#checkout');\
                 const el = host.shadowRoot.activeElement;\
                 return !!el && el.getAttribute('data-testid') === 'pay-password-frame';",
                vec![],
            );
            if focused == json!(true) {
                in_frame = true;
                break;
            }
        }
        assert!(
            in_frame,
            "{locale}: Tab never reached the pay-password frame"
        );
        b.enter_frame(&frame);
        let state = b.script(
            "const f = document.activeElement;\
             const label = document.querySelector('label[for=' + f.id + ']');\
             return { testid: f.getAttribute('data-testid'), lang: document.documentElement.lang,\
               label: label && label.textContent, inputmode: f.getAttribute('inputmode'),\
               autocomplete: f.getAttribute('autocomplete'), type: f.type };",
            vec![],
        );
        assert_eq!(state["testid"], "pay-password", "{locale}: {state}");
        assert_eq!(state["lang"], lang);
        assert_eq!(state["label"], label);
        assert_eq!(state["inputmode"], "numeric");
        assert_eq!(state["autocomplete"], "off");
        assert_eq!(state["type"], "password");
        let violations = axe_violations(b);
        assert!(
            violations.is_empty(),
            "{locale}: axe-core in the frame:\n{}",
            violations.join("\n")
        );
        b.press_keys(PAY_PASSWORD);
        b.press_keys(ENTER);
        b.leave_frames();
        b.wait_in(HOST, "[data-testid=result-success]", WAIT);
        assert_eq!(page.status(&session_id), "paid", "{locale}");
        assert_eq!(
            page.errors(),
            Vec::<String>::new(),
            "{locale}: errors on the page"
        );
    }
}

/// axe-core's serious and critical violations in the current document (the frame).
fn axe_violations(browser: &Browser) -> Vec<String> {
    let source = std::fs::read_to_string(repo_root().join("node_modules/axe-core/axe.min.js"))
        .expect("node_modules/axe-core/axe.min.js (run `cargo xtask setup`)");
    browser.script(&source, vec![]);
    let found = browser.script_async(
        "const done = arguments[arguments.length - 1];\
         axe.run(document).then((r) => done({ violations: r.violations\
           .filter((v) => v.impact === 'serious' || v.impact === 'critical')\
           .map((v) => v.id + ': ' + v.help), passes: r.passes.length }))\
           .catch((e) => done({ error: String(e) }));",
        vec![],
    );
    if let Some(error) = found.get("error") {
        panic!("axe-core failed: {error}");
    }
    assert!(
        found["passes"].as_u64().unwrap_or_default() > 5,
        "axe-core checked little: {found}"
    );
    found["violations"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
