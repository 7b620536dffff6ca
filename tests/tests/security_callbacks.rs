//! Unauthenticated provider callbacks against the Worker, with the bKash and WeChat Pay
//! simulators: a callback names only its own provider's legs, a redirect's `cancel` or
//! `failure` is only a hint, a leg whose execute went unanswered is not ended by hints, callbacks
//! are throttled per session, the audit trail stays bounded and pages, and a lost bKash refund is
//! never matched to another refund of the same amount.

use std::time::{Duration, Instant};

use checkout_simulators::bkash::Faults;
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body_in, Checkout};
use common::assert_refused;
use common::rigs::{bkash_and_wechat_rig, BkashAndWechat, SimRig};
use serde_json::Value;

mod common;

const RICH_WALLET: &str = "01770618575";

/// A Worker with both providers configured, and both simulators.
type Rig = SimRig<BkashAndWechat>;

fn rig(label: &str) -> Rig {
    bkash_and_wechat_rig(label, &[("RECONCILE_AFTER_S", "0")])
}

impl Rig {
    fn checkout_for(&self, order: &str, amount: &str, currency: &str, method: &str) -> Checkout {
        self.checkout_from(&session_body_in(
            order,
            amount,
            currency,
            "cus_callbacks",
            &[method],
        ))
    }

    fn pay(&self, checkout: &Checkout, key: &str, method: &str) -> Reply {
        self.pay_from_page(checkout, key, method)
    }

    /// A bKash session of `amount` BDT paid up to bKash's page: the session and bKash's
    /// paymentID.
    fn bkash_started(&self, order: &str, amount: &str) -> (Checkout, String) {
        let checkout = self.checkout_for(order, amount, "BDT", "bkash");
        let payment_id = self.start_bkash(&checkout);
        (checkout, payment_id)
    }

    /// A bKash payment up to the redirect; returns bKash's paymentID.
    fn start_bkash(&self, checkout: &Checkout) -> String {
        let reply = self
            .pay(checkout, "sec-bkash-key-1", "bkash")
            .expect_status(200);
        let url = reply.body["next_action"]["url"]
            .as_str()
            .expect("a redirect");
        url.split("paymentID=").nth(1).unwrap().to_owned()
    }

