//! Browser: the widget follows a WeChat Pay payment by its pushed status (a WebSocket from the
//! session object), and falls back to polling where the socket does not get through. The demo
//! shop in headless Chromium, the WeChat Pay simulator beside the Worker; requests are counted in
//! the Worker's log (one JSON line per request, with its method, path and status).

use std::time::Duration;

use checkout_simulators::wechat::RunningWechat;
use checkout_tests::shop::BrowserShop;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(25);

type Shop = BrowserShop<RunningWechat>;

/// The demo shop with WeChat Pay, the shopper at the checkout of the yuan-priced gift box with
/// WeChat Pay chosen, on a desktop (the QR code).
fn at_checkout(label: &str) -> Shop {
    Shop::at_wechat_checkout(label, 1280, None)
}

/// Pays by QR code and waits for it; returns the session id from the Worker's log.
fn pay_and_show_the_qr_code(shop: &Shop) -> String {
    let b = &shop.browser;
    b.click(&b.wait_for("[data-testid=pay-button]", WAIT));
    b.wait_for("[data-testid=wechat-qr]", WAIT);
    let pay = shop
        .requests()
        .into_iter()
        .find(|r| r["method"] == "POST" && path(r).ends_with("/pay"))
        .expect("the pay request in the log");
    let path = path(&pay);
    path.trim_start_matches("/v1/widget/sessions/")
        .trim_end_matches("/pay")
        .to_owned()
}

/// The shopper approves on their phone: the simulator pays WeChat's order for the session.
fn approve_at_wechat(shop: &Shop, session_id: &str) {
    let view = shop.merchant_view(session_id);
    let out_trade_no = view["payments"][0]["id"].as_str().unwrap().to_owned();
    shop.sim.approve(&out_trade_no).unwrap();
}

fn path(line: &Value) -> &str {
    line["path"].as_str().unwrap_or_default()
}

/// The widget's status reads of `session_id` (`GET /v1/widget/sessions/{id}`, with or without
/// `?wallet=omit`) after the first status socket handshake, and that handshake's status.
fn reads_after_socket(requests: &[Value], session_id: &str) -> (Option<u64>, usize) {
    let read = format!("/v1/widget/sessions/{session_id}");
    let socket = format!("{read}/status");
    let Some(at) = requests.iter().position(|r| path(r) == socket) else {
        return (None, 0);
    };
    let reads = requests[at..]
        .iter()
        .filter(|r| r["method"] == "GET" && path(r) == read)
        .count();
    (requests[at]["status"].as_u64(), reads)
}

#[test]
fn the_widget_shows_paid_from_the_pushed_status_without_polling() {
    let shop = at_checkout("browser-push");
    let session_id = pay_and_show_the_qr_code(&shop);
    wait_for_socket(&shop, &session_id);
    // Wait long enough that polling would have asked several times (1, 1.5, 2.25 s...).
    std::thread::sleep(Duration::from_secs(5));
    approve_at_wechat(&shop, &session_id);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    let (handshake, reads) = reads_after_socket(&shop.requests(), &session_id);
    assert_eq!(handshake, Some(101));
    assert!(reads <= 1, "{reads} status reads after the socket opened");
}

#[test]
fn a_refused_status_socket_falls_back_to_polling_and_still_shows_paid() {
    let shop = at_checkout("browser-push-refused");
    // A page whose WebSocket offers no token (as a proxy that strips the header would): the
    // Worker refuses the handshake, and the widget polls instead.
    shop.browser.script(
        "const Real = window.WebSocket;\
         window.WebSocket = function (url) { return new Real(url, ['checkout.status.v1']); };",
        vec![],
    );
    let session_id = pay_and_show_the_qr_code(&shop);
    approve_at_wechat(&shop, &session_id);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    let (handshake, reads) = reads_after_socket(&shop.requests(), &session_id);
    assert_eq!(handshake, Some(401), "the handshake was refused");
    assert!(reads >= 1, "the widget polled");
}

#[test]
fn a_dropped_status_socket_is_reopened_and_the_widget_still_hears_paid() {
    let shop = at_checkout("browser-push-drop");
    let session_id = pay_and_show_the_qr_code(&shop);
    wait_for_socket(&shop, &session_id);
    // The edge restarts under the open socket (a deploy, a lost connection): the socket drops.
    let Shop {
        sim,
        worker,
        browser,
    } = shop;
    let shop = Shop {
        sim,
        worker: worker.restart(),
        browser,
    };
    // The widget opens a new one (the restarted Worker's log starts empty).
    wait_for_socket(&shop, &session_id);
    approve_at_wechat(&shop, &session_id);
    shop.browser.wait_for("[data-testid=result-success]", WAIT);
    let (handshake, reads) = reads_after_socket(&shop.requests(), &session_id);
    assert_eq!(handshake, Some(101));
    assert!(reads <= 1, "{reads} status reads after the socket reopened");
}

/// Waits until the Worker's log shows a status socket handshake for `session_id`.
fn wait_for_socket(shop: &Shop, session_id: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while reads_after_socket(&shop.requests(), session_id).0.is_none() {
        assert!(std::time::Instant::now() < deadline, "no status socket");
        std::thread::sleep(Duration::from_millis(100));
    }
}
