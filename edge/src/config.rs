//! Worker configuration: merchants, their keys and the token-signing key, read from secrets.
//!
//! Secrets live in [`Secret`], which never prints its contents, so a stray `{:?}` in a log line
//! cannot leak a key.

use std::fmt;

use serde::Deserialize;
use worker::Env;

use crate::error::{Error, Result};

/// A secret string. `Debug` and `Display` print a redaction.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The secret itself. Call only where it is used, never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Test keys act on test-mode sessions and wallets only; live keys on live ones.
pub const TEST_KEY_PREFIX: &str = "sk_test_";
pub const LIVE_KEY_PREFIX: &str = "sk_live_";

/// A merchant as configured in the `MERCHANTS` secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    pub id: String,
    /// The name shoppers see in the widget.
    pub name: String,
    pub secret_keys: Vec<Secret>,
    /// The merchant's loyalty-points rules; without them, points are not offered.
    #[serde(default)]
    pub points: Option<checkout_core::allocation::PointsRules>,
    /// Which of points and balance the widget suggests first.
    #[serde(default = "checkout_core::api::default_wallet_priority")]
    pub wallet_priority: [checkout_core::api::PaymentMethod; 2],
}

/// Everything the Worker reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub token_signing_key: Secret,
    pub merchants: Vec<Merchant>,
    /// The key the demo shop's back end uses. Absent in production, which disables `/demo/`.
    pub demo_merchant_key: Option<Secret>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Config> {
        let token_signing_key = read(env, "TOKEN_SIGNING_KEY")?
            .ok_or_else(|| Error::Config("TOKEN_SIGNING_KEY is not set".into()))?;
        if token_signing_key.expose().len() < checkout_core::token::MIN_SIGNING_KEY_LEN {
            return Err(Error::Config("TOKEN_SIGNING_KEY is too short".into()));
        }
        let merchants_json =
            read(env, "MERCHANTS")?.ok_or_else(|| Error::Config("MERCHANTS is not set".into()))?;
        let merchants: Vec<Merchant> = serde_json::from_str(merchants_json.expose())
            .map_err(|e| Error::Config(format!("MERCHANTS is not valid: {e}")))?;
        validate_merchants(&merchants)?;
        Ok(Config {
            token_signing_key,
            merchants,
            demo_merchant_key: read(env, "DEMO_MERCHANT_KEY")?,
        })
    }
}

/// A configuration value, from a secret or a plain var; empty counts as absent.
pub fn read(env: &Env, name: &str) -> Result<Option<Secret>> {
    // `wrangler dev` exposes `.dev.vars` entries as plain vars and deployed secrets as secrets.
    let value = env
        .secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()));
    Ok(value.ok().filter(|v| !v.is_empty()).map(Secret::new))
}

fn validate_merchants(merchants: &[Merchant]) -> Result<()> {
    for merchant in merchants {
        checkout_core::api::check_id("merchant id", &merchant.id, 64)
            .map_err(|e| Error::Config(e.message))?;
        for key in &merchant.secret_keys {
            let key = key.expose();
            let prefixed = key.starts_with(TEST_KEY_PREFIX) || key.starts_with(LIVE_KEY_PREFIX);
            if !prefixed || key.len() < TEST_KEY_PREFIX.len() + 24 {
                return Err(Error::Config(format!(
                    "merchant {}: keys must be sk_test_ or sk_live_ followed by 24+ characters",
                    merchant.id
                )));
            }
        }
    }
    Ok(())
}
