//! bKash over real HTTP: the Worker in workerd against the bKash simulator.

use checkout_simulators::bkash::{Faults, RunningBkash};
use checkout_tests::api::Reply;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures::{session_body_in, Checkout, ORIGIN};
use common::rigs::{bkash_rig, SimRig};
use serde_json::json;

mod common;

const RICH_WALLET: &str = "01770618575";

/// The shared rig with the bKash simulator beside it.
type Rig = SimRig<RunningBkash>;

fn rig(label: &str) -> Rig {
    bkash_rig(label, &[("RECONCILE_AFTER_S", "0")])
}

impl Rig {
    fn session(&self, order: &str, amount: &str) -> Checkout {
        self.checkout_from(&session_body_in(
            order,
            amount,
            "BDT",
            "cus_bkash",
            &["bkash"],
        ))
    }

    fn pay(&self, checkout: &Checkout, key: &str) -> Reply {
        self.pay_from_page(checkout, key, "bkash")
    }

    /// A session paid up to the redirect to bKash's page: the session and bKash's paymentID.
    fn started(&self, order: &str, amount: &str) -> (Checkout, String) {
        let checkout = self.session(order, amount);
        let payment_id = self.start_payment(&checkout);
        (checkout, payment_id)
    }

    /// Pays up to the redirect; returns bKash's paymentID.
    fn start_payment(&self, checkout: &Checkout) -> String {
        let reply = self.pay(checkout, "bkash-key-0001").expect_status(200);
        let url = reply.body["next_action"]["url"]
            .as_str()
            .expect("a redirect");
        assert_eq!(reply.body["status"], "processing");
        url.split("paymentID=")
            .nth(1)
            .expect("paymentID in bkashURL")
            .to_owned()
    }

    fn forged_callback(&self, checkout: &Checkout, payment_id: &str, status: &str) -> Reply {
        let path = format!(
            "/v1/callbacks/bkash/{}?paymentID={payment_id}&status={status}",
            checkout.id
        );
        self.client.call("GET", path).send()
    }

    fn vars_other_key(&self) -> String {
        DevVars::of_repo().merchant("m_other").test_key().to_owned()
    }

    /// A session paid with bKash: created, approved at the simulator, and called back.
    fn paid_checkout(&self, order: &str, amount: &str) -> (Checkout, String) {
        let (checkout, payment_id) = self.started(order, amount);
        let callback = self
            .sim
            .approve(&payment_id, RICH_WALLET)
            .expect("approval");
        assert_eq!(self.follow(&callback).status, 303);
        (checkout, payment_id)
    }

    /// What bKash says of our payment `payment` of the session, asked with `key`.
    fn provider_status(&self, checkout: &Checkout, payment: &str, key: &str) -> Reply {
        let path = format!(
            "/v1/checkout_sessions/{}/payments/{payment}/provider_status",
            checkout.id
        );
        self.client.call("GET", path).bearer(key).send()
    }

    fn execute_calls(&self, payment_id: &str) -> u64 {
        self.sim
            .payment(payment_id)
            .expect("the simulator knows it")
            .execute_calls
    }
}

#[test]
fn an_approved_bkash_payment_is_executed_once_and_the_session_is_paid() {
    let rig = rig("bkash-success");
    let (checkout, payment_id) = rig.started("bk-1", "150.50");
    let callback = rig.sim.approve(&payment_id, RICH_WALLET).expect("approval");

    let back = rig.follow(&callback);
    common::assert_back_to_shop(&back);

    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "150.50");
    assert!(view["payments"][0]["provider_transaction_id"]
        .as_str()
        .is_some());
    assert_eq!(rig.execute_calls(&payment_id), 1);

    // The shopper's browser replays the callback (back button, double redirect): no second execute.
    assert_eq!(rig.follow(&callback).status, 303);
    assert_eq!(rig.execute_calls(&payment_id), 1);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
}

#[test]
fn a_forged_success_callback_never_marks_an_unpaid_payment_paid() {
    let rig = rig("bkash-forged");
    let (checkout, payment_id) = rig.started("bk-forged", "99.00");

    assert_eq!(
        rig.forged_callback(&checkout, &payment_id, "success")
            .status,
        303
    );
    let view = rig.merchant_view(&checkout.id);
    assert_ne!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "0.00");

    // The real shopper can still approve afterwards and pay.
    let callback = rig.sim.approve(&payment_id, RICH_WALLET).expect("approval");
    assert_eq!(rig.follow(&callback).status, 303);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
}