    /// A WeChat Native payment up to the QR code; returns our payment id (`out_trade_no`).
    fn start_wechat(&self, checkout: &Checkout) -> String {
        let reply = self
            .pay(checkout, "sec-wechat-key-1", "wechat_pay")
            .expect_status(200);
        assert_eq!(reply.body["next_action"]["type"], "qr_code");
        self.merchant_view(&checkout.id)["payments"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn bkash_callback(&self, checkout: &Checkout, payment_id: &str, status: &str) -> Reply {
        self.client
            .call(
                "GET",
                format!(
                    "/v1/callbacks/bkash/{}?paymentID={payment_id}&status={status}",
                    checkout.id
                ),
            )
            .send()
    }

    /// Asserts the merchant sees the session paid, `amount_paid` in all.
    #[track_caller]
    fn assert_paid(&self, checkout: &Checkout, amount_paid: &str) {
        let view = self.merchant_view(&checkout.id);
        assert_eq!(view["status"], "paid", "{view:#}");
        assert_eq!(view["amount_paid"], amount_paid);
    }

    /// Asserts a forged `cancel` redirect for the bKash payment is answered and believed in
    /// nothing: the payment is still processing.
    #[track_caller]
    fn assert_cancel_hint_ignored(&self, checkout: &Checkout, payment_id: &str) {
        let hint = self.bkash_callback(checkout, payment_id, "cancel");
        assert_eq!(hint.status, 303);
        let view = self.merchant_view(&checkout.id);
        assert_eq!(view["payments"][0]["status"], "processing");
    }

    fn run_cron(&self) {
        let cron = self
            .client
            .call("GET", "/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*")
            .send();
        assert!(cron.status < 400, "the cron did not run: {}", cron.status);
    }

    fn audit(&self, checkout: &Checkout, query: &str) -> Reply {
        self.client
            .call(
                "GET",
                format!("/v1/checkout_sessions/{}/audit{query}", checkout.id),
            )
            .bearer(&self.key())
            .send()
    }

    fn wait_for(&self, within: Duration, done: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        done()
    }
}

/// M2, the reviewed attack: a bKash redirect naming a WeChat payment id with `status=cancel`
/// used to fail the WeChat attempt without closing it at WeChat, so the shopper could still pay
/// an order nobody accounted for. Now the bKash route finds no bKash payment of that id, the
/// WeChat order stays open, and the later WeChat payment settles the session.
#[test]
fn a_bkash_callback_naming_a_wechat_payment_cannot_touch_it() {
    let rig = rig("sec-cross-provider");
    let order = rig.checkout_for("sec-cross-1", "25.00", "CNY", "wechat_pay");
    let out_trade_no = rig.start_wechat(&order);

    for status in ["cancel", "failure", "success"] {
        let forged = rig.bkash_callback(&order, &out_trade_no, status);
        assert_refused(&forged, 404, "unknown_provider_payment");
    }
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["payments"][0]["status"], "processing", "{view:#}");
    let at_wechat = rig.sim.wechat.order(&out_trade_no).unwrap();
    assert_eq!(
        serde_json::to_value(at_wechat.trade_state).unwrap(),
        "NOTPAY"
    );

    rig.sim.wechat.approve(&out_trade_no).unwrap();
    assert!(
        rig.sim
            .wechat
            .wait_acknowledged(&out_trade_no, Duration::from_secs(15)),
        "the Worker acknowledges WeChat's notification"
    );
    rig.assert_paid(&order, "25.00");
}

/// M2: a forged `cancel` for a bKash payment bKash still holds open (Initiated, then Authorized)
/// fails nothing; bKash's own word decides. A real cancel at bKash still fails the attempt.
#[test]
fn a_bkash_cancel_or_failure_is_believed_only_when_bkash_says_so() {
    let rig = rig("sec-bkash-hint");
    let (order, payment_id) = rig.bkash_started("sec-hint-1", "30.00");

    // Initiated at bKash: still payable, so the hint is not believed.
    for status in ["cancel", "failure"] {
        assert_eq!(rig.bkash_callback(&order, &payment_id, status).status, 303);
        let view = rig.merchant_view(&order.id);
        assert_eq!(view["payments"][0]["status"], "processing", "{view:#}");
    }
    // Authorized at bKash (the shopper approved): a forged cancel still fails nothing, and the
    // shopper's own return completes the payment.
    let callback = rig.sim.bkash.approve(&payment_id, RICH_WALLET).unwrap();
    rig.assert_cancel_hint_ignored(&order, &payment_id);
    assert_eq!(rig.follow(&callback).status, 303);
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "paid", "{view:#}");
    assert_eq!(rig.sim.bkash.payment(&payment_id).unwrap().execute_calls, 1);

    // A cancel the shopper really made at bKash fails the attempt.
    let (second, second_payment) = rig.bkash_started("sec-hint-2", "30.00");
    let canceled = rig.sim.bkash.cancel(&second_payment).unwrap();
    assert_eq!(rig.follow(&canceled).status, 303);
    let view = rig.merchant_view(&second.id);
    assert_eq!(view["payments"][0]["status"], "failed", "{view:#}");
    assert_eq!(view["payments"][0]["failure_code"], "payment_canceled");
}

/// L7: the execute is sent but its answer is lost and bKash still says Authorized. The leg stays
/// completing: neither the shopper's cancel nor a forged cancel ends it while the execute could
/// still land, and reconciliation completes it.
#[test]
fn a_payment_whose_execute_went_unanswered_is_not_failed_by_a_cancel() {
    let rig = rig("sec-lost-execute");
    let (order, payment_id) = rig.bkash_started("sec-lost-exec-1", "40.00");
    let callback = rig.sim.bkash.approve(&payment_id, RICH_WALLET).unwrap();
    rig.sim.bkash.set_faults(Faults {
        timeout_next: 1,
        hang_ms: 4_000,
        ..Faults::default()
    });
    assert_eq!(rig.follow(&callback).status, 303);
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["payments"][0]["status"], "processing", "{view:#}");

    let cancel = rig.cancel_from_page(&order);
    assert_refused(&cancel, 409, "payment_in_progress");
    rig.assert_cancel_hint_ignored(&order, &payment_id);

    rig.run_cron();
    rig.assert_paid(&order, "40.00");
}

