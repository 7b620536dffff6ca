//! Create, approve, execute, query and search: the payment's life and bKash's refusals.

use serde_json::json;

use super::{rig, Rig};
use crate::bkash::{PaymentState, EMPTY_WALLET, LOW_BALANCE_WALLET, RICH_WALLET};

#[test]
fn create_answers_in_bkash_shape() {
    let rig = rig();
    let body = rig.call("create", Rig::create_body("100.50")).body;
    assert_eq!(body["statusCode"], "0000");
    assert_eq!(body["statusMessage"], "Successful");
    let id = body["paymentID"].as_str().unwrap();
    assert!(id.starts_with("TR0011") && id.len() == 26, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        body["bkashURL"],
        format!("{}/checkout?paymentID={id}", rig.sim.origin())
    );
    let callback = "https://shop.example/bkash/callback";
    assert_eq!(body["callbackURL"], callback);
    assert_eq!(
        body["successCallbackURL"],
        format!("{callback}?paymentID={id}&status=success")
    );
    assert_eq!(
        body["failureCallbackURL"],
        format!("{callback}?paymentID={id}&status=failure")
    );
    assert_eq!(
        body["cancelledCallbackURL"],
        format!("{callback}?paymentID={id}&status=cancel")
    );
    assert_eq!(body["amount"], "100.50");
    assert_eq!(
        (body["currency"].as_str(), body["intent"].as_str()),
        (Some("BDT"), Some("sale"))
    );
    assert_eq!(body["transactionStatus"], "Initiated");
    let time = body["paymentCreateTime"].as_str().unwrap();
    assert!(
        time.ends_with(" GMT+0600") && time.len() == 32 && &time[19..20] == ":",
        "{time}"
    );
}

