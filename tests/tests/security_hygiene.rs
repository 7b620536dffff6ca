//! The outside review's hygiene findings, over real HTTP against the Worker in workerd: provider
//! accounts chosen by the key's mode, URLs parsed rather than pattern-matched, bodies bounded
//! while they are read, no demo in a production-like Worker, and widget tokens only for a caller
//! that names its origin.

mod common;

use checkout_simulators::bkash::{BkashSimulator, RunningBkash, SimConfig};
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures::{session_body_in, Rig, ORIGIN};
use checkout_tests::providers;
use checkout_tests::worker::WorkerOptions;
use common::{assert_refused, create_with_key};
use serde_json::{json, Value};

/// The demo merchant's live key.
fn live_key(rig: &Rig) -> String {
    rig.vars.merchant("m_demo").live_key().to_owned()
}

fn bkash_session(order: &str) -> Value {
    session_body_in(order, "120.00", "BDT", "cus_modes", &["bkash"])
}

/// Creates a bKash session with `key` and starts its payment; the provider's redirect URL.
fn start_bkash_payment(rig: &Rig, key: &str, order: &str) -> String {
    let session = create_with_key(rig, key, &bkash_session(order)).expect_status(200);
    let checkout = rig.checkout_of(&session);
    let paid = rig
        .pay_from_page(&checkout, &format!("{order}-pay"), "bkash")
        .expect_status(200);
    paid.body["next_action"]["url"]
        .as_str()
        .expect("a redirect to bKash")
        .to_owned()
}

/// A second bKash simulator with its own credentials, standing in for the merchant's real account.
fn start_live_bkash() -> RunningBkash {
    BkashSimulator::start(SimConfig {
        username: "live_merchant".into(),
        password: checkout_tests::dev_vars::random_base62(24),
        app_key: checkout_tests::dev_vars::random_base62(26),
        app_secret: checkout_tests::dev_vars::random_base62(40),
        port: 0,
        ..SimConfig::default()
    })
}

/// `BKASH_LIVE_*` pointing at `sim` (its credentials passed as plain vars: test-only).
fn live_bkash_vars(sim: &RunningBkash) -> Vec<(String, String)> {
    let config = sim.config();
    vec![
        ("BKASH_LIVE_BASE_URL".into(), sim.base_url()),
        ("BKASH_LIVE_USERNAME".into(), config.username.clone()),
        ("BKASH_LIVE_PASSWORD".into(), config.password.clone()),
        ("BKASH_LIVE_APP_KEY".into(), config.app_key.clone()),
        ("BKASH_LIVE_APP_SECRET".into(), config.app_secret.clone()),
    ]
}

/// M4: with only sandbox credentials, a live key cannot offer bKash or WeChat Pay; it is told so
/// when it creates the session, with a stable code, and nothing reaches a provider. The same
/// Worker's test key pays through the sandbox.
#[test]
fn a_live_key_with_only_test_credentials_is_refused_the_providers() {
    let vars = DevVars::of_repo();
    let bkash = providers::start_bkash(&vars, 0);
    let wechat = providers::start_wechat(&vars, 0);
    let mut worker_vars = providers::bkash_worker_vars(&bkash);
    worker_vars.extend(providers::wechat_worker_vars(&wechat));
    let rig = Rig::start_with(
        "hygiene-live-no-creds",
        WorkerOptions {
            vars: worker_vars,
            ..WorkerOptions::default()
        },
    );
    let live = live_key(&rig);

    let refused = create_with_key(&rig, &live, &bkash_session("live-bkash-1"));
    assert_refused(&refused, 400, "payment_method_unavailable");
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("live"), "{message}");
    assert_eq!(refused.body["error"]["param"], "methods");

    let mut yuan = bkash_session("live-wechat-1");
    yuan["currency"] = json!("CNY");
    yuan["methods"] = json!(["wechat_pay"]);
    let refused = create_with_key(&rig, &live, &yuan);
    assert_refused(&refused, 400, "payment_method_unavailable");

    // Store balance needs no provider: the live key still works for it.
    let mut balance = bkash_session("live-balance-1");
    balance["methods"] = json!(["balance"]);
    create_with_key(&rig, &live, &balance).expect_status(200);

    // A test session pays through the sandbox simulator.
    let redirect = start_bkash_payment(&rig, &rig.key(), "test-bkash-1");
    assert!(redirect.starts_with(&bkash.origin()), "{redirect}");
    let payment_id = redirect.split("paymentID=").nth(1).unwrap();
    assert!(bkash.payment(payment_id).is_some());
}

