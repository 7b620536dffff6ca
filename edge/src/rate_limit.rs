//! Rate limits on what a stranger can repeat against the widget API: token grants, pay attempts
//! and wrong pay passwords, counted per client address and per session.
//!
//! Two kinds of counting, by what the limit guards:
//!
//! - **Coarse** (token grants and pay attempts, per address and per session): Workers' built-in
//!   rate-limiting binding (`[[ratelimits]]` in `wrangler.toml`; Cloudflare, "Rate Limiting",
//!   <https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/>): a fixed
//!   window per key of 10 or 60 seconds, counted by Cloudflare per location and not exactly
//!   (eventually consistent across its machines), asked through workers-rs' `Env::rate_limiter`
//!   and `RateLimiter::limit(key)`. No Durable Object hop. `wrangler dev` emulates the binding in
//!   Miniflare; the workerd-direct bench serves it from our own module
//!   (`xtask/src/bench/ratelimit.js`). The binding answers only `success`, so `retry_after_s` is
//!   the time to the next window boundary of the clock (where Miniflare and the bench roll their
//!   windows over); on Cloudflare it is an estimate, at most the period. The numbers live in
//!   `wrangler.toml` ([`PER_ADDRESS`], [`PER_SESSION`] say the same, and a test keeps them
//!   equal); a Worker variable can only turn a limit off (`RATE_TOKEN_PER_IP = "0"`, ...).
//!   A binding that fails lets the request through and logs an alert: an outage of a coarse
//!   limit must not stop shoppers from paying.
//! - **Exact** (wrong pay passwords per address, across wallets; money): the address's bucket
//!   in one of the [`RateLimiter`](crate::objects::rate_limiter::RateLimiter) shard objects, a
//!   sliding window counted in one turn. It fails closed, and a wrong password is counted before it is
//!   checked ([`Limiter::reserve`]): the request takes a slot in the same turn as the limiter
//!   checks for room, and gives it back ([`release`], after the reply) only if the password was
//!   not wrong, so parallel guesses cannot pass it. Each wallet's own lockout (5 wrong, then 15
//!   min, 1 h, 24 h, a hard lock) is exact too and lives with the wallet's state; this counter
//!   is what stops one address spreading guesses across many wallets, which no wallet sees.
//!
//! The client address is `CF-Connecting-IP`, which Cloudflare sets on every request (and `wrangler
//! dev` sets to the caller's address). IPv6 clients are counted by their /64, which one household
//! or phone usually holds whole.

use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use worker::{Env, Request};

use crate::error::{Error, Result};
use crate::log::{self, Level};
use crate::objects::rate_limiter::{self, Decision, LimiterCommand};
use crate::objects::rpc;

/// `max` hits in `window_s` seconds; `max == 0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_s: u32,
}

/// A coarse limit: a `[[ratelimits]]` binding of `wrangler.toml` and what it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coarse {
    /// The binding's name.
    pub binding: &'static str,
    /// `simple.limit` and `simple.period` in `wrangler.toml`.
    pub limit: Limit,
}

/// Token grants and pay attempts per client address: enough for a carrier-grade NAT full of
/// shoppers. Each action has its own key (`token:<addr>`, `pay:<addr>`).
pub const PER_ADDRESS: Coarse = Coarse {
    binding: "RATE_LIMIT_PER_ADDRESS",
    limit: Limit {
        max: 60,
        window_s: 60,
    },
};

/// Token grants and pay attempts per session: far above what one shopper does.
pub const PER_SESSION: Coarse = Coarse {
    binding: "RATE_LIMIT_PER_SESSION",
    limit: Limit {
        max: 10,
        window_s: 60,
    },
};

/// Which limits are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token_per_ip: bool,
    pub token_per_session: bool,
    pub pay_per_ip: bool,
    pub pay_per_session: bool,
    pub wrong_password_per_ip: Limit,
}

impl Limits {
    /// Every coarse limit on; wrong pay passwords: 20 per address over the 15 minutes of a
    /// wallet lockout.
    pub const DEFAULT: Limits = Limits {
        token_per_ip: true,
        token_per_session: true,
        pay_per_ip: true,
        pay_per_session: true,
        wrong_password_per_ip: Limit {
            max: 20,
            window_s: 900,
        },
    };

    /// [`Limits::from_env`], read once per isolate (six bindings, each looked up as a secret and
    /// then as a var, were read on every token grant and payment); a failed read is not kept, so
    /// its error is reported on every request, as `Config::from_env` does.
    pub fn of_isolate(env: &Env) -> Result<Limits> {
        thread_local! {
            static LIMITS: std::cell::Cell<Option<Limits>> = const { std::cell::Cell::new(None) };
        }
        if let Some(limits) = LIMITS.with(std::cell::Cell::get) {
            return Ok(limits);
        }
        let limits = Limits::from_env(env)?;
        LIMITS.with(|cell| cell.set(Some(limits)));
        Ok(limits)
    }

