//! Token grant and refresh, and the gateway's checks of id token and app key.

use std::thread;
use std::time::Duration;

use serde_json::json;

use super::{api_url, grant, refresh, rig, rig_with, secs, send};
use crate::bkash::{
    SimConfig, SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_PASSWORD, SANDBOX_USERNAME,
};

fn grant_with(
    sim: &crate::bkash::RunningBkash,
    user: &str,
    pass: &str,
    key: &str,
    secret: &str,
) -> serde_json::Value {
    let body = json!({"app_key": key, "app_secret": secret}).to_string();
    let headers = [("username", user), ("password", pass)];
    send(
        "POST",
        &api_url(sim, "token/grant"),
        &headers,
        Some(&body),
        secs(5),
    )
    .unwrap()
    .body
}

#[test]
fn a_grant_issues_a_bearer_id_token_and_a_refresh_token() {
    let rig = rig();
    let body = grant(&rig.sim);
    assert_eq!(body["statusCode"], "0000");
    assert_eq!(body["statusMessage"], "Successful");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["id_token"].as_str().unwrap().len() > 100);
    assert!(body["refresh_token"].as_str().is_some());
}

#[test]
fn wrong_credentials_get_bkash_refusals_on_http_200() {
    let rig = rig();
    let (u, p, k, s) = (
        SANDBOX_USERNAME,
        SANDBOX_PASSWORD,
        SANDBOX_APP_KEY,
        SANDBOX_APP_SECRET,
    );
    let cases = [
        (
            grant_with(&rig.sim, "nobody", p, k, s),
            "9999",
            "Username does not exist",
        ),
        (
            grant_with(&rig.sim, u, "wrong", k, s),
            "9999",
            "Incorrect username or password.",
        ),
        (
            grant_with(&rig.sim, u, p, "wrong", s),
            "2001",
            "Invalid App Key",
        ),
        (
            grant_with(&rig.sim, u, p, k, "wrong"),
            "2001",
            "Invalid App Key",
        ),
    ];
    for (body, code, message) in cases {
        assert_eq!(body["statusCode"], code, "{body}");
        assert_eq!(body["statusMessage"], message);
        assert!(body.get("id_token").is_none());
    }
}

#[test]
fn a_refresh_mints_a_new_token_and_the_old_one_keeps_working() {
    let rig = rig();
    let first = grant(&rig.sim);
    let refreshed = refresh(&rig.sim, &first["refresh_token"]);
    assert_eq!(refreshed.body["statusCode"], "0000");
    assert_ne!(refreshed.body["id_token"], first["id_token"]);
    assert_eq!(refreshed.body["refresh_token"], first["refresh_token"]);
    assert!(rig.token_accepted(), "the old token keeps working");

    let refused = refresh(&rig.sim, &json!("nope"));
    assert_eq!(refused.body["statusCode"], "9999");
}

#[test]
fn calls_without_a_good_token_get_the_gateways_401() {
    let rig = rig();
    let url = api_url(&rig.sim, "payment/status");
    let body = json!({"paymentID": "TR0011x"}).to_string();
    let key = ("X-APP-Key", SANDBOX_APP_KEY);
    let missing = send("POST", &url, &[key], Some(&body), secs(5)).unwrap();
    assert_eq!(
        (missing.status, missing.body["message"].as_str()),
        (401, Some("Unauthorized"))
    );
    let forged = send(
        "POST",
        &url,
        &[key, ("Authorization", "eyJforged")],
        Some(&body),
        secs(5),
    )
    .unwrap();
    assert_eq!(forged.status, 401);

    // Header names are case-insensitive, and `Bearer <token>` is tolerated.
    let bearer = format!("Bearer {}", rig.token);
    let lower = [
        ("authorization", bearer.as_str()),
        ("x-app-key", SANDBOX_APP_KEY),
    ];
    let ok = send("POST", &url, &lower, Some(&body), secs(5)).unwrap();
    assert_eq!(
        (ok.status, ok.body["statusCode"].as_str()),
        (200, Some("2002"))
    );

    let wrong_key = [
        ("Authorization", rig.token.as_str()),
        ("X-APP-Key", "other"),
    ];
    let refused = send("POST", &url, &wrong_key, Some(&body), secs(5)).unwrap();
    assert_eq!(
        (refused.status, refused.body["statusCode"].as_str()),
        (200, Some("2001"))
    );
}

#[test]
fn an_expired_token_is_told_apart_and_a_refresh_recovers() {
    let rig = rig_with(SimConfig {
        token_lifetime_s: 1,
        ..SimConfig::default()
    });
    assert_eq!(
        rig.call("payment/status", json!({"paymentID": "x"})).status,
        200
    );
    thread::sleep(Duration::from_millis(1100));
    let expired = rig.call("payment/status", json!({"paymentID": "x"}));
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["message"], "The incoming token has expired");

    let fresh = grant(&rig.sim)["id_token"].clone();
    assert!(rig.with_token(&fresh).token_accepted());
}

#[test]
fn unrouted_paths_and_methods_get_missing_authentication_token() {
    let rig = rig();
    for (method, endpoint) in [("POST", "nope"), ("GET", "create")] {
        let url = api_url(&rig.sim, endpoint);
        let answer = send(method, &url, &[], None, secs(5)).unwrap();
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body["message"], "Missing Authentication Token");
    }
    let bad_json = rig.try_call("create", json!(null), secs(5)).unwrap();
    assert_eq!(bad_json.body["statusCode"], "2025");
}
