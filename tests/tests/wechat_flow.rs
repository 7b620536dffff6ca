//! WeChat Pay over real HTTP: the Worker in workerd against the WeChat Pay simulator, which
//! checks every request signature and signs and encrypts everything it sends back.
//!
//! Forged notifications are built with the simulator's own keys (`build_notification`), exactly
//! as WeChat would send them, then tampered with one fault at a time.

use std::time::{Duration, Instant};

use checkout_simulators::wechat::{build_notification, Faults, RunningWechat, SignedNotification};
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{Checkout, ORIGIN, PAY_PASSWORD};
use common::now_s;
use common::rigs::{wechat_rig, SimRig};
use serde_json::{json, Value};

mod common;

const CUSTOMER: &str = "cus_wechat";
const OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// The shared rig (Worker, client, dev secrets) with the WeChat Pay simulator beside it.
type Rig = SimRig<RunningWechat>;

fn rig(label: &str) -> Rig {
    wechat_rig(label, &[])
}

impl Rig {
    fn checkout_with(&self, order: &str, amount: &str, extra: Value) -> Checkout {
        let mut body = json!({
            "order_id": order, "amount": amount, "currency": "CNY", "description": "龙井茶礼盒",
            "customer_id": CUSTOMER, "methods": ["wechat_pay"],
            "return_url": "https://shop.example/done", "wechat_openid": OPENID
        });
        for (field, value) in extra.as_object().unwrap() {
            body[field] = value.clone();
        }
        self.checkout_from(&body)
    }

    fn checkout(&self, order: &str, amount: &str) -> Checkout {
        self.checkout_with(order, amount, json!({}))
    }

    fn pay(&self, checkout: &Checkout, key: &str, body: Value) -> Reply {
        self.pay_from_frame(checkout, key, &body)
    }

    /// Pays natively (QR); returns the payment id, which is WeChat's `out_trade_no`.
    fn pay_native(&self, checkout: &Checkout, key: &str) -> String {
        let reply = self
            .pay(checkout, key, json!({"method": "wechat_pay"}))
            .expect_status(200);
        let action = &reply.body["next_action"];
        assert_eq!(action["type"], "qr_code", "{}", reply.body);
        let code_url = action["code_url"].as_str().unwrap();
        assert!(
            code_url.starts_with("weixin://wxpay/bizpayurl?pr="),
            "{code_url}"
        );
        self.processing_payment(&checkout.id)
    }

