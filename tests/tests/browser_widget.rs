//! Browser: the widget as merchants embed it, in headless Chromium. It speaks the shopper's
//! language (English, Simplified Chinese, Bangla), takes the merchant's appearance and keeps it
//! apart from the page's CSS, fits a 320 px phone, and several widgets share a page without
//! sharing anything else.
//!
//! The pages are static test pages of `tests/pages/`, which the test harness serves under
//! `/test/`: `widget.html` and `two-widgets.html` mount with `Checkout.mount` (driven by
//! `widget.js`, which records every event in
//! `window.checkoutEvents`), `script-tag.html` writes one script tag with data attributes, and
//! `hostile.html` is `widget.html` under `hostile.css`.

use std::time::Duration;

use checkout_tests::api::Client;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::shop::merchant_view;
use checkout_tests::temp_dir;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::WorkerProcess;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);
const HOST: &str = "#checkout";

/// A Worker whose demo customer has store balance and the pay password `123456`, and a browser.
struct Page {
    worker: WorkerProcess,
    browser: Browser,
}

impl Page {
    fn start(label: &str, browser: Browser) -> Page {
        let worker = WorkerProcess::start(&temp_dir(label));
        let client = Client::new(&worker.base_url);
        let key = DevVars::of_repo().demo_merchant_key;
        let admin = |path: &str, method: &str, body: Value| {
            client
                .call(method, path)
                .bearer(&key)
                .json(&body)
                .expect_status(200);
        };
        admin(
            "/v1/customers/cus_demo/balance_credits",
            "POST",
            json!({"amount": "5000.00", "currency": "BDT", "reference": "browser-widget"}),
        );
        admin(
            "/v1/customers/cus_demo/pay_password",
            "PUT",
            json!({"pay_password": "123456"}),
        );
        Page { worker, browser }
    }

    fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.worker.base_url));
    }

    /// The visible text of `selector` in the widget inside `host`, once it shows.
    fn text(&self, host: &str, selector: &str) -> String {
        let element = self.browser.wait_in(host, selector, WAIT);
        self.browser.text(&element)
    }

    /// Waits until `selector` in `host`'s widget reads exactly `expected`.
    #[track_caller]
    fn wait_text(&self, host: &str, selector: &str, expected: &str) {
        let script = format!(
            "const el = document.querySelector({host:?})?.shadowRoot?.querySelector({selector:?}); \
             return !!el && el.textContent.trim() === {expected:?};"
        );
        self.browser
            .wait_until(&format!("{selector} to read {expected:?}"), &script, WAIT);
    }

    /// Types a wrong pay password into `host`'s widget and pays: the error and the attempts left.
    fn pay_with_wrong_password(&self, host: &str) -> (String, String) {
        let b = &self.browser;
        b.type_pay_password(
            &b.wait_in(host, "[data-testid=pay-password-frame]", WAIT),
            "000000",
        );
        b.click(&b.wait_in(host, "[data-testid=pay-button]", WAIT));
        let attempts = self.text(host, "[data-testid=attempts-left]");
        (self.text(host, "[data-testid=error-message]"), attempts)
    }

    /// The events `widget` received, as `[type, via, detail]`.
    fn events(&self, widget: &str) -> Vec<Value> {
        let script = "return (window.checkoutEvents || []).filter(e => e.widget === arguments[0])\
                      .map(e => [e.type, e.via, e.detail]);";
        let value = self.browser.script(script, vec![json!(widget)]);
        value.as_array().cloned().unwrap_or_default()
    }

    fn session_id(&self, host: &str) -> String {
        let script = "return document.querySelector(arguments[0]).getAttribute('data-session-id');";
        let value = self.browser.script(script, vec![json!(host)]);
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The session's status as the merchant reads it.
    fn merchant_status(&self, session_id: &str) -> Value {
        merchant_view(&self.worker.base_url, session_id)["status"].clone()
    }

    /// Computed styles of the widget's parts, to compare one page with another.
    fn widget_styles(&self) -> Value {
        self.browser.script(WIDGET_STYLES, vec![json!(HOST)])
    }
}

