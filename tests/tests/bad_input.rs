//! Bad session requests against the Worker in workerd: every refusal is a 4xx with its stable
//! code, the field at fault and a human message, and nothing is created.

mod common;

use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body, Rig};
use common::{assert_refused, body_with};
use serde_json::{json, Value};

/// POSTs `bytes` as a new session with the demo key and `content_type`, through ureq directly so
/// the body may be any bytes, sent with or without a Content-Length.
fn post_bytes(rig: &Rig, content_type: Option<&str>, bytes: &[u8], chunked: bool) -> Reply {
    let url = format!("{}/v1/checkout_sessions", rig.client.base_url);
    let mut request = ureq::post(&url).set("Authorization", &format!("Bearer {}", rig.key()));
    if let Some(content_type) = content_type {
        request = request.set("Content-Type", content_type);
    }
    let result = if chunked {
        request.send(std::io::Cursor::new(bytes.to_vec()))
    } else {
        request.send_bytes(bytes)
    };
    checkout_tests::api::reply(result)
}

fn post_json(rig: &Rig, raw: &str) -> Reply {
    post_bytes(rig, Some("application/json"), raw.as_bytes(), false)
}

#[test]
fn malformed_mistyped_or_unknown_fields_are_malformed_json() {
    let rig = Rig::start("bad-json");
    let valid = session_body("o-bad", "1.00", "c").to_string();
    let mut raws = vec![
        "{not json".to_owned(),
        String::new(),
        "null".to_owned(),
        "[]".to_owned(),
        "{}".to_owned(),
        format!("{valid} trailing"),
        valid.replacen('{', r#"{"amount":"2.00","#, 1),
        format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)),
    ];
    let wrong_types = [
        ("amount", json!(1.5)),
        ("amount", Value::Null),
        ("order_id", json!(42)),
        ("methods", json!("balance")),
        ("methods", json!(["paypal"])),
        ("currency", json!("XYZ")),
        ("currency", json!("bdt")),
        ("expires_in_s", json!("600")),
        ("expires_in_s", json!(1.5)),
        ("description", json!({"text": "Tea"})),
    ];
    raws.extend(
        wrong_types
            .iter()
            .map(|(f, v)| body_with("o-bad", f, v.clone()).to_string()),
    );
    for raw in &raws {
        let reply = post_json(&rig, raw);
        assert_refused(&reply, 400, "malformed_json");
        assert!(
            reply.body["error"]["message"].as_str().unwrap().len() < 400,
            "{}",
            reply.body
        );
    }
    let unknown = post_json(
        &rig,
        &body_with("o-bad", "ammount", json!("2.00")).to_string(),
    );
    assert_refused(&unknown, 400, "malformed_json");
    assert!(unknown.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ammount"));
    let not_utf8 = post_bytes(
        &rig,
        Some("application/json"),
        b"{\"order_id\":\"\xff\xfe\"}",
        false,
    );
    assert_refused(&not_utf8, 400, "malformed_json");

    // None of it was stored: the order id is still free for any body.
    rig.create_session(&session_body("o-bad", "3.00", "c"))
        .expect_status(200);
}

