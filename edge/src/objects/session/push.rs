//! The widget's pushed status: hibernatable WebSockets from the session object, in place of the
//! widget's polls while a payment waits at a provider.
//!
//! The Worker has checked the widget token (from the handshake's subprotocol) and the page's
//! origin before it forwards the upgrade here (`handlers::widget_status`). The object accepts the
//! socket with the Hibernation API (`State::accept_web_socket`, workers-rs 0.8 `durable.rs`;
//! Cloudflare, "Durable Objects: WebSocket Hibernation API" and "Build a WebSocket server with
//! WebSocket Hibernation"): while no event runs, the object may leave memory and the socket stays
//! connected, with no duration billed; a socket's attachment (`serializeAttachment`, at most
//! 2 KB) survives that, so each socket keeps its [`plan::SocketNote`] there, and
//! `State::get_websockets` finds every socket again after a wake.
//!
//! What is sent and when is decided by [`plan`] (pure): the view at once, then after every save
//! that changes it ([`CheckoutSession::push_status`], called by `save`, the one writer of the
//! record), the last view (no longer `processing`) followed by a normal close. While a socket is
//! open and a leg awaits the shopper, the alarm comes every 3 s, then every 5 s, and asks the
//! provider (`refresh_from_provider`), as the polls did; the saga's own alarm time is never
//! lost ([`plan::alarm_at`]). Messages from the client are ignored.

pub mod plan;

use checkout_core::api::STATUS_SOCKET_PROTOCOL;
use worker::{Request, Response, WebSocket, WebSocketPair};

use super::CheckoutSession;
use crate::clock::now_s;
use crate::error::{Error, Result};
use crate::saga::record::{LegStage, SessionRecord};
use plan::{Action, SocketNote, View};

/// The header in which the Worker passes the expiry of the token that opened the socket.
pub const TOKEN_EXP_HEADER: &str = "Checkout-Token-Exp";

/// `web_sys::WebSocket.OPEN`.
const OPEN: u16 = 1;

impl CheckoutSession {
    /// Accepts a status socket the Worker forwarded: refused past the cap, else sent the current
    /// view at once (and closed after it when the wait is already over).
    pub(super) async fn open_status_socket(&self, req: &Request) -> Result<Response> {
        let token_exp_s = req
            .headers()
            .get(TOKEN_EXP_HEADER)?
            .and_then(|exp| exp.parse::<i64>().ok())
            .ok_or_else(|| Error::Invariant("a status socket without its token's expiry".into()))?;
        plan::admit(self.open_sockets().len()).map_err(Error::api)?;
        let record = self.current()?;
        let view = View::of(&self.view_of(record, None)?)?;
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let note = SocketNote {
            token_exp_s,
            sent: None,
        };
        self.act(&pair.server, &view, plan::plan(&note, &view, now_s()));
        self.arm_alarm().await?;
        let mut response = Response::from_websocket(pair.client)?;
        response
            .headers_mut()
            .set("Sec-WebSocket-Protocol", STATUS_SOCKET_PROTOCOL)?;
        Ok(response)
    }

    /// After a save that changed `record`: each open socket gets what [`plan::plan`] says. A
    /// socket that cannot be sent to is left to its close event; nothing here fails the save.
    pub(super) fn push_status(&self, record: &SessionRecord) {
        let sockets = self.open_sockets();
        if sockets.is_empty() {
            return;
        }
        let view = match self
            .view_of(record.clone(), None)
            .and_then(|v| Ok(View::of(&v)?))
        {
            Ok(view) => view,
            Err(e) => {
                crate::log::event(
                    crate::log::Level::Error,
                    serde_json::json!({"object": "session", "status_push": e.to_string()}),
                );
                return;
            }
        };
        let now = now_s();
        for socket in sockets {
            let note = socket
                .deserialize_attachment::<SocketNote>()
                .ok()
                .flatten()
                // A socket without a note (none is accepted without one) is treated as expired.
                .unwrap_or(SocketNote {
                    token_exp_s: 0,
                    sent: None,
                });
            self.act(&socket, &view, plan::plan(&note, &view, now));
        }
    }

    fn act(&self, socket: &WebSocket, view: &View, action: Action) {
        let outcome = match action {
            Action::Keep => Ok(()),
            Action::Send { note, close_after } => socket
                .serialize_attachment(&note)
                .and_then(|()| socket.send_with_str(&view.text))
                .and_then(|()| match close_after {
                    true => socket.close(Some(plan::CLOSE_SETTLED), Some("settled")),
                    false => Ok(()),
                }),
            Action::Close { code, reason } => socket.close(Some(code), Some(reason)),
        };
        if let Err(e) = outcome {
            crate::log::event(
                crate::log::Level::Warn,
                serde_json::json!({"object": "session", "status_socket": e.to_string()}),
            );
        }
    }

    /// The status sockets still open (a closing one is no longer sent to, nor counted).
    pub(super) fn open_sockets(&self) -> Vec<WebSocket> {
        let mut sockets = self.state.get_websockets();
        sockets.retain(|s| AsRef::<web_sys::WebSocket>::as_ref(s).ready_state() == OPEN);
        sockets
    }

    /// Sets the alarm to the saga's time, the outbox's backstop, or the sockets' provider tick,
    /// whichever comes first.
    pub(super) async fn arm_alarm(&self) -> Result<()> {
        let now = now_s();
        let alarm_at = {
            let record = self.current()?;
            let saga_at = crate::saga::next_alarm_at_s(&record, now);
            let sockets = !self.open_sockets().is_empty();
            plan::alarm_at(saga_at, sockets, awaiting_since_s(&record), now)
        };
        // Events waiting for their hand-over: the alarm is their backstop should this instance
        // die before `deliver_after_reply` is done, which then puts this time back.
        let alarm_at = self.delivery.backstop(alarm_at, now);
        // Written only when it changes (`alarm.rs`).
        self.alarm.write(&self.state.storage(), alarm_at).await
    }

    /// The alarm while sockets may be open: the provider asked if a socket waits on a leg the
    /// shopper is approving, the saga stepped only when its own time has come (an early step
    /// would be harmless but wasted), then the alarm armed again.
    pub(super) async fn status_tick(&self) -> Result<bool> {
        if self.open_sockets().is_empty() {
            return Ok(false);
        }
        self.refresh_from_provider().await?;
        let due = plan::saga_due(
            crate::saga::next_alarm_at_s(&self.current()?, now_s()),
            now_s(),
        );
        if due {
            self.drive(crate::saga::Input::Alarm, None).await?;
        }
        self.arm_alarm().await?;
        Ok(true)
    }
}

/// Whether the session's payment under way waits for the shopper at its provider (a QR code
/// shown, a redirect or pay sheet open): the only time asking the provider can find news.
pub(super) fn awaits_shopper(record: &SessionRecord) -> bool {
    awaiting_since_s(record).is_some()
}

/// Since when the payment under way has waited for the shopper at its provider, if it does.
fn awaiting_since_s(record: &SessionRecord) -> Option<i64> {
    let leg = record.processing_payment()?.provider.as_ref()?;
    (leg.stage == LegStage::AwaitingShopper).then_some(leg.stage_since_s)
}
