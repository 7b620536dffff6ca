//! Each fault switch, through the Rust methods and over `/__sim/` HTTP.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{grant, refresh, rig, secs, Rig};
use crate::bkash::{Faults, PaymentState, RICH_WALLET};

#[test]
fn latency_delays_every_api_answer() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(
        rig.call("payment/status", json!({"paymentID": "x"})).status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn fail_next_answers_500_without_acting() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        fail_next: 2,
        ..Faults::default()
    });
    for _ in 0..2 {
        let failed = rig.call("create", Rig::create_body("10.00"));
        assert_eq!(failed.status, 500);
        assert_eq!(failed.body["message"], "Internal server error");
    }
    assert_eq!(
        rig.call("create", Rig::create_body("10.00")).body["statusCode"],
        "0000"
    );
    assert_eq!(rig.sim.faults().fail_next, 0);
}

#[test]
fn timeout_next_hangs_past_the_client_then_closes_without_answering() {
    let rig = rig();
    rig.sim.set_faults(Faults {
        timeout_next: 2,
        hang_ms: 400,
        ..Faults::default()
    });
    // A client with a shorter timeout gives up...
    let started = Instant::now();
    let gave_up = rig.try_call(
        "payment/status",
        json!({"paymentID": "x"}),
        Duration::from_millis(150),
    );
    assert!(gave_up.is_err());
    assert!(started.elapsed() < Duration::from_millis(400));
    // ...and a patient one sees the connection closed with no answer.
    let started = Instant::now();
    let closed = rig.try_call("payment/status", json!({"paymentID": "x"}), secs(5));
    assert!(closed.is_err(), "{closed:?}");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(
        rig.call("payment/status", json!({"paymentID": "x"})).status,
        200
    );
}

#[test]
fn a_dropped_execute_answer_still_completes_the_payment_once() {
    let rig = rig();
    let id = rig.create("310.00");
    rig.sim.approve(&id, RICH_WALLET).unwrap();
    rig.sim.set_faults(Faults {
        drop_execute_response: 1,
        ..Faults::default()
    });
    let lost = rig.try_call("execute", json!({"paymentID": id}), secs(5));
    assert!(
        lost.is_err(),
        "the connection closes without an answer: {lost:?}"
    );
    let snapshot = rig.sim.payment(&id).unwrap();
    assert_eq!(
        (snapshot.state, snapshot.execute_calls),
        (PaymentState::Completed, 1)
    );
    let status = rig.call("payment/status", json!({"paymentID": id})).body;
    assert_eq!(status["transactionStatus"], "Completed");
    assert_eq!(status["trxID"].as_str(), snapshot.trx_id.as_deref());
    assert_eq!(rig.sim.wallet_balance(RICH_WALLET).unwrap(), "99690.00");
}

#[test]
fn expire_tokens_now_expires_issued_tokens_but_refresh_still_works() {
    let rig = rig();
    let grant_answer = grant(&rig.sim);
    rig.sim.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    assert!(!rig.sim.faults().expire_tokens_now, "a one-shot switch");
    let refused = rig.call("payment/status", json!({"paymentID": "x"}));
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body["message"], "The incoming token has expired");

    let refreshed = refresh(&rig.sim, &grant_answer["refresh_token"]);
    assert!(rig.with_token(&refreshed.body["id_token"]).token_accepted());
}

#[test]
fn faults_are_read_merged_and_reset_over_http() {
    let rig = rig();
    let defaults = rig.control("GET", "faults", None);
    assert_eq!(defaults.body["hang_ms"], 15_000);
    let set = rig.control(
        "POST",
        "faults",
        Some(json!({"fail_next": 1, "latency_ms": 5})),
    );
    assert_eq!(
        (
            set.body["fail_next"].as_u64(),
            set.body["latency_ms"].as_u64()
        ),
        (Some(1), Some(5))
    );
    let merged = rig.control("POST", "faults", Some(json!({"timeout_next": 3})));
    assert_eq!(merged.body["fail_next"], 1, "a POST merges");
    assert_eq!(rig.sim.faults().timeout_next, 3);
    assert_eq!(
        rig.control("POST", "faults", Some(json!({"fail_next": "x"})))
            .status,
        400
    );
    let reset = rig.control("DELETE", "faults", None);
    assert_eq!(reset.body, json!(Faults::default()));

    rig.control("POST", "faults", Some(json!({"expire_tokens_now": true})));
    assert_eq!(rig.call("create", Rig::create_body("1.00")).status, 401);
}

#[test]
fn payments_are_visible_and_approvable_over_http() {
    let rig = rig();
    let id = rig.create("75.00");
    let seen = rig.control("GET", &format!("payments/{id}"), None);
    assert_eq!(
        (
            seen.body["state"].as_str(),
            seen.body["execute_calls"].as_u64()
        ),
        (Some("Initiated"), Some(0))
    );
    assert_eq!(rig.control("GET", "payments/TR0011nope", None).status, 404);

    let approved = rig.control(
        "POST",
        &format!("payments/{id}/approve"),
        Some(json!({"wallet": RICH_WALLET})),
    );
    let url = approved.body["callback_url"].as_str().unwrap();
    assert!(
        url.contains(&format!("paymentID={id}&status=success")),
        "{url}"
    );
    let again = rig.control(
        "POST",
        &format!("payments/{id}/approve"),
        Some(json!({"wallet": RICH_WALLET})),
    );
    assert_eq!(again.status, 409);
    let unknown = rig.create("75.00");
    let bad_wallet = rig.control(
        "POST",
        &format!("payments/{unknown}/approve"),
        Some(json!({"wallet": "01000000000"})),
    );
    assert_eq!(bad_wallet.status, 409);
    let cancelled = rig.control("POST", &format!("payments/{unknown}/cancel"), None);
    assert!(cancelled.body["callback_url"]
        .as_str()
        .unwrap()
        .contains("status=cancel"));

    rig.call("execute", json!({"paymentID": id}));
    let seen = rig.control("GET", &format!("payments/{id}"), None);
    assert_eq!(
        (
            seen.body["state"].as_str(),
            seen.body["execute_calls"].as_u64()
        ),
        (Some("Completed"), Some(1))
    );
    let wallet = rig.control("GET", &format!("wallets/{RICH_WALLET}"), None);
    assert_eq!(wallet.body["balance"], "99925.00");
}

#[test]
fn an_unsettled_refund_is_made_but_its_outcome_never_comes_back() {
    let rig = rig();
    let (id, trx) = rig.paid("200.00", RICH_WALLET);
    rig.sim.set_faults(Faults {
        refund_unsettled: true,
        ..Faults::default()
    });
    let lost = rig.try_call(
        "payment/refund",
        json!({"paymentID": id, "amount": "50.00", "trxID": trx, "sku": "s", "reason": "r"}),
        secs(5),
    );
    assert!(lost.is_err(), "the refund's answer is lost: {lost:?}");
    assert_eq!(
        rig.sim.wallet_balance(RICH_WALLET).unwrap(),
        "99850.00",
        "the refund was made"
    );
    for _ in 0..2 {
        let status = rig.call("payment/refund", json!({"paymentID": id, "trxID": trx}));
        assert_eq!(status.status, 503, "{}", status.body);
    }
    rig.sim.set_faults(Faults::default());
    let status = rig.call("payment/refund", json!({"paymentID": id, "trxID": trx}));
    assert_eq!(
        (
            status.body["statusCode"].as_str(),
            status.body["amount"].as_str()
        ),
        (Some("0000"), Some("50.00")),
        "once the switch is off the status tells: {}",
        status.body
    );
}
