//! `mount`, `update` and `unmount` as a merchant's page calls them, in headless Chromium
//! (wasm-bindgen-test; see `dom_tests.rs`).

use wasm_bindgen_test::wasm_bindgen_test;

use super::*;
use crate::dom_tests::{new_element, settle};

/// Options for a widget whose edge is unreachable (port 9, discard): mounting needs no
/// network, and the widget then says it cannot reach the checkout.
fn options(extra: &str) -> JsValue {
    let json =
        format!(r#"{{"clientSecret": "cs_secret", "apiBase": "http://127.0.0.1:9"{extra}}}"#);
    js_sys::JSON::parse(&json).unwrap()
}

#[wasm_bindgen_test]
fn mount_without_a_client_secret_is_refused_with_a_reason() {
    let host = new_element("div");
    let options = js_sys::JSON::parse(r#"{"apiBase": "http://127.0.0.1:9"}"#).unwrap();
    let error = mount(host.clone(), options).err().unwrap();
    assert_eq!(
        error.as_string().as_deref(),
        Some("Checkout.mount: options.clientSecret is required")
    );
    assert!(host.shadow_root().is_none());
    host.remove();
}

#[wasm_bindgen_test]
fn the_widget_lives_in_an_open_shadow_root_with_its_own_stylesheet() {
    let host = new_element("div");
    let handle = mount(host.clone(), options("")).unwrap();
    let shadow = host.shadow_root().unwrap();
    let style = shadow.query_selector("style").unwrap().unwrap();
    let css = style.text_content().unwrap_or_default();
    assert!(css.starts_with(":host{all:initial;"), "{css}");
    assert!(shadow
        .query_selector(".ck-root section.ck")
        .unwrap()
        .is_some());

    // One host, one widget: mounting again replaces it.
    let again = mount(host.clone(), options("")).unwrap();
    // Its stylesheet and its container, once.
    assert_eq!(shadow.child_element_count(), 2);
    handle.unmount();
    again.unmount();
    assert_eq!(shadow.child_element_count(), 0);
    host.remove();
}

#[wasm_bindgen_test]
fn the_merchants_appearance_is_applied_and_invalid_values_are_dropped() {
    let host = new_element("div");
    let appearance = r##", "appearance": {"theme": "dark", "variables":
        {"colorPrimary": "#ff0000", "borderRadius": "round please"}}"##;
    let handle = mount(host.clone(), options(appearance)).unwrap();
    let shadow = host.shadow_root().unwrap();
    let root: HtmlElement = shadow
        .query_selector(".ck-root")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert_eq!(root.class_name(), "ck-root ck-dark");
    let style = root.style();
    assert_eq!(style.get_property_value("--ck-accent").unwrap(), "#ff0000");
    assert_eq!(style.get_property_value("--ck-radius").unwrap(), "");

    handle.update(js_sys::JSON::parse(r#"{"appearance": {"theme": "light"}}"#).unwrap());
    assert_eq!(root.class_name(), "ck-root");
    assert_eq!(style.get_property_value("--ck-accent").unwrap(), "");
    handle.unmount();
    host.remove();
}

#[wasm_bindgen_test]
async fn unmounting_while_the_order_loads_cancels_the_load() {
    let host = new_element("div");
    mount(host.clone(), options("")).unwrap().unmount();
    // The load would go on here and touch the unmounted widget's state, which aborts the
    // wasm and every widget on the page with it.
    settle().await;
    settle().await;
    let again = mount(host.clone(), options("")).unwrap();
    settle().await;
    let shadow = host.shadow_root().unwrap();
    assert!(shadow.query_selector("section.ck").unwrap().is_some());
    again.unmount();
    host.remove();
}

#[wasm_bindgen_test]
async fn an_unreachable_edge_is_explained_in_the_shoppers_language() {
    let host = new_element("div");
    let handle = mount(host.clone(), options(r#", "locale": "bn""#)).unwrap();
    let shadow = host.shadow_root().unwrap();
    let mut notice = None;
    for _ in 0..200 {
        notice = shadow
            .query_selector("[data-testid=error-message]")
            .unwrap();
        if notice.is_some() {
            break;
        }
        settle().await;
    }
    let text = notice.and_then(|n| n.text_content()).unwrap_or_default();
    assert_eq!(text, Locale::Bn.messages().unreachable);
    handle.unmount();
    host.remove();
}
