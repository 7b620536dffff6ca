//! Loyalty points administration over HTTP: merchant credits and debits, idempotent by reference.

use checkout_tests::fixtures::Rig;
use serde_json::json;

#[test]
fn points_are_credited_and_debited_once_per_reference_and_never_go_negative() {
    let rig = Rig::start("points-admin");
    let adjust = |kind: &str, points: i64, reference: &str| {
        rig.client
            .call("POST", format!("/v1/customers/cus_pts/points_{kind}"))
            .bearer(&rig.key())
            .json(&json!({"points": points, "reference": reference}))
    };
    let points = || {
        rig.client
            .call("GET", "/v1/customers/cus_pts/wallet")
            .bearer(&rig.key())
            .send()
            .expect_status(200)
            .body["points"]["available"]
            .as_i64()
            .unwrap()
    };
    let first = adjust("credits", 500, "signup-bonus").expect_status(200);
    assert_eq!(first.body["kind"], "credit");
    let repeat = adjust("credits", 500, "signup-bonus").expect_status(200);
    assert_eq!(first.body, repeat.body);
    assert_eq!(points(), 500);

    let conflict = adjust("credits", 501, "signup-bonus");
    assert_eq!(
        (conflict.status, conflict.code()),
        (409, "reference_conflict")
    );
    adjust("debits", 200, "expiry-2026").expect_status(200);
    assert_eq!(points(), 300);
    let too_many = adjust("debits", 301, "redeem-1");
    assert_eq!(
        (too_many.status, too_many.code()),
        (402, "insufficient_points")
    );
    assert_eq!(points(), 300);

    for bad in [
        json!({"points": 0, "reference": "r"}),
        json!({"points": 1.5, "reference": "r"}),
        json!({"points": -3, "reference": "r"}),
    ] {
        let reply = rig
            .client
            .call("POST", "/v1/customers/cus_pts/points_credits")
            .bearer(&rig.key())
            .json(&bad);
        assert_eq!(reply.status, 400, "{bad}");
    }
    // Points belong to one merchant's wallet.
    let other = rig.vars.merchant("m_other").test_key().to_owned();
    let theirs = rig
        .client
        .call("GET", "/v1/customers/cus_pts/wallet")
        .bearer(&other)
        .send()
        .expect_status(200);
    assert_eq!(theirs.body["points"]["available"], 0);
}