#[test]
fn the_merchants_zh_locale_shows_chinese_text_and_a_chinese_error_message() {
    let page = Page::start("browser-widget-zh", Browser::start(1280, 900));
    page.open("/test/widget.html?locale=zh-CN");
    page.wait_text(HOST, "[data-testid=pay-button]", "立即支付");
    assert_eq!(
        page.text(HOST, "[data-testid=order-amount]"),
        "BDT 1,250.00"
    );
    assert!(page
        .text(HOST, "[data-testid=order-summary]")
        .contains("合计"));

    let (error, attempts) = page.pay_with_wrong_password(HOST);
    assert_eq!(error, "支付密码错误。");
    assert_eq!(attempts, "还可尝试 4 次，再输错将暂时锁定余额支付。");
    let lang = page.browser.script(
        "return document.querySelector('#checkout').shadowRoot.querySelector('section').lang;",
        vec![],
    );
    assert_eq!(lang, json!("zh-Hans"));
    // The page hears the same error, in the same words, as an event and as a callback.
    let errors: Vec<Value> = page
        .events("a")
        .into_iter()
        .filter(|e| e[0] == "error")
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    for error in errors {
        assert_eq!(error[2]["code"], "incorrect_pay_password");
        assert_eq!(error[2]["message"], "支付密码错误。");
    }
}

#[test]
fn a_script_tag_with_data_locale_bn_shows_bangla_text_digits_and_error_message() {
    let page = Page::start("browser-widget-bn", Browser::start(1280, 900));
    page.open("/test/script-tag.html?locale=bn");
    page.wait_text(HOST, "[data-testid=pay-button]", "এখনই পরিশোধ করুন");
    assert_eq!(page.text(HOST, "[data-testid=order-amount]"), "৳১,২৫০.০০");
    assert_eq!(
        page.text(HOST, "[data-testid=balance-available]"),
        "৳৫,০০০.০০"
    );

    let (error, attempts) = page.pay_with_wrong_password(HOST);
    assert_eq!(error, "পেমেন্ট পাসওয়ার্ড ভুল।");
    assert_eq!(
        attempts,
        "আর ৪ বার ভুল হলে ব্যালান্স দিয়ে পেমেন্ট কিছু সময়ের জন্য বন্ধ থাকবে।"
    );
}

#[test]
fn the_merchants_en_locale_wins_over_a_bangla_browser() {
    let browser = Browser::start_in_language(1280, 900, "bn-BD,bn");
    let page = Page::start("browser-widget-en", browser);
    page.open("/test/widget.html?locale=en");
    page.wait_text(HOST, "[data-testid=pay-button]", "Pay now");
    assert_eq!(
        page.text(HOST, "[data-testid=order-amount]"),
        "BDT 1,250.00"
    );

    let (error, attempts) = page.pay_with_wrong_password(HOST);
    assert_eq!(error, "The pay password is incorrect.");
    assert_eq!(
        attempts,
        "4 attempts left before balance payments are locked for a while."
    );
}

#[test]
fn without_a_locale_the_widget_follows_the_browsers_languages() {
    let browser = Browser::start_in_language(1280, 900, "fr-FR,zh-CN,en");
    let languages = browser.script("return navigator.languages;", vec![]);
    assert_eq!(
        languages[0], "fr-FR",
        "Chromium ignored the language setting"
    );
    let page = Page::start("browser-widget-auto", browser);
    page.open("/test/widget.html?currency=CNY");
    page.wait_text(HOST, "[data-testid=order-amount]", "¥88.00");
    assert!(page
        .text(HOST, "[data-testid=order-summary]")
        .contains("合计"));

    page.open("/test/widget.html?locale=auto");
    page.wait_text(HOST, "[data-testid=pay-button]", "立即支付");
}

