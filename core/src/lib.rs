//! The rules both sides of the checkout share, so the widget and the edge can never disagree.
//!
//! A tour of the crate:
//! - [`money`]: [`Money`] is integer minor units plus a [`Currency`]; decimal strings exist only at
//!   the API boundary, parsed and formatted here (integer code, no decimal crate).
//! - [`allocation`]: how a mixed payment splits across points, balance and one external method.
//! - [`api`]: the JSON shapes of the merchant API and the widget API.
//! - [`fees`]: provider fees, a tiered schedule by monthly volume.
//! - [`error`]: [`ErrorCode`], the stable machine-readable codes every client sees.
//! - [`token`]: the short-lived widget token, signed by the edge and scoped to a session and origin.
//! - [`ledger`]: the wallet's two-phase ledger rules (credit, hold, post, void, debit).
//! - [`pay_password`]: pay-password format and the attempts-and-lockout policy.
//! - [`json`], [`wire`]: the widget's serde-free JSON for the widget API, tested against serde.
//! - [`webhook`]: the events the merchant receives and their `Checkout-Signature`.
//! - [`urls`]: the rules for URLs a merchant gives (return URLs, webhook endpoints), parsed.
//!
//! Architecture Invariant: nothing in this crate performs I/O or reads a clock; callers pass `now`.

pub mod allocation;
pub mod api;
pub mod client_secret;
pub mod error;
pub mod fees;
pub mod json;
pub mod ledger;
pub mod money;
pub mod pay_password;
pub mod token;
pub mod urls;
pub mod webhook;
pub mod wire;

pub use error::ErrorCode;
pub use money::{Currency, Money, MoneyError};