/// M4: with both accounts configured, each session pays through its own mode's account only.
#[test]
fn each_mode_pays_through_its_own_account() {
    let vars = DevVars::of_repo();
    let sandbox = providers::start_bkash(&vars, 0);
    let real = start_live_bkash();
    let mut worker_vars = providers::bkash_worker_vars(&sandbox);
    worker_vars.extend(live_bkash_vars(&real));
    let rig = Rig::start_with(
        "hygiene-two-accounts",
        WorkerOptions {
            vars: worker_vars,
            ..WorkerOptions::default()
        },
    );

    let live_redirect = start_bkash_payment(&rig, &live_key(&rig), "modes-live-1");
    assert!(live_redirect.starts_with(&real.origin()), "{live_redirect}");
    let live_payment = live_redirect.split("paymentID=").nth(1).unwrap();
    assert!(real.payment(live_payment).is_some());

    let test_redirect = start_bkash_payment(&rig, &rig.key(), "modes-test-1");
    assert!(
        test_redirect.starts_with(&sandbox.origin()),
        "{test_redirect}"
    );
    let test_payment = test_redirect.split("paymentID=").nth(1).unwrap();
    assert!(sandbox.payment(test_payment).is_some());
    assert!(real.payment(test_payment).is_none());
}

/// L4: URLs are parsed. `http://localhost:@evil.example/x` has the host `evil.example` (the
/// `localhost:` is userinfo), so it is refused as a return URL and as a webhook endpoint; live keys
/// may not use plain HTTP or loopback at all.
#[test]
fn merchant_urls_are_parsed_not_pattern_matched() {
    let rig = Rig::start("hygiene-urls");
    let live = live_key(&rig);
    let body_with_url = |order: &str, url: &str| {
        let mut body = bkash_session(order);
        body["methods"] = json!(["balance"]);
        body["return_url"] = json!(url);
        body
    };
    for (n, url) in [
        "http://localhost:@evil.example/x",
        "https://shop.example@evil.example/done",
        "https://user:pass@shop.example/done",
        "http://localhost.evil.example/",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = create_with_key(&rig, &rig.key(), &body_with_url(&format!("url-{n}"), url));
        assert_refused(&reply, 400, "invalid_parameter");
        assert_eq!(reply.body["error"]["param"], "return_url");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(!message.contains("evil"), "{message}");
    }
    // Test keys may return to this machine; live keys only to https elsewhere.
    create_with_key(
        &rig,
        &rig.key(),
        &body_with_url("url-local", "http://localhost:3000/done"),
    )
    .expect_status(200);
    for (n, url) in [
        "http://localhost:3000/done",
        "http://shop.example/done",
        "https://127.0.0.1/x",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = create_with_key(&rig, &live, &body_with_url(&format!("url-live-{n}"), url));
        assert_refused(&reply, 400, "invalid_parameter");
    }
    create_with_key(
        &rig,
        &live,
        &body_with_url("url-live-ok", "https://shop.example/done"),
    )
    .expect_status(200);

    let endpoint = |key: &str, url: &str| {
        rig.client
            .call("POST", "/v1/webhook_endpoints")
            .bearer(key)
            .json(&json!({ "url": url }))
    };
    let tricked = endpoint(&rig.key(), "http://localhost:@evil.example/hook");
    assert_refused(&tricked, 400, "invalid_parameter");
    assert_refused(
        &endpoint(&rig.key(), "https://a:b@hooks.example/x"),
        400,
        "invalid_parameter",
    );
    assert_refused(
        &endpoint(&live, "http://127.0.0.1:9000/hook"),
        400,
        "invalid_parameter",
    );
    endpoint(&rig.key(), "http://127.0.0.1:9000/hook").expect_status(200);
}