#[test]
fn update_changes_language_and_appearance_and_the_password_frame_follows() {
    let page = Page::start("browser-widget-update", Browser::start(1280, 900));
    page.open("/test/widget.html?locale=en");
    let b = &page.browser;
    page.wait_text(HOST, "[data-testid=pay-button]", "Pay now");
    let frame_title = |b: &Browser| {
        let frame = b.wait_in(HOST, "[data-testid=pay-password-frame]", WAIT);
        b.attribute(&frame, "title").unwrap_or_default()
    };
    assert_eq!(frame_title(b), "Pay password");

    b.script(
        "window.checkoutHandles.a.update({locale: 'bn', appearance: {theme: 'dark', variables: {\
           colorPrimary: '#6d28d9', borderRadius: '2px', colorText: 'url(https://evil.example/)'}}});",
        vec![],
    );
    page.wait_text(HOST, "[data-testid=pay-button]", "এখনই পরিশোধ করুন");
    let state = b.script(
        "const root = document.querySelector('#checkout').shadowRoot;\
         const pay = getComputedStyle(root.querySelector('[data-testid=pay-button]'));\
         return { dark: root.querySelector('.ck-root').classList.contains('ck-dark'),\
                  accent: pay.backgroundColor, radius: pay.borderRadius,\
                  text: getComputedStyle(root.querySelector('.ck-root')).color };",
        vec![],
    );
    // The pay-password frame speaks the new language too (it is framed anew, empty: the
    // password never lives in the page, so there is nothing to carry over).
    assert_eq!(frame_title(b), "পেমেন্ট পাসওয়ার্ড");
    assert_eq!(state["dark"], true);
    assert_eq!(state["accent"], "rgb(109, 40, 217)");
    assert_eq!(state["radius"], "2px");
    // The invalid colour was refused: the dark theme's own text colour stands.
    assert_eq!(state["text"], "rgb(228, 231, 235)");

    // Only what is given changes: the language, not the appearance.
    b.script("window.checkoutHandles.a.update({locale: 'zh'});", vec![]);
    page.wait_text(HOST, "[data-testid=pay-button]", "立即支付");
    let still_dark = b.script(
        "return document.querySelector('#checkout').shadowRoot.querySelector('.ck-root')\
         .classList.contains('ck-dark');",
        vec![],
    );
    assert_eq!(still_dark, json!(true));

    b.script("window.checkoutHandles.a.unmount();", vec![]);
    let left = b.script(
        "return document.querySelector('#checkout').shadowRoot.childElementCount;",
        vec![],
    );
    assert_eq!(left, json!(0));
}

#[test]
fn a_hostile_merchant_stylesheet_changes_nothing_inside_the_widget() {
    let page = Page::start("browser-widget-hostile", Browser::start(1280, 900));
    page.open("/test/widget.html");
    page.browser
        .wait_in(HOST, "[data-testid=pay-password-frame]", WAIT);
    let clean = page.widget_styles();
    // The widget's rules stay in its shadow root: the page's own `.ck-error` is untouched.
    let outside = page.browser.script(
        "return getComputedStyle(document.getElementById('outside')).color;",
        vec![],
    );
    assert_eq!(outside, json!("rgb(0, 0, 0)"));

    page.open("/test/hostile.html");
    page.browser
        .wait_in(HOST, "[data-testid=pay-password-frame]", WAIT);
    let body_font = page
        .browser
        .script("return getComputedStyle(document.body).fontSize;", vec![]);
    assert_eq!(
        body_font,
        json!("40px"),
        "the hostile stylesheet is in force"
    );
    let hostile = page.widget_styles();

    assert_ne!(clean["payButton"]["display"], "none");
    assert_eq!(clean["payButton"]["fontSize"], "15px");
    for part in ["root", "payButton", "amount", "password", "method"] {
        assert_eq!(
            hostile[part], clean[part],
            "{part} changed under the hostile stylesheet"
        );
    }
}

