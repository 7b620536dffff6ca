//! Payment-provider simulators for the checkout's tests and local demo: real HTTP servers on
//! loopback that speak the providers' protocols, so connectors are tested against the protocol
//! and not against themselves.
//!
//! # Tour
//! - [`bkash`]: bKash Tokenized Checkout v1.2.0-beta. [`bkash::BkashSimulator::start`] gives a
//!   [`bkash::RunningBkash`] whose [`base_url`](bkash::RunningBkash::base_url) replaces
//!   `https://tokenized.sandbox.bka.sh/v1.2.0-beta`. It serves the API, the hosted wallet page
//!   (`/checkout`) and test controls (`/__sim/`): fault switches ([`bkash::Faults`]), payment
//!   snapshots, and approval without a browser. The binary `bkash-sim` runs one standalone.
//! - [`wechat`]: WeChat Pay API v3 (Native, H5 and JSAPI payments, query, close, refunds).
//!   [`wechat::WechatSimulator::start`] gives a [`wechat::RunningWechat`] whose
//!   [`base_url`](wechat::RunningWechat::base_url) replaces `https://api.mch.weixin.qq.com`. It
//!   checks request signatures, signs every answer, posts signed and encrypted notifications
//!   with WeChat's retries, and serves the shopper's phone (`/scan`, `/h5pay`, a JSAPI bridge)
//!   and test controls (`/__sim/`, [`wechat::Faults`]). [`wechat::crypto`] holds both sides of
//!   WeChat's signatures and resource encryption. The binary `wechat-sim` runs one standalone.
//! - [`stripe`]: Stripe card payments through Checkout (Checkout Sessions, PaymentIntents with
//!   manual or automatic capture, refunds, events). [`stripe::StripeSimulator::start`] gives a
//!   [`stripe::RunningStripe`] whose [`base_url`](stripe::RunningStripe::base_url) replaces
//!   `https://api.stripe.com`. It checks the Bearer key, decodes bracket-notation forms, keeps
//!   idempotent answers, serves the hosted card page (`/c/pay/{session}`, Stripe's test cards and
//!   a 3-D Secure challenge), signs webhooks (`Stripe-Signature`) and retries them with back-off,
//!   and has test controls (`/__sim/`, [`stripe::Faults`]). The binary `stripe-sim` runs one
//!   standalone.
//! - [`http`]: the small HTTP/1.1 server underneath, which can also hang or drop a connection
//!   without answering (the failures a payment connector has to survive).
//! - [`common`]: the plumbing the three simulators share (start-up and stopping, the `/__sim/`
//!   faults control, delivery with back-off, the hosted pages' frame, the binaries' start-up
//!   in [`common::cli`], the unit tests' client and receiver); each provider's protocol stays in
//!   its own module.
//! - [`util`]: random identifiers and calendar time, shared by the simulators.
//!
//! ```no_run
//! use checkout_simulators::bkash::{BkashSimulator, SimConfig, RICH_WALLET};
//!
//! let sim = BkashSimulator::start(SimConfig::default());
//! println!("point the connector at {}", sim.base_url());
//! // ... create a payment through the API, then let the shopper approve it:
//! // let callback = sim.approve(&payment_id, RICH_WALLET)?;
//! # let _ = RICH_WALLET;
//! ```

pub mod bkash;
pub mod common;
pub mod http;
pub mod stripe;
pub mod util;
pub mod wechat;
