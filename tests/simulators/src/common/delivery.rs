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

/// The header lines of one delivery, in the order the provider's sender writes them around
/// the framing lines (`Host` first, then `lead`, `Content-Length`, `Connection: close`, then
/// `rest`), so each simulator's requests keep their bytes.
pub(crate) struct Headers<'a> {
    pub lead: &'a [(&'a str, &'a str)],
    pub rest: &'a [(&'a str, &'a str)],
}

/// POSTs `body` to an `http://` URL and returns the status the server answered with.
pub(crate) fn post(
    url: &str,
    headers: Headers<'_>,
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
    let line = |(name, value): &(&str, &str)| format!("{name}: {value}\r\n");
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\n");
    head.extend(headers.lead.iter().map(line));
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    ));
    head.extend(headers.rest.iter().map(line));
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

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    #[test]
    fn a_post_writes_the_headers_around_the_framing_lines_and_reads_the_status() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0; 1024];
            while !seen.ends_with(b"{}") {
                let n = stream.read(&mut buf).unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let headers = Headers {
            lead: &[("User-Agent", "x")],
            rest: &[("Content-Type", "application/json")],
        };
        let url = format!("http://127.0.0.1:{port}/hook?a=1");
        let status = post(&url, headers, "{}", Duration::from_secs(2));
        assert_eq!(status, Ok(204));
        assert_eq!(
            server.join().unwrap(),
            format!(
                "POST /hook?a=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: x\r\n\
                 Content-Length: 2\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n{{}}"
            )
        );
        let refused = post(
            "https://shop.example/",
            Headers {
                lead: &[],
                rest: &[],
            },
            "",
            Duration::from_secs(1),
        );
        assert_eq!(
            refused,
            Err("the simulator delivers to http:// URLs only".into())
        );
    }

    #[test]
    fn retries_follow_the_gaps_until_acknowledged_or_out_of_gaps() {
        let stop = StopFlag::default();
        let mut made = Vec::new();
        let gaps = |done: u32| (done < 4).then_some(Duration::ZERO);
        retry(&stop, 1, gaps, |n| {
            made.push(n);
            false
        });
        assert_eq!(made, [2, 3, 4]);
        made.clear();
        retry(&stop, 1, gaps, |n| {
            made.push(n);
            n == 3
        });
        assert_eq!(made, [2, 3]);
        stop.stop();
        made.clear();
        retry(&stop, 1, gaps, |n| {
            made.push(n);
            false
        });
        assert!(
            made.is_empty(),
            "a stopped simulator makes no more attempts"
        );
    }
}
