//! The widget's pushed status: a WebSocket to `GET /v1/widget/sessions/{id}/status`, which the
//! session object answers with its view at once and after every change (`docs/api.md`).
//!
//! A browser's WebSocket takes no `Authorization` header, and a URL lands in logs, so the token
//! is offered as a subprotocol (`bearer.<token>`, beside [`STATUS_SOCKET_PROTOCOL`]); the browser
//! adds the page's `Origin`, which the token is bound to. Used only by the lazily loaded status
//! part (`components/checkout/at_provider.rs`), so the first view does not carry it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use checkout_core::api::{STATUS_SOCKET_BEARER_PREFIX, STATUS_SOCKET_PROTOCOL};
use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What the socket did next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// A status view, as JSON text (a `WidgetSession`).
    View(String),
    /// The socket closed (or never opened: refused, blocked, unreachable).
    Closed,
    /// Nothing happened for the time asked for.
    Quiet,
}

/// The events the socket's handlers hand to [`StatusSocket::next`], and the waiter to wake.
#[derive(Default)]
struct Inbox {
    events: RefCell<VecDeque<SocketEvent>>,
    wake: RefCell<Option<js_sys::Function>>,
}

impl Inbox {
    fn push(&self, event: SocketEvent) {
        self.events.borrow_mut().push_back(event);
        if let Some(wake) = self.wake.borrow_mut().take() {
            let _ = wake.call0(&JsValue::NULL);
        }
    }
}

/// An open (or opening) status socket; closed when dropped.
pub struct StatusSocket {
    ws: web_sys::WebSocket,
    inbox: Rc<Inbox>,
    _on_message: Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_close: Closure<dyn FnMut(JsValue)>,
}

impl StatusSocket {
    /// Opens the socket of `session_id` at the checkout's origin `base` with `token`; `None`
    /// where the browser refuses to even try (no WebSocket, a bad address).
    pub fn open(base: &str, session_id: &str, token: &str) -> Option<StatusSocket> {
        let url = format!(
            "{}/v1/widget/sessions/{session_id}/status",
            base.replacen("http", "ws", 1)
        );
        let protocols = js_sys::Array::of2(
            &JsValue::from_str(STATUS_SOCKET_PROTOCOL),
            &JsValue::from_str(&format!("{STATUS_SOCKET_BEARER_PREFIX}{token}")),
        );
        let ws = web_sys::WebSocket::new_with_str_sequence(&url, &protocols).ok()?;
        let inbox = Rc::new(Inbox::default());
        let on_message = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                if let Some(text) = event.data().as_string() {
                    inbox.push(SocketEvent::View(text));
                }
            })
        };
        // An error is always followed by a close, which is what counts.
        let on_close = {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
                inbox.push(SocketEvent::Closed)
            })
        };
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(StatusSocket {
            ws,
            inbox,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// The next event, or [`SocketEvent::Quiet`] after `within_ms` without one.
    pub async fn next(&self, within_ms: u32) -> SocketEvent {
        if let Some(event) = self.inbox.events.borrow_mut().pop_front() {
            return event;
        }
        let inbox = self.inbox.clone();
        let promise = Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                    &resolve,
                    within_ms as i32,
                );
            }
            *inbox.wake.borrow_mut() = Some(resolve);
        });
        let _ = JsFuture::from(promise).await;
        self.inbox.wake.borrow_mut().take();
        let event = self.inbox.events.borrow_mut().pop_front();
        event.unwrap_or(SocketEvent::Quiet)
    }
}

impl Drop for StatusSocket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::{SocketEvent, StatusSocket};

    /// Puts a stand-in `WebSocket` on the window that records how it was opened and lets the
    /// test play the server; returns what puts the real one back.
    fn fake_websocket() -> impl Drop {
        let script = "window.__realWebSocket = window.__realWebSocket || window.WebSocket;\
            window.WebSocket = function (url, protocols) {\
              window.__socket = this; this.url = url; this.protocols = protocols;\
              this.closed = false; this.close = function () { this.closed = true; };\
            };";
        js_sys::eval(script).unwrap();
        struct Restore;
        impl Drop for Restore {
            fn drop(&mut self) {
                let _ = js_sys::eval("window.WebSocket = window.__realWebSocket;");
            }
        }
        Restore
    }

    #[wasm_bindgen_test]
    async fn the_token_is_offered_as_a_subprotocol_never_in_the_url() {
        let _restore = fake_websocket();
        let socket = StatusSocket::open("https://checkout.example", "cs_1", "wt1.a.b").unwrap();
        let url = js_sys::eval("window.__socket.url")
            .unwrap()
            .as_string()
            .unwrap();
        assert_eq!(url, "wss://checkout.example/v1/widget/sessions/cs_1/status");
        let offered = js_sys::eval("window.__socket.protocols.join(' ')").unwrap();
        assert_eq!(
            offered.as_string().unwrap(),
            "checkout.status.v1 bearer.wt1.a.b"
        );
        drop(socket);
        assert_eq!(js_sys::eval("window.__socket.closed").unwrap(), true);
    }

    #[wasm_bindgen_test]
    async fn views_then_the_close_come_out_in_order_and_silence_is_quiet() {
        let _restore = fake_websocket();
        let socket = StatusSocket::open("http://127.0.0.1:9", "cs_1", "t").unwrap();
        assert_eq!(socket.next(10).await, SocketEvent::Quiet);
        js_sys::eval(
            "window.__socket.onmessage({data: '{\"status\":\"processing\"}'});\
             setTimeout(function () { window.__socket.onmessage({data: '{\"status\":\"paid\"}'});\
               window.__socket.onclose({code: 1000}); }, 5);",
        )
        .unwrap();
        let first = SocketEvent::View(r#"{"status":"processing"}"#.into());
        assert_eq!(socket.next(1_000).await, first);
        let paid = SocketEvent::View(r#"{"status":"paid"}"#.into());
        assert_eq!(socket.next(1_000).await, paid);
        assert_eq!(socket.next(1_000).await, SocketEvent::Closed);
    }
}