    /// The defaults, with `RATE_TOKEN_PER_IP`, `RATE_TOKEN_PER_SESSION`, `RATE_PAY_PER_IP` or
    /// `RATE_PAY_PER_SESSION` set to `0` turning that coarse limit off (its number is the
    /// binding's, in `wrangler.toml`), and `RATE_WRONG_PASSWORD_PER_IP` with
    /// `RATE_WRONG_PASSWORD_WINDOW_S` setting the exact one (0 turns it off).
    pub fn from_env(env: &Env) -> Result<Limits> {
        let d = Limits::DEFAULT;
        Ok(Limits {
            token_per_ip: switch(env, "RATE_TOKEN_PER_IP")?,
            token_per_session: switch(env, "RATE_TOKEN_PER_SESSION")?,
            pay_per_ip: switch(env, "RATE_PAY_PER_IP")?,
            pay_per_session: switch(env, "RATE_PAY_PER_SESSION")?,
            wrong_password_per_ip: Limit {
                max: var(
                    env,
                    "RATE_WRONG_PASSWORD_PER_IP",
                    d.wrong_password_per_ip.max,
                )?,
                window_s: var(
                    env,
                    "RATE_WRONG_PASSWORD_WINDOW_S",
                    d.wrong_password_per_ip.window_s,
                )?,
            },
        })
    }
}

/// Whether a coarse limit is on: unset, or anything but `0`, is refused with a clear message.
fn switch(env: &Env, name: &str) -> Result<bool> {
    match crate::config::read(env, name)? {
        None => Ok(true),
        Some(value) => switch_value(name, value.expose()),
    }
}

fn switch_value(name: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "0" => Ok(false),
        _ => Err(Error::Config(format!(
            "{name} can only be 0 (off); the limit itself is its [[ratelimits]] binding in wrangler.toml"
        ))),
    }
}

fn var(env: &Env, name: &str, default: u32) -> Result<u32> {
    match crate::config::read(env, name)? {
        None => Ok(default),
        Some(value) => value
            .expose()
            .trim()
            .parse()
            .map_err(|_| Error::Config(format!("{name} must be a whole number"))),
    }
}

/// What is being limited; part of the bucket's name and of the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Token,
    Pay,
    WrongPassword,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Token => "token",
            Action::Pay => "pay",
            Action::WrongPassword => "wrong_password",
        }
    }
}

/// Who is being counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A client address (an IPv6 /64).
    Ip(String),
    Session(String),
}

impl Subject {
    /// The caller's address from `CF-Connecting-IP`; `unknown` when absent (never on Cloudflare).
    pub fn client(req: &Request) -> Result<Subject> {
        let header = req.headers().get("CF-Connecting-IP")?;
        Ok(Subject::Ip(client_key(header.as_deref())))
    }

    /// The exact limiter object's name.
    fn bucket(&self, action: Action) -> String {
        match self {
            Subject::Ip(ip) => format!("ip:{ip}:{}", action.as_str()),
            Subject::Session(id) => format!("session:{id}:{}", action.as_str()),
        }
    }

    /// The coarse binding and its key.
    fn coarse(&self, action: Action) -> (Coarse, String) {
        match self {
            Subject::Ip(ip) => (PER_ADDRESS, format!("{}:{ip}", action.as_str())),
            Subject::Session(id) => (PER_SESSION, format!("{}:{id}", action.as_str())),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Subject::Ip(_) => "ip",
            Subject::Session(_) => "session",
        }
    }
}

/// The address a bucket counts: IPv4 as it is, IPv6 by its /64 prefix.
pub fn client_key(header: Option<&str>) -> String {
    let Some(text) = header.map(str::trim).filter(|t| !t.is_empty()) else {
        return "unknown".into();
    };
    match text.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => "invalid".into(),
    }
}

impl Limits {
    /// Whether the coarse limit on `action` by `subject` is on.
    fn coarse_on(&self, subject: &Subject, action: Action) -> bool {
        match (subject, action) {
            (Subject::Ip(_), Action::Token) => self.token_per_ip,
            (Subject::Session(_), Action::Token) => self.token_per_session,
            (Subject::Ip(_), Action::Pay) => self.pay_per_ip,
            (Subject::Session(_), Action::Pay) => self.pay_per_session,
            (_, Action::WrongPassword) => false,
        }
    }

