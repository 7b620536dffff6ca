//! The checkout widget: a Leptos (client-side) WebAssembly component a merchant embeds with one
//! `<script>` tag (`www/checkout.js` loads this module and calls [`mount`]).
//!
//! - [`mount`] attaches a shadow root to the host element, so the merchant's CSS cannot reach in
//!   and ours cannot leak out, and renders [`components::Checkout`] into it. Each mount has its
//!   own signals, events and shadow root, so several widgets can share a page.
//! - `api.rs`: every network call; `password_frame.rs`: the messages to and from the
//!   pay-password frame, through which a balance payment goes. `state.rs`: view state and its rules, no DOM.
//! - `i18n/`: the shopper's language, every string in English, Chinese and Bangla, and the
//!   formatting of amounts and times. `appearance.rs`: the merchant's theme, validated.
//! - `events.rs`: the DOM events and callbacks the embedding page receives.
//! - `qr.rs`: QR codes as inline SVG (WeChat Pay Native).
//! - `components/`: one small component per file.

#[macro_use]
mod lazy;

mod api;
mod appearance;
mod components;
#[cfg(test)]
mod css;
#[cfg(all(test, target_family = "wasm"))]
mod dom_tests;
mod events;
mod i18n;
#[cfg(all(test, target_family = "wasm"))]
mod mount_tests;
mod password_frame;
mod qr;
mod state;

use std::cell::{Cell, RefCell};

use js_sys::Reflect;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{HtmlElement, ShadowRootInit, ShadowRootMode};

use crate::api::Api;
use crate::appearance::{Appearance, Theme};
use crate::components::Checkout;
use crate::events::Events;
use crate::i18n::Locale;

/// `style.css`, minified by `build.rs`.
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/style.min.css"));

/// A mounted widget: Leptos' handle (dropping it unmounts), its host and the container it renders
/// into, and the locale the page may change.
struct Mounted {
    _leptos: Box<dyn std::any::Any>,
    host: HtmlElement,
    root: HtmlElement,
    locale: ArcRwSignal<Locale>,
}

thread_local! {
    /// Mounted widgets by id. They live here, not in the JS handle: wasm-bindgen frees a handle
    /// the page no longer references, and that must not make the widget vanish mid-checkout. A
    /// page holds a few widgets at most: a list, which costs the first view less than a map.
    static MOUNTED: RefCell<Vec<(u32, Mounted)>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: Cell<u32> = const { Cell::new(1) };
}

/// The page's handle on a mounted widget: `update(options)` and `unmount()`.
#[wasm_bindgen]
pub struct WidgetHandle {
    id: u32,
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Changes `locale` and/or `appearance` while the widget is up; what the shopper chose and
    /// typed stays. Options not given are left as they are.
    pub fn update(&self, options: JsValue) {
        let Some((root, locale)) = MOUNTED.with(|m| {
            m.borrow()
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, w)| (w.root.clone(), w.locale.clone()))
        }) else {
            return;
        };
        if has(&options, "locale") {
            locale.set(resolve_locale(&options));
        }
        if has(&options, "appearance") {
            apply_appearance(&root, &options);
        }
    }

    /// Removes the widget from the page.
    pub fn unmount(&self) {
        let removed = MOUNTED.with(|m| {
            let mut mounted = m.borrow_mut();
            let at = mounted.iter().position(|(id, _)| *id == self.id)?;
            Some(mounted.swap_remove(at).1)
        });
        if let Some(mounted) = removed {
            clear(&mounted.host);
        }
    }
}