#[test]
fn create_refuses_what_bkash_refuses() {
    let rig = rig();
    let with = |field: &str, value: serde_json::Value| {
        let mut body = Rig::create_body("10.00");
        body[field] = value;
        rig.call("create", body).body["statusCode"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(with("amount", json!("100.505")), "2006");
    assert_eq!(with("amount", json!("-5")), "2006");
    assert_eq!(with("amount", json!("0.99")), "2006", "below ৳1");
    assert_eq!(with("amount", json!("25000.01")), "2006", "above ৳25,000");
    assert_eq!(with("currency", json!("USD")), "2007");
    assert_eq!(with("intent", json!("authorization")), "2008");
    assert_eq!(with("mode", json!("0000")), "2063");
    assert_eq!(with("callbackURL", json!("shop.example/cb")), "2049");
    assert_eq!(with("callbackURL", json!("")), "2065");
    assert_eq!(with("merchantInvoiceNumber", json!(null)), "2065");
    assert_eq!(with("amount", json!(10)), "2025", "amounts are strings");

    let body = Rig::create_body("10.00");
    assert_eq!(rig.call("create", body.clone()).body["statusCode"], "0000");
    let again = rig.call("create", body).body;
    assert_eq!(again["statusCode"], "2031", "a duplicate invoice number");
    assert_eq!(again["statusMessage"], "Invalid merchant invoice number");
}

#[test]
fn an_approved_payment_executes_once_and_a_second_execute_is_refused() {
    let rig = rig();
    let id = rig.create("150.50");
    let status = rig.call("payment/status", json!({"paymentID": id})).body;
    assert_eq!(status["transactionStatus"], "Initiated");
    assert_eq!(status["verificationStatus"], "Incomplete");

    let callback = rig.sim.approve(&id, RICH_WALLET).unwrap();
    assert!(callback.starts_with(&format!(
        "https://shop.example/bkash/callback?paymentID={id}&status=success&signature="
    )));
    assert!(callback.ends_with("&apiVersion=1.2.0-beta"));
    let status = rig.call("payment/status", json!({"paymentID": id})).body;
    assert_eq!(status["transactionStatus"], "Authorized");
    assert_eq!(status["verificationStatus"], "Complete");

    let executed = rig.call("execute", json!({"paymentID": id})).body;
    assert_eq!(executed["statusCode"], "0000", "{executed}");
    assert_eq!(executed["transactionStatus"], "Completed");
    let trx = executed["trxID"].as_str().unwrap();
    assert!(
        trx.len() == 10
            && trx
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert_eq!(executed["amount"], "150.50");
    assert_eq!(executed["customerMsisdn"], RICH_WALLET);
    assert_eq!(executed["payerReference"], "01770618575");
    assert!(executed["merchantInvoiceNumber"]
        .as_str()
        .unwrap()
        .starts_with("inv-"));
    assert!(executed["paymentExecuteTime"]
        .as_str()
        .unwrap()
        .ends_with("GMT+0600"));
    assert_eq!(rig.sim.wallet_balance(RICH_WALLET).unwrap(), "99849.50");

    let again = rig.call("execute", json!({"paymentID": id})).body;
    assert_eq!(again["statusCode"], "2117");
    assert_eq!(
        again["statusMessage"],
        "Payment execution already been called before"
    );
    assert_eq!(
        rig.sim.wallet_balance(RICH_WALLET).unwrap(),
        "99849.50",
        "debited once"
    );
    let snapshot = rig.sim.payment(&id).unwrap();
    assert_eq!(
        (snapshot.state, snapshot.execute_calls),
        (PaymentState::Completed, 2)
    );

    let status = rig.call("payment/status", json!({"paymentID": id})).body;
    assert_eq!(status["transactionStatus"], "Completed");
    assert_eq!(status["trxID"], trx);
}

#[test]
fn executing_without_the_shoppers_approval_is_an_invalid_payment_state() {
    let rig = rig();
    let id = rig.create("99.00");
    let forged = rig.call("execute", json!({"paymentID": id})).body;
    assert_eq!(forged["statusCode"], "2056");
    assert_eq!(forged["statusMessage"], "Invalid Payment State");
    assert_eq!(rig.sim.payment(&id).unwrap().state, PaymentState::Initiated);

    // The shopper can still pay afterwards.
    rig.sim.approve(&id, RICH_WALLET).unwrap();
    assert_eq!(
        rig.call("execute", json!({"paymentID": id})).body["statusCode"],
        "0000"
    );

    let unknown = rig
        .call("execute", json!({"paymentID": "TR0011NOSUCHPAYMENT0000"}))
        .body;
    assert_eq!(unknown["statusCode"], "2002");
    assert_eq!(rig.call("execute", json!({})).body["statusCode"], "2065");
}

#[test]
fn cancelled_and_failed_payments_cannot_execute() {
    let rig = rig();
    let cancelled = rig.create("20.00");
    let url = rig.sim.cancel(&cancelled).unwrap();
    assert!(url.contains("&status=cancel&signature="));
    let status = rig
        .call("payment/status", json!({"paymentID": cancelled}))
        .body;
    assert_eq!(status["transactionStatus"], "Cancelled");
    assert_eq!(
        rig.call("execute", json!({"paymentID": cancelled})).body["statusCode"],
        "2056"
    );

    for wallet in [LOW_BALANCE_WALLET, EMPTY_WALLET] {
        let poor = rig.create("20.00");
        let url = rig.sim.approve(&poor, wallet).unwrap();
        assert!(url.contains("&status=failure&signature="), "{url}");
        let status = rig.call("payment/status", json!({"paymentID": poor})).body;
        assert_eq!(status["transactionStatus"], "Failed");
        assert_eq!(
            rig.call("execute", json!({"paymentID": poor})).body["statusCode"],
            "2056"
        );
    }
    assert_eq!(rig.sim.wallet_balance(LOW_BALANCE_WALLET).unwrap(), "10.00");
    let small = rig.create("10.00");
    assert!(rig
        .sim
        .approve(&small, LOW_BALANCE_WALLET)
        .unwrap()
        .contains("status=success"));
    assert!(
        rig.sim.approve(&small, LOW_BALANCE_WALLET).is_err(),
        "approved only once"
    );
    assert!(rig.sim.approve("TR0011nope", RICH_WALLET).is_err());
}

#[test]
fn search_finds_a_completed_transaction() {
    let rig = rig();
    let (_, trx) = rig.paid("42.00", RICH_WALLET);
    let found = rig
        .call("general/searchTransaction", json!({"trxID": trx}))
        .body;
    assert_eq!(found["statusCode"], "0000", "{found}");
    assert_eq!(found["trxID"], trx);
    assert_eq!(found["transactionStatus"], "Completed");
    assert_eq!(found["amount"], "42.00");
    assert_eq!(found["currency"], "BDT");
    assert_eq!(found["customerMsisdn"], RICH_WALLET);
    assert!(found["completedTime"]
        .as_str()
        .unwrap()
        .ends_with("GMT+0600"));
    let missing = rig
        .call("general/searchTransaction", json!({"trxID": "0000000000"}))
        .body;
    assert_eq!(missing["statusCode"], "2033");
}