/// L1: a flood of callbacks causes at most the session's budget of provider calls, and the
/// audit trail counts the repeats on one entry instead of adding a row each.
#[test]
fn a_callback_flood_is_throttled_and_summarised_in_the_audit_trail() {
    let rig = rig("sec-callback-flood");
    let (order, payment_id) = rig.bkash_started("sec-flood-1", "12.00");
    let flood = 30;
    for _ in 0..flood {
        assert_eq!(
            rig.bkash_callback(&order, &payment_id, "cancel").status,
            303
        );
    }
    let queries = rig.sim.bkash.payment(&payment_id).unwrap().status_calls;
    assert!(
        (1..=10).contains(&queries),
        "{queries} bKash queries for {flood} callbacks"
    );
    let trail = rig.audit(&order, "").expect_status(200);
    let entries = trail.body["data"].as_array().unwrap();
    let callbacks: Vec<&Value> = entries
        .iter()
        .filter(|e| e["op"] == "provider_callback")
        .collect();
    assert_eq!(callbacks.len(), 1, "{entries:#?}");
    assert_eq!(callbacks[0]["repeats"], flood);
    assert!(entries.len() < 15, "{entries:#?}");
    // Still the stored state: the payment waits for the shopper.
    assert_eq!(
        rig.merchant_view(&order.id)["payments"][0]["status"],
        "processing"
    );
}

/// L1: the audit trail is a Stripe-style list, read a page at a time by `seq`.
#[test]
fn the_audit_trail_pages_by_seq() {
    let rig = rig("sec-audit-pages");
    let (order, payment_id) = rig.bkash_started("sec-pages-1", "12.00");
    // Alternating outcomes, so each callback is its own entry.
    for _ in 0..3 {
        rig.bkash_callback(&order, &payment_id, "cancel");
        rig.bkash_callback(&order, "TR0011NOSUCHPAYMENT", "cancel");
    }
    let all = rig.audit(&order, "").expect_status(200);
    assert_eq!(all.body["object"], "list");
    assert_eq!(all.body["has_more"], false);
    let all: Vec<i64> = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(all.len() >= 8, "{all:?}");

    let mut paged = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let page = rig.audit(&order, &query).expect_status(200);
        let data = page.body["data"].as_array().unwrap();
        assert!(data.len() <= 3);
        paged.extend(data.iter().map(|e| e["seq"].as_i64().unwrap()));
        if page.body["has_more"] != true {
            break;
        }
        query = format!("?limit=3&starting_after={}", paged.last().unwrap());
    }
    assert_eq!(paged, all);

    for bad in ["?limit=0", "?limit=101", "?limit=x", "?starting_after=-4"] {
        assert_refused(&rig.audit(&order, bad), 400, "invalid_parameter");
    }
}

