//! Money a provider holds that does not fit the books, over real HTTP against the simulators:
//! a WeChat payment of another amount or for another order is held for review (visible to the
//! merchant, announced by webhook, blocking payment) until the merchant resolves it; a success
//! that arrives after the attempt ended pays the session if it still can, else is refunded
//! automatically; a bKash refund whose outcome never comes back is not made twice.

use std::time::{Duration, Instant};

use checkout_simulators::bkash;
use checkout_simulators::wechat::{Faults, RunningWechat};
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{self, session_body_in, Checkout, ORIGIN};
use common::rigs::{bkash_rig, wechat_rig, SimRig};
use serde_json::{json, Value};

mod common;

/// Long enough for the saga's first refund retry (30 s after the refund: automatic refunds ask
/// WeChat no notification, so the retry's query settles them) and for an expiry's close.
const WAIT: Duration = Duration::from_secs(60);

/// The shared rig with the WeChat Pay simulator beside it.
type Rig = SimRig<RunningWechat>;

/// A Worker with WeChat Pay, sessions as short as a second, and a simulator that retries its
/// notifications quickly.
fn rig(label: &str) -> Rig {
    wechat_rig(label, &[("SESSION_MIN_TTL_S", "1")])
}

/// Polls `read` until `done`, failing with the last value after [`WAIT`].
fn wait_for(what: &str, read: impl Fn() -> Value, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let value = read();
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "waiting for {what}: {value:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn payment<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["payments"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["id"] == id))
        .unwrap_or_else(|| panic!("no payment {id}: {view:#}"))
}

impl Rig {
    fn checkout_with(&self, order: &str, amount: &str, extra: Value) -> Checkout {
        let mut body = json!({"order_id": order, "amount": amount, "currency": "CNY",
            "description": "龙井茶", "customer_id": "cus_review", "methods": ["wechat_pay"],
            "return_url": "https://shop.example/done"});
        for (field, value) in extra.as_object().unwrap() {
            body[field] = value.clone();
        }
        self.checkout_from(&body)
    }

    fn checkout(&self, order: &str, amount: &str) -> Checkout {
        self.checkout_with(order, amount, json!({}))
    }

    fn pay(&self, checkout: &Checkout, key: &str) -> Reply {
        self.pay_from_frame(checkout, key, &json!({"method": "wechat_pay"}))
    }

    /// A Native payment waiting for the shopper; returns its id (WeChat's out_trade_no).
    fn pay_native(&self, checkout: &Checkout, key: &str) -> String {
        let reply = self.pay(checkout, key).expect_status(200);
        assert_eq!(
            reply.body["next_action"]["type"], "qr_code",
            "{}",
            reply.body
        );
        self.processing_payment(&checkout.id)
    }

    /// A payment the simulator takes short (19.99 for 20.00) or names another order for.
    fn pay_with_fault(&self, checkout: &Checkout, key: &str, faults: Faults) -> String {
        let id = self.pay_native(checkout, key);
        self.sim.set_faults(faults);
        self.sim.approve(&id).unwrap();
        self.sim.set_faults(Faults::default());
        id
    }

    fn wait_view(&self, checkout: &Checkout, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_view(&checkout.id, what, WAIT, done)
    }

    fn resolve(&self, checkout: &Checkout, payment_id: &str, body: &str) -> Reply {
        self.client
            .call(
                "POST",
                format!(
                    "/v1/checkout_sessions/{}/payments/{payment_id}/resolve",
                    checkout.id
                ),
            )
            .bearer(&self.key())
            .header("Content-Type", "application/json")
            .raw(body)
    }

