//! Rate limits on what a stranger can repeat against the widget API: token grants, pay attempts
//! and wrong pay passwords, counted per client address and per session.
//!
//! Each bucket is a [`RateLimiter`](crate::objects::rate_limiter::RateLimiter) object named after
//! it, e.g. `ip:203.0.113.7:token` or `session:cs_…:pay`. Limits come from Worker variables (a
//! limit of 0 turns that bucket off); the defaults are in [`Limits::DEFAULT`].
//!
//! The client address is `CF-Connecting-IP`, which Cloudflare sets on every request (and `wrangler
//! dev` sets to the caller's address). IPv6 clients are counted by their /64, which one household
//! or phone usually holds whole.
//!
//! A limiter that cannot be reached lets a token grant or a payment through and logs an error: an
//! outage of the limiter must not stop shoppers from paying. Wrong pay passwords are the
//! exception: that limit is what stops one address guessing across many wallets, so it fails
//! closed. It is also counted before the password is checked ([`Limiter::reserve`]): the request
//! takes a slot in the same turn as the limiter checks for room, and gives it back
//! ([`Limiter::release`]) only if the password was not wrong, so parallel requests cannot pass it.

use checkout_core::error::ErrorDetail;
use checkout_core::ErrorCode;
use worker::{Env, Request};

use crate::error::{Error, Result};
use crate::log::{self, Level};
use crate::objects::rate_limiter::{Decision, LimiterCommand};
use crate::objects::rpc;

/// `max` hits in `window_s` seconds; `max == 0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_s: u32,
}

/// Every limit the Worker enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub token_per_ip: Limit,
    pub token_per_session: Limit,
    pub pay_per_ip: Limit,
    pub pay_per_session: Limit,
    pub wrong_password_per_ip: Limit,
}

impl Limits {
    /// Per address, generous enough for a carrier-grade NAT full of shoppers; per session, far
    /// above what one shopper does; wrong pay passwords over the 15 minutes of a wallet lockout.
    pub const DEFAULT: Limits = Limits {
        token_per_ip: Limit {
            max: 60,
            window_s: 60,
        },
        token_per_session: Limit {
            max: 10,
            window_s: 60,
        },
        pay_per_ip: Limit {
            max: 60,
            window_s: 60,
        },
        pay_per_session: Limit {
            max: 10,
            window_s: 60,
        },
        wrong_password_per_ip: Limit {
            max: 20,
            window_s: 900,
        },
    };

