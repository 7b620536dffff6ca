//! The widget's pushed status over real HTTP and WebSocket: the Worker in workerd, the WeChat Pay
//! simulator beside it, and a WebSocket client opening `GET /v1/widget/sessions/{id}/status` as
//! a browser would (an `Origin`, the token in the offered subprotocols).

use std::time::Duration;

use checkout_simulators::wechat::{Faults, RunningWechat};
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{self, Checkout, ORIGIN};
use checkout_tests::status_socket::{self, protocols, Event, StatusSocket};
use common::assert_refused;
use common::rigs::{wechat_rig, SimRig};
use serde_json::{json, Value};

mod common;

const WAIT: Duration = Duration::from_secs(20);

/// The shared rig with the WeChat Pay simulator beside it.
type Rig = SimRig<RunningWechat>;

impl Rig {
    /// A WeChat Pay session paid natively (a QR code shown): the payment waits at WeChat.
    /// Returns the checkout and WeChat's `out_trade_no`.
    fn waiting_payment(&self, order: &str) -> (Checkout, String) {
        let base = &self.base;
        let checkout = base.checkout_from(&json!({
            "order_id": order, "amount": "12.00", "currency": "CNY", "description": "茶",
            "customer_id": "cus_push", "methods": ["wechat_pay"],
            "return_url": "https://shop.example/done"
        }));
        let paid = base
            .client
            .call("POST", format!("/v1/widget/sessions/{}/pay", checkout.id))
            .bearer(&checkout.token)
            .header("Origin", ORIGIN)
            .header("Idempotency-Key", &format!("{order}-key"))
            .json(&json!({"method": "wechat_pay", "wechat_flow": "native"}))
            .expect_status(200);
        assert_eq!(paid.body["next_action"]["type"], "qr_code", "{}", paid.body);
        let payment = paid.body["payments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["status"] == "processing")
            .unwrap_or_else(|| panic!("no processing payment: {:#}", paid.body));
        (checkout, payment["id"].as_str().unwrap().to_owned())
    }

    fn open(&self, checkout: &Checkout) -> StatusSocket {
        let socket = self.try_open(checkout, &protocols(&checkout.token), ORIGIN);
        let socket = socket.unwrap_or_else(|r| panic!("refused: {} {:#}", r.status, r.body));
        assert_eq!(socket.protocol.as_deref(), Some("checkout.status.v1"));
        socket
    }

    fn try_open(
        &self,
        checkout: &Checkout,
        offered: &str,
        origin: &str,
    ) -> Result<StatusSocket, Reply> {
        let base_url = &self.base.client.base_url;
        status_socket::open(base_url, &checkout.id, Some(offered), Some(origin))
    }

    /// The widget's status reads (`op: widget_view`) on the session's audit trail.
    fn polls_audited(&self, checkout: &Checkout) -> Vec<Value> {
        let trail = self
            .base
            .client
            .call(
                "GET",
                format!("/v1/checkout_sessions/{}/audit", checkout.id),
            )
            .bearer(&self.base.key())
            .send()
            .expect_status(200);
        let all = trail.body["data"].as_array().unwrap().clone();
        all.into_iter()
            .filter(|e| e["op"] == "widget_view")
            .collect()
    }
}

#[track_caller]
fn expect_view(event: Event, status: &str) -> Value {
    match event {
        Event::View(view) => {
            assert_eq!(view["status"], status, "{view:#}");
            view
        }
        other => panic!("expected a `{status}` view, got {other:?}"),
    }
}

#[test]
fn a_wechat_payment_is_pushed_paid_by_the_sessions_own_query_without_a_poll() {
    let rig = wechat_rig("push-wechat", &[]);
    // WeChat sends no notification: only asking it finds the payment, which the polls did.
    rig.sim.set_faults(Faults {
        withhold_notifications: true,
        ..Faults::default()
    });
    let (checkout, out_trade_no) = rig.waiting_payment("push-1");
    let mut socket = rig.open(&checkout);
    // The current view at once, the same JSON as the `?wallet=omit` read.
    let first = expect_view(socket.next(WAIT), "processing");
    assert_eq!(first["next_action"]["type"], "qr_code", "{first:#}");
    assert!(first.get("balance").is_none() && first.get("points").is_none());
    let read = rig
        .base
        .client
        .call(
            "GET",
            format!("/v1/widget/sessions/{}?wallet=omit", checkout.id),
        )
        .bearer(&checkout.token)
        .header("Origin", ORIGIN)
        .send()
        .expect_status(200);
    assert_eq!(first, read.body, "the socket's view is the poll's");
    let queries_before = rig.sim.order(&out_trade_no).unwrap().query_calls;

    rig.sim.approve(&out_trade_no).unwrap();
    let views = socket.until_status("paid", WAIT);
    let paid = views.last().unwrap();
    assert_eq!(paid["payments"][0]["status"], "succeeded", "{paid:#}");
    // The paid view is the last: the socket is closed normally after it.
    assert_eq!(socket.next(WAIT), Event::Closed(1000, "settled".into()));
    assert!(rig.sim.order(&out_trade_no).unwrap().query_calls > queries_before);
    // The one read above is the only widget read on the trail, and it changed nothing: the
    // payment was found by the session's alarm, not by a poll.
    let polls = rig.polls_audited(&checkout);
    assert!(polls.is_empty(), "{polls:#?}");

    // A page that comes back gets the current (final) view at once, then the close.
    let mut again = rig.open(&checkout);
    expect_view(again.next(WAIT), "paid");
    assert_eq!(again.next(WAIT), Event::Closed(1000, "settled".into()));
}

#[test]
fn a_session_keeps_four_sockets_and_pushes_the_notified_payment_to_each() {
    let rig = wechat_rig("push-cap", &[]);
    let (checkout, out_trade_no) = rig.waiting_payment("push-cap-1");
    let mut sockets: Vec<StatusSocket> = (0..4).map(|_| rig.open(&checkout)).collect();
    for socket in &mut sockets {
        expect_view(socket.next(WAIT), "processing");
    }
    let fifth = rig
        .try_open(&checkout, &protocols(&checkout.token), ORIGIN)
        .err()
        .expect("a fifth socket is refused");
    assert_refused(&fifth, 429, "too_many_status_sockets");

    // A closed socket frees its place.
    sockets.pop().unwrap().close();
    let mut reopened = None;
    for _ in 0..50 {
        match rig.try_open(&checkout, &protocols(&checkout.token), ORIGIN) {
            Ok(socket) => {
                reopened = Some(socket);
                break;
            }
            Err(refused) => assert_eq!(refused.code(), "too_many_status_sockets"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut reopened = reopened.expect("a place after a close");
    expect_view(reopened.next(WAIT), "processing");
    sockets.push(reopened);

    // WeChat's notification settles the payment; every socket hears it and is closed.
    rig.sim.approve(&out_trade_no).unwrap();
    for socket in &mut sockets {
        socket.until_status("paid", WAIT);
        assert_eq!(socket.next(WAIT), Event::Closed(1000, "settled".into()));
    }
}

#[test]
fn handshakes_without_an_upgrade_a_protocol_a_valid_token_or_the_tokens_origin_are_refused() {
    let rig = fixtures::Rig::start("push-refused");
    let checkout = rig.checkout("push-refused-1", "10.00", "cus_push_refused");
    let other = rig.checkout("push-refused-2", "10.00", "cus_push_refused");
    let base_url = &rig.client.base_url;
    let open = |offered: Option<&str>, origin: &str| {
        status_socket::open(base_url, &checkout.id, offered, Some(origin))
            .err()
            .expect("refused")
    };
    let token = &checkout.token;

    let plain = rig
        .client
        .call("GET", format!("/v1/widget/sessions/{}/status", checkout.id))
        .header("Origin", ORIGIN)
        .header("Sec-WebSocket-Protocol", &protocols(token))
        .send();
    assert_refused(&plain, 426, "upgrade_required");

    let missing = open(None, ORIGIN);
    assert_refused(&missing, 400, "invalid_header");
    assert_eq!(missing.body["error"]["param"], "Sec-WebSocket-Protocol");
    let bearer_only = open(Some(&format!("bearer.{token}")), ORIGIN);
    assert_refused(&bearer_only, 400, "invalid_header");

    assert_refused(
        &open(Some("checkout.status.v1"), ORIGIN),
        401,
        "invalid_token",
    );
    let forged = format!("{}x", token);
    assert_refused(
        &open(Some(&protocols(&forged)), ORIGIN),
        401,
        "invalid_token",
    );
    let elsewhere = open(Some(&protocols(token)), "https://evil.example");
    assert_refused(&elsewhere, 403, "token_scope_mismatch");
    let other_session = open(Some(&protocols(&other.token)), ORIGIN);
    assert_refused(&other_session, 403, "token_scope_mismatch");
    // The token never appears in the log (it was only ever in a header).
    assert!(!rig.worker.log().contains(token.as_str()));

    // The right handshake opens: an open session's view is sent, then the socket is closed
    // (nothing waits at a provider).
    let mut socket = status_socket::open(
        base_url,
        &checkout.id,
        Some(&protocols(token)),
        Some(ORIGIN),
    )
    .unwrap_or_else(|r| panic!("{} {:#}", r.status, r.body));
    expect_view(socket.next(WAIT), "open");
    assert_eq!(socket.next(WAIT), Event::Closed(1000, "settled".into()));
}

#[test]
fn a_socket_whose_token_expired_is_closed_and_sent_nothing_more() {
    let rig = wechat_rig("push-expiry", &[]);
    let (checkout, out_trade_no) = rig.waiting_payment("push-expiry-1");
    // A token that lives two seconds (the edge grants 15 minutes; signed here with the dev key).
    let now = common::now_s();
    let claims = checkout_core::token::WidgetClaims::new(&checkout.id, ORIGIN, now, 2);
    let key = rig.base.vars.token_signing_key.as_bytes();
    let short = Checkout {
        token: checkout_core::token::sign(&claims, key).unwrap(),
        ..checkout.clone()
    };
    let mut socket = rig.open(&short);
    expect_view(socket.next(WAIT), "processing");
    std::thread::sleep(Duration::from_secs(3));
    // The payment is made; the socket, its token expired, gets no more views, only the close
    // (at the session's next change: its own query, or WeChat's notification).
    rig.sim.approve(&out_trade_no).unwrap();
    assert_eq!(
        socket.next(WAIT),
        Event::Closed(1008, "token expired".into())
    );
    // A socket opened with a valid token hears the payment.
    let mut valid = rig.open(&checkout);
    valid.until_status("paid", WAIT);
}
