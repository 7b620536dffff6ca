//! The reconciliation report over real HTTP: WeChat Pay and card (Stripe) attempts of the day,
//! each asked of the simulator and compared with the books; a short payment at the provider is
//! listed; an unanswered one is unchecked; bad parameters are refused; pages are bounded.

use std::time::{Duration, Instant};

use checkout_simulators::stripe::cards;
use checkout_simulators::stripe::control::PayRequest;
use checkout_simulators::wechat::{Faults, RunningWechat};
use checkout_tests::api::Reply;
use checkout_tests::fixtures::{self, session_body_in, Checkout};
use checkout_tests::providers::Stripe;
use common::rigs::{stripe_rig, wechat_rig, SimRig};
use serde_json::{json, Value};

mod common;

/// The shared rig with the WeChat Pay simulator beside it.
type Rig = SimRig<RunningWechat>;

fn rig(label: &str) -> Rig {
    wechat_rig(label, &[])
}

impl Rig {
    fn checkout(&self, order: &str, amount: &str) -> Checkout {
        self.checkout_from(
            &json!({"order_id": order, "amount": amount, "currency": "CNY",
            "description": "茶", "customer_id": "cus_recon", "methods": ["wechat_pay"],
            "return_url": "https://shop.example/done"}),
        )
    }

    /// A Native payment; returns its id (WeChat's out_trade_no).
    fn pay_native(&self, checkout: &Checkout, key: &str) -> String {
        let reply = self
            .pay_from_frame(checkout, key, &json!({"method": "wechat_pay"}))
            .expect_status(200);
        assert_eq!(
            reply.body["next_action"]["type"], "qr_code",
            "{}",
            reply.body
        );
        self.processing_payment(&checkout.id)
    }

    fn wait_until(&self, checkout: &Checkout, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_view(&checkout.id, what, Duration::from_secs(30), done)
    }
}

impl<S> SimRig<S> {
    /// `GET /v1/reports/reconciliation{query}` with the demo merchant's key.
    fn report(&self, query: &str) -> Reply {
        self.client
            .call("GET", format!("/v1/reports/reconciliation{query}"))
            .bearer(&self.key())
            .send()
    }
}

