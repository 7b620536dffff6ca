//! Where keyboard focus goes when the widget changes under the shopper: a view that replaces the
//! control they used takes the focus, so keyboard and screen-reader users land on it. Focus the
//! shopper has put elsewhere on the page is left alone.

use leptos::prelude::request_animation_frame;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// Focuses `element` if focus was lost: on nothing, on the page's body, or on the widget's host
/// with nothing focused inside (the control that had it is gone or disabled).
pub fn take_if_lost(element: &HtmlElement) {
    let Some(document) = element.owner_document() else {
        return;
    };
    let lost = match document.active_element() {
        None => true,
        Some(active) => {
            document
                .body()
                .is_some_and(|b| b.is_same_node(Some(&active)))
                || active.shadow_root().is_some_and(|shadow| {
                    shadow.contains(Some(element)) && shadow.active_element().is_none()
                })
        }
    };
    if lost {
        let _ = element.focus();
    }
}

/// After the next frame (once the view has caught up), focuses the first element inside `root`
/// matching `selector`.
pub fn move_to(root: Option<HtmlElement>, selector: &'static str) {
    request_animation_frame(move || {
        let target = root
            .and_then(|root| root.query_selector(selector).ok().flatten())
            .and_then(|el| el.dyn_into::<HtmlElement>().ok());
        if let Some(target) = target {
            let _ = target.focus();
        }
    });
}