/// L4: the session parameter goes into the return URL's query, before its fragment, which is
/// kept (text appended after `#receipt` would be part of the fragment, never sent to the shop).
#[test]
fn the_return_url_keeps_its_fragment_and_gets_the_session_in_its_query() {
    let vars = DevVars::of_repo();
    let bkash = providers::start_bkash(&vars, 0);
    let rig = Rig::start_with(
        "hygiene-fragment",
        WorkerOptions {
            vars: providers::bkash_worker_vars(&bkash),
            ..WorkerOptions::default()
        },
    );
    let mut body = bkash_session("fragment-1");
    body["return_url"] = json!("https://shop.example/done?lang=en#receipt");
    let session = create_with_key(&rig, &rig.key(), &body).expect_status(200);
    let session_id = session.body["id"].as_str().unwrap().to_owned();
    let token = rig.token(session.body["client_secret"].as_str().unwrap());
    let paid = rig
        .client
        .call("POST", format!("/v1/widget/sessions/{session_id}/pay"))
        .bearer(&token)
        .header("Origin", ORIGIN)
        .header("Idempotency-Key", "fragment-pay-1")
        .json(&json!({"method": "bkash"}))
        .expect_status(200);
    let redirect = paid.body["next_action"]["url"].as_str().unwrap();
    let payment_id = redirect.split("paymentID=").nth(1).unwrap();
    let callback = bkash
        .approve(payment_id, checkout_simulators::bkash::RICH_WALLET)
        .expect("approval");
    let path = callback.strip_prefix(&rig.worker.base_url).unwrap();
    let back = rig.client.call("GET", path).send();
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(
        back.header("Location").unwrap(),
        format!("https://shop.example/done?lang=en&checkout_session={session_id}#receipt")
    );
}