    /// The exact limit on `action` by `subject`: wrong passwords per address (per session, they
    /// are the wallet's lockout).
    fn exact(&self, subject: &Subject, action: Action) -> Limit {
        match (subject, action) {
            (Subject::Ip(_), Action::WrongPassword) => self.wrong_password_per_ip,
            _ => Limit {
                max: 0,
                window_s: 0,
            },
        }
    }
}

/// The limits as one request applies them.
pub struct Limiter<'a> {
    env: &'a Env,
    request_id: &'a str,
    limits: Limits,
}

impl<'a> Limiter<'a> {
    pub fn new(env: &'a Env, request_id: &'a str) -> Result<Limiter<'a>> {
        Ok(Limiter {
            env,
            request_id,
            limits: Limits::of_isolate(env)?,
        })
    }

    /// Counts a hit of `action` by `subject` on its coarse binding; `rate_limited` when the
    /// key's window is full. A binding that fails lets the hit through (logged).
    pub async fn hit(&self, subject: &Subject, action: Action) -> Result<()> {
        if !self.limits.coarse_on(subject, action) {
            return Ok(());
        }
        let (coarse, key) = subject.coarse(action);
        let outcome = match self.env.rate_limiter(coarse.binding) {
            Ok(binding) => binding.limit(key).await.map_err(Error::from),
            Err(e) => Err(Error::from(e)),
        };
        match outcome {
            Ok(outcome) if outcome.success => Ok(()),
            Ok(_) => {
                let retry_after_s = to_next_window_s(crate::clock::now_s(), coarse.limit.window_s);
                Err(self.refuse(subject, action, coarse.limit, retry_after_s))
            }
            Err(e) => {
                unavailable(self.request_id, action, &e);
                Ok(())
            }
        }
    }

    /// Takes a slot for a possible failure of `action` by `subject` (a wrong pay password),
    /// before the outcome is known: `rate_limited` when the bucket is full, and `internal_error`
    /// when the limiter cannot be reached (this limit fails closed). Give the slot back with
    /// [`release`] if the outcome was not a failure.
    pub async fn reserve(&self, subject: &Subject, action: Action) -> Result<Option<Reservation>> {
        let limit = self.limits.exact(subject, action);
        if limit.max == 0 {
            return Ok(None);
        }
        let bucket = subject.bucket(action);
        let command = LimiterCommand::Reserve {
            bucket: bucket.clone(),
            max: limit.max,
            window_ms: i64::from(limit.window_s.max(1)) * 1000,
        };
        let decision: Result<Decision> = match limiter(self.env, &bucket) {
            Ok(stub) => rpc::call(&stub, &command).await,
            Err(e) => Err(e),
        };
        let decision = decision.map_err(|e| {
            unavailable(self.request_id, action, &e);
            Error::api(ErrorCode::InternalError)
        })?;
        if !decision.allowed {
            let retry_after_s = u64::try_from((decision.retry_after_ms + 999) / 1000)
                .unwrap_or(1)
                .max(1);
            return Err(self.refuse(subject, action, limit, retry_after_s));
        }
        let slot = decision.slot.ok_or_else(|| {
            Error::Invariant("the rate limiter allowed a reservation without a slot".into())
        })?;
        Ok(Some(Reservation { bucket, slot }))
    }

    /// `rate_limited`, logged.
    fn refuse(&self, subject: &Subject, action: Action, limit: Limit, retry_after_s: u64) -> Error {
        log::event(
            Level::Warn,
            serde_json::json!({"request_id": self.request_id, "rate_limited": action.as_str(),
                "per": subject.kind(), "max": limit.max, "window_s": limit.window_s,
                "retry_after_s": retry_after_s}),
        );
        refusal(action, subject, retry_after_s)
    }
}

/// Seconds until the clock's next `window_s` boundary (at least 1), where a fixed window that
/// rolls over on the clock (Miniflare's, the bench's) frees its key.
fn to_next_window_s(now_s: i64, window_s: u32) -> u64 {
    let window = i64::from(window_s.max(1));
    u64::try_from(window - now_s.rem_euclid(window))
        .unwrap_or(1)
        .max(1)
}

/// A slot taken by [`Limiter::reserve`].
#[derive(Debug)]
pub struct Reservation {
    bucket: String,
    slot: i64,
}

