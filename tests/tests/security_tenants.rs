//! Merchants never reach each other's objects. Durable Object names used to join mode, merchant
//! and customer (or order) with `:`, and ids could contain `:`, so merchant `acme` asking for
//! customer `outlet:alice` reached merchant `acme:outlet`'s customer `alice`. Names are now
//! length-prefixed (`objects::ObjectKey`, unit-tested for collisions), and one id rule in
//! `checkout_core::api::check_id` refuses `:` in merchant, customer and order ids.

use checkout_tests::api::{Client, Reply};
use checkout_tests::dev_vars::{random_base62, DevVars};
use checkout_tests::fixtures::{self, session_body};
use checkout_tests::temp_dir;
use checkout_tests::worker::{WorkerOptions, WorkerProcess};
use common::assert_refused;
use serde_json::json;

mod common;

fn credit(client: &Client, key: &str, customer: &str, amount: &str, reference: &str) -> Reply {
    client
        .call("POST", format!("/v1/customers/{customer}/balance_credits"))
        .bearer(key)
        .json(&json!({"amount": amount, "currency": "BDT", "reference": reference}))
}

fn wallet(client: &Client, key: &str, customer: &str) -> Reply {
    client
        .call("GET", format!("/v1/customers/{customer}/wallet"))
        .bearer(key)
        .send()
}

/// The review's reproduction: merchants `acme` and `acme:outlet` configured side by side. The
/// Worker now refuses the configuration (a merchant id may not hold `:`), so `acme`'s key can
/// never open `acme:outlet`'s customer `alice` as `outlet:alice`. Before the fix the credit
/// succeeded and `acme` read (and could spend) alice's 50.00.
#[test]
fn merchants_acme_and_acme_outlet_cannot_share_a_wallet() {
    let vars = DevVars::of_repo();
    let acme_key = format!("sk_test_{}", random_base62(32));
    let outlet_key = format!("sk_test_{}", random_base62(32));
    let origin = vars.merchants[0].allowed_origins.clone();
    let merchants = json!([
        {"id": "acme", "name": "Acme", "secret_keys": [acme_key], "allowed_origins": origin},
        {"id": "acme:outlet", "name": "Acme Outlet", "secret_keys": [outlet_key],
         "allowed_origins": origin},
    ]);
    let options = WorkerOptions {
        vars: vec![("MERCHANTS".into(), merchants.to_string())],
        ..WorkerOptions::default()
    };
    let worker = WorkerProcess::start_with(&temp_dir("sec-tenants-config"), options);
    let client = Client::new(&worker.base_url);

    let credited = credit(&client, &outlet_key, "alice", "50.00", "outlet-topup-1");
    let seen = wallet(&client, &acme_key, "outlet:alice");
    assert_ne!(
        seen.status, 200,
        "acme opened another merchant's wallet: {:#}",
        seen.body
    );
    assert!(!seen.body.to_string().contains("50.00"));
    // The ambiguous configuration is refused as a whole, with no detail for the caller.
    assert_eq!(credited.status, 500, "{:#}", credited.body);
    assert_eq!(credited.code(), "internal_error");
    assert!(!credited.body.to_string().contains("acme"));
}

/// The closest collision with a valid configuration: ids holding the old separator are refused
/// everywhere a merchant names a customer or an order, before any object is reached.
#[test]
fn customer_and_order_ids_with_the_separator_are_refused() {
    let rig = fixtures::Rig::start("sec-tenants-ids");
    let key = rig.key();
    assert_refused(
        &wallet(&rig.client, &key, "outlet:alice"),
        400,
        "invalid_parameter",
    );
    assert_refused(
        &wallet(&rig.client, &key, "outlet%3Aalice"),
        400,
        "invalid_parameter",
    );
    assert_refused(
        &credit(&rig.client, &key, "outlet:alice", "5.00", "r-1"),
        400,
        "invalid_parameter",
    );
    let order = rig.create_session(&session_body("outlet:1001", "5.00", "cus_1"));
    assert_refused(&order, 400, "invalid_parameter");
    assert_eq!(order.body["error"]["param"], "order_id");
    let customer = rig.create_session(&session_body("order-1001", "5.00", "outlet:alice"));
    assert_refused(&customer, 400, "invalid_parameter");
    assert_eq!(customer.body["error"]["param"], "customer_id");
    assert!(!customer.body.to_string().contains("outlet:alice"));
}

/// Two configured merchants using the same customer and order ids reach separate objects.
#[test]
fn the_same_customer_and_order_ids_under_two_merchants_stay_apart() {
    let rig = fixtures::Rig::start("sec-tenants-apart");
    let demo = rig.key();
    let other = rig.vars.merchant("m_other").test_key().to_owned();
    credit(&rig.client, &demo, "cus_shared", "70.00", "demo-topup").expect_status(200);
    let theirs = wallet(&rig.client, &other, "cus_shared").expect_status(200);
    assert!(
        !theirs.body.to_string().contains("70.00"),
        "{:#}",
        theirs.body
    );

    let body = session_body("order-shared", "5.00", "cus_shared");
    let mine = rig.create_session(&body).expect_status(200);
    let foreign = rig
        .client
        .call("POST", "/v1/checkout_sessions")
        .bearer(&other)
        .json(&body)
        .expect_status(200);
    assert_ne!(mine.body["id"], foreign.body["id"]);
    let cross = rig
        .client
        .call(
            "GET",
            format!(
                "/v1/checkout_sessions/{}",
                mine.body["id"].as_str().unwrap()
            ),
        )
        .bearer(&other)
        .send();
    assert_eq!(cross.status, 404);
}
