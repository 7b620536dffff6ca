//! The wallet's pay password: hashing under the Worker's pepper, checking an entry against the
//! escalating lockout (`checkout_core::pay_password`), upgrading old hashes, and the merchant's
//! reset and unlock, each of which writes its event for the merchant in the same turn.
//!
//! A hash is `PBKDF2-HMAC-SHA256(HMAC-SHA256(pepper[kid], password), salt, iterations)`; its row
//! keeps `kid` and `iterations`. A row from before peppers (`kid` NULL, 100,000 iterations of the
//! bare password) still verifies, and any row not under the current kid and iterations is
//! re-hashed at its next correct entry, in the same turn that accepts it.

use checkout_core::error::ErrorDetail;
use checkout_core::pay_password::{self, AttemptGuard, Failure, Lock, LockoutSteps};
use checkout_core::webhook::EventType;
use checkout_core::ErrorCode;

use super::events::PendingEvent;
use super::Wallet;
use crate::clock::now_ms;
use crate::crypto::pepper::Peppers;
use crate::crypto::{
    hex, pbkdf2_sha256, random_bytes, secrets_equal, LEGACY_PBKDF2_ITERATIONS, PBKDF2_ITERATIONS,
};
use crate::error::{Error, Result};
use crate::log::{self, Level};
use crate::objects::wallet_store::{PasswordHash, PasswordRow};

/// The Worker variable with the timed lockouts' lengths in seconds (`"900,3600,86400"`).
const LOCKOUT_VAR: &str = "PAY_PASSWORD_LOCKOUT_S";

/// An entry checked against the stored hash.
struct Verdict {
    /// The hash the entry was checked against, to notice a password set meanwhile.
    checked_hash: String,
    matches: bool,
    /// On a match under an old kid or old parameters: the same password hashed anew.
    upgrade: Option<PasswordHash>,
}

/// How new hashes are made: under the current pepper, or the old way when none is configured.
fn current_scheme(peppers: Option<&Peppers>) -> (Option<&str>, u32) {
    match peppers {
        Some(peppers) => (Some(peppers.current_kid()), PBKDF2_ITERATIONS),
        None => (None, LEGACY_PBKDF2_ITERATIONS),
    }
}

/// Whether a row was made the way new hashes are.
fn is_current(row_kid: Option<&str>, row_iterations: u32, peppers: Option<&Peppers>) -> bool {
    current_scheme(peppers) == (row_kid, row_iterations)
}

impl Wallet {
    fn peppers(&self) -> Result<Option<Peppers>> {
        Peppers::from_env(&self.env)
    }

    /// The KDF's input for `password` under `kid`; the bare password when `kid` is `None`.
    fn kdf_input(peppers: Option<&Peppers>, kid: Option<&str>, password: &str) -> Result<Vec<u8>> {
        match (kid, peppers) {
            (None, _) => Ok(password.as_bytes().to_vec()),
            (Some(kid), Some(peppers)) => peppers.mix(kid, password),
            (Some(kid), None) => Err(Error::Config(format!(
                "{} is not set, and a stored pay password uses pepper {kid}",
                crate::crypto::pepper::PEPPERS_VAR
            ))),
        }
    }

    /// A new hash of `password`, under the current pepper.
    async fn new_hash(&self, peppers: Option<&Peppers>, password: &str) -> Result<PasswordHash> {
        let (kid, iterations) = current_scheme(peppers);
        if kid.is_none() {
            log::event(
                Level::Error,
                serde_json::json!({"object": "wallet", "alert": "pay_password_pepper_missing",
                    "detail": "PAY_PASSWORD_PEPPERS is not set: hashing without a pepper"}),
            );
        }
        let salt = random_bytes(16)?;
        let input = Self::kdf_input(peppers, kid, password)?;
        let hash = pbkdf2_sha256(&input, &salt, iterations).await?;
        Ok(PasswordHash {
            hash: hex(&hash),
            salt: hex(&salt),
            iterations,
            pepper_kid: kid.map(str::to_owned),
        })
    }

