//! A blocking client for the widget's pushed status (`GET /v1/widget/sessions/{id}/status` with
//! `Upgrade: websocket`), over a plain TCP connection to the Worker, as a browser would open it:
//! with an `Origin` and the offered subprotocols.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::Role;
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
/// HTTP answer, read whole (the handshake is written and read here, so a refusal's body is never
/// cut short; tungstenite takes the stream over once the server switched protocols).
pub fn open(
    base_url: &str,
    session_id: &str,
    protocols: Option<&str>,
    origin: Option<&str>,
) -> Result<StatusSocket, Reply> {
    let host = base_url
        .strip_prefix("http://")
        .expect("the Worker listens on plain HTTP");
    let key = tungstenite::handshake::client::generate_key();
    let mut request = format!(
        "GET /v1/widget/sessions/{session_id}/status HTTP/1.1\r\nHost: {host}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: {key}\r\n"
    );
    if let Some(protocols) = protocols {
        request.push_str(&format!("Sec-WebSocket-Protocol: {protocols}\r\n"));
    }
    if let Some(origin) = origin {
        request.push_str(&format!("Origin: {origin}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(host).expect("connect to the Worker");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(request.as_bytes())
        .expect("send the handshake");
    let (status, headers) = read_head(&mut stream);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if status == 101 {
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        assert_eq!(header("Sec-WebSocket-Accept"), Some(accept), "{headers:?}");
        let ws = WebSocket::from_raw_socket(stream, Role::Client, None);
        let protocol = header("Sec-WebSocket-Protocol");
        return Ok(StatusSocket { ws, protocol });
    }
    let length = header("Content-Length").and_then(|l| l.parse::<usize>().ok());
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            stream.read_exact(&mut body).expect("the refusal's body");
        }
        None => {
            let _ = stream.read_to_end(&mut body);
        }
    }
    Err(Reply {
        status,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        headers,
    })
}

/// The status line's code and the headers, read a byte at a time so nothing after them (the
/// first WebSocket frame) is taken from the stream.
fn read_head(stream: &mut TcpStream) -> (u16, Vec<(String, String)>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream
            .read_exact(&mut byte)
            .expect("the handshake's answer");
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    (status, headers)
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