/// Mounts the widget into `host`, replacing a widget already there. `options`: `{clientSecret,
/// apiBase, locale?, appearance?, onReady?, onChange?, onComplete?, onError?, sent?}` (`sent`:
/// [`api::Sent`], set by the loader).
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
    let sent = api::Sent::from_options(&options);
    unmount_from(&host);
    let root = shadow_container(&host)?;
    apply_appearance(&root, &options);
    let locale = ArcRwSignal::new(resolve_locale(&options));
    let events = StoredValue::new_local(Events::new(host.clone(), &options));
    let signal = locale.clone();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        let locale = RwSignal::from(signal);
        view! { <Checkout api=api client_secret=client_secret events=events locale=locale sent=sent /> }
    });
    let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
    let mounted = Mounted {
        _leptos: Box::new(handle),
        host,
        root,
        locale,
    };
    MOUNTED.with(|m| m.borrow_mut().push((id, mounted)));
    Ok(WidgetHandle { id })
}

/// Unmounts the widget already in `host`, if any: one host, one widget.
fn unmount_from(host: &HtmlElement) {
    let id = MOUNTED.with(|m| {
        m.borrow()
            .iter()
            .find(|(_, w)| w.host.is_same_node(Some(host)))
            .map(|(id, _)| *id)
    });
    if let Some(id) = id {
        WidgetHandle { id }.unmount();
    }
}

fn clear(host: &HtmlElement) {
    if let Some(shadow) = host.shadow_root() {
        shadow.set_inner_html("");
    }
}

/// `object[name]`; `undefined` when `object` is not an object.
fn get(object: &JsValue, name: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or_default()
}

fn has(options: &JsValue, name: &str) -> bool {
    Reflect::has(options, &JsValue::from_str(name)).unwrap_or(false)
}

/// The merchant's `locale` option (`"en"`, `"zh-CN"`, `"bn"`, `"auto"`), else the browser's
/// languages, else English.
fn resolve_locale(options: &JsValue) -> Locale {
    let option = get(options, "locale").as_string();
    let navigator = web_sys::window().map(|w| w.navigator());
    let mut browser: Vec<String> = navigator
        .as_ref()
        .map(|n| n.languages().iter().filter_map(|l| l.as_string()).collect())
        .unwrap_or_default();
    if browser.is_empty() {
        browser.extend(navigator.and_then(|n| n.language()));
    }
    let locale = Locale::resolve(option.as_deref(), &browser);
    if let Some(asked) = option.filter(|o| o != "auto" && Locale::from_tag(o).is_none()) {
        warn(&format!(
            "locale \"{asked}\" is not supported; using {}",
            locale.tag()
        ));
    }
    locale
}

/// Sets the merchant's theme and variables on the widget's container, inside the shadow root
/// where the page's CSS cannot override them. Invalid values are dropped with a warning.
fn apply_appearance(root: &HtmlElement, options: &JsValue) {
    let given = get(options, "appearance");
    let theme = get(&given, "theme");
    // A theme that is not a string is as wrong as an unknown one.
    let theme =
        (!theme.is_undefined() && !theme.is_null()).then(|| theme.as_string().unwrap_or_default());
    let variables: Vec<(String, Option<String>)> = get(&given, "variables")
        .dyn_into::<js_sys::Object>()
        .map(|v| {
            js_sys::Object::entries(&v)
                .iter()
                .map(|entry| {
                    let pair: js_sys::Array = entry.unchecked_into();
                    (
                        pair.get(0).as_string().unwrap_or_default(),
                        pair.get(1).as_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let (appearance, warnings) = Appearance::parse(theme.as_deref(), &variables);
    for warning in warnings {
        warn(&warning);
    }
    root.set_class_name(match appearance.theme {
        Theme::Light => "ck-root",
        Theme::Dark => "ck-root ck-dark",
    });
    let style = root.style();
    for property in Appearance::all_properties() {
        let _ = style.remove_property(property);
    }
    for (property, value) in &appearance.properties {
        let _ = style.set_property(property, value);
    }
}

/// A warning for the page's developer, in the browser's console.
pub(crate) fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&format!("checkout: {message}")));
}

/// A container inside `host`'s shadow root (created if needed), with the widget's stylesheet.
fn shadow_container(host: &HtmlElement) -> Result<HtmlElement, JsValue> {
    let shadow = match host.shadow_root() {
        Some(shadow) => shadow,
        None => host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
    };
    shadow.set_inner_html("");
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