#[test]
fn two_widgets_on_one_page_pay_and_report_separately() {
    let page = Page::start("browser-widget-two", Browser::start(1280, 1400));
    Client::new(&page.worker.base_url)
        .call("POST", "/v1/customers/cus_demo/points_credits")
        .bearer(&DevVars::of_repo().demo_merchant_key)
        .json(&json!({"points": 2000, "reference": "browser-widget-two"}))
        .expect_status(200);
    page.open("/test/two-widgets.html");
    let (a, b) = ("#checkout-a", "#checkout-b");
    let browser = &page.browser;
    browser.wait_in(a, "[data-testid=pay-password-frame]", WAIT);
    browser.wait_in(b, "[data-testid=pay-password-frame]", WAIT);
    let (id_a, id_b) = (page.session_id(a), page.session_id(b));
    assert!(id_a.starts_with("cs_") && id_b.starts_with("cs_") && id_a != id_b);

    // A change in B is B's alone.
    browser.click(&browser.wait_in(b, "[data-testid=use-points]", WAIT));
    browser.wait_until(
        "B's change event",
        "return window.checkoutEvents.some(e => e.widget === 'b' && e.type === 'change');",
        WAIT,
    );

    browser.type_pay_password(
        &browser.wait_in(a, "[data-testid=pay-password-frame]", WAIT),
        "123456",
    );
    browser.click(&browser.wait_in(a, "[data-testid=pay-button]", WAIT));
    browser.wait_in(a, "[data-testid=result-success]", WAIT);
    browser.wait_until(
        "A's complete event and callback",
        "return window.checkoutEvents.filter(e => e.widget === 'a' && e.type === 'complete').length === 2;",
        WAIT,
    );

    assert!(browser.find_in(b, "[data-testid=result-success]").is_none());
    assert!(browser.find_in(b, "[data-testid=pay-button]").is_some());
    assert_eq!(page.merchant_status(&id_a), "paid");
    assert_eq!(page.merchant_status(&id_b), "open");

    let kinds = |widget: &str| -> Vec<(String, String)> {
        page.events(widget)
            .iter()
            .map(|e| {
                (
                    e[0].as_str().unwrap_or("").to_owned(),
                    e[1].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let (events_a, events_b) = (kinds("a"), kinds("b"));
    for (kind, via) in [
        ("ready", "dom"),
        ("ready", "callback"),
        ("complete", "dom"),
        ("complete", "callback"),
    ] {
        assert!(
            events_a.contains(&(kind.into(), via.into())),
            "A: {kind} by {via} in {events_a:?}"
        );
    }
    for (kind, via) in [
        ("ready", "dom"),
        ("ready", "callback"),
        ("change", "dom"),
        ("change", "callback"),
    ] {
        assert!(
            events_b.contains(&(kind.into(), via.into())),
            "B: {kind} by {via} in {events_b:?}"
        );
    }
    assert!(!events_a.iter().any(|(k, _)| k == "change"), "{events_a:?}");
    assert!(
        !events_b.iter().any(|(k, _)| k == "complete"),
        "{events_b:?}"
    );
    // Every event names its own widget's session.
    for (widget, id) in [("a", &id_a), ("b", &id_b)] {
        for event in page.events(widget) {
            if event[0] != "error" {
                assert_eq!(event[2]["sessionId"], json!(id), "{widget}: {event}");
            }
        }
    }
    let change = page
        .events("b")
        .into_iter()
        .find(|e| e[0] == "change")
        .expect("a change event");
    assert_eq!(change[2]["method"], "balance");
    assert_eq!(change[2]["currency"], "BDT");
}

#[test]
fn at_320_px_the_widget_fits_without_scrolling_sideways() {
    let page = Page::start("browser-widget-320", Browser::start(800, 700));
    page.browser.emulate_phone(320, 700);
    page.open("/test/widget.html?locale=bn");
    page.wait_text(HOST, "[data-testid=pay-button]", "এখনই পরিশোধ করুন");
    let fit = page.browser.script(
        "const root = document.querySelector('#checkout').shadowRoot.querySelector('.ck-root');\
         const pay = root.querySelector('[data-testid=pay-button]').getBoundingClientRect();\
         return { viewport: window.innerWidth, scroll: document.documentElement.scrollWidth,\
                  right: root.getBoundingClientRect().right, pay: pay.width };",
        vec![],
    );
    let viewport = fit["viewport"].as_f64().unwrap_or_default();
    assert!(viewport <= 330.0, "the window is not a 320 px phone: {fit}");
    assert!(
        fit["scroll"].as_f64().unwrap_or(f64::MAX) <= viewport,
        "{fit}"
    );
    assert!(
        fit["right"].as_f64().unwrap_or(f64::MAX) <= viewport,
        "{fit}"
    );
    assert!(fit["pay"].as_f64().unwrap_or_default() > 200.0, "{fit}");
}

/// The computed styles that make up the widget's look, per part.
const WIDGET_STYLES: &str = r#"
const root = document.querySelector(arguments[0]).shadowRoot;
const props = ["display", "visibility", "opacity", "color", "backgroundColor", "fontSize",
  "fontFamily", "fontWeight", "lineHeight", "letterSpacing", "wordSpacing", "textTransform",
  "textAlign", "textShadow", "borderRadius", "cursor", "width", "height"];
const styles = (selector) => {
  const el = root.querySelector(selector);
  if (!el) return null;
  const style = getComputedStyle(el);
  const out = {};
  for (const p of props) out[p] = style[p];
  return out;
};
return {
  root: styles(".ck-root"),
  payButton: styles("[data-testid=pay-button]"),
  amount: styles("[data-testid=order-amount]"),
  password: styles("[data-testid=pay-password-frame]"),
  method: styles(".ck-method label"),
};
"#;
