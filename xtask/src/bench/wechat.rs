//! WeChat Pay's cost per request: its cryptography timed two ways in V8 (pure Rust compiled to
//! wasm, and WebCrypto's native code), and notifications handled end to end by the local Worker.

use std::process::Command;

use checkout_tests::api::Client;
use checkout_tests::dev_vars::wechat_keys_path;

use super::{load, report};
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
pub fn notifications(client: &Client, key: &str) -> Result {
    // The same session, payment and notifications (signed in advance) as `bench workerd`'s.
    let (path, prepared) = super::routes::wechat_notifications(client, key, "wrangler")?;
    let latencies = load(NOTIFICATIONS, |n| {
        let (headers, body) = &prepared[n];
        let mut call = client.call("POST", path.as_str());
        for (name, value) in headers {
            call = call.header(name, value);
        }
        call.raw(body).status == 204
    });
    report(
        "WeChat notification (POST /v1/notifications/wechat/{id}: verify, decrypt, apply)",
        &latencies,
    );
    Ok(())
}
