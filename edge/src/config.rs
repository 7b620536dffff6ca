//! Worker configuration: merchants, their keys and the token-signing key, read from secrets.
//!
//! Secrets live in [`Secret`], which never prints its contents, so a stray `{:?}` in a log line
//! cannot leak a key.
//!
//! `MERCHANTS` (JSON) is parsed and checked once per isolate, not once per request: the result is
//! kept in a `thread_local!` (a Worker isolate runs one thread) keyed by the variable's exact
//! text, so a changed secret is read again the first time a request sees it.

use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Serialize};
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

/// Which of a provider's two accounts a session pays through: its sandbox (test) or the real one
/// (live). A session's mode is its merchant key's, and it picks the provider credentials, so a
/// test key can never move real money and a live key never pays into a sandbox.
///
/// Architecture Invariant: provider credentials are read only through [`Mode::var`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn of(livemode: bool) -> Mode {
        if livemode {
            Mode::Live
        } else {
            Mode::Test
        }
    }

    /// This mode's place in a pair of per-mode slots, `[test, live]`.
    pub fn index(self) -> usize {
        match self {
            Mode::Test => 0,
            Mode::Live => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    /// The name of a provider variable for this mode: `BKASH_TEST_USERNAME`,
    /// `WECHATPAY_LIVE_MCHID`.
    pub fn var(self, provider: &str, name: &str) -> String {
        let mode = match self {
            Mode::Test => "TEST",
            Mode::Live => "LIVE",
        };
        format!("{provider}_{mode}_{name}")
    }
}

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
    /// The origins of the pages that may embed the widget for this merchant's sessions, exactly
    /// as a browser sends them in `Origin` (`https://shop.example`, `https://shop.example:8443`).
    /// The Worker's own origin (its demo and embed pages) is always allowed.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl Merchant {
    /// Whether a page at `origin` may open this merchant's checkouts.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|allowed| allowed == origin)
    }
}

/// Everything the Worker reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub token_signing_key: Secret,
    pub merchants: Vec<Merchant>,
    /// The key the demo shop's back end uses.
    pub demo_merchant_key: Option<Secret>,
    /// The dev flag `CHECKOUT_DEMO=1`: without it `/demo/` answers 404 whatever the key.
    pub demo_enabled: bool,
}

/// The variable that turns the demo shop's routes on; only `1` does.
pub const DEMO_FLAG: &str = "CHECKOUT_DEMO";

thread_local! {
    /// The configuration as first read in this isolate: a deployment's bindings do not change
    /// under a running isolate, so it is read (and `MERCHANTS` parsed) once, not per request.
    static CONFIG: RefCell<Option<std::rc::Rc<Config>>> = const { RefCell::new(None) };
}

impl Config {
    /// The Worker's configuration, read once per isolate (a failed read is not kept, so the
    /// error is reported on every request).
    pub fn from_env(env: &Env) -> Result<std::rc::Rc<Config>> {
        if let Some(config) = CONFIG.with(|c| c.borrow().clone()) {
            return Ok(config);
        }
        let config = std::rc::Rc::new(Config::read_env(env)?);
        CONFIG.with(|c| *c.borrow_mut() = Some(config.clone()));
        Ok(config)
    }

    fn read_env(env: &Env) -> Result<Config> {
        crate::log::remember_env_secrets(env);
        let token_signing_key = read(env, "TOKEN_SIGNING_KEY")?
            .ok_or_else(|| Error::Config("TOKEN_SIGNING_KEY is not set".into()))?;
        if token_signing_key.expose().len() < checkout_core::token::MIN_SIGNING_KEY_LEN {
            return Err(Error::Config("TOKEN_SIGNING_KEY is too short".into()));
        }
        let merchants_json =
            read(env, "MERCHANTS")?.ok_or_else(|| Error::Config("MERCHANTS is not set".into()))?;
        let merchants = merchants_of(merchants_json.expose())?;
        Ok(Config {
            token_signing_key,
            merchants,
            demo_merchant_key: read(env, "DEMO_MERCHANT_KEY")?,
            demo_enabled: read(env, DEMO_FLAG)?.is_some_and(|flag| flag.expose() == "1"),
        })
    }
}

impl Config {
    pub fn merchant(&self, id: &str) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.id == id)
    }

    /// Whether any merchant allows `origin`: the rule for CORS answers, which are given before
    /// the session (and so the merchant) is known. The token grant then checks the session's own
    /// merchant, and the token is bound to the origin it was granted to.
    pub fn any_merchant_allows(&self, origin: &str) -> bool {
        self.merchants.iter().any(|m| m.allows_origin(origin))
    }
}