#[test]
fn callbacks_for_unknown_or_foreign_payments_are_refused() {
    let rig = rig("bkash-foreign");
    let mine = rig.session("bk-mine", "10.00");
    let theirs = rig.session("bk-theirs", "10.00");
    let their_payment = rig.start_payment(&theirs);

    let unknown = rig.forged_callback(&mine, "TR0011NOSUCHPAYMENT0000", "success");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "unknown_provider_payment");
    let foreign = rig.forged_callback(&mine, &their_payment, "success");
    assert_eq!(foreign.code(), "unknown_provider_payment");
    assert_eq!(rig.execute_calls(&their_payment), 0);
}

#[test]
fn a_cancel_or_failure_at_bkash_fails_the_attempt_and_the_shopper_can_try_again() {
    let rig = rig("bkash-cancel");
    let (checkout, payment_id) = rig.started("bk-cancel", "20.00");
    // The shopper cancels on bKash's page; the redirect's `cancel` is checked with bKash.
    let canceled = rig.sim.cancel(&payment_id).expect("cancel at bKash");
    assert_eq!(rig.follow(&canceled).status, 303);
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "open");
    assert_eq!(view["payments"][0]["failure_code"], "payment_canceled");
    assert_eq!(rig.execute_calls(&payment_id), 0);

    let retry = rig.pay(&checkout, "bkash-key-0002").expect_status(200);
    assert!(retry.body["next_action"]["url"].as_str().is_some());
}

#[test]
fn amounts_at_the_limits_are_accepted_and_past_them_refused() {
    let rig = rig("bkash-limits");
    for (order, amount, accepted) in [
        ("lim-1", "1.00", true),
        ("lim-2", "0.99", false),
        ("lim-3", "25000.00", true),
        ("lim-4", "25000.01", false),
    ] {
        let checkout = rig.session(order, amount);
        // The widget learns the limits up front, so it can say so before the shopper tries.
        let view =
            common::widget_read(&rig, &checkout.id, &checkout.token, ORIGIN).expect_status(200);
        assert_eq!(
            view.body["method_limits"],
            json!([{"method": "bkash", "min_minor": 100, "max_minor": 2_500_000}])
        );
        let reply = rig.pay(&checkout, "bkash-key-limit");
        if accepted {
            assert_eq!(reply.status, 200, "{amount}: {}", reply.body);
        } else {
            assert_eq!(reply.status, 400, "{amount}: {}", reply.body);
            assert_eq!(reply.code(), "amount_out_of_range");
            assert_eq!(rig.merchant_view(&checkout.id)["payments"], json!([]));
        }
    }
}

#[test]
fn a_token_that_expires_mid_flow_is_refreshed_and_the_payment_completes() {
    let rig = rig("bkash-token-expiry");
    let (checkout, payment_id) = rig.started("bk-expiry", "75.00");
    rig.sim.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    let callback = rig.sim.approve(&payment_id, RICH_WALLET).expect("approval");
    assert_eq!(rig.follow(&callback).status, 303);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
    assert_eq!(rig.execute_calls(&payment_id), 1);
}

#[test]
fn a_lost_execute_answer_is_recovered_by_query_without_a_second_execute() {
    let rig = rig("bkash-lost-execute");
    let (checkout, payment_id) = rig.started("bk-lost", "310.00");
    let callback = rig.sim.approve(&payment_id, RICH_WALLET).expect("approval");
    rig.sim.set_faults(Faults {
        drop_execute_response: 1,
        ..Faults::default()
    });
    assert_eq!(rig.follow(&callback).status, 303);
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(rig.execute_calls(&payment_id), 1);
}

#[test]
fn a_partial_then_a_full_refund_never_exceed_the_payment() {
    let rig = rig("bkash-refund");
    let (checkout, payment_id) = rig.paid_checkout("bk-refund", "500.00");
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");

    let refund =
        |key: &str, amount: &str| rig.refund(&checkout.id, key, amount, "customer request");
    let partial = refund("refund-key-1", "120.00").expect_status(200);
    assert_eq!(partial.body["status"], "succeeded");
    assert!(partial.body["provider_refund_id"].as_str().is_some());
    // The same key again is the same refund, not a second one.
    let again = refund("refund-key-1", "120.00").expect_status(200);
    assert_eq!(again.body["id"], partial.body["id"]);

    let too_much = refund("refund-key-2", "380.01");
    assert_eq!(too_much.status, 400);
    assert_eq!(too_much.code(), "refund_exceeds_payment");
    refund("refund-key-3", "380.00").expect_status(200);
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["amount_refunded"], "500.00");
    assert_eq!(view["refunds"].as_array().unwrap().len(), 2);
    // bKash's own books agree: two refunds, 500.00 in all.
    let at_bkash = rig.sim.payment(&payment_id).unwrap();
    assert_eq!(at_bkash.refunded, "500.00");
    assert_eq!(at_bkash.refund_trx_ids.len(), 2);
}