#[test]
fn a_short_payment_at_wechat_is_listed_and_paid_ones_agree() {
    let rig = rig("reconciliation-wechat");
    let paid = rig.checkout("recon-paid-1", "12.00");
    let paid_id = rig.pay_native(&paid, "recon-key-paid-1");
    rig.sim.approve(&paid_id).unwrap();
    rig.wait_until(&paid, "paid", |v| v["status"] == "paid");

    let canceled = rig.checkout("recon-cancel-1", "7.00");
    rig.pay_native(&canceled, "recon-key-cancel-1");
    rig.cancel_from_page(&canceled).expect_status(200);

    rig.sim.set_faults(Faults {
        pay_short_fen: 1,
        ..Faults::default()
    });
    let short = rig.checkout("recon-short-1", "20.00");
    let short_id = rig.pay_native(&short, "recon-key-short-1");
    rig.sim.approve(&short_id).unwrap();
    rig.sim.set_faults(Faults::default());
    // The notification has been dealt with once the attempt is no longer processing.
    rig.wait_until(&short, "the short payment handled", |v| {
        v["payments"][0]["status"] != "processing"
    });

    let date = common::today();
    let report = rig
        .report(&format!("?date={date}&method=wechat_pay"))
        .expect_status(200);
    let body = &report.body;
    assert_eq!(body["object"], "reconciliation_report", "{body:#}");
    assert_eq!(
        (body["date"].as_str(), body["currency"].as_str()),
        (Some(date.as_str()), Some("CNY"))
    );
    assert_eq!(
        body["checked"], 3,
        "every attempt of the day, failed ones too: {body:#}"
    );
    assert_eq!(body["has_more"], false);
    assert_eq!(body["unchecked"], json!([]));
    let differences = body["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "only the short payment: {body:#}");
    let row = &differences[0];
    assert_eq!(row["payment_id"], short_id.as_str());
    assert_eq!(row["session_id"], short.id.as_str());
    assert_eq!(row["provider"]["status"], "SUCCESS");
    assert_eq!(row["provider"]["taken"], "19.99");
    assert_eq!(row["books"]["taken"], "0.00", "never credited: {row:#}");
    assert_eq!(body["totals"]["provider"], "31.99", "{body:#}");

    // Another provider's day, and another day, have nothing.
    let other_day = rig
        .report("?date=2020-01-01&method=wechat_pay")
        .expect_status(200);
    assert_eq!(other_day.body["checked"], 0);
    assert_eq!(other_day.body["totals"]["difference"], "0.00");
}

#[test]
fn pages_are_bounded_and_bad_parameters_refused() {
    let rig = rig("reconciliation-pages");
    let mut ids = Vec::new();
    for n in 0..3 {
        let checkout = rig.checkout(&format!("recon-page-{n}"), "5.00");
        ids.push(rig.pay_native(&checkout, &format!("recon-key-page-{n}")));
    }
    ids.sort();
    let date = common::today();
    let first = rig
        .report(&format!("?date={date}&method=wechat_pay&limit=2"))
        .expect_status(200);
    assert_eq!(first.body["checked"], 2, "{:#}", first.body);
    assert_eq!(first.body["has_more"], true);
    let next = first.body["next_starting_after"].as_str().unwrap();
    assert_eq!(next, ids[1]);
    let second = rig
        .report(&format!(
            "?date={date}&method=wechat_pay&limit=2&starting_after={next}"
        ))
        .expect_status(200);
    assert_eq!(second.body["checked"], 1, "{:#}", second.body);
    assert_eq!(second.body["has_more"], false);
    // Unpaid orders agree: nothing taken on either side.
    assert_eq!(second.body["differences"], json!([]));
    let queries: u64 = ids
        .iter()
        .map(|id| rig.sim.order(id).unwrap().query_calls)
        .sum();
    assert_eq!(queries, 3, "one query per attempt listed");

    for (query, param) in [
        (format!("?date={date}"), "method"),
        (format!("?date={date}&method=points"), "method"),
        ("?date=2026-13&method=wechat_pay".to_owned(), "date"),
        (format!("?date={date}&method=bkash&limit=0"), "limit"),
        (format!("?date={date}&method=bkash&limit=101"), "limit"),
        (format!("?date={date}&method=bkash&limit=ten"), "limit"),
        (
            format!("?date={date}&method=bkash&starting_after=a/b"),
            "starting_after",
        ),
    ] {
        let refused = rig.report(&query);
        common::assert_refused(&refused, 400, "invalid_parameter");
        assert_eq!(
            refused.body["error"]["param"], param,
            "{query}: {}",
            refused.body
        );
    }
    let anonymous = rig
        .client
        .call(
            "GET",
            format!("/v1/reports/reconciliation?date={date}&method=bkash"),
        )
        .send();
    assert_eq!(anonymous.status, 401);
}

/// A Worker taking cards through a fresh Stripe simulator, which sends it its events.
fn card_rig(label: &str) -> SimRig<Stripe> {
    let rig = stripe_rig(label, &[]);
    rig.send_webhooks();
    rig
}

/// A card session of `amount` BDT, paid up to the redirect to Stripe's page; returns the session
/// and the Checkout Session's id.
fn card_started(rig: &fixtures::Rig, order: &str, amount: &str) -> (String, String) {
    let checkout = rig.checkout_from(&session_body_in(
        order,
        amount,
        "BDT",
        "cus_recon",
        &["card"],
    ));
    let reply = rig
        .pay_from_page(&checkout, &format!("{order}-key"), "card")
        .expect_status(200);
    let url = reply.body["next_action"]["url"].as_str().unwrap();
    (checkout.id, url.rsplit('/').next().unwrap().to_owned())
}

/// The shopper pays with 4242 on Stripe's page and comes back; the session is paid.
fn card_paid(rig: &SimRig<Stripe>, order: &str, amount: &str) -> String {
    let (id, cs) = card_started(rig, order, amount);
    let request = PayRequest {
        card: cards::SUCCESS_CARD.into(),
        ..PayRequest::default()
    };
    let paid = rig.sim.pay(&cs, &request).unwrap();
    let back = paid["redirect"].as_str().unwrap();
    assert_eq!(rig.follow(back).status, 303);
    assert_eq!(rig.merchant_view(&id)["status"], "paid");
    id
}

/// Each card attempt of the day is asked of Stripe (its Checkout Session with the PaymentIntent,
/// and the intent's refunds): a paid one, a refunded one and an unpaid one agree with the books;
/// when Stripe does not answer, every attempt is listed as unchecked, never as agreeing.
#[test]
fn card_attempts_are_compared_with_stripe_and_unanswered_ones_are_unchecked() {
    let rig = card_rig("reconciliation-card");
    card_paid(&rig, "recon-card-paid", "25.00");
    let refunded = card_paid(&rig, "recon-card-refunded", "40.00");
    rig.refund(&refunded, "recon-card-refund", "15.00", "one cup broke")
        .expect_status(200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while rig.merchant_view(&refunded)["refunds"][0]["status"] != "succeeded" {
        assert!(Instant::now() < deadline, "the refund never succeeded");
        // Stripe's `refund.updated` makes the session ask again.
        std::thread::sleep(Duration::from_millis(300));
    }
    card_started(&rig, "recon-card-open", "10.00");

    let date = common::today();
    let report = rig
        .report(&format!("?date={date}&method=card"))
        .expect_status(200);
    let body = &report.body;
    assert_eq!(body["method"], "card", "{body:#}");
    assert_eq!(body["currency"], "BDT");
    assert_eq!(body["checked"], 3, "{body:#}");
    assert_eq!(body["differences"], json!([]), "{body:#}");
    assert_eq!(body["unchecked"], json!([]), "{body:#}");
    assert_eq!(body["totals"]["provider"], "50.00", "25.00 + 40.00 - 15.00");
    assert_eq!(body["totals"]["books"], "50.00");
    assert_eq!(body["totals"]["difference"], "0.00");
    // The card attempts are in the card report only, and in their currency's.
    let wechat = rig
        .report(&format!("?date={date}&method=wechat_pay"))
        .expect_status(200);
    assert_eq!(wechat.body["checked"], 0, "{:#}", wechat.body);
    let yen = rig
        .report(&format!("?date={date}&method=card&currency=JPY"))
        .expect_status(200);
    assert_eq!(yen.body["checked"], 0, "{:#}", yen.body);
    assert_eq!(yen.body["currency"], "JPY");
    let refused = rig.report(&format!("?date={date}&method=bkash&currency=CNY"));
    common::assert_refused(&refused, 400, "invalid_parameter");
    assert_eq!(refused.body["error"]["param"], "currency");

    let mut faults = rig.sim.faults();
    faults.fail_next_requests = 1_000;
    rig.sim.set_faults(faults);
    let report = rig
        .report(&format!("?date={date}&method=card"))
        .expect_status(200);
    let body = &report.body;
    assert_eq!(body["checked"], 0, "{body:#}");
    let unchecked = body["unchecked"].as_array().unwrap();
    assert_eq!(unchecked.len(), 3, "{body:#}");
    assert!(unchecked
        .iter()
        .all(|u| u["reason"] == "provider_unavailable"));
    assert_eq!(body["totals"]["provider"], "0.00");
}
