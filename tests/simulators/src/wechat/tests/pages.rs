//! The shopper's phone pages, driven as a browser with JavaScript off would: GET, then POST the
//! form.

use serde_json::json;

use super::{merchant, native_body, rig, send, trade_no, Rig};
use crate::util::percent_encode;
use crate::wechat::{Faults, TradeState};

fn scan_url(rig: &Rig, no: &str) -> String {
    let code_url = rig.sim.order(no).unwrap().code_url.unwrap();
    format!(
        "{}/scan?code_url={}",
        rig.sim.origin(),
        percent_encode(&code_url)
    )
}

/// Presses `action` on the scan page of order `no`.
fn press(rig: &Rig, no: &str, action: &str) -> super::Answer {
    let code_url = rig.sim.order(no).unwrap().code_url.unwrap();
    let form = format!(
        "key={}&redirect_url=&action={action}",
        percent_encode(&code_url)
    );
    let url = format!("{}/scan", rig.sim.origin());
    send(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&form),
    )
}

#[test]
fn the_scan_page_shows_the_order_and_its_buttons() {
    let rig = rig();
    let no = rig.native(1234);
    let page = send("GET", &scan_url(&rig, &no), &[], None);
    assert_eq!(page.status, 200);
    assert!(page.text.contains("¥12.34"));
    assert!(page.text.contains("WeChat Pay simulator"));
    assert!(page.text.contains("Image形象店-深圳腾大-QQ公仔"));
    for id in [r#"id="approve""#, r#"id="fail""#, r#"id="cancel""#] {
        assert!(page.text.contains(id), "{id}");
    }
    let bogus = send(
        "GET",
        &format!("{}/scan?code_url=weixin%3A%2F%2Fx", rig.sim.origin()),
        &[],
        None,
    );
    assert_eq!(bogus.status, 404);
}

#[test]
fn pressing_the_buttons_pays_fails_or_cancels() {
    let rig = rig();
    let cancel = rig.native(100);
    assert!(press(&rig, &cancel, "cancel")
        .text
        .contains(r#"id="result" data-testid="result">Canceled<"#));
    assert_eq!(
        rig.sim.order(&cancel).unwrap().trade_state,
        TradeState::NotPay
    );
    let page = send("GET", &scan_url(&rig, &cancel), &[], None);
    assert!(
        page.text.contains(r#"id="approve""#),
        "the shopper may scan again"
    );

    let paid = rig.native(100);
    assert!(press(&rig, &paid, "approve").text.contains(">Paid<"));
    assert_eq!(
        rig.sim.order(&paid).unwrap().trade_state,
        TradeState::Success
    );
    let page = send("GET", &scan_url(&rig, &paid), &[], None);
    assert!(!page.text.contains(r#"id="approve""#));
    assert!(page.text.contains("already been paid"));

    let failed = rig.native(100);
    assert!(press(&rig, &failed, "fail")
        .text
        .contains(">Payment failed<"));
    assert_eq!(
        rig.sim.order(&failed).unwrap().trade_state,
        TradeState::PayError
    );
}

#[test]
fn closed_and_expired_orders_show_no_pay_button() {
    let rig = rig();
    let closed = rig.native(100);
    let path = format!("/v3/pay/transactions/out-trade-no/{closed}/close");
    assert_eq!(
        rig.call("POST", &path, Some(&json!({"mchid": super::MCHID})))
            .status,
        204
    );
    let page = send("GET", &scan_url(&rig, &closed), &[], None);
    assert!(!page.text.contains(r#"id="approve""#) && page.text.contains("closed"));
    assert!(!press(&rig, &closed, "approve").text.contains(">Paid<"));

    let mut body = native_body(&trade_no(), 100);
    body["time_expire"] = json!("2020-01-01T00:00:00+08:00");
    rig.call("POST", "/v3/pay/transactions/native", Some(&body));
    let expired = body["out_trade_no"].as_str().unwrap();
    let page = send("GET", &scan_url(&rig, expired), &[], None);
    assert!(!page.text.contains(r#"id="approve""#) && page.text.contains("expired"));
}

/// An H5 order notifying `notify_url`; returns (out_trade_no, h5_url).
fn h5_order(rig: &Rig, notify_url: &str) -> (String, String) {
    let no = trade_no();
    let mut body = native_body(&no, 500);
    body["notify_url"] = json!(notify_url);
    body["scene_info"] = json!({"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}});
    let answer = rig.call("POST", "/v3/pay/transactions/h5", Some(&body));
    (no, answer.body["h5_url"].as_str().unwrap().to_owned())
}

#[test]
fn the_h5_page_returns_the_shopper_to_redirect_url_after_notifying() {
    let mut config = super::config();
    config.notify_delay = std::time::Duration::from_secs(60);
    let rig = super::rig_with(config);
    rig.sim.set_faults(Faults {
        notify_before_return: true,
        ..Faults::default()
    });
    let receiver = merchant(&[200]);
    let (no, h5_url) = h5_order(&rig, &receiver.url());
    let back = "https://shop.example/return?order=1";
    let page = send(
        "GET",
        &format!("{h5_url}&redirect_url={}", percent_encode(back)),
        &[],
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("¥5.00") && page.text.contains(r#"action="h5pay""#));
    let prepay_id = rig.sim.order(&no).unwrap().prepay_id;
    let form = format!(
        "key={prepay_id}&redirect_url={}&action=approve",
        percent_encode(back)
    );
    let url = format!("{}/h5pay", rig.sim.origin());
    let answer = send(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&form),
    );
    assert_eq!(
        (answer.status, answer.header("Location")),
        (303, Some(back))
    );
    assert_eq!(receiver.requests().len(), 1, "notified before the redirect");
    assert_eq!(rig.sim.order(&no).unwrap().trade_state, TradeState::Success);

    // Without a redirect_url the outcome is shown; a failure redirects all the same.
    let (failed, _) = h5_order(&rig, &receiver.url());
    let prepay_id = rig.sim.order(&failed).unwrap().prepay_id;
    let form = format!(
        "key={prepay_id}&redirect_url={}&action=fail",
        percent_encode(back)
    );
    let answer = send(
        "POST",
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&form),
    );
    assert_eq!(answer.status, 303);
    assert_eq!(
        rig.sim.order(&failed).unwrap().trade_state,
        TradeState::PayError
    );
}