    /// The event types the merchant has for `session`.
    fn events(&self, checkout: &Checkout) -> Vec<String> {
        self.latest_events()
            .iter()
            .filter(|e| e["session_id"] == checkout.id.as_str())
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn wait_event(&self, checkout: &Checkout, kind: &str) {
        let found = wait_for(
            kind,
            || json!(self.events(checkout)),
            |kinds| kinds.as_array().unwrap().iter().any(|k| k == kind),
        );
        assert!(!found.as_array().unwrap().is_empty());
    }

    fn reconciliation(&self) -> Value {
        let date = &common::today();
        self.client
            .call(
                "GET",
                format!("/v1/reports/reconciliation?date={date}&method=wechat_pay&limit=100"),
            )
            .bearer(&self.key())
            .send()
            .expect_status(200)
            .body
    }
}

fn short_by_one_fen() -> Faults {
    Faults {
        pay_short_fen: 1,
        ..Faults::default()
    }
}

#[test]
fn a_short_payment_is_held_for_review_refunded_at_wechat_once_and_the_session_pays_again() {
    let rig = rig("review-refund");
    let order = rig.checkout("review-refund-1", "20.00");
    let short = rig.pay_with_fault(&order, "review-refund-key-1", short_by_one_fen());

    let view = rig.wait_view(&order, "requires_review", |v| {
        v["status"] == "requires_review"
    });
    let held = payment(&view, &short);
    assert_eq!(held["status"], "requires_review", "{view:#}");
    assert_eq!(held["review"]["reason"], "amount_mismatch");
    assert_eq!(held["review"]["provider_amount"], "19.99");
    assert_eq!(view["amount_paid"], "0.00", "never credited");
    rig.wait_event(&order, "checkout_session.payment_requires_review");

    // Nothing else is accepted while it is held.
    let refused = rig.pay(&order, "review-refund-key-2");
    common::assert_refused(&refused, 409, "payment_requires_review");

    // The report lists it, explained by the review.
    let report = rig.reconciliation();
    let rows = report["differences"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["payment_id"] == short.as_str())
        .unwrap_or_else(|| panic!("the held payment is listed: {report:#}"));
    assert_eq!(row["provider"]["taken"], "19.99");
    assert_eq!(row["books"]["in_review"], "19.99");
    assert_eq!(row["difference"], "0.00");

    // Bad bodies are refused before anything changes.
    for body in [
        r#"{"action":"burn"}"#,
        "{}",
        "not json",
        r#"{"action":"accept","x":1}"#,
    ] {
        let reply = rig.resolve(&order, &short, body);
        assert_eq!(reply.status, 400, "{body}: {:#}", reply.body);
        assert!(!reply.code().is_empty());
    }
    common::assert_refused(
        &rig.resolve(&order, "pay_nope", r#"{"action":"accept"}"#),
        404,
        "not_found",
    );

    let resolved = rig.resolve(&order, &short, r#"{"action":"refund_at_provider"}"#);
    assert_eq!(resolved.status, 200, "{:#}", resolved.body);
    let again = rig.resolve(&order, &short, r#"{"action":"refund_at_provider"}"#);
    assert_eq!(again.status, 200, "the same decision again is a replay");
    common::assert_refused(
        &rig.resolve(&order, &short, r#"{"action":"accept"}"#),
        409,
        "review_action_not_allowed",
    );

    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "open", "{view:#}");
    assert_eq!(
        payment(&view, &short)["review"]["resolution"],
        "refund_at_provider"
    );
    let refunds = view["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{view:#}");
    assert_eq!(refunds[0]["payment_id"], short.as_str());
    assert_eq!(refunds[0]["amount"], "19.99");
    rig.wait_event(&order, "checkout_session.payment_review_resolved");

    // WeChat made the refund exactly once, for what it took.
    let view = rig.wait_view(&order, "the refund to succeed", |v| {
        v["refunds"][0]["status"] == "succeeded"
    });
    let at_wechat = rig.sim.order(&short).unwrap();
    assert_eq!(at_wechat.refunds.len(), 1, "{at_wechat:?}");
    assert_eq!(at_wechat.refunded_total, 1999);
    assert_eq!(view["status"], "open");

    // Resolved: the report has nothing to say about it any more.
    let report = rig.reconciliation();
    assert!(
        report["differences"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["payment_id"] != short.as_str()),
        "{report:#}"
    );
    assert_eq!(report["totals"]["difference"], "0.00", "{report:#}");

    // And the shopper can pay.
    let retry = rig.pay_native(&order, "review-refund-key-3");
    rig.sim.approve(&retry).unwrap();
    let paid = rig.wait_view(&order, "paid", |v| v["status"] == "paid");
    assert_eq!(paid["amount_paid"], "20.00");
}

#[test]
fn accepting_a_short_payment_pays_the_session_with_what_was_taken() {
    let rig = rig("review-accept");
    let order = rig.checkout("review-accept-1", "20.00");
    let short = rig.pay_with_fault(&order, "review-accept-key-1", short_by_one_fen());
    rig.wait_view(&order, "requires_review", |v| {
        v["status"] == "requires_review"
    });

    let accepted = rig.resolve(&order, &short, r#"{"action":"accept"}"#);
    assert_eq!(accepted.status, 200, "{:#}", accepted.body);
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "paid", "{view:#}");
    assert_eq!(view["amount_paid"], "19.99");
    assert_eq!(payment(&view, &short)["status"], "succeeded");
    assert_eq!(payment(&view, &short)["review"]["resolution"], "accept");
    common::assert_refused(
        &rig.resolve(&order, &short, r#"{"action":"refund_at_provider"}"#),
        409,
        "review_action_not_allowed",
    );
    assert!(rig.sim.order(&short).unwrap().refunds.is_empty());
    rig.wait_event(&order, "checkout_session.payment_review_resolved");

    // Both decisions are in the audit trail, under the request ids they were answered with.
    let trail = rig
        .client
        .call("GET", format!("/v1/checkout_sessions/{}/audit", order.id))
        .bearer(&rig.key())
        .send()
        .expect_status(200)
        .body;
    let resolves: Vec<&Value> = trail["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["op"] == "resolve_payment")
        .collect();
    let outcomes: Vec<&str> = resolves
        .iter()
        .map(|e| e["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(outcomes, ["ok", "review_action_not_allowed"], "{trail:#}");
    let request_id = accepted.header("Request-Id").unwrap();
    assert!(
        resolves[0]["request_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == request_id),
        "{:#}",
        resolves[0]
    );
    let report = rig.reconciliation();
    assert_eq!(report["differences"], json!([]), "{report:#}");
}

#[test]
fn more_than_the_session_asked_for_cannot_be_accepted_only_refunded() {
    let rig = rig("review-over");
    let order = rig.checkout("review-over-1", "20.00");
    let over = Faults {
        pay_short_fen: -100,
        ..Faults::default()
    };
    let id = rig.pay_with_fault(&order, "review-over-key-1", over);
    let view = rig.wait_view(&order, "requires_review", |v| {
        v["status"] == "requires_review"
    });
    assert_eq!(payment(&view, &id)["review"]["provider_amount"], "21.00");
    common::assert_refused(
        &rig.resolve(&order, &id, r#"{"action":"accept"}"#),
        409,
        "review_action_not_allowed",
    );
    assert_eq!(
        rig.merchant_view(&order.id)["status"],
        "requires_review",
        "nothing changed"
    );
    let refunded = rig.resolve(&order, &id, r#"{"action":"refund_at_provider"}"#);
    assert_eq!(refunded.status, 200, "{:#}", refunded.body);
    assert_eq!(refunded.body["status"], "open", "{:#}", refunded.body);
    rig.wait_view(&order, "the refund to succeed", |v| {
        v["refunds"][0]["status"] == "succeeded"
    });
    assert_eq!(rig.sim.order(&id).unwrap().refunded_total, 2100);
}

#[test]
fn a_payment_that_names_another_order_is_held_for_review() {
    let rig = rig("review-order");
    let order = rig.checkout("review-order-1", "15.00");
    let faults = Faults {
        report_out_trade_no: Some("someone_elses_order_1".into()),
        ..Faults::default()
    };
    let id = rig.pay_with_fault(&order, "review-order-key-1", faults);
    // The notification names an order that is not this session's, so it reaches no payment; the
    // widget's poll asks WeChat about our own order, whose transaction names the other one.
    let view = wait_for(
        "requires_review",
        || {
            common::widget_read(&rig, &order.id, &order.token, ORIGIN);
            rig.merchant_view(&order.id)
        },
        |v| v["status"] == "requires_review",
    );
    let held = payment(&view, &id);
    assert_eq!(held["review"]["reason"], "order_mismatch", "{view:#}");
    assert_eq!(held["review"]["provider_order"], "someone_elses_order_1");
    assert_eq!(view["amount_paid"], "0.00");
    rig.wait_event(&order, "checkout_session.payment_requires_review");
    // Nothing but a resolution moves it: more polls and notification retries change nothing.
    std::thread::sleep(Duration::from_secs(2));
    common::widget_read(&rig, &order.id, &order.token, ORIGIN);
    assert_eq!(rig.merchant_view(&order.id)["status"], "requires_review");
    common::assert_refused(
        &rig.pay(&order, "review-order-key-2"),
        409,
        "payment_requires_review",
    );
    // Refunded at WeChat, the session opens again.
    let resolved = rig.resolve(&order, &id, r#"{"action":"refund_at_provider"}"#);
    assert_eq!(resolved.status, 200, "{:#}", resolved.body);
    let view = rig.wait_view(&order, "the refund to succeed", |v| {
        v["refunds"][0]["status"] == "succeeded"
    });
    assert_eq!(view["status"], "open");
    assert_eq!(rig.sim.order(&id).unwrap().refunded_total, 1500);
}

#[test]
fn a_success_after_expiry_is_refunded_automatically() {
    let rig = rig("late-expired");
    rig.sim.set_faults(Faults {
        close_lets_payment_through: true,
        ..Faults::default()
    });
    let order = rig.checkout_with("late-expired-1", "9.00", json!({"expires_in_s": 3}));
    let id = rig.pay_native(&order, "late-expired-key-1");
    rig.wait_view(&order, "expired", |v| v["status"] == "expired");
    assert!(
        rig.sim.order(&id).unwrap().close_calls >= 1,
        "closed at WeChat first"
    );
    // WeChat said closed, and then let the shopper pay anyway.
    rig.sim.approve(&id).unwrap();
    let view = rig.wait_view(&order, "the late success", |v| {
        !payment(v, &id)["late_success"].is_null()
    });
    let late = &payment(&view, &id)["late_success"];
    assert_eq!(late["outcome"], "refunded", "{view:#}");
    let refund_id = late["refund_id"].as_str().unwrap().to_owned();
    assert_eq!(view["status"], "expired");
    assert_eq!(view["amount_paid"], "0.00");
    let refund = view["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == refund_id.as_str())
        .unwrap_or_else(|| panic!("the refund is listed: {view:#}"));
    assert_eq!(refund["amount"], "9.00");
    rig.wait_event(&order, "payment.late_success_refunded");
    rig.wait_view(&order, "the refund to succeed", |v| {
        v["refunds"][0]["status"] == "succeeded"
    });
    let at_wechat = rig.sim.order(&id).unwrap();
    assert_eq!(
        (at_wechat.refunds.len(), at_wechat.refunded_total),
        (1, 900)
    );
    let report = rig.reconciliation();
    assert_eq!(report["differences"], json!([]), "{report:#}");
}

#[test]
fn a_success_after_a_cancel_pays_the_still_open_session() {
    let rig = rig("late-open");
    rig.sim.set_faults(Faults {
        close_lets_payment_through: true,
        ..Faults::default()
    });
    let order = rig.checkout("late-open-1", "12.00");
    let id = rig.pay_native(&order, "late-open-key-1");
    let canceled = rig.cancel_from_page(&order).expect_status(200);
    assert_eq!(canceled.body["status"], "open");
    rig.sim.approve(&id).unwrap();
    let view = rig.wait_view(&order, "paid", |v| v["status"] == "paid");
    let paid = payment(&view, &id);
    assert_eq!(paid["status"], "succeeded", "{view:#}");
    assert_eq!(paid["late_success"]["outcome"], "paid_session");
    assert_eq!(view["amount_paid"], "12.00");
    assert_eq!(view["refunds"], json!([]));
    assert!(rig.sim.order(&id).unwrap().refunds.is_empty());
}

/// A bKash refund whose answer is lost, and whose status bKash never tells, stays pending and
/// is never made a second time; the retries back off (30 s, then doubling) until, a day later,
/// it becomes `requires_review`. A day cannot pass in a test: this checks the first retry.
#[test]
fn an_unsettled_bkash_refund_is_retried_by_asking_never_by_refunding_again() {
    let rig = bkash_rig("refund-unsettled", &[("RECONCILE_AFTER_S", "0")]);
    let sim = &rig.sim;
    let body = session_body_in("unsettled-1", "200.00", "BDT", "cus_unsettled", &["bkash"]);
    let order = rig.checkout_from(&body);
    let reply = rig
        .pay_from_frame(&order, "unsettled-key-1", &json!({"method": "bkash"}))
        .expect_status(200);
    let url = reply.body["next_action"]["url"].as_str().unwrap();
    let payment_id = url.split("paymentID=").nth(1).unwrap().to_owned();
    let callback = sim.approve(&payment_id, bkash::RICH_WALLET).unwrap();
    rig.follow(&callback);
    wait_for(
        "paid",
        || rig.merchant_view(&order.id),
        |v| v["status"] == "paid",
    );
    let before = sim.wallet_balance(bkash::RICH_WALLET).unwrap();

    sim.set_faults(bkash::Faults {
        refund_unsettled: true,
        ..bkash::Faults::default()
    });
    let refund = rig.refund(&order.id, "unsettled-refund-1", "50.00", "damaged");
    assert!(
        refund.status == 200 || refund.status == 502,
        "{}: {:#}",
        refund.status,
        refund.body
    );
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["refunds"][0]["status"], "pending", "{view:#}");
    // Past the first retry (30 s): it asked, was not told, and made nothing twice.
    std::thread::sleep(Duration::from_secs(40));
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["refunds"][0]["status"], "pending", "{view:#}");
    let after = sim.wallet_balance(bkash::RICH_WALLET).unwrap();
    let credited = |text: &str| -> i64 { text.replace('.', "").parse().unwrap() };
    assert_eq!(
        credited(&after) - credited(&before),
        5_000,
        "bKash refunded once"
    );
    let snapshot = sim.payment(&payment_id).unwrap();
    assert_eq!(snapshot.refund_trx_ids.len(), 1, "{snapshot:?}");
    assert_eq!(snapshot.refunded, "50.00");

    // The report cannot check what bKash will not tell, and says so rather than agree.
    let report = |rig: &fixtures::Rig| {
        let date = common::today();
        rig.client
            .call(
                "GET",
                format!("/v1/reports/reconciliation?date={date}&method=bkash"),
            )
            .bearer(&rig.key())
            .send()
            .expect_status(200)
            .body
    };
    let blind = report(&rig);
    assert_eq!(blind["checked"], 0, "{blind:#}");
    assert_eq!(blind["unchecked"][0]["reason"], "provider_unavailable");
    assert_eq!(blind["unchecked"][0]["session_id"], order.id.as_str());
    // Once bKash answers, its latest refund is ours and the figures agree.
    sim.set_faults(bkash::Faults::default());
    let told = report(&rig);
    assert_eq!(told["checked"], 1, "{told:#}");
    assert_eq!(told["differences"], json!([]), "{told:#}");
    assert_eq!(told["totals"]["provider"], "150.00");
    assert_eq!(told["totals"]["books"], "150.00");
}
