//! A minimal HTTP/1.1 server on loopback for the simulators: one thread per connection, and a
//! handler that may answer, hang, or close the socket without answering.
//!
//! Why not `tiny_http`: its `Request` answers 500 when dropped unanswered and never hands out the
//! socket, so "the connection was closed with no answer" (a lost execute answer, a gateway that
//! hangs past the client's timeout) cannot be simulated with it. Those are exactly the faults a
//! payment connector must survive, so this module owns the socket. Every answer carries
//! `Connection: close`; clients (ureq, workerd's fetch, browsers) reconnect per request.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Largest request head or body read; a simulator needs no more.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query string, still percent-encoded.
    pub path: String,
    /// The raw query string (without `?`), possibly empty.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The value of header `name` among `headers`; names compare case-insensitively, as HTTP
/// requires.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Request {
    /// A header's value; names compare case-insensitively, as HTTP requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// A decoded query-string parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        crate::util::form_value(&self.query, name)
    }

    /// The body as text (lossy: the simulators only read JSON and forms).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer to send.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn html(status: u16, html: String) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: html.into_bytes(),
        }
    }

    /// `303 See Other`: the browser follows with a GET, as after a form post.
    pub fn see_other(location: &str) -> Response {
        Response {
            status: 303,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// What the handler wants done with the connection.
#[derive(Debug)]
pub enum Reply {
    Respond(Response),
    /// Say nothing for this long, then close the socket (a gateway that hangs).
    Hang(Duration),
    /// Close the socket at once without a byte of answer (an answer lost on the way back).
    Close,
}

pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// A running server; dropping it stops accepting and wakes any hanging connection.
pub struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `127.0.0.1:port` (0 picks a free port) and serves `handler`.
    pub fn start(port: u16, handler: Handler) -> io::Result<Server> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = stopping.clone();
        let accept_thread = thread::Builder::new()
            .name(format!("sim-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, handler, flag))?;
        Ok(Server {
            addr,
            stopping,
            accept_thread: Some(accept_thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // `accept` blocks; a connection of our own wakes it so it can see the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, handler: Handler, stopping: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let handler = handler.clone();
        let stopping = stopping.clone();
        // One thread per connection, so an injected delay never blocks other requests.
        let _ = thread::Builder::new()
            .name("sim-conn".into())
            .spawn(move || serve_connection(stream, &handler, &stopping));
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler, stopping: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let request = match read_request(&stream) {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(_) => {
            let _ = write_response(&stream, &Response::empty(400));
            return;
        }
    };
    match handler(request) {
        Reply::Respond(response) => {
            let _ = write_response(&stream, &response);
        }
        Reply::Hang(duration) => hang(duration, stopping),
        Reply::Close => {}
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sleeps in short slices so that stopping the server also ends its hanging connections.
fn hang(duration: Duration, stopping: &AtomicBool) {
    let until = Instant::now() + duration;
    while Instant::now() < until && !stopping.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(25).min(until - Instant::now()));
    }
}

/// Reads one request; `None` when the peer closed before sending anything.
fn read_request(stream: &TcpStream) -> io::Result<Option<Request>> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("bad request line"));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut request = Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let mut head_len = line.len();
    loop {
        line.clear();
        head_len += reader.read_line(&mut line)?;
        if head_len > MAX_HEAD {
            return Err(invalid("request head too large"));
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            request
                .headers
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    request.body = read_body(&mut reader, &request)?;
    Ok(Some(request))
}

fn read_body(reader: &mut impl BufRead, request: &Request) -> io::Result<Vec<u8>> {
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let length = match request.header("Content-Length") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| invalid("bad Content-Length"))?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(invalid("body too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line)?;
        let size_text = size_line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk"))?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let mut trailer = String::new();
            while reader.read_line(&mut trailer)? > 2 {
                trailer.clear();
            }
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn write_response(mut stream: &TcpStream, response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn raw(server: &Server, request: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    #[test]
    fn chunked_bodies_are_read_and_close_answers_nothing() {
        let handler: Handler = Arc::new(|request: Request| match request.path.as_str() {
            "/close" => Reply::Close,
            _ => Reply::Respond(Response::html(200, request.body_text())),
        });
        let server = Server::start(0, handler).unwrap();
        let chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                       5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let answer = raw(&server, chunked);
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nhello world"), "{answer}");
        assert_eq!(raw(&server, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n"), "");
    }
}
