//! The page's side of the pay-password frame (`www/frames/pay_password.js`, served by the edge's
//! `handlers/frame.rs`): the frame on the checkout's origin holds the password, so no script of
//! the merchant's page can read it. This side sends the frame a pay request without a password
//! and gets back the HTTP status and JSON of the answer; it never sees the password.
//!
//! Every message goes to exactly the checkout's origin (`postMessage`'s `targetOrigin`), and an
//! answer counts only if it comes from that origin and from that frame's window
//! (<https://html.spec.whatwg.org/multipage/web-messaging.html#posting-messages>).

use std::rc::Rc;

use checkout_core::api::PayRequest;
use checkout_core::wire::ToJson;
use js_sys::{Object, Promise, Reflect};
use leptos::prelude::{LocalStorage, SetValue, StoredValue};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlIFrameElement, MessageEvent, Window};

/// How long a payment through the frame may take before its outcome counts as unknown (a retry
/// then reuses the idempotency key, so it cannot pay twice).
const ANSWER_TIMEOUT_MS: i32 = 60_000;

/// What the frame answered.
pub enum Answer {
    /// The shopper has not typed six digits; nothing was sent.
    NotSixDigits,
    /// The edge's answer (`status` 0: none came).
    Http { status: u16, body: String },
}

/// Whether `event` is a message from the frame `frame` on `origin`, of type `kind`.
pub fn from_frame(event: &MessageEvent, frame: &Window, origin: &str, kind: &str) -> bool {
    let source = event.source().map(JsValue::from);
    event.origin() == origin
        && source.is_some_and(|s| s == JsValue::from(frame))
        && text(&event.data(), "type").as_deref() == Some(kind)
}

/// Asks the frame to pay `request` with `token`; `None` when it could not be asked or did not
/// answer in time.
pub async fn ask(
    frame: &HtmlIFrameElement,
    origin: &str,
    token: &str,
    idempotency_key: &str,
    request: &PayRequest,
) -> Option<Answer> {
    let target = frame.content_window()?;
    let window = web_sys::window()?;
    let id = crate::api::new_idempotency_key();
    let mut resolve = None;
    let promise = Promise::new(&mut |done, _| resolve = Some(done));
    let resolve = resolve?;
    let listener = {
        let (resolve, target, origin, id) = (
            resolve.clone(),
            target.clone(),
            origin.to_owned(),
            id.clone(),
        );
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if from_frame(&event, &target, &origin, "checkout:result")
                && text(&data, "id").as_deref() == Some(id.as_str())
            {
                let _ = resolve.call1(&JsValue::NULL, &data);
            }
        })
    };
    let timeout = Closure::<dyn FnMut()>::new(move || {
        let _ = resolve.call1(&JsValue::NULL, &JsValue::UNDEFINED);
    });
    let _guard = Listening::start(window, listener, Some(timeout))?;
    let message = Object::new();
    for (name, value) in [
        ("type", "checkout:pay"),
        ("id", id.as_str()),
        ("token", token),
        ("idempotencyKey", idempotency_key),
        ("request", request.to_json().as_str()),
    ] {
        Reflect::set(&message, &name.into(), &value.into()).ok()?;
    }
    target.post_message(&message, origin).ok()?;
    let data = JsFuture::from(promise).await.ok()?;
    if data.is_undefined() {
        return None;
    }
    if Reflect::get(&data, &"format".into()).ok()?.is_truthy() {
        return Some(Answer::NotSixDigits);
    }
    let status = Reflect::get(&data, &"status".into()).ok()?.as_f64()?;
    Some(Answer::Http {
        status: u16::try_from(status as i64).unwrap_or(0),
        body: text(&data, "body").unwrap_or_default(),
    })
}

/// How Enter in the frame pays: the wallet form's part starts listening ([`SubmitHook::listen`])
/// and keeps the listener in `slot`, which the widget owns.
pub struct SubmitHook {
    /// The checkout's origin, the only one the frame's messages are taken from.
    pub origin: String,
    /// The frame's element, while it is shown.
    pub frame: Rc<dyn Fn() -> Option<HtmlIFrameElement>>,
    /// Pays as the Pay button does.
    pub submit: Rc<dyn Fn()>,
    /// Holds the listener; replacing or disposing it removes the listener.
    pub slot: StoredValue<Option<Listening>, LocalStorage>,
}

