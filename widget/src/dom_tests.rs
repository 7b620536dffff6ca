//! Helpers for the component tests that run in headless Chromium through wasm-bindgen-test
//! (`cargo xtask test` runs them; the build has no parts, see `lazy.rs`). They render one
//! component into the test page, with no Worker and no network, which makes them cheaper than a
//! browser spec for what a component shows in every language and edge case.

use crate::state::Session;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// `view` mounted into a fresh element of the test page. The element goes when the handle does.
pub struct Rendered {
    pub root: HtmlElement,
    _handle: Box<dyn std::any::Any>,
}

impl Rendered {
    pub fn find(&self, selector: &str) -> Option<Element> {
        self.root.query_selector(selector).ok().flatten()
    }

    /// The element `selector` finds; the test fails if there is none.
    pub fn get(&self, selector: &str) -> Element {
        self.find(selector)
            .unwrap_or_else(|| panic!("no {selector} in {}", self.root.inner_html()))
    }

    pub fn text(&self, selector: &str) -> String {
        self.get(selector).text_content().unwrap_or_default()
    }
}

impl Drop for Rendered {
    fn drop(&mut self) {
        self.root.remove();
    }
}

pub fn render<V: IntoView + 'static>(view: impl FnOnce() -> V + 'static) -> Rendered {
    let root = new_element("div");
    let handle = leptos::mount::mount_to(root.clone(), view);
    Rendered {
        root,
        _handle: Box::new(handle),
    }
}

/// A new element attached to the test page's body.
pub fn new_element(tag: &str) -> HtmlElement {
    let document = web_sys::window().and_then(|w| w.document()).unwrap();
    let element: HtmlElement = document.create_element(tag).unwrap().unchecked_into();
    document.body().unwrap().append_child(&element).unwrap();
    element
}

/// Lets spawned tasks and effects run (a macrotask: every queued microtask runs first).
pub async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A session of `amount` BDT with bKash limited to 10.00–500.00, WeChat Pay, card and a store
/// balance of `balance` with a pay password set.
pub fn session(amount: &str, balance: &str) -> Session {
    let minor = |text: &str| {
        checkout_core::Money::parse_non_negative(text, checkout_core::Currency::BDT)
            .unwrap()
            .amount_minor()
    };
    serde_json::from_value(serde_json::json!({
        "id": "cs_test", "merchant_name": "Demo Shop", "order_id": "order-42",
        "description": "Tea", "amount_minor": minor(amount), "currency": "BDT", "status": "open",
        "methods": ["balance", "bkash", "wechat_pay", "card"],
        "return_url": "https://shop.example/done", "expires_at": 0, "payments": [],
        "method_limits": [{"method": "bkash", "min_minor": 1_000, "max_minor": 50_000}],
        "balance": {"available_minor": minor(balance), "currency": "BDT",
                    "pay_password_set": true, "attempts_left": 5}
    }))
    .map(Session::new)
    .unwrap()
}
