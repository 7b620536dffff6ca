//! Points and balance held while bKash pays the rest, over HTTP against the simulator: posted
//! when bKash succeeds, released when it does not, and safe across a Worker restart.

use checkout_simulators::bkash::{RunningBkash, RICH_WALLET};
use checkout_tests::api::{Client, Reply};
use checkout_tests::fixtures::{Checkout, ORIGIN, PAY_PASSWORD};
use common::rigs::{bkash_rig, SimRig};
use serde_json::{json, Value};

mod common;

const CUSTOMER: &str = "cus_split";

/// The shared rig (Worker, client, demo key) with the bKash simulator beside it.
type Rig = SimRig<RunningBkash>;

fn rig(label: &str) -> Rig {
    rig_with(label, &[])
}

/// A Worker with bKash (plus `extra` variables), and the customer funded with 100.00 of balance
/// and 1,000 points.
fn rig_with(label: &str, extra: &[(&str, &str)]) -> Rig {
    let rig = bkash_rig(label, extra);
    rig.seed(CUSTOMER, "100.00", "BDT", 1000);
    rig
}

impl Rig {
    fn checkout(&self, order: &str) -> Checkout {
        self.checkout_from(&json!({
            "order_id": order, "amount": "100.00", "currency": "BDT", "description": "Tea set",
            "customer_id": CUSTOMER, "methods": ["points", "balance", "bkash"],
            "return_url": "https://shop.example/done"
        }))
    }

    /// Points 300 (30.00) + balance 20.00 held; bKash asked for 50.00.
    fn pay_split(&self, checkout: &Checkout, key: &str, balance: &str) -> Reply {
        let body = json!({"method": "bkash", "pay_password": PAY_PASSWORD,
            "allocation": {"points": 300, "balance": balance}});
        self.pay_from_frame(checkout, key, &body)
    }

    fn wallet(&self) -> Value {
        common::wallet(self, &self.key(), CUSTOMER)
    }
}

fn payment_id(reply: &Reply) -> String {
    let url = reply.body["next_action"]["url"]
        .as_str()
        .expect("a redirect to bKash");
    url.split("paymentID=").nth(1).unwrap().to_owned()
}

#[test]
fn points_and_balance_are_held_then_posted_when_bkash_pays_the_rest() {
    let rig = rig("split-success");
    let order = rig.checkout("split-1");
    let started = rig
        .pay_split(&order, "split-key-0001", "20.00")
        .expect_status(200);
    let bkash_payment = payment_id(&started);
    assert_eq!(rig.sim.payment(&bkash_payment).unwrap().amount, "50.00");
    let held = rig.wallet();
    assert_eq!(held["points"], json!({"available": 700, "held": 300}));
    assert_eq!(held["balances"][0]["held"], "20.00");
    assert_eq!(held["balances"][0]["available"], "80.00");

    let callback = rig.sim.approve(&bkash_payment, RICH_WALLET).unwrap();
    assert_eq!(rig.follow(&callback).status, 303);
    let view = rig.merchant_view(&order.id);
    common::assert_paid_by_split(&view, "bkash");
    let posted = rig.wallet();
    common::assert_split_posted(&posted);
    assert_eq!(posted["balances"][0]["held"], "0.00");
}

#[test]
fn after_a_failed_bkash_leg_the_holds_wait_for_a_retry_of_the_external_part() {
    let rig = rig("split-retry");
    let order = rig.checkout("split-retry");
    let first = rig
        .pay_split(&order, "split-key-0002", "20.00")
        .expect_status(200);
    let callback = rig.sim.cancel(&payment_id(&first)).unwrap();
    assert_eq!(rig.follow(&callback).status, 303);
    assert_eq!(rig.merchant_view(&order.id)["status"], "open");
    // Still reserved for the retry.
    let kept = rig.wallet();
    assert_eq!(kept["points"], json!({"available": 700, "held": 300}));
    assert_eq!(kept["balances"][0]["held"], "20.00");

    // The shopper retries the bKash part: the same holds are used, none are added.
    let retry = rig
        .pay_split(&order, "split-key-0007", "20.00")
        .expect_status(200);
    assert_eq!(
        rig.wallet()["points"],
        json!({"available": 700, "held": 300})
    );
    let callback = rig.sim.approve(&payment_id(&retry), RICH_WALLET).unwrap();
    assert_eq!(rig.follow(&callback).status, 303);
    assert_eq!(rig.merchant_view(&order.id)["status"], "paid");
    let posted = rig.wallet();
    assert_eq!(posted["points"], json!({"available": 700, "held": 0}));
    assert_eq!(posted["balances"][0]["available"], "80.00");
    assert_eq!(posted["balances"][0]["held"], "0.00");
}

