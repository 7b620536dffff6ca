//! The checkout widget: a Leptos (client-side) WebAssembly component a merchant embeds with one
//! `<script>` tag (`www/checkout.js` loads this module and calls [`mount`]).
//!
//! - [`mount`] attaches a shadow root to the host element, so the merchant's CSS cannot reach in
//!   and ours cannot leak out, and renders [`components::Checkout`] into it.
//! - `api.rs`: every network call. `state.rs`: view state and formatting rules, no DOM.
//! - `events.rs`: the DOM events and callbacks the embedding page receives.
//! - `qr.rs`: QR codes as inline SVG (WeChat Pay Native).
//! - `components/`: one small component per file.

mod api;
mod components;
mod events;
mod qr;
mod state;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use js_sys::Reflect;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};

use crate::api::Api;
use crate::components::Checkout;
use crate::events::Events;

const STYLE: &str = include_str!("style.css");

/// A mounted widget: Leptos' handle (dropping it unmounts) and the container it renders into.
struct Mounted {
    _leptos: Box<dyn std::any::Any>,
    root: HtmlElement,
}

thread_local! {
    /// Mounted widgets by id. They live here, not in the JS handle: wasm-bindgen frees a handle
    /// the page no longer references, and that must not make the widget vanish mid-checkout.
    static MOUNTED: RefCell<HashMap<u32, Mounted>> = RefCell::new(HashMap::new());
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// The page's handle on a mounted widget. `unmount()` removes it.
#[wasm_bindgen]
pub struct WidgetHandle {
    id: u32,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Removes the widget from the page.
    pub fn unmount(&self) {
        if let Some(mounted) = MOUNTED.with(|m| m.borrow_mut().remove(&self.id)) {
            mounted.root.remove();
        }
    }
}

/// Mounts the widget into `host`. `options`: `{clientSecret, apiBase, onReady?, onComplete?,
/// onError?}`.
#[wasm_bindgen]
pub fn mount(host: HtmlElement, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let text = |name: &str| {
        Reflect::get(&options, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                JsValue::from_str(&format!("Checkout.mount: options.{name} is required"))
            })
    };
    let client_secret = text("clientSecret")?;
    let api = Api::new(&text("apiBase")?);
    let root = shadow_container(&host)?;
    let events = StoredValue::new_local(Events::new(host, &options));
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <Checkout api=api client_secret=client_secret events=events /> }
    });
    let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
    let mounted = Mounted {
        _leptos: Box::new(handle),
        root,
    };
    MOUNTED.with(|m| m.borrow_mut().insert(id, mounted));
    Ok(WidgetHandle { id })
}

/// A container inside `host`'s shadow root (created if needed), with the widget's stylesheet.
fn shadow_container(host: &HtmlElement) -> Result<HtmlElement, JsValue> {
    let shadow = match host.shadow_root() {
        Some(shadow) => shadow,
        None => host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
    };
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLE));
    shadow.append_child(&style)?;
    let container: HtmlElement = document.create_element("div")?.dyn_into()?;
    container.set_class_name("ck-root");
    shadow.append_child(&container)?;
    Ok(container)
}