impl SubmitHook {
    /// Listens for Enter in the frame, in place of any earlier listener.
    pub fn listen(self) {
        let (frame, submit) = (self.frame, self.submit);
        let listening = on_submit(self.origin, move || frame(), move || submit());
        // A widget gone before its part landed keeps nothing: the listener is dropped here.
        let _ = self.slot.try_set_value(listening);
    }
}

/// Listens for `checkout:submit` (Enter in the frame's field) from the frame `frame()` finds, on
/// `origin`, and runs `submit` for each; until dropped.
pub fn on_submit(
    origin: String,
    frame: impl Fn() -> Option<HtmlIFrameElement> + 'static,
    submit: impl Fn() + 'static,
) -> Option<Listening> {
    let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let source = frame().and_then(|f| f.content_window());
        if source.is_some_and(|w| from_frame(&event, &w, &origin, "checkout:submit")) {
            submit();
        }
    });
    Listening::start(web_sys::window()?, listener, None)
}

/// Asks the frame to focus its field (after a wrong password).
pub fn focus(frame: &HtmlIFrameElement, origin: &str) {
    let _ = frame.focus();
    let message = Object::new();
    let _ = Reflect::set(&message, &"type".into(), &"checkout:focus".into());
    if let Some(target) = frame.content_window() {
        let _ = target.post_message(&message, origin);
    }
}

fn text(data: &JsValue, name: &str) -> Option<String> {
    Reflect::get(data, &name.into()).ok()?.as_string()
}

/// A message listener (and, for a question, its timeout), removed when dropped: when the
/// question is answered or given up (also when the widget is unmounted and the question's task
/// dropped), or when the widget goes.
pub struct Listening {
    window: Window,
    listener: Closure<dyn FnMut(MessageEvent)>,
    timeout: Option<(i32, Closure<dyn FnMut()>)>,
}

impl Listening {
    fn start(
        window: Window,
        listener: Closure<dyn FnMut(MessageEvent)>,
        timeout: Option<Closure<dyn FnMut()>>,
    ) -> Option<Listening> {
        window
            .add_event_listener_with_callback("message", listener.as_ref().unchecked_ref())
            .ok()?;
        let timeout = timeout.map(|callback| {
            let handle = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    callback.as_ref().unchecked_ref(),
                    ANSWER_TIMEOUT_MS,
                )
                .unwrap_or(0);
            (handle, callback)
        });
        Some(Listening {
            window,
            listener,
            timeout,
        })
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self
            .window
            .remove_event_listener_with_callback("message", self.listener.as_ref().unchecked_ref());
        if let Some((handle, _)) = &self.timeout {
            self.window.clear_timeout_with_handle(*handle);
        }
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod dom_tests {
    use std::cell::Cell;

    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::dom_tests::new_element;

    const ORIGIN: &str = "https://checkout.test";

    /// Dispatches a `message` event on the page as if `source` (a window) on `origin` sent it.
    fn message(origin: &str, source: &JsValue, kind: &str) {
        let send = js_sys::Function::new_with_args(
            "origin, source, kind",
            "window.dispatchEvent(new MessageEvent('message', \
               { origin: origin, source: source, data: { type: kind } }));",
        );
        send.call3(&JsValue::NULL, &origin.into(), source, &kind.into())
            .unwrap();
    }

    #[wasm_bindgen_test]
    fn enter_in_the_frame_pays_and_a_message_from_anyone_else_does_not() {
        let frame: HtmlIFrameElement = new_element("iframe").unchecked_into();
        let frame_window = JsValue::from(frame.content_window().unwrap());
        let page_window = JsValue::from(web_sys::window().unwrap());
        let submitted = Rc::new(Cell::new(0));
        let (count, element) = (Rc::clone(&submitted), frame.clone());
        let listening = on_submit(
            ORIGIN.to_owned(),
            move || Some(element.clone()),
            move || count.set(count.get() + 1),
        );

        message("https://evil.example", &frame_window, "checkout:submit");
        message(ORIGIN, &page_window, "checkout:submit");
        message(ORIGIN, &frame_window, "checkout:pay");
        assert_eq!(submitted.get(), 0);

        message(ORIGIN, &frame_window, "checkout:submit");
        assert_eq!(submitted.get(), 1);

        // Once the widget lets go of it, the listener is gone.
        drop(listening);
        message(ORIGIN, &frame_window, "checkout:submit");
        assert_eq!(submitted.get(), 1);
        frame.remove();
    }
}