/// L5: a chunked body over the limit is refused with 413 while the client is still sending: the
/// Worker reads it as a stream and stops at 16 KiB instead of buffering it whole. The client
/// never sends the last chunk, so an answer can only come from a Worker that stopped early.
#[test]
fn a_chunked_body_over_the_limit_is_refused_before_it_ends() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    let rig = Rig::start("hygiene-chunked");
    let mut socket = TcpStream::connect(("127.0.0.1", rig.worker.port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let head = format!(
        "POST /v1/widget/token HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        rig.worker.port
    );
    socket.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 4096];
    // 24 KiB of whitespace (valid JSON padding, were it ever parsed), and no final chunk.
    for _ in 0..6 {
        socket
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        socket.write_all(&chunk).unwrap();
        socket.write_all(b"\r\n").unwrap();
    }
    socket.flush().unwrap();
    let mut status_line = String::new();
    BufReader::new(&socket)
        .read_line(&mut status_line)
        .expect("an answer before the body ended");
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");

    // A Content-Length that is no number is a 400, whoever says so first.
    let mut socket = TcpStream::connect(("127.0.0.1", rig.worker.port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let request = format!(
        "POST /v1/widget/token HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 12abc\r\nConnection: close\r\n\r\n{{}}",
        rig.worker.port
    );
    socket.write_all(request.as_bytes()).unwrap();
    let mut status_line = String::new();
    BufReader::new(&socket).read_line(&mut status_line).unwrap();
    assert!(status_line.starts_with("HTTP/1.1 400"), "{status_line}");

    // The Worker still answers ordinary bodies.
    let session = rig.checkout("chunked-after", "5.00", "cus_chunked");
    assert!(!session.token.is_empty());
}

/// L6: a Worker started as deployed (no dev flag, `www/` alone) has no demo back end, although
/// `DEMO_MERCHANT_KEY` is configured, and no test pages; the test profile has both.
#[test]
fn a_production_worker_serves_no_demo_and_no_test_pages() {
    use checkout_tests::worker::Profile;
    let production = Rig::start_with(
        "hygiene-production",
        WorkerOptions {
            profile: Profile::Production,
            ..WorkerOptions::default()
        },
    );
    assert!(!production.vars.demo_merchant_key.is_empty());
    let checkout = production
        .client
        .call("POST", "/demo/api/checkout")
        .json(&json!({}));
    assert_refused(&checkout, 404, "not_found");
    let order = production
        .client
        .call("GET", "/demo/api/orders/cs_x")
        .send();
    assert_eq!(order.status, 404);
    for page in [
        "/test/widget.html",
        "/test/widget",
        "/test/widget.js",
        "/test/sri.html",
    ] {
        let reply = production.client.call("GET", page).send();
        assert_eq!(reply.status, 404, "{page}");
    }
    // The shop's own static page is still there.
    assert_eq!(
        production.client.call("GET", "/checkout.js").send().status,
        200
    );

    let test = Rig::start("hygiene-test-profile");
    let demo = test
        .client
        .call("POST", "/demo/api/checkout")
        .json(&json!({}));
    assert_eq!(demo.status, 200, "{}", demo.body);
    assert_eq!(
        test.client.call("GET", "/test/widget.js").send().status,
        200
    );
    // Pages are served at their clean URL (`/test/widget.html` redirects there).
    assert_eq!(test.client.call("GET", "/test/widget").send().status, 200);
    drop(test);

    // `cargo xtask dev`'s profile: the demo shop works, the test pages are not there.
    let dev = Rig::start_with(
        "hygiene-dev-profile",
        WorkerOptions {
            profile: Profile::Dev,
            ..WorkerOptions::default()
        },
    );
    let demo = dev
        .client
        .call("POST", "/demo/api/checkout")
        .json(&json!({}));
    assert_eq!(demo.status, 200, "{}", demo.body);
    assert_eq!(dev.client.call("GET", "/").send().status, 200);
    assert_eq!(dev.client.call("GET", "/test/widget.js").send().status, 404);
}

/// I1: a stolen client secret is no good without a page: a token request without `Origin` is
/// refused with `invalid_header`, and the session is not even asked.
#[test]
fn a_token_request_without_origin_is_refused() {
    let rig = Rig::start("hygiene-no-origin");
    let session = rig
        .create_session(&checkout_tests::fixtures::session_body(
            "no-origin-1",
            "5.00",
            "cus_o",
        ))
        .expect_status(200);
    let secret = session.body["client_secret"].as_str().unwrap();
    let bare = rig
        .client
        .call("POST", "/v1/widget/token")
        .json(&json!({ "client_secret": secret }));
    assert_refused(&bare, 400, "invalid_header");
    assert_eq!(bare.body["error"]["param"], "Origin");
    assert!(bare.body.get("token").is_none());
    // With the page's origin the same secret works.
    assert!(!rig.token(secret).is_empty());
}

/// I2: a malformed body is described by where and which field, never by the value sent: a
/// numeric pay password or a long string does not come back in the message.
#[test]
fn malformed_json_messages_do_not_echo_values() {
    let rig = Rig::start("hygiene-malformed");
    let checkout = rig.checkout("malformed-1", "5.00", "cus_m");
    let long = "Zq8".repeat(300);
    let bodies = [
        json!({"method": "balance", "pay_password": 135_790}),
        json!({"method": "balance", "pay_password": [long]}),
        json!({"method": long}),
        json!({"method": "balance", "allocation": {"points": long}}),
    ];
    for (n, body) in bodies.iter().enumerate() {
        let reply = rig
            .client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .header("Idempotency-Key", &format!("malformed-key-{n:04}"))
            .json(body);
        assert_refused(&reply, 400, "malformed_json");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(!message.contains("135790"), "{message}");
        assert!(!message.contains("Zq8"), "{message}");
        assert!(message.contains("line 1, column"), "{message}");
    }
}
