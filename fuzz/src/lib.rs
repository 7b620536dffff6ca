//! Fuzz targets for the checkout's parsers and verifiers of untrusted text.
//!
//! Each target is a `check(data)` here plus a three-line libFuzzer entry point in
//! `fuzz_targets/`. A check feeds the bytes to the real parser, then asserts properties that must
//! hold for every input (no panic, no overflow, what is accepted round-trips, only a correctly
//! signed input verifies), against an independent reference where there is one. A failed
//! assertion or a panic is a crash: libFuzzer saves the input.
//!
//! - [`json`]: `checkout_core::json`, the widget's serde-free JSON reader and writer.
//! - [`money`]: decimal amounts (`Money::parse_*`) and checked money arithmetic.
//! - [`stripe_signature`]: Stripe's `Stripe-Signature` header and the webhook event it signs.
//! - [`token`]: widget tokens (`checkout_core::token`).
//! - [`webhook`]: the `Checkout-Signature` header verifier merchants reuse.
//! - [`wechat_notification`]: a WeChat Pay notification's `Wechatpay-*` headers and envelope.
//! - [`wechat_resource`]: a notification's decrypted resource, as the edge reads it.
//!
//! # Why cargo-fuzz (libFuzzer)
//!
//! The search is coverage-guided: libFuzzer mutates a corpus towards inputs that reach new
//! branches and, with `-sanitizer-coverage-trace-compares`, towards the constants the parser
//! compares against (`t=`, `wt1.`, `TRANSACTION.SUCCESS`). A random property test (`proptest`)
//! finds what its strategy describes; a parser's bugs are usually just past what anyone
//! describes. bolero would also run the targets under `cargo test`, but there only as random
//! tests; its coverage-guided mode is libFuzzer again, behind another tool. cargo-fuzz is one
//! `cargo install` from crates.io (pinned in `xtask/src/fuzz.rs`); it builds with the nightly the
//! widget already pins, and libFuzzer itself comes in the `libfuzzer-sys` crate. No sanitizer is
//! used (`-s none`): the code under test is safe Rust, and overflow checks (debug assertions,
//! cargo-fuzz's default) turn an overflow into a crash.
//!
//! Seeds from real inputs (the unit tests' vectors, WeChat's documented shapes) are in
//! `seeds/<target>/`, libFuzzer dictionaries of each format's tokens in `dicts/`. `cargo xtask
//! fuzz` runs every target and saves crashes in `artifacts/<target>/`; `cargo xtask test` runs
//! each for a few seconds. The corpus a run grows is kept in `target/fuzz/corpus/`, not in git.
//!
//! cargo-fuzz: <https://rust-fuzz.github.io/book/cargo-fuzz.html>; libFuzzer's options and
//! dictionaries: <https://llvm.org/docs/LibFuzzer.html>.

pub mod json;
pub mod money;
pub mod stripe_signature;
pub mod token;
pub mod webhook;
pub mod wechat_notification;
pub mod wechat_resource;

/// The input as text, or `None`: every parser here takes `&str`, so invalid UTF-8 never
/// reaches them (HTTP layers decode first).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Splits `text` at its first `n - 1` newlines: a structured input in one readable file.
fn fields(text: &str, n: usize) -> Vec<&str> {
    text.splitn(n, '\n').collect()
}

/// An integer field, or `default` when absent or not one.
fn integer(field: Option<&&str>, default: i64) -> i64 {
    field.and_then(|f| f.trim().parse().ok()).unwrap_or(default)
}
