//! A recording HTTP proxy in front of a Worker: every request the Worker receives through it
//! (the browser's page loads, the widget's API calls, the shopper's returns from a provider, the
//! provider's webhooks) is kept whole (request line, headers and body) for a test to search.
//!
//! `wrangler dev` logs a request's method and path but not its headers or body, so a test that
//! must show something never reached the Worker sends everything through here instead and
//! searches [`Recorder::requests`]. Each client connection carries one request: the answer goes
//! back with `Connection: close`, so a browser opens a fresh connection for the next one. The
//! proxy keeps the `Host` the client sent, so the Worker builds its own URLs (return URLs,
//! redirects) on the proxy's origin and the shopper stays behind the proxy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy; it stops accepting when dropped.
pub struct Recorder {
    /// `http://127.0.0.1:PORT`, the Worker's address as clients should use it.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Recorder {
    /// A proxy on a free loopback port that forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Recorder {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recorder");
        let port = listener.local_addr().expect("its address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopping) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let (kept, upstream) = (kept.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = relay(client, &upstream, &kept);
                });
            }
        });
        Recorder {
            base_url: format!("http://127.0.0.1:{port}"),
            requests,
            stop,
            port,
        }
    }

    /// Every request received so far, whole (request line, headers, a blank line, the body).
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.requests.lock().expect("the request log").clone()
    }

    /// How many requests went through.
    pub fn count(&self) -> usize {
        self.requests.lock().expect("the request log").len()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request from `client`, records it, sends it upstream and relays the answer.
fn relay(client: TcpStream, upstream: &str, kept: &Mutex<Vec<Vec<u8>>>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if let Some(value) = text.strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
        if text.starts_with("transfer-encoding:") && text.contains("chunked") {
            chunked = true;
        }
        // The upstream answer ends the connection; the client's keep-alive is not forwarded.
        if text.starts_with("connection:") {
            continue;
        }
        if line == b"\r\n" || line == b"\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        head.extend_from_slice(&line);
    }
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        body
    };
    let mut request = head;
    if chunked {
        // Sent on with a length instead.
        let at = request.len() - 2;
        request.splice(
            at..at,
            format!("Content-Length: {}\r\n", body.len()).into_bytes(),
        );
        let text = String::from_utf8_lossy(&request).into_owned();
        request = text
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("transfer-encoding:"))
            .flat_map(|l| format!("{l}\r\n").into_bytes())
            .collect();
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(&body);
    kept.lock().expect("the request log").push(request.clone());

    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&request)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    let mut client = client;
    client.write_all(&answer)?;
    client.flush()
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// The forms a card number can take in text: its digits alone, in groups of four separated by a
/// space, `+` (a form-encoded space), `%20` or `-`.
pub fn card_number_forms(digits: &str) -> Vec<String> {
    let digits: String = digits.chars().filter(char::is_ascii_digit).collect();
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("digits"))
        .collect();
    let mut forms = vec![digits.clone()];
    for separator in [" ", "+", "%20", "-"] {
        forms.push(groups.join(separator));
    }
    forms
}

/// Where, among `(name, bytes)` sources, any form of the card number `digits` occurs.
pub fn find_card_number(digits: &str, sources: &[(String, Vec<u8>)]) -> Vec<String> {
    let forms = card_number_forms(digits);
    let mut found = Vec::new();
    for (name, bytes) in sources {
        for form in &forms {
            if bytes
                .windows(form.len())
                .any(|window| window == form.as_bytes())
            {
                found.push(format!("{form:?} in {name}"));
            }
        }
    }
    found
}

/// Every file under `dir`, as `(path, bytes)`: a Worker's persist folder (its Durable Objects'
/// SQLite databases and their write-ahead logs), its logs.
pub fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.push((path.display().to_string(), bytes));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_card_number_is_found_and_others_are_not() {
        let sources = vec![
            ("spaced".to_owned(), b"x 4242 4242 4242 4242 y".to_vec()),
            (
                "form".to_owned(),
                b"cardNumber=4000+0000+0000+0002".to_vec(),
            ),
            ("plain".to_owned(), b"{\"n\":\"5555555555554444\"}".to_vec()),
            ("last4".to_owned(), b"last4=4242".to_vec()),
        ];
        assert_eq!(
            find_card_number("4242424242424242", &sources),
            ["\"4242 4242 4242 4242\" in spaced"]
        );
        assert_eq!(
            find_card_number("4000 0000 0000 0002", &sources),
            ["\"4000+0000+0000+0002\" in form"]
        );
        assert_eq!(
            find_card_number("5555555555554444", &sources),
            ["\"5555555555554444\" in plain"]
        );
        assert!(find_card_number("4000000000009995", &sources).is_empty());
    }
}