    fn wait_status(&self, checkout: &Checkout, status: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let view = self.merchant_view(&checkout.id);
            if view["status"] == status || Instant::now() > deadline {
                return view;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A notification signed and encrypted with the dev keys, as WeChat would send it.
    fn notification(
        &self,
        plaintext: &Value,
        timestamp: i64,
        api_v3_key: &str,
    ) -> SignedNotification {
        let keys = &self.vars.wechat;
        build_notification(
            &keys.platform_private_key_pem,
            &keys.platform_public_key_id,
            api_v3_key,
            "TRANSACTION.SUCCESS",
            "transaction",
            plaintext,
            timestamp,
        )
    }

    fn post_notification(&self, checkout: &Checkout, notification: &SignedNotification) -> Reply {
        let mut call = self
            .client
            .call("POST", format!("/v1/notifications/wechat/{}", checkout.id));
        for (name, value) in &notification.headers {
            call = call.header(name, value);
        }
        call.raw(&notification.body)
    }

    /// The transaction WeChat would report for `out_trade_no`, paid with `total` fen.
    fn transaction(&self, out_trade_no: &str, total: i64) -> Value {
        let keys = &self.vars.wechat;
        json!({
            "mchid": keys.mchid, "appid": keys.appid, "out_trade_no": out_trade_no,
            "transaction_id": "4200000985202611235834957420", "trade_type": "NATIVE",
            "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "attach": "", "success_time": "2026-11-23T18:00:00+08:00",
            "payer": {"openid": OPENID},
            "amount": {"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}
        })
    }
}

#[track_caller]
fn assert_fail_answer(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.body["code"], "FAIL",
        "WeChat's failure shape: {}",
        reply.body
    );
    assert!(reply.body["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[test]
fn a_native_payment_is_paid_by_its_signed_encrypted_notification() {
    let rig = rig("wechat-native");
    let order = rig.checkout("wx-native-1", "88.00");
    let out_trade_no = rig.pay_native(&order, "wx-native-key-1");
    let at_wechat = rig.sim.order(&out_trade_no).unwrap();
    assert_eq!(at_wechat.amount_total, 8800, "amounts go in fen");
    assert!(at_wechat
        .notify_url
        .ends_with(&format!("/v1/notifications/wechat/{}", order.id)));

    rig.sim.approve(&out_trade_no).unwrap();
    assert!(
        rig.sim
            .wait_acknowledged(&out_trade_no, Duration::from_secs(15)),
        "the Worker acknowledges: {:?}",
        rig.sim.deliveries()
    );
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "paid", "{view:#}");
    let payment = &view["payments"][0];
    assert_eq!(payment["provider_reference"], out_trade_no);
    assert_eq!(
        payment["provider_transaction_id"].as_str(),
        rig.sim
            .order(&out_trade_no)
            .unwrap()
            .transaction_id
            .as_deref()
    );
    let first = &rig.sim.deliveries()[0];
    assert_eq!(first.status, Some(204));
}

#[test]
fn forged_stale_replayed_and_undecryptable_notifications_change_nothing() {
    let rig = wechat_rig("wechat-forged", &[]);
    rig.sim.set_faults(Faults {
        withhold_notifications: true,
        ..Faults::default()
    });
    let order = rig.checkout("wx-forged-1", "88.00");
    let out_trade_no = rig.pay_native(&order, "wx-forged-key-1");
    let paid = rig.transaction(&out_trade_no, 8800);
    let api_v3_key = rig.vars.wechat.api_v3_key.clone();

    // Tampered: one character of the signed body changed.
    let mut tampered = rig.notification(&paid, now_s(), &api_v3_key);
    tampered.body = tampered
        .body
        .replacen("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs", 1);
    assert_fail_answer(&rig.post_notification(&order, &tampered), 401);
    // Stale: correctly signed, but ten minutes old.
    let stale = rig.notification(&paid, now_s() - 600, &api_v3_key);
    assert_fail_answer(&rig.post_notification(&order, &stale), 401);
    // Signed, but encrypted with another APIv3 key: not acknowledged, so WeChat would retry.
    let wrong_key = rig.notification(&paid, now_s(), "0123456789abcdef0123456789abcdef");
    assert_fail_answer(&rig.post_notification(&order, &wrong_key), 400);
    assert_eq!(rig.merchant_view(&order.id)["status"], "processing");

    // The genuine one pays once; its replay is refused and credits nothing twice.
    let genuine = rig.notification(&paid, now_s(), &api_v3_key);
    assert_eq!(rig.post_notification(&order, &genuine).status, 204);
    assert_fail_answer(&rig.post_notification(&order, &genuine), 409);
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "88.00");
    assert_eq!(view["payments"].as_array().unwrap().len(), 1);
    // A fresh notification of the same transaction (a WeChat retry) is acknowledged, changes
    // nothing.
    let retry = rig.notification(&paid, now_s(), &api_v3_key);
    assert_eq!(rig.post_notification(&order, &retry).status, 204);
    assert_eq!(rig.merchant_view(&order.id)["amount_paid"], "88.00");
}

#[test]
fn a_notification_for_another_amount_is_held_for_review_and_not_paid() {
    let rig = rig("wechat-mismatch");
    rig.sim.set_faults(Faults {
        withhold_notifications: true,
        ..Faults::default()
    });
    let order = rig.checkout("wx-mismatch-1", "88.00");
    let out_trade_no = rig.pay_native(&order, "wx-mismatch-key-1");
    let cheaper = rig.transaction(&out_trade_no, 1);
    let key = rig.vars.wechat.api_v3_key.clone();
    let reply = rig.post_notification(&order, &rig.notification(&cheaper, now_s(), &key));
    assert_eq!(
        reply.status, 204,
        "applied (flagged), so WeChat stops: {}",
        reply.body
    );
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "requires_review", "{view:#}");
    assert_eq!(view["amount_paid"], "0.00");
    assert_eq!(view["payments"][0]["status"], "requires_review");
    assert_eq!(view["payments"][0]["review"]["reason"], "amount_mismatch");
    assert_eq!(view["payments"][0]["review"]["provider_amount"], "0.01");
    assert!(
        rig.worker.log().contains("provider_mismatch"),
        "an alert line for the on-call engineer"
    );

    // The merchant accepts what WeChat took (no more than the session's amount): paid with it.
    let payment_id = view["payments"][0]["id"].as_str().unwrap().to_owned();
    let resolve = |action: &str| {
        rig.client
            .call(
                "POST",
                format!(
                    "/v1/checkout_sessions/{}/payments/{payment_id}/resolve",
                    order.id
                ),
            )
            .bearer(&rig.key())
            .json(&json!({ "action": action }))
    };
    let accepted = resolve("accept").expect_status(200);
    assert_eq!(accepted.body["status"], "paid", "{:#}", accepted.body);
    assert_eq!(accepted.body["amount_paid"], "0.01");
    assert_eq!(
        accepted.body["payments"][0]["review"]["resolution"],
        "accept"
    );
    // The same decision again answers the same; another one is refused.
    assert_eq!(resolve("accept").expect_status(200).body, accepted.body);
    let other = resolve("refund_at_provider");
    assert_eq!(other.status, 409, "{}", other.body);
    assert_eq!(other.code(), "review_action_not_allowed");
}

#[test]
fn duplicate_deliveries_and_a_notification_before_the_shopper_returns_pay_once() {
    let rig = rig("wechat-h5");
    rig.sim.set_faults(Faults {
        duplicate_notifications: true,
        notify_before_return: true,
        ..Faults::default()
    });
    let order = rig.checkout("wx-h5-1", "12.34");
    let reply = rig
        .pay(
            &order,
            "wx-h5-key-1",
            json!({"method": "wechat_pay", "wechat_flow": "h5"}),
        )
        .expect_status(200);
    let url = reply.body["next_action"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("/h5pay?prepay_id=wx"), "{url}");
    assert!(url.contains("&redirect_url=http"), "{url}");
    let out_trade_no = rig.processing_payment(&order.id);
    let at_wechat = rig.sim.order(&out_trade_no).unwrap();
    assert_eq!(serde_json::to_value(at_wechat.trade_type).unwrap(), "MWEB");

    // The shopper approves on WeChat's H5 page; the notification (twice) lands before the
    // shopper is sent back to our callback, which sends them on to the merchant.
    let (page_url, query) = url.split_once('?').unwrap();
    let field = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {url}"))
            .to_owned()
    };
    let form = format!(
        "key={}&redirect_url={}&action=approve",
        field("prepay_id"),
        field("redirect_url")
    );
    let page = rig
        .client
        .call("POST", page_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .raw(&form);
    assert_eq!(page.status, 303, "{}", page.body);
    let back = page.header("Location").unwrap().to_owned();
    assert!(
        back.contains(&format!("/v1/callbacks/wechat/{}", order.id)),
        "{back}"
    );
    let returned = rig.client.call("GET", back.clone()).send();
    assert_eq!(returned.status, 303);
    assert_eq!(
        returned.header("Location"),
        Some(format!("https://shop.example/done?checkout_session={}", order.id).as_str())
    );
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "12.34");
    let statuses: Vec<Option<u16>> = rig.sim.deliveries().iter().map(|d| d.status).collect();
    assert!(statuses.contains(&Some(204)), "{statuses:?}");
    assert!(
        statuses.contains(&Some(409)),
        "the byte-identical copy is a replay: {statuses:?}"
    );
}

#[test]
fn jsapi_pay_sheet_parameters_are_signed_for_wechats_bridge() {
    let rig = rig("wechat-jsapi");
    let order = rig.checkout("wx-jsapi-1", "5.00");
    let reply = rig
        .pay(
            &order,
            "wx-jsapi-key-1",
            json!({"method": "wechat_pay", "wechat_flow": "jsapi"}),
        )
        .expect_status(200);
    let action = &reply.body["next_action"];
    assert_eq!(action["type"], "wechat_jsapi", "{}", reply.body);
    let params = action["params"].clone();
    assert_eq!(params["appId"], rig.vars.wechat.appid);
    assert_eq!(params["signType"], "RSA");
    assert!(params["package"]
        .as_str()
        .unwrap()
        .starts_with("prepay_id=wx"));

    let mut forged = params.clone();
    forged["nonceStr"] = json!("0000000000000000000000000000000X");
    assert!(
        rig.sim.jsapi_pay(&forged).is_err(),
        "the bridge checks paySign"
    );
    rig.sim
        .jsapi_pay(&params)
        .expect("the simulator verifies our paySign");
    let view = rig.wait_status(&order, "paid", Duration::from_secs(15));
    assert_eq!(view["status"], "paid", "{view:#}");
}

#[test]
fn the_widget_status_view_finds_a_payment_whose_notification_never_came() {
    let rig = rig("wechat-poll");
    rig.sim.set_faults(Faults {
        withhold_notifications: true,
        ..Faults::default()
    });
    let order = rig.checkout("wx-poll-1", "20.00");
    let out_trade_no = rig.pay_native(&order, "wx-poll-key-1");
    rig.sim.approve(&out_trade_no).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut view = Value::Null;
    let mut polls = Vec::new();
    while Instant::now() < deadline {
        let reply = rig
            .client
            .call("GET", format!("/v1/widget/sessions/{}", order.id))
            .bearer(&order.token)
            .header("Origin", ORIGIN)
            .send()
            .expect_status(200);
        polls.push(reply.header("Request-Id").unwrap().to_owned());
        view = reply.body;
        if view["status"] == "paid" {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(view["status"], "paid", "{view:#}");
    assert!(rig.sim.order(&out_trade_no).unwrap().query_calls >= 1);

    // The poll that settled the payment is on the audit trail, with the change it made; the
    // polls that changed nothing are not.
    let trail = rig
        .client
        .call("GET", format!("/v1/checkout_sessions/{}/audit", order.id))
        .bearer(&rig.key())
        .send()
        .expect_status(200);
    let all = trail.body["data"].as_array().unwrap();
    let settling = polls.last().unwrap();
    let succeeded: Vec<&Value> = all
        .iter()
        .filter(|e| e["what"] == "payment_succeeded")
        .collect();
    assert_eq!(succeeded.len(), 1, "{all:#?}");
    assert_eq!(succeeded[0]["request_ids"], json!([settling]), "{all:#?}");
    let poll_commands: Vec<&Value> = all.iter().filter(|e| e["op"] == "widget_view").collect();
    assert_eq!(poll_commands.len(), 1, "{all:#?}");
    assert_eq!(poll_commands[0]["request_ids"], json!([settling]));
    assert_eq!(poll_commands[0]["outcome"], "ok");
}

#[test]
fn the_shopper_can_cancel_and_the_order_is_closed_at_wechat() {
    let rig = rig("wechat-cancel");
    let order = rig.checkout("wx-cancel-1", "30.00");
    let out_trade_no = rig.pay_native(&order, "wx-cancel-key-1");
    let canceled = rig.cancel_from_page(&order).expect_status(200);
    assert_eq!(canceled.body["status"], "open");
    let at_wechat = rig.sim.order(&out_trade_no).unwrap();
    assert_eq!(
        serde_json::to_value(at_wechat.trade_state).unwrap(),
        "CLOSED"
    );
    assert!(
        rig.sim.approve(&out_trade_no).is_err(),
        "a closed order cannot be paid"
    );
    assert_eq!(
        rig.merchant_view(&order.id)["payments"][0]["failure_code"],
        "payment_canceled"
    );
    // Paying again starts a new WeChat order.
    let second = rig.pay_native(&order, "wx-cancel-key-2");
    assert_ne!(second, out_trade_no);
}

#[test]
fn an_unpaid_order_is_closed_when_the_session_expires() {
    let rig = wechat_rig("wechat-expiry", &[("SESSION_MIN_TTL_S", "1")]);
    let order = rig.checkout_with("wx-expiry-1", "9.00", json!({"expires_in_s": 3}));
    let out_trade_no = rig.pay_native(&order, "wx-expiry-key-1");
    let view = rig.wait_status(&order, "expired", Duration::from_secs(60));
    assert_eq!(view["status"], "expired", "{view:#}");
    assert_eq!(view["payments"][0]["failure_code"], "session_expired");
    let at_wechat = rig.sim.order(&out_trade_no).unwrap();
    assert_eq!(
        serde_json::to_value(at_wechat.trade_state).unwrap(),
        "CLOSED"
    );
    assert_eq!(at_wechat.close_calls, 1);
}

#[test]
fn a_partial_refund_completes_by_refund_notification() {
    let rig = rig("wechat-refund");
    let order = rig.checkout("wx-refund-1", "88.00");
    let out_trade_no = rig.pay_native(&order, "wx-refund-key-1");
    rig.sim.approve(&out_trade_no).unwrap();
    assert_eq!(
        rig.wait_status(&order, "paid", Duration::from_secs(15))["status"],
        "paid"
    );

    let refund =
        |key: &str, amount: &str| rig.refund(&order.id, key, amount, "one box was damaged");
    let first = refund("wx-refund-r1", "30.00").expect_status(200);
    // WeChat accepts a refund as PROCESSING and tells when it is done.
    assert_eq!(first.body["status"], "pending", "{}", first.body);
    let refund_id = first.body["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut view = rig.merchant_view(&order.id);
    while view["refunds"][0]["status"] != "succeeded" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        view = rig.merchant_view(&order.id);
    }
    assert_eq!(view["refunds"][0]["status"], "succeeded", "{view:#}");
    assert_eq!(view["amount_refunded"], "30.00");
    let at_wechat = rig.sim.refund(&refund_id).expect("refunded under our id");
    assert_eq!(at_wechat.amount_refund, 3000);
    assert_eq!(at_wechat.amount_total, 8800);
    // The same key is the same refund, not a second one.
    refund("wx-refund-r1", "30.00").expect_status(200);
    assert_eq!(rig.sim.order(&out_trade_no).unwrap().refunds.len(), 1);
    assert_eq!(
        refund("wx-refund-r2", "58.01").code(),
        "refund_exceeds_payment"
    );
}

#[test]
fn a_mixed_payment_holds_points_and_balance_while_wechat_pays_the_rest() {
    let rig = rig("wechat-mixed");
    rig.seed(CUSTOMER, "50.00", "CNY", 1000);
    let order = rig.checkout_with(
        "wx-mixed-1",
        "100.00",
        json!({"methods": ["points", "balance", "wechat_pay"]}),
    );
    // 300 points (30.00) + 20.00 balance, WeChat the remaining 50.00.
    let reply = rig
        .pay(
            &order,
            "wx-mixed-key-1",
            json!({"method": "wechat_pay", "pay_password": PAY_PASSWORD,
                   "allocation": {"points": 300, "balance": "20.00"}}),
        )
        .expect_status(200);
    assert_eq!(reply.body["next_action"]["type"], "qr_code");
    let out_trade_no = rig.processing_payment(&order.id);
    assert_eq!(rig.sim.order(&out_trade_no).unwrap().amount_total, 5000);
    let wallet = || {
        rig.client
            .call("GET", format!("/v1/customers/{CUSTOMER}/wallet"))
            .bearer(&rig.key())
            .send()
            .expect_status(200)
            .body
    };
    assert_eq!(wallet()["points"]["held"], 300);

    rig.sim.approve(&out_trade_no).unwrap();
    let view = rig.wait_status(&order, "paid", Duration::from_secs(15));
    assert_eq!(view["status"], "paid", "{view:#}");
    let legs: Vec<(String, String)> = view["payments"][0]["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["method"].as_str().unwrap().into(),
                l["amount"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("points".into(), "30.00".into()),
            ("balance".into(), "20.00".into()),
            ("wechat_pay".into(), "50.00".into())
        ]
    );
    let wallet = wallet();
    assert_eq!(wallet["points"], json!({"available": 700, "held": 0}));
    assert_eq!(wallet["balances"][0]["available"], "30.00");
}

#[test]
fn answers_that_do_not_verify_are_not_believed() {
    let rig = rig("wechat-bad-answer");
    rig.sim.set_faults(Faults {
        bad_response_signature: true,
        ..Faults::default()
    });
    let order = rig.checkout("wx-bad-1", "10.00");
    let reply = rig.pay(&order, "wx-bad-key-1", json!({"method": "wechat_pay"}));
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.code(), "provider_unavailable");
    assert!(rig.worker.log().contains("wechat_unverified_answer"));

    rig.sim.set_faults(Faults {
        stale_timestamp: true,
        ..Faults::default()
    });
    let stale = rig.pay(&order, "wx-bad-key-2", json!({"method": "wechat_pay"}));
    assert_eq!(stale.code(), "provider_unavailable", "{}", stale.body);

    rig.sim.set_faults(Faults::default());
    rig.pay_native(&order, "wx-bad-key-3");
}