thread_local! {
    /// The last `MERCHANTS` text parsed in this isolate, with its merchants.
    static MERCHANTS_CACHE: RefCell<Option<(String, Vec<Merchant>)>> = const { RefCell::new(None) };
    /// How many times `MERCHANTS` was parsed in this isolate (for tests).
    static MERCHANTS_PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The merchants of a `MERCHANTS` text: parsed and checked the first time this isolate sees the
/// text, from the cache after. An invalid text is not cached (its error is answered each time).
fn merchants_of(json: &str) -> Result<Vec<Merchant>> {
    let cached = MERCHANTS_CACHE.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(text, _)| text == json)
            .map(|(_, merchants)| merchants.clone())
    });
    if let Some(merchants) = cached {
        return Ok(merchants);
    }
    MERCHANTS_PARSES.with(|n| n.set(n.get() + 1));
    let merchants: Vec<Merchant> = serde_json::from_str(json)
        .map_err(|e| Error::Config(format!("MERCHANTS is not valid: {e}")))?;
    validate_merchants(&merchants)?;
    MERCHANTS_CACHE.with(|cache| *cache.borrow_mut() = Some((json.to_owned(), merchants.clone())));
    Ok(merchants)
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
        for origin in &merchant.allowed_origins {
            check_origin(origin).map_err(|reason| {
                Error::Config(format!(
                    "merchant {}: allowed origin {origin:?} {reason}",
                    merchant.id
                ))
            })?;
        }
    }
    Ok(())
}

/// An allowed origin is exactly what a browser sends: `https://host[:port]`, lower case, no path.
/// Plain `http` is accepted for loopback hosts only, for local development.
pub fn check_origin(origin: &str) -> std::result::Result<(), &'static str> {
    if origin.contains('*') {
        return Err("has a wildcard: list each origin");
    }
    let url = worker::Url::parse(origin).map_err(|_| "is not a URL")?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must use https (http only for localhost)"),
    }
    if url.origin().ascii_serialization() != origin {
        return Err(
            "must be scheme://host[:port], in lower case, without a path or a trailing slash",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_origin, merchants_of, Mode, MERCHANTS_PARSES};

    fn parses() -> u64 {
        MERCHANTS_PARSES.with(|n| n.get())
    }

    #[test]
    fn merchants_are_parsed_once_per_text() {
        let key = format!("sk_test_{}", "a".repeat(24));
        let one = format!(r#"[{{"id": "m_one", "name": "One", "secret_keys": ["{key}"]}}]"#);
        let two = format!(r#"[{{"id": "m_two", "name": "Two", "secret_keys": ["{key}"]}}]"#);
        let before = parses();
        assert_eq!(merchants_of(&one).unwrap()[0].id, "m_one");
        assert_eq!(merchants_of(&one).unwrap()[0].id, "m_one");
        assert_eq!(parses() - before, 1, "the same text is parsed once");
        // A changed secret is read again, at once.
        assert_eq!(merchants_of(&two).unwrap()[0].id, "m_two");
        assert_eq!(parses() - before, 2);
        // An invalid text is never cached: each request still gets its error.
        assert!(merchants_of("[{").is_err());
        assert!(merchants_of("[{").is_err());
        assert_eq!(parses() - before, 4);
        assert_eq!(merchants_of(&two).unwrap()[0].id, "m_two");
        assert_eq!(
            parses() - before,
            4,
            "an invalid text does not evict the valid one"
        );
    }

    #[test]
    fn each_mode_names_its_own_provider_variables() {
        assert_eq!(
            Mode::of(false).var("BKASH", "APP_KEY"),
            "BKASH_TEST_APP_KEY"
        );
        assert_eq!(Mode::of(true).var("BKASH", "APP_KEY"), "BKASH_LIVE_APP_KEY");
        assert_eq!(
            Mode::Live.var("WECHATPAY", "BASE_URL"),
            "WECHATPAY_LIVE_BASE_URL"
        );
    }

    #[test]
    fn allowed_origins_must_be_exactly_what_a_browser_sends() {
        for good in [
            "https://shop.example",
            "https://shop.example:8443",
            "http://localhost:8787",
            "http://127.0.0.1:3000",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "https://shop.example/",
            "https://shop.example/checkout",
            "https://Shop.Example",
            "https://shop.example:443",
            "http://shop.example",
            "shop.example",
            "*",
            "https://*.shop.example",
            "",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
