//! WeChat Pay's cost per request: its cryptography timed two ways in V8 (pure Rust compiled to
//! wasm, and WebCrypto's native code), and notifications handled end to end by the local Worker.

use std::process::Command;

use checkout_simulators::wechat::{build_notification, Faults, RunningWechat};
use checkout_tests::api::Client;
use checkout_tests::dev_vars::{wechat_keys_path, DevVars};
use serde_json::json;

use super::{expect_ok, load, report, ORIGIN};
use crate::shell::{cargo_bin, node_bin, root, run_in, tool_path, Result};

/// Notifications posted in the end-to-end run.
const NOTIFICATIONS: usize = 300;

/// Builds `xtask/crypto-bench` for wasm at opt-level 3 (the pure-Rust path's best case) and
/// times it beside WebCrypto in Node.
pub fn crypto() -> Result {
    let root = root();
    run_in(
        &root,
        "cargo",
        &[
            "build",
            "-p",
            "crypto-bench",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ],
        &[("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")],
    )?;
    let bindgen = cargo_bin().join("wasm-bindgen");
    run_in(
        &root,
        bindgen.to_str().unwrap_or("wasm-bindgen"),
        &[
            "--target",
            "nodejs",
            "--out-dir",
            "target/crypto-bench",
            "target/wasm32-unknown-unknown/release/crypto_bench.wasm",
        ],
        &[],
    )?;
    let keys = wechat_keys_path(&root.join(".dev.vars"));
    let out = Command::new(node_bin().join("node"))
        .arg(root.join("xtask/crypto-bench/bench.mjs"))
        .arg(root.join("target/crypto-bench"))
        .arg(&keys)
        .env("PATH", tool_path())
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "crypto bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let figures: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, micros)| (name.to_owned(), micros.to_owned()))
        .collect();
    println!("\nWeChat Pay and Stripe webhook cryptography, CPU per operation in V8 (µs; 10 ms is the free plan's budget per request; stripe_hmac = Stripe-Signature verification, the edge's own Rust path in wasm beside WebCrypto)");
    println!("  {:<34} {:>12}", "operation", "µs/op");
    for (name, micros) in figures {
        println!("  {name:<34} {micros:>12}");
    }
    Ok(())
}

/// Posts signed, encrypted payment notifications to the local Worker: every one is verified
/// (RSA) and decrypted (AES-GCM) before the session object sees it.
pub fn notifications(client: &Client, key: &str, sim: &RunningWechat) -> Result {
    sim.set_faults(Faults {
        withhold_notifications: true,
        ..Faults::default()
    });
    let session = expect_ok(client.call("POST", "/v1/checkout_sessions").bearer(key).json(&json!({
        "order_id": "bench-wechat", "amount": "88.00", "currency": "CNY", "description": "bench",
        "customer_id": "cus_bench_wechat", "methods": ["wechat_pay"],
        "return_url": "https://shop.example/done"
    })))?;
    let id = session.body["id"].as_str().unwrap_or_default().to_owned();
    let secret = session.body["client_secret"].as_str().unwrap_or_default();
    let token = expect_ok(
        client
            .call("POST", "/v1/widget/token")
            .header("Origin", ORIGIN)
            .json(&json!({ "client_secret": secret })),
    )?;
    let token = token.body["token"].as_str().unwrap_or_default();
    expect_ok(
        client
            .call("POST", format!("/v1/widget/sessions/{id}/pay"))
            .bearer(token)
            .header("Origin", ORIGIN)
            .header("Idempotency-Key", "bench-wechat-key-1")
            .json(&json!({"method": "wechat_pay"})),
    )?;
    let view = expect_ok(
        client
            .call("GET", format!("/v1/checkout_sessions/{id}"))
            .bearer(key)
            .send(),
    )?;
    let out_trade_no = view.body["payments"][0]["id"].as_str().unwrap_or_default();
    let keys = DevVars::of_repo().wechat;
    let transaction = json!({
        "mchid": keys.mchid, "appid": keys.appid, "out_trade_no": out_trade_no,
        "transaction_id": "4200000985202611235834957420", "trade_type": "NATIVE",
        "trade_state": "SUCCESS", "success_time": "2026-11-23T18:00:00+08:00",
        "payer": {"openid": "oBench"}, "amount": {"total": 8800, "payer_total": 8800, "currency": "CNY"}
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Signed in advance, so the load generator's own RSA does not share the run's CPU.
    let prepared: Vec<_> = (0..NOTIFICATIONS)
        .map(|_| {
            build_notification(
                &keys.platform_private_key_pem,
                &keys.platform_public_key_id,
                &keys.api_v3_key,
                "TRANSACTION.SUCCESS",
                "transaction",
                &transaction,
                now,
            )
        })
        .collect();
    let path = format!("/v1/notifications/wechat/{id}");
    let latencies = load(NOTIFICATIONS, |n| {
        let notification = &prepared[n];
        let mut call = client.call("POST", path.as_str());
        for (name, value) in &notification.headers {
            call = call.header(name, value);
        }
        call.raw(&notification.body).status == 204
    });
    report(
        "WeChat notification (POST /v1/notifications/wechat/{id}: verify, decrypt, apply)",
        &latencies,
    );
    Ok(())
}