#[test]
fn paying_another_way_after_a_failed_leg_releases_the_kept_holds() {
    let rig = rig("split-other-way");
    let order = rig.checkout("split-other-way");
    let first = rig
        .pay_split(&order, "split-key-0008", "20.00")
        .expect_status(200);
    let callback = rig.sim.cancel(&payment_id(&first)).unwrap();
    rig.follow(&callback);
    // Now balance alone: the kept holds are voided first, then 100.00 is taken.
    rig.client
        .call("POST", format!("/v1/widget/sessions/{}/pay", order.id))
        .bearer(&order.token)
        .from_frame_of(ORIGIN)
        .header("Idempotency-Key", "split-key-0009")
        .json(&json!({"method": "balance", "pay_password": PAY_PASSWORD}))
        .expect_status(200);
    let wallet = rig.wallet();
    assert_eq!(wallet["points"], json!({"available": 1000, "held": 0}));
    assert_eq!(wallet["balances"][0]["available"], "0.00");
    assert_eq!(wallet["balances"][0]["held"], "0.00");
    assert_eq!(rig.merchant_view(&order.id)["status"], "paid");
}

#[test]
fn a_worker_restart_between_hold_and_charge_loses_nothing() {
    let mut rig = rig("split-restart");
    let order = rig.checkout("split-restart");
    let started = rig
        .pay_split(&order, "split-key-0003", "20.00")
        .expect_status(200);
    rig.base.worker = rig.base.worker.restart();
    rig.base.client = Client::new(&rig.base.worker.base_url);
    assert_eq!(rig.wallet()["points"]["held"], 300);
    let callback = rig.sim.approve(&payment_id(&started), RICH_WALLET).unwrap();
    assert_eq!(rig.follow(&callback).status, 303);
    assert_eq!(rig.merchant_view(&order.id)["status"], "paid");
    assert_eq!(rig.wallet()["points"], json!({"available": 700, "held": 0}));
}

#[test]
fn concurrent_splits_never_hold_more_than_the_wallet_has() {
    let rig = rig("split-concurrent");
    let orders: Vec<Checkout> = (0..5)
        .map(|n| rig.checkout(&format!("split-c-{n}")))
        .collect();
    // Each holds 300 points and 30.00 of balance: the points allow 3, the balance 3.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = orders
            .iter()
            .enumerate()
            .map(|(n, order)| {
                let rig = &rig;
                scope.spawn(move || {
                    rig.pay_split(order, &format!("split-race-{n:04}"), "30.00")
                        .status
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 402).count(),
        2,
        "{statuses:?}"
    );
    let wallet = rig.wallet();
    assert_eq!(wallet["points"], json!({"available": 100, "held": 900}));
    assert_eq!(wallet["balances"][0]["available"], "10.00");
}

#[test]
fn refunds_of_a_split_go_back_to_bkash_then_balance_then_points() {
    let rig = rig("split-refunds");
    let order = rig.checkout("split-refund");
    let started = rig
        .pay_split(&order, "split-key-0005", "20.00")
        .expect_status(200);
    let bkash_payment = payment_id(&started);
    let callback = rig.sim.approve(&bkash_payment, RICH_WALLET).unwrap();
    rig.follow(&callback);
    assert_eq!(rig.merchant_view(&order.id)["status"], "paid");
    let refund = |key: &str, amount: &str| rig.refund(&order.id, key, amount, "returned");
    // 60.00 back: bKash's 50.00 first, then 10.00 of balance.
    let first = refund("split-refund-1", "60.00").expect_status(200);
    assert_eq!(first.body["status"], "succeeded");
    assert_eq!(rig.sim.payment(&bkash_payment).unwrap().refunded, "50.00");
    assert_eq!(rig.wallet()["balances"][0]["available"], "90.00");
    // 15.05 would need half a point: refused, nothing moves.
    let inexact = refund("split-refund-2", "15.05");
    assert_eq!(inexact.status, 400, "{}", inexact.body);
    // The remaining 40.00: 10.00 of balance, then 300 points.
    refund("split-refund-3", "40.00").expect_status(200);
    let wallet = rig.wallet();
    assert_eq!(wallet["balances"][0]["available"], "100.00");
    assert_eq!(wallet["points"]["available"], 1000);
    let too_much = refund("split-refund-4", "0.10");
    assert_eq!(too_much.code(), "refund_exceeds_payment");
    assert_eq!(rig.merchant_view(&order.id)["amount_refunded"], "100.00");
}

#[test]
fn holds_are_released_by_the_alarm_when_the_session_expires_unpaid() {
    let rig = rig_with("split-expiry", &[("SESSION_MIN_TTL_S", "1")]);
    let order = rig.checkout_from(&json!({
        "order_id": "split-expiry", "amount": "100.00", "currency": "BDT", "description": "Tea",
        "customer_id": CUSTOMER, "methods": ["points", "balance", "bkash"],
        "return_url": "https://shop.example/done", "expires_in_s": 2
    }));
    rig.pay_split(&order, "split-key-0006", "20.00")
        .expect_status(200);
    assert_eq!(rig.wallet()["points"]["held"], 300);

    // The shopper never comes back. The session's alarm asks bKash, finds it unpaid, expires the
    // session and releases the holds; nobody calls the Worker in between.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut wallet = rig.wallet();
    while wallet["points"]["held"] != 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_secs(2));
        wallet = rig.wallet();
    }
    assert_eq!(wallet["points"], json!({"available": 1000, "held": 0}));
    assert_eq!(wallet["balances"][0]["held"], "0.00");
    let view = rig.merchant_view(&order.id);
    assert_eq!(view["status"], "expired");
    assert_eq!(view["payments"][0]["failure_code"], "session_expired");
}