    /// Checks `password` against `row`, and hashes it anew if it matches an outdated row.
    async fn verify(&self, row: &PasswordRow, password: &str) -> Result<Verdict> {
        let peppers = self.peppers()?;
        let kid = row.pepper_kid.as_deref();
        let input = Self::kdf_input(peppers.as_ref(), kid, password).inspect_err(|e| {
            log::event(
                Level::Error,
                serde_json::json!({"object": "wallet", "alert": "pay_password_pepper_missing",
                    "detail": e.to_string()}),
            );
        })?;
        let salt = decode_hex(&row.salt)?;
        let derived = pbkdf2_sha256(&input, &salt, row.iterations).await?;
        let matches = secrets_equal(hex(&derived).as_bytes(), row.hash.as_bytes());
        let upgrade = match matches && !is_current(kid, row.iterations, peppers.as_ref()) {
            true => Some(self.new_hash(peppers.as_ref(), password).await?),
            false => None,
        };
        Ok(Verdict {
            checked_hash: row.hash.clone(),
            matches,
            upgrade,
        })
    }

    /// The stored password, or `pay_password_not_set`.
    pub(super) fn password_row(&self) -> Result<PasswordRow> {
        self.store
            .password()?
            .ok_or_else(|| Error::api(ErrorCode::PayPasswordNotSet))
    }

    /// Checks the pay password, counting a wrong one. It returns right after the last check, so
    /// the caller's writes happen in the same synchronous turn as the lockout check.
    pub(super) async fn authorize(&self, password: Option<String>) -> Result<()> {
        self.ensure_unlocked()?;
        let password = password.ok_or_else(|| Error::api(ErrorCode::PayPasswordRequired))?;
        let steps = self.lockout_steps()?;
        let row = self.password_row()?;
        let verdict = self.verify(&row, &password).await?;
        // Everything below runs in one synchronous turn with the caller's writes.
        self.ensure_unlocked()?;
        self.record_attempt(verdict, steps)
    }

    /// The lockout's steps: the defaults, or `PAY_PASSWORD_LOCKOUT_S` (never shorter in live
    /// mode, and a wallet whose mode is not known yet counts as live).
    fn lockout_steps(&self) -> Result<LockoutSteps> {
        let Some(text) = crate::config::read(&self.env, LOCKOUT_VAR)? else {
            return Ok(LockoutSteps::DEFAULT);
        };
        let livemode = self
            .store
            .owner()?
            .is_none_or(|o| !o.merchant_scope.starts_with("test:"));
        LockoutSteps::configured(text.expose(), livemode)
            .map_err(|why| Error::Config(format!("{LOCKOUT_VAR}: {why}")))
    }

    fn ensure_unlocked(&self) -> Result<()> {
        self.password_row()?.guard().check(now_ms()).map_err(locked)
    }

    /// Counts a wrong password (and refuses the payment, writing the lockout's event when this
    /// one locks the wallet) or clears the count and stores an upgraded hash.
    fn record_attempt(&self, verdict: Verdict, steps: LockoutSteps) -> Result<()> {
        let row = self.password_row()?;
        let mut guard = row.guard();
        if row.hash != verdict.checked_hash {
            // The merchant set a new password while this entry was checked against the old one.
            return Err(incorrect(guard.attempts_left(now_ms())));
        }
        if verdict.matches {
            if guard != AttemptGuard::default() {
                guard.record_success();
                self.store.save_guard(&guard)?;
            }
            if let Some(upgrade) = &verdict.upgrade {
                self.store.rehash_password(&row.hash, upgrade)?;
            }
            return Ok(());
        }
        let now = now_ms();
        let failure = guard.record_failure_with(steps, now);
        self.store.save_guard(&guard)?;
        match failure {
            Failure::AttemptsLeft(left) => Err(incorrect(left)),
            Failure::Locked(lock) => {
                log::event(
                    Level::Warn,
                    serde_json::json!({"object": "wallet", "pay_password_locked": lock_name(lock),
                        "lockouts": guard.lockouts}),
                );
                self.store.push_event(&PendingEvent::new(
                    EventType::PayPasswordLocked,
                    &guard,
                    now,
                )?)?;
                Err(locked(lock))
            }
        }
    }

