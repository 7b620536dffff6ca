//! Refunds: partial then full, never more than was paid, and the refund-status form.

use serde_json::json;

use super::rig;
use crate::bkash::RICH_WALLET;

#[test]
fn partial_then_full_refunds_and_never_more_than_paid() {
    let rig = rig();
    let (id, trx) = rig.paid("500.00", RICH_WALLET);
    let refund = |amount: &str| {
        rig.call(
            "payment/refund",
            json!({"paymentID": id, "amount": amount, "trxID": trx, "sku": "sku-1", "reason": "return"}),
        )
        .body
    };
    let partial = refund("120.00");
    assert_eq!(partial["statusCode"], "0000", "{partial}");
    assert_eq!(partial["originalTrxID"], trx);
    assert_eq!(partial["transactionStatus"], "Completed");
    assert_eq!(partial["amount"], "120.00");
    assert_eq!(
        (partial["currency"].as_str(), partial["charge"].as_str()),
        (Some("BDT"), Some("0.00"))
    );
    assert!(partial["completedTime"]
        .as_str()
        .unwrap()
        .ends_with("GMT+0600"));
    let partial_trx = partial["refundTrxID"].as_str().unwrap().to_owned();
    assert_ne!(partial_trx, trx);
    assert_eq!(rig.sim.wallet_balance(RICH_WALLET).unwrap(), "99620.00");

    let too_much = refund("380.01");
    assert_eq!(too_much["statusCode"], "2026", "{too_much}");
    let rest = refund("380.00");
    assert_eq!(rest["statusCode"], "0000");
    assert_eq!(refund("0.01")["statusCode"], "2026", "fully refunded");
    assert_eq!(refund("1.234")["statusCode"], "2006");
    assert_eq!(rig.sim.wallet_balance(RICH_WALLET).unwrap(), "100000.00");
    assert_eq!(rig.sim.payment(&id).unwrap().refunded, "500.00");

    // With only paymentID and trxID, the call reports the latest refund.
    let status = rig
        .call("payment/refund", json!({"paymentID": id, "trxID": trx}))
        .body;
    assert_eq!(status["statusCode"], "0000");
    assert_eq!(status["refundTrxID"], rest["refundTrxID"]);
    assert_eq!(status["amount"], "380.00");

    // A refund's trxID is searchable too.
    let found = rig
        .call("general/searchTransaction", json!({"trxID": partial_trx}))
        .body;
    assert_eq!(
        (found["transactionType"].as_str(), found["amount"].as_str()),
        (Some("Refund"), Some("120.00"))
    );
}

#[test]
fn refunds_need_a_completed_payment_and_its_own_trx_id() {
    let rig = rig();
    let (id, trx) = rig.paid("50.00", RICH_WALLET);
    let call = |body| {
        rig.call("payment/refund", body).body["statusCode"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        call(json!({"paymentID": id, "amount": "5", "trxID": "WRONGTRX00"})),
        "2028"
    );
    assert_eq!(
        call(json!({"paymentID": "TR0011nope", "amount": "5", "trxID": trx})),
        "2002"
    );
    assert_eq!(
        call(json!({"paymentID": id, "trxID": trx})),
        "2033",
        "no refund yet"
    );
    assert_eq!(call(json!({"paymentID": id, "amount": "5"})), "2065");

    let unpaid = rig.create("50.00");
    assert_eq!(
        call(json!({"paymentID": unpaid, "amount": "5", "trxID": trx})),
        "2056"
    );
}
