//! Delivering callbacks to the merchant: a plain HTTP/1.1 POST on a `TcpStream` (the edge runs
//! on `http://` locally, so an `https://` URL is recorded as a transport error), and retries
//! with back-off until one attempt is acknowledged.
//!
//! What is sent (headers, signatures, body), what counts as acknowledged and how far apart the
//! retries are is each provider's own: Stripe doubles a base gap, WeChat follows its published
//! schedule. Those stay in `stripe/webhook.rs` and `wechat/notify.rs`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::serve::StopFlag;

/// Retries after attempt `done` (1 once the first was made): waits `gap_after(done)`, makes
/// attempt `done + 1`, and so on until `attempt` says it was acknowledged, `gap_after` gives
/// `None` (out of retries) or the simulator stops.
pub(crate) fn retry(
    stop: &StopFlag,
    mut done: u32,
    gap_after: impl Fn(u32) -> Option<Duration>,
    mut attempt: impl FnMut(u32) -> bool,
) {
    while let Some(gap) = gap_after(done) {
        if !stop.sleep(gap) || attempt(done + 1) {
            return;
        }
        done += 1;
    }
}

/// POSTs `body` to an `http://` URL with `headers` (after `Host`, `Content-Length` and
/// `Connection: close`) and returns the status the server answered with.
pub(crate) fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the simulator delivers to http:// URLs only")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolve {authority}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .and_then(|()| stream.flush())
        .map_err(|e| format!("send: {e}"))?;
    let mut status_line = String::new();
    BufReader::new(&stream)
        .read_line(&mut status_line)
        .map_err(|e| format!("no answer: {e}"))?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {:?}", status_line.trim_end()))
}