    /// The defaults, overridden by `RATE_TOKEN_PER_IP`, `RATE_TOKEN_PER_SESSION`,
    /// `RATE_PAY_PER_IP`, `RATE_PAY_PER_SESSION` and `RATE_WINDOW_S` (for those four), and
    /// `RATE_WRONG_PASSWORD_PER_IP` with `RATE_WRONG_PASSWORD_WINDOW_S`.
    pub fn from_env(env: &Env) -> Result<Limits> {
        let d = Limits::DEFAULT;
        let window_s = var(env, "RATE_WINDOW_S", d.token_per_ip.window_s)?;
        let limit = |name: &str, default: Limit| -> Result<Limit> {
            Ok(Limit {
                max: var(env, name, default.max)?,
                window_s,
            })
        };
        Ok(Limits {
            token_per_ip: limit("RATE_TOKEN_PER_IP", d.token_per_ip)?,
            token_per_session: limit("RATE_TOKEN_PER_SESSION", d.token_per_session)?,
            pay_per_ip: limit("RATE_PAY_PER_IP", d.pay_per_ip)?,
            pay_per_session: limit("RATE_PAY_PER_SESSION", d.pay_per_session)?,
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

    fn bucket(&self, action: Action) -> String {
        match self {
            Subject::Ip(ip) => format!("ip:{ip}:{}", action.as_str()),
            Subject::Session(id) => format!("session:{id}:{}", action.as_str()),
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
    /// The limit on `action` by `subject`; wrong passwords per session are the wallet's lockout.
    pub fn of(&self, subject: &Subject, action: Action) -> Limit {
        match (subject, action) {
            (Subject::Ip(_), Action::Token) => self.token_per_ip,
            (Subject::Session(_), Action::Token) => self.token_per_session,
            (Subject::Ip(_), Action::Pay) => self.pay_per_ip,
            (Subject::Session(_), Action::Pay) => self.pay_per_session,
            (Subject::Ip(_), Action::WrongPassword) => self.wrong_password_per_ip,
            (Subject::Session(_), Action::WrongPassword) => Limit {
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
            limits: Limits::from_env(env)?,
        })
    }

    /// Counts a hit of `action` by `subject`; `rate_limited` when its bucket is full.
    pub async fn hit(&self, subject: &Subject, action: Action) -> Result<()> {
        let limit = self.limits.of(subject, action);
        if limit.max == 0 {
            return Ok(());
        }
        let command = LimiterCommand::Hit {
            max: limit.max,
            window_ms: i64::from(limit.window_s.max(1)) * 1000,
        };
        let decision: Result<Decision> = match limiter(self.env, &subject.bucket(action)) {
            Ok(stub) => rpc::call(&stub, &command).await,
            Err(e) => Err(e),
        };
        match decision {
            Ok(decision) => self.judge(subject, action, limit, decision),
            Err(e) => {
                self.unavailable(action, &e);
                Ok(())
            }
        }
    }

    /// Takes a slot for a possible failure of `action` by `subject` (a wrong pay password),
    /// before the outcome is known: `rate_limited` when the bucket is full, and `internal_error`
    /// when the limiter cannot be reached (this limit fails closed). Give the slot back with
    /// [`Limiter::release`] if the outcome was not a failure.
    pub async fn reserve(&self, subject: &Subject, action: Action) -> Result<Option<Reservation>> {
        let limit = self.limits.of(subject, action);
        if limit.max == 0 {
            return Ok(None);
        }
        let bucket = subject.bucket(action);
        let command = LimiterCommand::Reserve {
            max: limit.max,
            window_ms: i64::from(limit.window_s.max(1)) * 1000,
        };
        let decision: Result<Decision> = match limiter(self.env, &bucket) {
            Ok(stub) => rpc::call(&stub, &command).await,
            Err(e) => Err(e),
        };
        let decision = decision.map_err(|e| {
            self.unavailable(action, &e);
            Error::api(ErrorCode::InternalError)
        })?;
        self.judge(subject, action, limit, decision)?;
        let slot = decision.slot.ok_or_else(|| {
            Error::Invariant("the rate limiter allowed a reservation without a slot".into())
        })?;
        Ok(Some(Reservation { bucket, slot }))
    }

    /// Gives a reserved slot back. If the limiter cannot be reached the slot stays counted until
    /// its window passes: the safe side.
    pub async fn release(&self, reservation: Reservation) {
        let command = LimiterCommand::Release {
            slot: reservation.slot,
        };
        let released: Result<()> = match limiter(self.env, &reservation.bucket) {
            Ok(stub) => rpc::call(&stub, &command).await,
            Err(e) => Err(e),
        };
        if let Err(e) = released {
            log::event(
                Level::Warn,
                serde_json::json!({"request_id": self.request_id,
                    "rate_limiter_release": e.to_string()}),
            );
        }
    }

    fn unavailable(&self, action: Action, error: &Error) {
        log::event(
            Level::Error,
            serde_json::json!({"request_id": self.request_id,
                "alert": "rate_limiter_unavailable", "action": action.as_str(),
                "error": error.to_string()}),
        );
    }

    /// `rate_limited` (logged) when the limiter refused.
    fn judge(
        &self,
        subject: &Subject,
        action: Action,
        limit: Limit,
        decision: Decision,
    ) -> Result<()> {
        if decision.allowed {
            return Ok(());
        }
        let retry_after_s = u64::try_from((decision.retry_after_ms + 999) / 1000)
            .unwrap_or(1)
            .max(1);
        log::event(
            Level::Warn,
            serde_json::json!({"request_id": self.request_id, "rate_limited": action.as_str(),
                "per": subject.kind(), "max": limit.max, "window_s": limit.window_s,
                "retry_after_s": retry_after_s}),
        );
        Err(refusal(action, subject, retry_after_s))
    }
}

/// A slot taken by [`Limiter::reserve`].
#[derive(Debug)]
pub struct Reservation {
    bucket: String,
    slot: i64,
}

fn limiter(env: &Env, bucket: &str) -> Result<worker::Stub> {
    Ok(env.durable_object("RATE_LIMITER")?.get_by_name(bucket)?)
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
    fn buckets_name_the_subject_and_the_action() {
        let ip = Subject::Ip("203.0.113.7".into());
        assert_eq!(ip.bucket(Action::Token), "ip:203.0.113.7:token");
        let session = Subject::Session("cs_1".into());
        assert_eq!(session.bucket(Action::Pay), "session:cs_1:pay");
        let refused = refusal(Action::Pay, &session, 12).detail();
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(refused.retry_after_s, Some(12));
        assert!(
            refused.message.contains("12 seconds"),
            "{}",
            refused.message
        );
    }
}
