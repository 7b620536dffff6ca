//! Authorize now, capture later, over real HTTP against the Stripe simulator: a session created
//! with `capture: "manual"` is `authorized` once the card is; the merchant captures it (whole or
//! in part) or cancels it, and an authorization nobody captured is voided with its wallet holds.
//! Also points + balance + card in one payment.

use std::time::{Duration, Instant};

use checkout_simulators::stripe::control::PayRequest;
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{session_body_in, Checkout, PAY_PASSWORD};
use checkout_tests::providers::Stripe;
use common::rigs::{stripe_rig, SimRig};
use serde_json::{json, Value};

mod common;

const CUSTOMER: &str = "cus_card_split";

/// The shared rig with the Stripe simulator beside it.
type Rig = SimRig<Stripe>;

/// A Worker taking cards through a fresh simulator (webhooks on), with `extra` variables, and
/// the customer funded with 100.00 of balance and 1,000 points.
fn rig(label: &str, extra: &[(&str, &str)]) -> Rig {
    let rig = stripe_rig(label, extra);
    rig.send_webhooks();
    rig.seed(CUSTOMER, "100.00", "BDT", 1000);
    rig
}

impl Rig {
    fn checkout(&self, order: &str, amount: &str, capture: &str) -> Checkout {
        let methods = ["points", "balance", "card"];
        let mut body = session_body_in(order, amount, "BDT", CUSTOMER, &methods);
        body["capture"] = json!(capture);
        self.checkout_from(&body)
    }

    /// Starts the card payment (with a split when `split`); returns Stripe's session id.
    fn start(&self, checkout: &Checkout, key: &str, split: Option<Value>) -> String {
        let mut body = json!({"method": "card"});
        if let Some(allocation) = split {
            body["allocation"] = allocation;
            body["pay_password"] = json!(PAY_PASSWORD);
        }
        let reply = self.pay_from_frame(checkout, key, &body).expect_status(200);
        let url = reply.body["next_action"]["url"]
            .as_str()
            .expect("a redirect to Stripe's page");
        url.rsplit('/').next().unwrap().to_owned()
    }

    /// Pays 4242 on Stripe's page and follows the return to the Worker.
    fn pay_and_return(&self, cs: &str) {
        let paid = self
            .sim
            .pay(cs, &PayRequest::default())
            .expect("the page took the card");
        assert_eq!(paid["outcome"], "completed", "{paid}");
        let url = paid["redirect"].as_str().unwrap();
        assert_eq!(self.follow(url).status, 303);
    }

    fn wait_for(&self, checkout: &Checkout, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_view(&checkout.id, what, Duration::from_secs(40), done)
    }