/// L3: two equal partial bKash refunds. When the second one's answer is lost, recovery must not
/// take the first refund (the latest bKash reports, same amount) for it: if bKash never made it,
/// it stays pending for an operator; if bKash made it, it gets its own refund id.
#[test]
fn a_lost_refund_is_never_matched_to_an_equal_earlier_one() {
    let rig = rig("sec-refund-match");
    let paid = |order: &str| {
        let (checkout, payment_id) = rig.bkash_started(order, "100.00");
        let callback = rig.sim.bkash.approve(&payment_id, RICH_WALLET).unwrap();
        assert_eq!(rig.follow(&callback).status, 303);
        assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
        (checkout, payment_id)
    };
    let refund = |checkout: &Checkout, key: &str| {
        rig.refund(&checkout.id, key, "10.00", "one cup")
            .expect_status(200)
            .body
    };

    // Never made: the refund call hangs and does nothing.
    let (never, never_payment) = paid("sec-refund-never");
    let first = refund(&never, "refund-never-1");
    assert_eq!(first["status"], "succeeded");
    rig.sim.bkash.set_faults(Faults {
        timeout_next: 1,
        hang_ms: 4_000,
        ..Faults::default()
    });
    let lost = refund(&never, "refund-never-2");
    assert_eq!(lost["status"], "pending");

    // Made, answer lost.
    let (made, made_payment) = paid("sec-refund-made");
    let earlier = refund(&made, "refund-made-1");
    rig.sim.bkash.set_faults(Faults {
        drop_refund_response: 1,
        ..Faults::default()
    });
    let dropped = refund(&made, "refund-made-2");
    assert_eq!(dropped["status"], "pending");

    // The session alarm resolves lost refunds after 30 s.
    let resolved = rig.wait_for(Duration::from_secs(60), || {
        rig.merchant_view(&made.id)["refunds"][1]["status"] != "pending"
    });
    assert!(resolved, "{:#}", rig.merchant_view(&made.id));
    let made_view = rig.merchant_view(&made.id);
    let at_bkash = rig.sim.bkash.payment(&made_payment).unwrap().refund_trx_ids;
    assert_eq!(at_bkash.len(), 2);
    assert_eq!(made_view["refunds"][0]["provider_refund_id"], at_bkash[0]);
    assert_eq!(made_view["refunds"][1]["status"], "succeeded");
    assert_eq!(made_view["refunds"][1]["provider_refund_id"], at_bkash[1]);
    assert_ne!(
        earlier["provider_refund_id"],
        made_view["refunds"][1]["provider_refund_id"]
    );

    let never_view = rig.merchant_view(&never.id);
    let at_bkash = rig
        .sim
        .bkash
        .payment(&never_payment)
        .unwrap()
        .refund_trx_ids;
    assert_eq!(at_bkash.len(), 1, "bKash made only the first refund");
    assert_eq!(never_view["refunds"][0]["provider_refund_id"], at_bkash[0]);
    assert_eq!(
        never_view["refunds"][1]["status"], "pending",
        "{never_view:#}"
    );
    assert!(never_view["refunds"][1]["provider_refund_id"].is_null());
    assert_eq!(never_view["amount_refunded"], "20.00");
}

/// L1: however many different callbacks arrive, a session keeps at most 500 audit entries, the
/// last one a `truncated` marker counting what was not kept.
#[test]
fn the_audit_trail_stops_at_its_cap_with_a_truncated_marker() {
    let rig = rig("sec-audit-cap");
    let (order, payment_id) = rig.bkash_started("sec-cap-1", "12.00");
    // Alternating outcomes defeat the summary of repeats: each callback is a new entry.
    let pairs = 260;
    for _ in 0..pairs {
        rig.bkash_callback(&order, &payment_id, "cancel");
        rig.bkash_callback(&order, "TR0011NOSUCHPAYMENT", "cancel");
    }
    let mut entries: Vec<Value> = Vec::new();
    let mut query = "?limit=100".to_owned();
    loop {
        let page = rig.audit(&order, &query).expect_status(200);
        entries.extend(page.body["data"].as_array().unwrap().iter().cloned());
        if page.body["has_more"] != true {
            break;
        }
        query = format!(
            "?limit=100&starting_after={}",
            entries.last().unwrap()["seq"]
        );
    }
    assert_eq!(entries.len(), 500);
    let last = entries.last().unwrap();
    assert_eq!(last["kind"], "truncated", "{last:#}");
    assert_eq!(last["what"], "audit_truncated");
    let kept_callbacks = entries
        .iter()
        .filter(|e| e["op"] == "provider_callback")
        .count();
    let dropped = last["repeats"].as_u64().unwrap_or(1) as usize;
    assert_eq!(kept_callbacks + dropped, 2 * pairs, "{last:#}");
}