#[test]
fn refused_values_name_their_parameter() {
    let rig = Rig::start("bad-values");
    let mut cases: Vec<(&str, Value)> = [
        "1.234",
        "-5.00",
        "NaN",
        "",
        "99999999999999999999",
        "100000000000.01",
        "0.00",
        "0",
        "1e3",
        " 1.00",
        "1,000.00",
        "Infinity",
        "+1.00",
        "1.",
        ".5",
        "0x10",
        "１.00",
    ]
    .iter()
    .map(|a| ("amount", json!(a)))
    .collect();
    for id in ["", "has space", "ord/1", "ünï", &"x".repeat(65)] {
        cases.push(("order_id", json!(id)));
        cases.push(("customer_id", json!(id)));
    }
    for text in ["", "   ", "tab\there", &"x".repeat(201)] {
        cases.push(("description", json!(text)));
    }
    for url in [
        "http://shop.example/done",
        "ftp://shop.example/",
        "https://",
        "javascript:alert(1)",
        "http://localhost.evil.example/",
        "https://shop.example/a b",
    ] {
        cases.push(("return_url", json!(url)));
    }
    cases.push(("methods", json!([])));
    cases.push(("methods", json!(["balance", "balance"])));
    for ttl in [299, 86_401, 0, -1] {
        cases.push(("expires_in_s", json!(ttl)));
    }
    for (field, value) in &cases {
        let reply = rig.create_session(&body_with("o-val", field, value.clone()));
        assert_refused(&reply, 400, "invalid_parameter");
        assert_eq!(
            reply.body["error"]["param"], *field,
            "{field}={value}: {}",
            reply.body
        );
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    let mut jpy = body_with("o-val", "amount", json!("1.5"));
    jpy["currency"] = json!("JPY");
    assert_eq!(rig.create_session(&jpy).body["error"]["param"], "amount");
    // Methods this Worker does not offer (bKash and WeChat Pay only when pointed at a provider).
    let mut yuan = body_with("o-val", "methods", json!(["wechat_pay"]));
    yuan["currency"] = json!("CNY");
    for body in [
        body_with("o-val", "methods", json!(["card"])),
        body_with("o-val", "methods", json!(["balance", "bkash"])),
        yuan,
    ] {
        let reply = rig.create_session(&body);
        assert_refused(&reply, 400, "payment_method_unavailable");
        assert_eq!(reply.body["error"]["param"], "methods");
    }
    // A provider asked to take a currency it does not settle in.
    let reply = rig.create_session(&body_with("o-val", "methods", json!(["wechat_pay"])));
    assert_refused(&reply, 400, "invalid_parameter");
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not take BDT"));

    // The edges of what is allowed are allowed.
    let accepted = [
        ("amount", json!("100000000000.00")),
        ("order_id", json!("o".repeat(64))),
        ("description", json!("é".repeat(200))),
        ("return_url", json!("http://localhost:8080/done")),
        ("expires_in_s", json!(86_400)),
    ];
    for (n, (field, value)) in accepted.into_iter().enumerate() {
        let order = if field == "order_id" {
            value.as_str().unwrap().to_owned()
        } else {
            format!("o-ok-{n}")
        };
        let reply = rig.create_session(&body_with(&order, field, value.clone()));
        assert_eq!(reply.status, 200, "{field}={value}: {}", reply.body);
    }
    rig.create_session(&session_body("o-val", "1.00", "c"))
        .expect_status(200);
}

#[test]
fn other_content_types_and_oversized_bodies_are_refused() {
    let rig = Rig::start("bad-bodies");
    let body = session_body("o-ct", "1.00", "c").to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
        Some("text/json"),
    ] {
        let reply = post_bytes(&rig, content_type, body.as_bytes(), false);
        assert_refused(&reply, 415, "unsupported_media_type");
    }

    // Exactly 16 KiB is read (and refused for its 16 000-character description); one byte more
    // is too large, whether announced by Content-Length or streamed in chunks.
    let sized = |len: usize| {
        let base = body_with("o-big", "description", json!(""))
            .to_string()
            .len();
        body_with("o-big", "description", json!("x".repeat(len - base))).to_string()
    };
    let limit = sized(16 * 1024);
    assert_eq!(limit.len(), 16_384);
    let at_limit = post_json(&rig, &limit);
    assert_refused(&at_limit, 400, "invalid_parameter");
    assert_refused(
        &post_json(&rig, &sized(16 * 1024 + 1)),
        413,
        "body_too_large",
    );
    assert_refused(&post_json(&rig, &sized(1_000_000)), 413, "body_too_large");
    let streamed = post_bytes(
        &rig,
        Some("application/json"),
        sized(20_000).as_bytes(),
        true,
    );
    assert_refused(&streamed, 413, "body_too_large");

    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let reply = post_bytes(&rig, Some(content_type), body.as_bytes(), false);
        assert_eq!(reply.status, 200, "{content_type}: {}", reply.body);
    }
}

/// Sends one HTTP/1.1 request over a bare socket: a new session whose `Content-Length` claims one
/// byte fewer than the body sent, which a client library would never send. Returns the first
/// answer's status line and JSON body.
fn post_with_short_length(rig: &Rig, body: &str) -> (String, Value) {
    use std::io::{Read as _, Write as _};
    let address = rig.client.base_url.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(address).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /v1/checkout_sessions HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        rig.key(),
        body.len() - 1
    );
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(body.as_bytes()).unwrap();
    let mut answer = Vec::new();
    // The server may close, or time out on the extra byte: what came before is enough.
    let _ = socket.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let json_at = answer.find("\r\n\r\n").map(|at| at + 4).unwrap_or(0);
    let json_at = json_at + answer[json_at..].find('{').unwrap_or(0);
    let json = serde_json::Deserializer::from_str(&answer[json_at..])
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or(Value::Null);
    (status, json)
}

#[test]
fn a_body_longer_than_its_declared_length_is_read_only_to_that_length() {
    // The body is read whole when its length is declared: the bytes past the declared length are
    // not this request's (HTTP/1.1 frames the body by Content-Length), so the Worker sees the
    // JSON without its closing brace, and refuses it; the session is not created.
    let rig = Rig::start("bad-short-length");
    let body = session_body("o-short", "1.00", "c").to_string();
    assert!(body.ends_with('}'));
    let (status, answer) = post_with_short_length(&rig, &body);
    assert!(status.starts_with("HTTP/1.1 400"), "{status}: {answer}");
    assert_eq!(answer["error"]["code"], "malformed_json", "{answer}");
    rig.create_session(&session_body("o-short", "2.00", "c"))
        .expect_status(200);
}