/// Gives a reserved slot back; run after the reply (`Context::wait_until`), so it costs the
/// request no hop. If the limiter cannot be reached the slot stays counted until its window
/// passes: the safe side.
pub async fn release(env: Env, request_id: String, reservation: Reservation) {
    let released: Result<()> = match limiter(&env, &reservation.bucket) {
        Ok(stub) => {
            let command = LimiterCommand::Release {
                bucket: reservation.bucket,
                slot: reservation.slot,
            };
            rpc::call(&stub, &command).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = released {
        log::event(
            Level::Warn,
            serde_json::json!({"request_id": request_id,
                "rate_limiter_release": e.to_string()}),
        );
    }
}

fn unavailable(request_id: &str, action: Action, error: &Error) {
    log::event(
        Level::Error,
        serde_json::json!({"request_id": request_id,
            "alert": "rate_limiter_unavailable", "action": action.as_str(),
            "error": error.to_string()}),
    );
}

/// The shard object that counts `bucket`.
fn limiter(env: &Env, bucket: &str) -> Result<rpc::Stub> {
    Ok(env
        .durable_object("RATE_LIMITER")?
        .get_by_name(&rate_limiter::shard_of(bucket))?
        .into())
}

/// The `429 rate_limited` answer, saying what was limited and when to try again.
fn refusal(action: Action, subject: &Subject, retry_after_s: u64) -> Error {
    let what = match action {
        Action::Token => "Too many attempts to open a checkout",
        Action::Pay => "Too many payment attempts",
        Action::WrongPassword => "Too many incorrect pay passwords",
    };
    let whom = match subject {
        Subject::Ip(_) => "from your network",
        Subject::Session(_) => "for this order",
    };
    let mut detail = ErrorDetail::new(ErrorCode::RateLimited);
    detail.message = format!("{what} {whom}. Try again in {retry_after_s} seconds.");
    detail.retry_after_s = Some(retry_after_s);
    Error::from(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_keys_group_ipv6_by_64_and_keep_ipv4() {
        let cases = [
            (Some("203.0.113.7"), "203.0.113.7"),
            (Some(" 203.0.113.7 "), "203.0.113.7"),
            (Some("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64"),
            (Some("2001:db8:1:2::9"), "2001:db8:1:2::/64"),
            (Some("::ffff:203.0.113.7"), "203.0.113.7"),
            (Some("not an address"), "invalid"),
            (Some(""), "unknown"),
            (None, "unknown"),
        ];
        for (header, key) in cases {
            assert_eq!(client_key(header), key, "{header:?}");
        }
    }

    #[test]
    fn buckets_and_keys_name_the_subject_and_the_action() {
        let ip = Subject::Ip("203.0.113.7".into());
        assert_eq!(
            ip.bucket(Action::WrongPassword),
            "ip:203.0.113.7:wrong_password"
        );
        assert_eq!(
            ip.coarse(Action::Token),
            (PER_ADDRESS, "token:203.0.113.7".to_owned())
        );
        let session = Subject::Session("cs_1".into());
        assert_eq!(
            session.coarse(Action::Pay),
            (PER_SESSION, "pay:cs_1".to_owned())
        );
        let refused = refusal(Action::Pay, &session, 12).detail();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(refused.retry_after_s, Some(12));
        assert!(
            refused.message.contains("12 seconds"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn a_coarse_refusal_says_the_time_to_the_next_window() {
        assert_eq!(to_next_window_s(120, 60), 60);
        assert_eq!(to_next_window_s(121, 60), 59);
        assert_eq!(to_next_window_s(179, 60), 1);
        assert_eq!(to_next_window_s(5, 10), 5);
    }

    #[test]
    fn a_coarse_switch_is_only_off() {
        assert_eq!(switch_value("RATE_PAY_PER_IP", " 0 ").ok(), Some(false));
        let refused = switch_value("RATE_PAY_PER_IP", "30")
            .unwrap_err()
            .to_string();
        assert!(refused.contains("wrangler.toml"), "{refused}");
    }

    /// The numbers here are the ones `wrangler.toml` gives the bindings.
    #[test]
    fn the_coarse_limits_match_wrangler_toml() {
        let config: toml::Value =
            toml::from_str(include_str!("../../wrangler.toml")).expect("wrangler.toml parses");
        let entries = config["ratelimits"].as_array().expect("[[ratelimits]]");
        for coarse in [PER_ADDRESS, PER_SESSION] {
            let entry = entries
                .iter()
                .find(|e| e["name"].as_str() == Some(coarse.binding))
                .unwrap_or_else(|| panic!("no [[ratelimits]] named {}", coarse.binding));
            assert_eq!(
                entry["simple"]["limit"].as_integer(),
                Some(i64::from(coarse.limit.max)),
                "{}",
                coarse.binding
            );
            assert_eq!(
                entry["simple"]["period"].as_integer(),
                Some(i64::from(coarse.limit.window_s)),
                "{}",
                coarse.binding
            );
        }
    }
}