    /// `POST /v1/checkout_sessions/{id}/{verb}` (capture, cancel) as a merchant's integration
    /// sends it: retried while the session is asking the gateway about the payment (a webhook's
    /// or the alarm's query under way answers `409 payment_in_progress`).
    fn command(&self, checkout: &Checkout, verb: &str, body: Value) -> Reply {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = self
                .client
                .call(
                    "POST",
                    format!("/v1/checkout_sessions/{}/{verb}", checkout.id),
                )
                .bearer(&self.key())
                .json(&body);
            if reply.status != 409
                || reply.code() != "payment_in_progress"
                || Instant::now() > deadline
            {
                return reply;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn capture(&self, checkout: &Checkout, body: Value) -> Reply {
        self.client
            .call(
                "POST",
                format!("/v1/checkout_sessions/{}/capture", checkout.id),
            )
            .bearer(&self.key())
            .json(&body)
    }

    fn wallet(&self) -> Value {
        common::wallet(self, &self.key(), CUSTOMER)
    }

    fn intent(&self, checkout: &Checkout) -> Value {
        let view = self.merchant_view(&checkout.id);
        let id = view["payments"][0]["provider_transaction_id"]
            .as_str()
            .expect("the PaymentIntent")
            .to_owned();
        self.sim
            .payment_intent(&id)
            .expect("the simulator knows it")
    }

    fn events(&self, kind: &str) -> usize {
        self.latest_events()
            .iter()
            .filter(|e| e["type"] == kind)
            .count()
    }
}

#[test]
fn a_manual_capture_session_is_authorized_then_captured_once() {
    let rig = rig("card-capture", &[]);
    let checkout = rig.checkout("cap-1", "100.00", "manual");
    // Nothing to capture yet.
    assert_eq!(rig.capture(&checkout, json!({})).status, 409);
    let cs = rig.start(&checkout, "cap-1-key", None);
    rig.pay_and_return(&cs);
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "authorized", "{view:#}");
    assert_eq!(view["payments"][0]["status"], "authorized");
    assert_eq!(view["amount_paid"], "0.00");
    assert_eq!(rig.intent(&checkout)["status"], "requires_capture");
    assert_eq!(rig.events("checkout_session.authorized"), 1);

    // The answer of the capture is lost after it took effect: the intent is read, not captured
    // again.
    let mut faults = rig.sim.faults();
    faults.lose_capture_answers = 1;
    rig.sim.set_faults(faults);
    let captured = rig.command(&checkout, "capture", json!({}));
    assert!(captured.status == 200, "{}", captured.body);
    let view = rig.wait_for(&checkout, "captured", |v| v["status"] == "paid");
    assert_eq!(view["amount_paid"], "100.00");
    let intent = rig.intent(&checkout);
    assert_eq!(intent["status"], "succeeded");
    assert_eq!(intent["captures"], 1, "{intent:#}");
    // Capturing again is refused: nothing is authorized any more.
    assert_eq!(rig.capture(&checkout, json!({})).status, 409);
    assert_eq!(rig.intent(&checkout)["captures"], 1);
}

#[test]
fn a_partial_capture_takes_part_and_a_cancel_voids_the_authorization() {
    let rig = rig("card-capture-partial", &[]);
    let partial = rig.checkout("cap-partial", "100.00", "manual");
    let cs = rig.start(&partial, "cap-partial-key", None);
    rig.pay_and_return(&cs);
    assert_eq!(rig.merchant_view(&partial.id)["status"], "authorized");
    let too_much = rig.capture(&partial, json!({"amount": "100.01"}));
    assert_eq!(too_much.status, 400, "{}", too_much.body);
    assert_eq!(too_much.code(), "invalid_parameter");
    rig.command(&partial, "capture", json!({"amount": "60.00"}))
        .expect_status(200);
    let view = rig.wait_for(&partial, "partly captured", |v| v["status"] == "paid");
    assert_eq!(view["amount_paid"], "60.00");
    assert_eq!(rig.intent(&partial)["amount_received"], 6000);

    let voided = rig.checkout("cap-void", "40.00", "manual");
    let cs = rig.start(&voided, "cap-void-key", None);
    rig.pay_and_return(&cs);
    assert_eq!(rig.merchant_view(&voided.id)["status"], "authorized");
    rig.command(&voided, "cancel", json!({})).expect_status(200);
    let view = rig.wait_for(&voided, "voided", |v| {
        v["payments"][0]["status"] == "failed"
    });
    assert_eq!(view["amount_paid"], "0.00");
    assert_eq!(view["payments"][0]["failure_code"], "payment_canceled");
    assert_eq!(rig.intent(&voided)["status"], "canceled");
    assert_eq!(rig.events("checkout_session.authorization_voided"), 1);
}

#[test]
fn an_authorization_nobody_captured_is_voided_with_its_wallet_holds() {
    let rig = rig(
        "card-capture-expiry",
        &[("CARD_AUTHORIZATION_VOID_AFTER_S", "3")],
    );
    let checkout = rig.checkout("cap-expiry", "100.00", "manual");
    let cs = rig.start(
        &checkout,
        "cap-expiry-key",
        Some(json!({"points": 300, "balance": "20.00"})),
    );
    rig.pay_and_return(&cs);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "authorized");
    let held = rig.wallet();
    assert_eq!(held["points"], json!({"available": 700, "held": 300}));
    assert_eq!(held["balances"][0]["held"], "20.00");
    assert_eq!(rig.intent(&checkout)["amount_capturable"], 5000);

    let view = rig.wait_for(&checkout, "the authorization voided", |v| {
        v["payments"][0]["status"] == "failed"
    });
    assert_eq!(view["amount_paid"], "0.00");
    assert_eq!(rig.intent(&checkout)["status"], "canceled");
    let deadline = Instant::now() + Duration::from_secs(20);
    while rig.wallet()["points"]["held"] != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    let released = rig.wallet();
    assert_eq!(released["points"], json!({"available": 1000, "held": 0}));
    assert_eq!(released["balances"][0]["held"], "0.00");
    assert_eq!(released["balances"][0]["available"], "100.00");
    assert_eq!(rig.events("checkout_session.authorization_voided"), 1);
}

#[test]
fn points_balance_and_card_pay_one_order() {
    let rig = rig("card-split", &[]);
    let checkout = rig.checkout("card-split", "100.00", "automatic");
    let cs = rig.start(
        &checkout,
        "card-split-key",
        Some(json!({"points": 300, "balance": "20.00"})),
    );
    assert_eq!(rig.sim.session(&cs).unwrap()["amount_total"], 5000);
    rig.pay_and_return(&cs);
    let view = rig.merchant_view(&checkout.id);
    common::assert_paid_by_split(&view, "card");
    let posted = rig.wallet();
    common::assert_split_posted(&posted);
}
