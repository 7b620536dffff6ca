//! A blocking client for the widget's pushed status (`GET /v1/widget/sessions/{id}/status` with
//! `Upgrade: websocket`), over a plain TCP connection to the Worker, as a browser would open it:
//! with an `Origin` and the offered subprotocols.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use crate::api::Reply;

/// The subprotocols the widget offers: the status protocol and its token.
pub fn protocols(token: &str) -> String {
    format!("checkout.status.v1, bearer.{token}")
}

/// An open status socket.
pub struct StatusSocket {
    ws: WebSocket<TcpStream>,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
}

/// What the socket said next.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A status view (the JSON of `GET /v1/widget/sessions/{id}?wallet=omit`).
    View(Value),
    /// The server closed the socket with this code and reason.
    Closed(u16, String),
    /// Nothing within the time asked for.
    Silent,
}

/// Opens the status socket of `session_id` at `base_url` (`http://127.0.0.1:port`), offering
/// `protocols` (none: no header) from `origin` (none: no header). A refused handshake is its
/// HTTP answer.
pub fn open(
    base_url: &str,
    session_id: &str,
    protocols: Option<&str>,
    origin: Option<&str>,
) -> Result<StatusSocket, Reply> {
    let host = base_url
        .strip_prefix("http://")
        .expect("the Worker listens on plain HTTP");
    let url = format!("ws://{host}/v1/widget/sessions/{session_id}/status");
    let mut request = url.into_client_request().expect("a WebSocket request");
    let headers = request.headers_mut();
    if let Some(protocols) = protocols {
        headers.insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocols).unwrap(),
        );
    }
    if let Some(origin) = origin {
        headers.insert("Origin", HeaderValue::from_str(origin).unwrap());
    }
    let stream = TcpStream::connect(host).expect("connect to the Worker");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    match tungstenite::client(request, stream) {
        Ok((ws, response)) => {
            let protocol = response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Ok(StatusSocket { ws, protocol })
        }
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let body = response.body().clone().unwrap_or_default();
            Err(Reply {
                status: response.status().as_u16(),
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                headers,
            })
        }
        Err(e) => panic!("status socket handshake: {e}"),
    }
}

impl StatusSocket {
    /// The next view or close, waiting at most `within`.
    pub fn next(&mut self, within: Duration) -> Event {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Event::Silent;
            }
            self.ws.get_mut().set_read_timeout(Some(left)).unwrap();
            match self.ws.read() {
                Ok(Message::Text(text)) => {
                    return Event::View(serde_json::from_str(text.as_str()).expect("a JSON view"))
                }
                Ok(Message::Close(frame)) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((u16::from(CloseCode::Status), String::new()));
                    return Event::Closed(code, reason);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Event::Silent
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Event::Closed(u16::from(CloseCode::Abnormal), String::new())
                }
                Err(e) => panic!("status socket read: {e}"),
            }
        }
    }

    /// Waits for a view whose `status` is `status`, skipping others; every view seen, in order.
    pub fn until_status(&mut self, status: &str, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Event::View(view) => {
                    let done = view["status"] == status;
                    seen.push(view);
                    if done {
                        return seen;
                    }
                }
                other => panic!("no `{status}` view before {other:?}; seen: {seen:#?}"),
            }
        }
        panic!("no `{status}` view within {within:?}; seen: {seen:#?}");
    }

    /// Closes from the client's side.
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
