//! The pay password: its format, and the attempts-and-lockout policy that guards balance payments.
//!
//! The hash itself (a slow KDF) is computed by the edge with the runtime's WebCrypto; this module
//! only decides what a password may look like and when a wallet is locked.

use serde::{Deserialize, Serialize};

/// Wrong passwords allowed before the lockout.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;

/// How long balance payments stay locked after the last allowed wrong password.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// The pay password is a 6-digit PIN, as wallet apps in the markets we serve use.
pub const PASSWORD_LEN: usize = 6;

/// Whether `password` has the shape of a pay password.
pub fn is_well_formed(password: &str) -> bool {
    password.len() == PASSWORD_LEN && password.bytes().all(|b| b.is_ascii_digit())
}

/// Failed attempts and the lockout of one wallet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptGuard {
    pub failed_attempts: u32,
    /// Unix ms until which balance payments are refused; 0 when not locked.
    pub locked_until_ms: i64,
}

/// The result of a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The shopper may try again this many times.
    AttemptsLeft(u32),
    /// The wallet is now locked until this instant (unix ms).
    LockedUntil(i64),
}

impl AttemptGuard {
    /// `Err(locked_until_ms)` while the wallet is locked.
    pub fn check(&self, now_ms: i64) -> Result<(), i64> {
        if now_ms < self.locked_until_ms {
            Err(self.locked_until_ms)
        } else {
            Ok(())
        }
    }

    /// Counts a wrong password, locking the wallet at the fifth in a row.
    pub fn record_failure(&mut self, now_ms: i64) -> Failure {
        if self.locked_until_ms != 0 && now_ms >= self.locked_until_ms {
            // A served lockout starts a fresh count.
            *self = AttemptGuard::default();
        }
        self.failed_attempts += 1;
        if self.failed_attempts >= MAX_FAILED_ATTEMPTS {
            self.locked_until_ms = now_ms + LOCKOUT_MS;
            Failure::LockedUntil(self.locked_until_ms)
        } else {
            Failure::AttemptsLeft(MAX_FAILED_ATTEMPTS - self.failed_attempts)
        }
    }

    /// A correct password clears the count.
    pub fn record_success(&mut self) {
        *self = AttemptGuard::default();
    }

    /// Attempts left before the lockout, as the widget shows them.
    pub fn attempts_left(&self, now_ms: i64) -> u32 {
        if self.check(now_ms).is_err() {
            0
        } else if self.locked_until_ms != 0 {
            MAX_FAILED_ATTEMPTS
        } else {
            MAX_FAILED_ATTEMPTS - self.failed_attempts.min(MAX_FAILED_ATTEMPTS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_six_digit_pins_are_well_formed() {
        assert!(is_well_formed("123456"));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", " 12345"] {
            assert!(!is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_fifth_wrong_password_locks_for_fifteen_minutes() {
        let mut guard = AttemptGuard::default();
        for left in (1..=4).rev() {
            assert_eq!(guard.record_failure(1_000), Failure::AttemptsLeft(left));
        }
        assert_eq!(
            guard.record_failure(1_000),
            Failure::LockedUntil(1_000 + LOCKOUT_MS)
        );
        assert_eq!(guard.check(1_000 + LOCKOUT_MS - 1), Err(1_000 + LOCKOUT_MS));
        assert_eq!(guard.attempts_left(2_000), 0);
        assert_eq!(guard.check(1_000 + LOCKOUT_MS), Ok(()));
    }

    #[test]
    fn after_a_lockout_the_count_starts_again() {
        let mut guard = AttemptGuard::default();
        for _ in 0..MAX_FAILED_ATTEMPTS {
            guard.record_failure(0);
        }
        assert_eq!(guard.attempts_left(LOCKOUT_MS), MAX_FAILED_ATTEMPTS);
        assert_eq!(guard.record_failure(LOCKOUT_MS), Failure::AttemptsLeft(4));
    }

    #[test]
    fn a_correct_password_clears_the_count() {
        let mut guard = AttemptGuard::default();
        guard.record_failure(0);
        guard.record_failure(0);
        guard.record_success();
        assert_eq!(guard, AttemptGuard::default());
    }
}
