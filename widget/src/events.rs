//! What the widget tells the embedding page: DOM CustomEvents on the host element (they bubble
//! and cross the shadow boundary) and the optional callbacks passed to `Checkout.mount`. Each
//! widget has its own `Events`, so two widgets on a page never hear each other.
//!
//! | event | callback | `detail` |
//! | --- | --- | --- |
//! | `checkout:ready` | `onReady` | `{sessionId}` |
//! | `checkout:change` | `onChange` | `{sessionId, method, points, balance, currency}` |
//! | `checkout:complete` | `onComplete` | `{sessionId, status: "paid" \| "authorized", amountPaid, currency}` (for `authorized`, the amount the shop will capture) |
//! | `checkout:error` | `onError` | `{code, message}` (message in the shopper's language) |

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

use checkout_core::api::SessionStatus;

use crate::state::Choice;

/// The host element and the page's callbacks.
pub struct Events {
    host: HtmlElement,
    on_ready: Option<Function>,
    on_change: Option<Function>,
    on_complete: Option<Function>,
    on_error: Option<Function>,
}

impl Events {
    pub fn new(host: HtmlElement, options: &JsValue) -> Events {
        let callback = |name: &str| {
            Reflect::get(options, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.dyn_into_function())
        };
        Events {
            on_ready: callback("onReady"),
            on_change: callback("onChange"),
            on_complete: callback("onComplete"),
            on_error: callback("onError"),
            host,
        }
    }

    /// `checkout:ready`, once the order is on screen.
    pub fn ready(&self, session_id: &str) {
        self.emit(
            "checkout:ready",
            self.on_ready.as_ref(),
            &[("sessionId", session_id.into())],
        );
    }

    /// `checkout:change`, when the shopper picks another method or changes the split.
    pub fn change(&self, session_id: &str, choice: &Choice) {
        let detail = [
            ("sessionId", session_id.into()),
            ("method", choice.method.as_str().into()),
            ("points", JsValue::from_f64(choice.points as f64)),
            ("balance", choice.balance.to_decimal_string().into()),
            ("currency", choice.balance.currency().code().into()),
        ];
        self.emit("checkout:change", self.on_change.as_ref(), &detail);
    }

    /// `checkout:complete`, when the order is paid, or its card authorized for the shop to
    /// capture (the shopper is done either way).
    pub fn complete(
        &self,
        session_id: &str,
        status: SessionStatus,
        amount_paid: &str,
        currency: &str,
    ) {
        let status = if status == SessionStatus::Authorized {
            "authorized"
        } else {
            "paid"
        };
        let detail = [
            ("sessionId", session_id.into()),
            ("status", status.into()),
            ("amountPaid", amount_paid.into()),
            ("currency", currency.into()),
        ];
        self.emit("checkout:complete", self.on_complete.as_ref(), &detail);
    }

    /// `checkout:error`, when the widget cannot go on.
    pub fn error(&self, code: &str, message: &str) {
        let detail = [("code", code.into()), ("message", message.into())];
        self.emit("checkout:error", self.on_error.as_ref(), &detail);
    }

    fn emit(&self, name: &str, callback: Option<&Function>, fields: &[(&str, JsValue)]) {
        let detail = Object::new();
        for (key, value) in fields {
            let _ = Reflect::set(&detail, &JsValue::from_str(key), value);
        }
        let init = CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        init.set_detail(&detail);
        if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = self.host.dispatch_event(&event);
        }
        if let Some(callback) = callback {
            let _ = callback.call1(&JsValue::NULL, &detail);
        }
    }
}

trait IntoFunction {
    fn dyn_into_function(self) -> Option<Function>;
}

impl IntoFunction for JsValue {
    fn dyn_into_function(self) -> Option<Function> {
        use wasm_bindgen::JsCast;
        self.dyn_into::<Function>().ok()
    }
}
