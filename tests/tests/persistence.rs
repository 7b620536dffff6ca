//! State in Durable Objects survives a restart of the Worker (same persist folder).

use checkout_tests::api::Client;
use checkout_tests::fixtures::{Rig, PAY_PASSWORD};
use serde_json::json;

#[test]
fn sessions_balances_and_credit_references_survive_a_restart() {
    let mut rig = Rig::start("persistence");
    rig.fund("cus_keep", "80.00", "seed-1");
    let checkout = rig.checkout("order-keep", "30.00", "cus_keep");
    rig.pay(&checkout, "keep-key-0001", PAY_PASSWORD)
        .expect_status(200);

    rig.worker = rig.worker.restart();
    rig.client = Client::new(&rig.worker.base_url);

    let view = rig.merchant_view(&checkout.id);
    assert_eq!(view["status"], "paid");
    assert_eq!(view["amount_paid"], "30.00");
    assert_eq!(rig.available("cus_keep"), "50.00");
    // The credit reference is remembered: replaying it credits nothing.
    rig.client
        .call("POST", "/v1/customers/cus_keep/balance_credits")
        .bearer(&rig.key())
        .json(&json!({"amount": "80.00", "currency": "BDT", "reference": "seed-1"}))
        .expect_status(200);
    assert_eq!(rig.available("cus_keep"), "50.00");
    // A payment retried with its key after the restart is the same payment.
    let retried = rig
        .pay(&checkout, "keep-key-0001", PAY_PASSWORD)
        .expect_status(200);
    assert_eq!(retried.body["status"], "paid");
    assert_eq!(rig.available("cus_keep"), "50.00");
}
