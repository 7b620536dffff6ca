//! Card payments over real HTTP: the Worker in workerd against the Stripe simulator. The shopper's
//! card is typed on the simulator's hosted page (driven here through its control API, as the
//! browser tests drive the page itself); the Worker learns the outcome only from Stripe's API.

use std::time::{Duration, Instant};

use checkout_simulators::stripe::cards;
use checkout_simulators::stripe::control::PayRequest;
use checkout_tests::api::{Client, Reply};
use checkout_tests::fixtures::{session_body_in, Checkout, ORIGIN};
use checkout_tests::providers::Stripe;
use common::rigs::{stripe_rig, SimRig};
use serde_json::Value;

mod common;

/// The shared rig with the Stripe simulator beside it.
type Rig = SimRig<Stripe>;

/// A Worker taking cards through a fresh simulator; `webhooks` points the simulator's events at
/// the Worker.
fn rig(label: &str, webhooks: bool) -> Rig {
    let rig = stripe_rig(label, &[("RECONCILE_AFTER_S", "0")]);
    if webhooks {
        rig.send_webhooks();
    }
    rig
}

impl Rig {
    fn checkout(&self, order: &str, amount: &str) -> Checkout {
        self.checkout_from(&session_body_in(
            order,
            amount,
            "BDT",
            "cus_card",
            &["card"],
        ))
    }

    fn pay(&self, checkout: &Checkout, key: &str) -> Reply {
        self.pay_from_page(checkout, key, "card")
    }

    /// Pays up to the redirect to Stripe's page; returns the Checkout Session's id.
    fn start(&self, checkout: &Checkout, key: &str) -> String {
        let reply = self.pay(checkout, key).expect_status(200);
        assert_eq!(reply.body["status"], "processing", "{}", reply.body);
        let url = reply.body["next_action"]["url"]
            .as_str()
            .expect("a redirect to Stripe's page");
        assert!(url.starts_with(&self.sim.origin()), "{url}");
        url.rsplit('/').next().unwrap().to_owned()
    }

    /// The shopper pays `card` on Stripe's page; returns the simulator's control answer.
    fn pay_card(&self, stripe_session: &str, card: &str, three_d_secure: Option<&str>) -> Value {
        let request = PayRequest {
            card: card.into(),
            three_d_secure: three_d_secure.map(str::to_owned),
            ..PayRequest::default()
        };
        self.sim
            .pay(stripe_session, &request)
            .expect("the page took the card")
    }

    /// The session as the widget gets it (the shopper's view), as raw text and JSON.
    fn widget_view(&self, checkout: &Checkout) -> (String, Value) {
        let reply =
            common::widget_read(self, &checkout.id, &checkout.token, ORIGIN).expect_status(200);
        (reply.body.to_string(), reply.body)
    }