    /// Sets or replaces the pay password, clearing any lockout; the merchant gets a
    /// `customer.pay_password_reset` event.
    pub(super) async fn set_pay_password(&self, password: &str) -> Result<()> {
        if !pay_password::is_well_formed(password) {
            return Err(Error::api(ErrorCode::InvalidParameter));
        }
        let peppers = self.peppers()?;
        let hash = self.new_hash(peppers.as_ref(), password).await?;
        // One turn: the new hash and its event.
        self.store.set_password(&hash)?;
        self.store.push_event(&PendingEvent::new(
            EventType::PayPasswordReset,
            &AttemptGuard::default(),
            now_ms(),
        )?)
    }

    /// Lifts a lockout (timed or hard) and clears the count; `customer.pay_password_unlocked`
    /// when there was something to lift.
    pub(super) fn unlock_pay_password(&self) -> Result<()> {
        let mut guard = self.password_row()?.guard();
        if guard == AttemptGuard::default() {
            return Ok(());
        }
        guard.unlock();
        self.store.save_guard(&guard)?;
        self.store.push_event(&PendingEvent::new(
            EventType::PayPasswordUnlocked,
            &guard,
            now_ms(),
        )?)
    }
}

fn incorrect(attempts_left: u32) -> Error {
    let mut detail = ErrorDetail::new(ErrorCode::IncorrectPayPassword);
    detail.attempts_left = Some(attempts_left);
    detail.into()
}

fn lock_name(lock: Lock) -> &'static str {
    match lock {
        Lock::Until(_) => "timed",
        Lock::Hard => "hard",
    }
}

/// The `pay_password_locked` refusal: for how long, or until the shop unlocks the wallet.
pub(super) fn locked(lock: Lock) -> Error {
    let mut detail = ErrorDetail::new(ErrorCode::PayPasswordLocked);
    detail.attempts_left = Some(0);
    match lock {
        Lock::Until(until_ms) => {
            let retry_after_s = ((until_ms - now_ms()).max(0) as u64).div_ceil(1000);
            detail.retry_after_s = Some(retry_after_s);
            detail.message = format!(
                "Too many incorrect pay passwords. Balance payments are locked for {} minutes.",
                retry_after_s.div_ceil(60).max(1)
            );
        }
        Lock::Hard => {
            detail.message = "Too many incorrect pay passwords. Balance payments are locked \
                until the shop unlocks them."
                .into();
        }
    }
    detail.into()
}

fn decode_hex(text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| Error::Invariant("stored salt is not hex".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_current_only_under_the_current_kid_and_iterations() {
        let a = "a".repeat(48);
        let peppers = Peppers::parse(&format!(
            r#"{{"current":"p2","peppers":{{"p1":"{a}","p2":"{a}"}}}}"#
        ))
        .unwrap();
        assert!(is_current(Some("p2"), PBKDF2_ITERATIONS, Some(&peppers)));
        assert!(!is_current(Some("p1"), PBKDF2_ITERATIONS, Some(&peppers)));
        assert!(!is_current(None, LEGACY_PBKDF2_ITERATIONS, Some(&peppers)));
        assert!(!is_current(Some("p2"), 1_000, Some(&peppers)));
        assert!(is_current(None, LEGACY_PBKDF2_ITERATIONS, None));
        assert!(Wallet::kdf_input(None, Some("p1"), "123456").is_err());
        assert_eq!(Wallet::kdf_input(None, None, "123456").unwrap(), b"123456");
    }
}