#[test]
fn the_reconciliation_cron_settles_a_leg_whose_callback_never_came() {
    let rig = rig("bkash-reconcile");
    let (checkout, payment_id) = rig.started("bk-reconcile", "42.00");
    // The shopper approves, but the browser never comes back to the callback.
    rig.sim.approve(&payment_id, RICH_WALLET).expect("approval");
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "processing");

    let cron = rig
        .client
        .call("GET", "/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*")
        .send();
    assert!(cron.status < 400, "the cron did not run: {}", cron.status);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
    assert_eq!(rig.execute_calls(&payment_id), 1);

    // The disagreement (bKash approved, the session still waiting) is on the session's trail,
    // and the settlement is attributed to the cron.
    let trail = rig
        .client
        .call(
            "GET",
            format!("/v1/checkout_sessions/{}/audit", checkout.id),
        )
        .bearer(&rig.key())
        .send()
        .expect_status(200);
    let entries = trail.body["data"].as_array().unwrap();
    let finding = entries
        .iter()
        .find(|e| e["what"] == "reconciliation_disagreement")
        .unwrap_or_else(|| panic!("no finding in {entries:#?}"));
    assert_eq!(finding["kind"], "finding");
    assert_eq!(finding["local_stage"], "awaiting_shopper");
    assert_eq!(finding["provider_status"], "Authorized");
    assert_eq!(finding["request_ids"], json!(["cron"]));
}

#[test]
fn the_cron_expires_sessions_past_their_time() {
    let rig = bkash_rig("bkash-cron-expiry", &[("SESSION_MIN_TTL_S", "1")]);
    let client = &rig.client;
    let key = rig.key();
    let session = client
        .call("POST", "/v1/checkout_sessions")
        .bearer(&key)
        .json(&json!({
            "order_id": "bk-cron-expiry", "amount": "10.00", "currency": "BDT",
            "description": "Tea", "customer_id": "cus_bkash", "methods": ["bkash"],
            "return_url": "https://shop.example/done", "expires_in_s": 1
        }))
        .expect_status(200);
    let id = session.body["id"].as_str().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let cron = client
        .call("GET", "/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*")
        .send();
    assert!(cron.status < 400, "the cron did not run: {}", cron.status);
    let trail = client
        .call("GET", format!("/v1/checkout_sessions/{id}/audit"))
        .bearer(&key)
        .send()
        .expect_status(200);
    let entries = trail.body["data"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["what"] == "command"
            && e["op"] == "reconcile"
            && e["request_ids"] == json!(["cron"])),
        "the cron visited the expired session: {entries:#?}"
    );
    assert!(entries
        .iter()
        .any(|e| e["what"] == "session_status" && e["status"] == "expired"));
}

#[test]
fn the_merchant_can_ask_bkash_about_a_payment_and_its_transaction() {
    let rig = rig("bkash-provider-status");
    let (checkout, payment_id) = rig.paid_checkout("bk-status", "64.00");
    let view = rig.merchant_view(&checkout.id);
    let our_payment = view["payments"][0]["id"].as_str().unwrap().to_owned();
    let trx_id = view["payments"][0]["provider_transaction_id"].clone();

    let status = rig
        .provider_status(&checkout, &our_payment, &rig.key())
        .expect_status(200);
    assert_eq!(status.body["provider_reference"], payment_id.as_str());
    assert_eq!(status.body["provider_status"], "Completed");
    assert_eq!(status.body["provider_transaction_id"], trx_id);
    assert_eq!(status.body["amount"], "64.00");
    assert_eq!(status.body["transaction"]["trxID"], trx_id);

    let other = rig.vars_other_key();
    let foreign = rig.provider_status(&checkout, &our_payment, &other);
    assert_eq!(foreign.status, 404);
}

#[test]
fn a_refund_whose_answer_is_lost_is_never_sent_twice() {
    let rig = rig("bkash-refund-lost");
    let (checkout, payment_id) = rig.paid_checkout("bk-refund-lost", "90.00");
    rig.sim.set_faults(Faults {
        timeout_next: 1,
        hang_ms: 4_000,
        ..Faults::default()
    });
    let refund = rig
        .refund(&checkout.id, "lost-refund-1", "90.00", "lost answer")
        .expect_status(200);
    assert_eq!(refund.body["status"], "pending");
    // A retry with the same key is the same pending refund; bKash has made none.
    let again = rig
        .refund(&checkout.id, "lost-refund-1", "90.00", "lost answer")
        .expect_status(200);
    assert_eq!(again.body["id"], refund.body["id"]);
    assert_eq!(
        rig.sim.payment(&payment_id).unwrap().refund_trx_ids.len(),
        0
    );
    // And the pending refund still counts against what is left.
    let more = rig.refund(&checkout.id, "lost-refund-2", "0.01", "over");
    assert_eq!(more.code(), "refund_exceeds_payment");
}