    /// The shopper declined with `card` leaves Stripe's page through its cancel link.
    fn declined_then_left(&self, checkout: &Checkout, key: &str, card: &str) -> Value {
        let cs = self.start(checkout, key);
        let declined = self.pay_card(&cs, card, None);
        assert_eq!(declined["outcome"], "declined", "{declined}");
        let cancel_url = self.sim.session(&cs).unwrap()["cancel_url"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(self.follow(&cancel_url).status, 303);
        assert_eq!(self.sim.session(&cs).unwrap()["status"], "expired");
        let view = self.merchant_view(&checkout.id);
        assert_eq!(view["status"], "open", "{view:#}");
        view
    }

    /// The merchant's events of `kind` once there are `count` of them (they are handed to the
    /// merchant's object after the reply that caused them).
    fn events_eventually(&self, kind: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.events_of(kind);
            if events.len() >= count {
                return events;
            }
            assert!(Instant::now() < deadline, "waiting for {count} {kind}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The merchant's events of `kind`, as sent.
    fn events_of(&self, kind: &str) -> Vec<Value> {
        let mut events = self.latest_events();
        events.retain(|e| e["type"] == kind);
        events
    }

    fn wait_for(&self, checkout: &Checkout, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        // Past the first refund back-off (30 s), which settles a refund whose answer was lost.
        self.wait_for_view(&checkout.id, what, Duration::from_secs(60), done)
    }

    /// A session paid by card and returned from: `(checkout, stripe session, payment intent)`.
    fn paid(&self, order: &str, amount: &str) -> (Checkout, String, String) {
        let checkout = self.checkout(order, amount);
        let cs = self.start(&checkout, &format!("{order}-key"));
        let paid = self.pay_card(&cs, "4242424242424242", None);
        assert_eq!(paid["outcome"], "completed", "{paid}");
        let back = self.follow(paid["redirect"].as_str().unwrap());
        assert_eq!(back.status, 303, "{}", back.body);
        let view = self.merchant_view(&checkout.id);
        assert_eq!(view["status"], "paid", "{view:#}");
        let intent = view["payments"][0]["provider_transaction_id"]
            .as_str()
            .expect("the PaymentIntent")
            .to_owned();
        (checkout, cs, intent)
    }
}

#[test]
fn a_card_payment_is_settled_from_stripe_on_return() {
    let rig = rig("card-success", false);
    let checkout = rig.checkout("card-1", "150.50");
    let cs = rig.start(&checkout, "card-key-1");
    // The redirect proves nothing: before the shopper paid, a forged return changes nothing.
    let forged = rig.follow(&format!(
        "{}/v1/callbacks/card/{}?checkout_session={cs}",
        rig.worker.base_url, checkout.id
    ));
    assert_eq!(forged.status, 303);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "processing");

    let paid = rig.pay_card(&cs, "4242 4242 4242 4242", None);
    assert_eq!(paid["outcome"], "completed", "{paid}");
    let back = rig.follow(paid["redirect"].as_str().unwrap());
    common::assert_back_to_shop(&back);
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "paid", "{view:#}");
    assert_eq!(view["amount_paid"], "150.50");
    let intent = view["payments"][0]["provider_transaction_id"]
        .as_str()
        .unwrap();
    assert!(intent.starts_with("pi_"), "{intent}");
    let at_stripe = rig.sim.session(&cs).unwrap();
    assert_eq!(at_stripe["amount_total"], 15050);
    assert_eq!(at_stripe["currency"], "bdt");
    assert_eq!(at_stripe["metadata"]["session_id"], checkout.id.as_str());
    // A second return changes nothing.
    assert_eq!(rig.follow(paid["redirect"].as_str().unwrap()).status, 303);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
}

#[test]
fn each_decline_leaves_the_leg_open_and_a_good_card_then_pays() {
    let rig = rig("card-declines", false);
    let checkout = rig.checkout("card-declines", "20.00");
    let cs = rig.start(&checkout, "card-declines-key");
    for card in [
        "4000000000000002",
        "4000000000009995",
        "4000000000000069",
        "4000000000000127",
        "4000000000000119",
    ] {
        let declined = rig.pay_card(&cs, card, None);
        assert_eq!(declined["outcome"], "declined", "{card}: {declined}");
        // The widget's poll asks Stripe: the session is still open there, and so is ours.
        let view = rig.merchant_view(&checkout.id);
        assert_eq!(view["status"], "processing", "{card}: {view:#}");
        assert_eq!(view["payments"][0]["status"], "processing", "{card}");
    }
    let paid = rig.pay_card(&cs, "4242424242424242", None);
    assert_eq!(paid["outcome"], "completed");
    assert_eq!(rig.follow(paid["redirect"].as_str().unwrap()).status, 303);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
}

/// A lost card is a plain decline to the shopper (Stripe's advice, so as not to tip off a thief);
/// the merchant sees the issuer's real reason, in the API and in the payment-failed event.
#[test]
fn a_lost_card_is_a_plain_decline_to_the_shopper_and_lost_card_to_the_merchant() {
    let rig = rig("card-lost", false);
    let checkout = rig.checkout("card-lost", "20.00");
    let view = rig.declined_then_left(&checkout, "card-lost-key", cards::LOST_CARD);
    let payment = &view["payments"][0];
    assert_eq!(payment["status"], "failed", "{view:#}");
    assert_eq!(payment["failure_code"], "card_declined");
    assert_eq!(payment["decline_code"], "lost_card");
    assert_eq!(payment["gateway_code"], "card_declined");
    let (text, widget) = rig.widget_view(&checkout);
    assert_eq!(widget["payments"][0]["failure_code"], "card_declined");
    assert!(!text.contains("lost_card"), "{text}");
    assert!(!text.contains("decline_code"), "{text}");
    assert!(!text.contains("gateway_code"), "{text}");
    let failed = rig.events_of("checkout_session.payment_failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let event = failed[0].to_string();
    assert!(event.contains(r#""decline_code":"lost_card""#), "{event}");
    assert!(
        event.contains(r#""failure_code":"card_declined""#),
        "{event}"
    );
}

#[test]
fn insufficient_funds_then_leaving_fails_with_card_insufficient_funds() {
    let rig = rig("card-insufficient", false);
    let checkout = rig.checkout("card-insufficient", "20.00");
    let view = rig.declined_then_left(&checkout, "card-nsf-key", cards::INSUFFICIENT_FUNDS_CARD);
    let payment = &view["payments"][0];
    assert_eq!(
        payment["failure_code"], "card_insufficient_funds",
        "{view:#}"
    );
    assert_eq!(payment["decline_code"], "insufficient_funds");
    let (_, widget) = rig.widget_view(&checkout);
    assert_eq!(
        widget["payments"][0]["failure_code"],
        "card_insufficient_funds"
    );
    // Another decline, another code: an expired card.
    let view = rig.declined_then_left(&checkout, "card-nsf-key-2", cards::EXPIRED_CARD);
    assert_eq!(
        view["payments"][1]["failure_code"], "card_expired",
        "{view:#}"
    );
}

/// `payment_intent.payment_failed` is a hint: the session re-reads Stripe's session and keeps
/// the decline on the payment, which stays open for the shopper's next card.
#[test]
fn a_payment_failed_webhook_records_the_decline_while_the_leg_stays_open() {
    let rig = rig("card-decline-webhook", true);
    let checkout = rig.checkout("card-decline-wh", "20.00");
    let cs = rig.start(&checkout, "card-decline-wh-key");
    let declined = rig.pay_card(&cs, cards::STOLEN_CARD, None);
    assert_eq!(declined["outcome"], "declined", "{declined}");
    let view = rig.wait_for(&checkout, "the decline", |v| {
        v["payments"][0]["decline_code"] == "stolen_card"
    });
    assert_eq!(view["status"], "processing", "{view:#}");
    assert_eq!(view["payments"][0]["status"], "processing");
    assert!(view["payments"][0]["failure_code"].is_null(), "{view:#}");
    let (text, _) = rig.widget_view(&checkout);
    assert!(!text.contains("stolen_card"), "{text}");
    // The merchant hears of it as it happens, as Stripe's own webhook would tell them.
    let declined = rig.events_eventually("checkout_session.payment_declined", 1);
    let event = declined[0].to_string();
    assert!(event.contains(r#""decline_code":"stolen_card""#), "{event}");
    assert!(rig.events_of("checkout_session.payment_failed").is_empty());
    // The shopper's next card pays; the decline is history.
    let paid = rig.pay_card(&cs, cards::SUCCESS_CARD, None);
    assert_eq!(paid["outcome"], "completed", "{paid}");
    let view = rig.wait_for(&checkout, "paid", |v| v["status"] == "paid");
    assert!(view["payments"][0]["decline_code"].is_null(), "{view:#}");
    rig.events_eventually("checkout_session.paid", 1);
    assert_eq!(
        rig.events_of("checkout_session.payment_declined").len(),
        1,
        "one event per decline"
    );
}

#[test]
fn three_d_secure_passed_pays_and_failed_does_not() {
    let rig = rig("card-3ds", false);
    let failed = rig.checkout("card-3ds-fail", "30.00");
    let cs = rig.start(&failed, "card-3ds-fail-key");
    let answer = rig.pay_card(&cs, "4000002500003155", Some("fail"));
    assert_eq!(answer["outcome"], "declined", "{answer}");
    assert_eq!(rig.merchant_view(&failed.id)["status"], "processing");

    let passed = rig.checkout("card-3ds-pass", "30.00");
    let cs = rig.start(&passed, "card-3ds-pass-key");
    let answer = rig.pay_card(&cs, "4000002760003184", Some("pass"));
    assert_eq!(answer["outcome"], "completed", "{answer}");
    assert_eq!(rig.follow(answer["redirect"].as_str().unwrap()).status, 303);
    assert_eq!(rig.merchant_view(&passed.id)["status"], "paid");
}

#[test]
fn leaving_stripes_page_expires_its_session_and_the_shopper_can_retry() {
    let rig = rig("card-cancel", false);
    let checkout = rig.checkout("card-cancel", "12.00");
    let cs = rig.start(&checkout, "card-cancel-key-1");
    let cancel_url = rig.sim.session(&cs).unwrap()["cancel_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rig.follow(&cancel_url).status, 303);
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "open", "{view:#}");
    assert_eq!(view["payments"][0]["failure_code"], "payment_canceled");
    assert_eq!(rig.sim.session(&cs).unwrap()["status"], "expired");

    let retry = rig.start(&checkout, "card-cancel-key-2");
    assert_ne!(retry, cs);
}

#[test]
fn a_webhook_settles_the_payment_before_the_shopper_returns() {
    let rig = rig("card-webhook-first", true);
    let checkout = rig.checkout("card-wh-1", "40.00");
    let cs = rig.start(&checkout, "card-wh-key");
    let paid = rig.pay_card(&cs, "4242424242424242", None);
    assert_eq!(paid["outcome"], "completed");
    let view = rig.wait_for(&checkout, "paid by webhook", |v| v["status"] == "paid");
    assert_eq!(view["amount_paid"], "40.00");
    // The shopper's return afterwards changes nothing.
    assert_eq!(rig.follow(paid["redirect"].as_str().unwrap()).status, 303);
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
    let deliveries = rig.sim.deliveries();
    assert!(!deliveries.is_empty());
    assert!(
        deliveries.iter().all(|d| d.status == Some(200)),
        "{deliveries:#?}"
    );
}

#[test]
fn duplicate_and_reordered_events_are_harmless() {
    let rig = rig("card-webhook-dup", true);
    let mut faults = rig.sim.faults();
    faults.duplicate_events = true;
    faults.out_of_order_events = true;
    rig.sim.set_faults(faults);
    let checkout = rig.checkout("card-dup", "40.00");
    let cs = rig.start(&checkout, "card-dup-key");
    rig.pay_card(&cs, "4000000000000002", None);
    let paid = rig.pay_card(&cs, "4242424242424242", None);
    assert_eq!(paid["outcome"], "completed");
    let view = rig.wait_for(&checkout, "paid", |v| v["status"] == "paid");
    assert_eq!(view["payments"].as_array().unwrap().len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    // Every event sent twice, each copy answered.
    let settled = |d: &[checkout_simulators::stripe::DeliverySnapshot]| {
        d.iter().any(|d| d.copy == 2) && d.iter().all(|d| d.status.is_some())
    };
    while !settled(&rig.sim.deliveries()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let deliveries = rig.sim.deliveries();
    assert!(deliveries.iter().any(|d| d.copy == 2), "{deliveries:#?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d.status.is_some_and(|s| (200..300).contains(&s))),
        "{deliveries:#?}"
    );
    assert_eq!(rig.merchant_view(&checkout.id)["status"], "paid");
}

/// Sends one event under a fault and returns the Worker's answers to it.
fn answers_under(fault: impl Fn(&mut checkout_simulators::stripe::control::Faults)) -> Vec<u16> {
    let rig = rig("card-webhook-forged", true);
    let mut faults = rig.sim.faults();
    fault(&mut faults);
    rig.sim.set_faults(faults);
    let checkout = rig.checkout("card-forged", "10.00");
    let cs = rig.start(&checkout, "card-forged-key");
    rig.pay_card(&cs, "4242424242424242", None);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answered: Vec<u16> = rig
            .sim
            .deliveries()
            .iter()
            .filter_map(|d| d.status)
            .collect();
        if !answered.is_empty() || Instant::now() > deadline {
            // A refused webhook settled nothing.
            if answered.iter().all(|s| *s == 400) {
                assert_eq!(rig.merchant_view(&checkout.id)["status"], "processing");
            }
            return answered;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn forged_stale_future_and_altered_webhooks_are_refused_and_multi_v1_accepted() {
    let forged = answers_under(|f| f.bad_signature = true);
    assert!(
        !forged.is_empty() && forged.iter().all(|s| *s == 400),
        "{forged:?}"
    );
    let stale = answers_under(|f| f.signature_offset_s = -301);
    assert!(
        !stale.is_empty() && stale.iter().all(|s| *s == 400),
        "{stale:?}"
    );
    let future = answers_under(|f| f.signature_offset_s = 301);
    assert!(
        !future.is_empty() && future.iter().all(|s| *s == 400),
        "{future:?}"
    );
    let altered = answers_under(|f| f.tamper_body = true);
    assert!(
        !altered.is_empty() && altered.iter().all(|s| *s == 400),
        "{altered:?}"
    );
    let rolled = answers_under(|f| f.extra_v1_signature = true);
    assert!(
        !rolled.is_empty() && rolled.iter().all(|s| *s == 200),
        "{rolled:?}"
    );
}

#[test]
fn a_replayed_or_unsigned_webhook_changes_nothing() {
    let rig = rig("card-webhook-replay", true);
    let (checkout, _cs, _intent) = rig.paid("card-replay", "25.00");
    let event = rig
        .sim
        .events()
        .into_iter()
        .find(|e| e["type"] == "checkout.session.completed")
        .expect("the completion event");
    let body = serde_json::to_string(&event).unwrap();
    // Without a signature: 400 with a stable code.
    let unsigned = rig
        .client
        .call("POST", "/v1/notifications/stripe")
        .header("Content-Type", "application/json")
        .raw(&body);
    assert_eq!(unsigned.status, 400);
    assert_eq!(unsigned.code(), "notification_unverified");
    // The original delivery replayed byte for byte within the tolerance: a hint only.
    let delivered = rig
        .sim
        .deliveries()
        .into_iter()
        .find(|d| d.event_id == event["id"].as_str().unwrap())
        .unwrap();
    let replayed = rig
        .client
        .call("POST", "/v1/notifications/stripe")
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", &delivered.signature)
        .raw(&body);
    assert!(
        replayed.status == 200 || replayed.status == 400,
        "{}",
        replayed.status
    );
    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["payments"].as_array().unwrap().len(), 1);
}

#[test]
fn without_webhook_or_return_the_cron_settles_the_leg() {
    let rig = rig("card-cron", false);
    let checkout = rig.checkout("card-cron", "18.00");
    let cs = rig.start(&checkout, "card-cron-key");
    rig.pay_card(&cs, "4242424242424242", None);
    let cron = rig
        .client
        .call("GET", "/cdn-cgi/handler/scheduled?cron=*/5+*+*+*+*")
        .send();
    assert!(cron.status < 400, "the cron did not run: {}", cron.status);
    let view = rig.wait_for(&checkout, "paid by the cron", |v| v["status"] == "paid");
    assert_eq!(view["amount_paid"], "18.00");
}

#[test]
fn partial_and_full_refunds_stay_pending_until_stripe_says_succeeded() {
    let rig = rig("card-refunds", true);
    let (checkout, _cs, intent) = rig.paid("card-refund", "100.00");
    let first = rig
        .refund(&checkout.id, "card-refund-1", "30.00", "one cup broke")
        .expect_status(200);
    let view = rig.wait_for(&checkout, "the first refund", |v| {
        v["refunds"][0]["status"] == "succeeded"
    });
    assert_eq!(view["amount_refunded"], "30.00");
    assert!(first.body["id"].as_str().is_some());
    rig.refund(&checkout.id, "card-refund-2", "70.00", "the rest")
        .expect_status(200);
    let view = rig.wait_for(&checkout, "the full refund", |v| {
        v["refunds"][1]["status"] == "succeeded"
    });
    assert_eq!(view["amount_refunded"], "100.00");
    // The same key is the same refund, not a third one.
    rig.refund(&checkout.id, "card-refund-1", "30.00", "one cup broke")
        .expect_status(200);
    let refunds = rig.sim.payment_intent(&intent).unwrap();
    assert_eq!(refunds["amount_received"], 10000);
    assert_eq!(
        rig.refund(&checkout.id, "card-refund-3", "0.01", "more")
            .code(),
        "refund_exceeds_payment"
    );
}

#[test]
fn a_refund_whose_answer_was_lost_is_found_not_made_twice() {
    let rig = rig("card-refund-lost", false);
    let (checkout, _cs, intent) = rig.paid("card-refund-lost", "60.00");
    let mut faults = rig.sim.faults();
    faults.lose_refund_answers = 1;
    rig.sim.set_faults(faults);
    rig.refund(&checkout.id, "card-lost-1", "60.00", "returned");
    let view = rig.wait_for(&checkout, "the refund settled", |v| {
        v["refunds"][0]["status"] == "succeeded"
    });
    assert_eq!(view["amount_refunded"], "60.00");
    // Exactly one refund at Stripe: the lost answer was found by listing, not refunded again.
    let list = Client::new(&rig.sim.base_url())
        .call("GET", format!("/v1/refunds?payment_intent={intent}"))
        .bearer(rig.sim.secret_key())
        .send()
        .expect_status(200);
    let refunds = list.body["data"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{:#}", list.body);
    assert_eq!(refunds[0]["amount"], 6000);
}
