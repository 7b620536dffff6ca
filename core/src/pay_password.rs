//! The pay password: its format, and the attempts-and-lockout policy that guards balance payments.
//!
//! The hash itself (a peppered, slow KDF) is computed by the edge with the runtime's WebCrypto;
//! this module only decides what a password may look like and when a wallet is locked.
//!
//! The lockout escalates. Every [`MAX_FAILED_ATTEMPTS`] wrong passwords in a row lock balance
//! payments for the next step of [`LOCKOUT_STEPS_MS`] (15 minutes, 1 hour, 24 hours); the round
//! after the last step ends in a hard lock that only the merchant lifts (its unlock call, or a new
//! password). A wallet therefore admits at most [`MAX_GUESSES_BEFORE_HARD_LOCK`] wrong passwords
//! in all, and never more than that in any day, until the merchant steps in. A correct password
//! clears the count and the escalation: the owner has proven themselves.

use serde::{Deserialize, Serialize};

/// Wrong passwords allowed in one round, before the round's lockout.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;

/// How long each successive lockout lasts; the round after the last ends in a hard lock.
pub const LOCKOUT_STEPS_MS: [i64; 3] = [15 * 60 * 1000, 60 * 60 * 1000, 24 * 60 * 60 * 1000];

/// Wrong passwords a wallet admits before the hard lock: one round per timed step, and the last.
pub const MAX_GUESSES_BEFORE_HARD_LOCK: u32 =
    MAX_FAILED_ATTEMPTS * (LOCKOUT_STEPS_MS.len() as u32 + 1);

/// Wrong passwords a wallet admits in any 24 hours: the rounds before the day-long lockout.
pub const MAX_GUESSES_PER_DAY: u32 = MAX_FAILED_ATTEMPTS * (LOCKOUT_STEPS_MS.len() as u32);

/// The first lockout's length, as the widget's default message says it.
pub const LOCKOUT_MS: i64 = LOCKOUT_STEPS_MS[0];

/// The lengths of the timed lockouts a wallet applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutSteps {
    pub steps_ms: [i64; 3],
}

impl LockoutSteps {
    pub const DEFAULT: LockoutSteps = LockoutSteps {
        steps_ms: LOCKOUT_STEPS_MS,
    };

    /// Steps from a configuration (`"900,3600,86400"`, seconds). A live-mode wallet never gets a
    /// step shorter than the default: configuration can only make its lockout stricter. Test
    /// mode takes any step of at least a second (tests cannot wait a day).
    pub fn configured(text: &str, livemode: bool) -> Result<LockoutSteps, &'static str> {
        let parsed: Vec<i64> = text
            .split(',')
            .map(|part| part.trim().parse::<i64>())
            .collect::<Result<_, _>>()
            .map_err(|_| "three whole numbers of seconds, comma-separated")?;
        let [a, b, c] = parsed[..] else {
            return Err("three whole numbers of seconds, comma-separated");
        };
        let mut steps_ms = [0; 3];
        for (i, s) in [a, b, c].into_iter().enumerate() {
            if !(1..=365 * 24 * 60 * 60).contains(&s) {
                return Err("each step between 1 second and a year");
            }
            steps_ms[i] = s * 1000;
            if livemode {
                steps_ms[i] = steps_ms[i].max(LOCKOUT_STEPS_MS[i]);
            }
        }
        Ok(LockoutSteps { steps_ms })
    }
}

/// The pay password is a 6-digit PIN, as wallet apps in the markets we serve use.
pub const PASSWORD_LEN: usize = 6;

/// Whether `password` has the shape of a pay password.
pub fn is_well_formed(password: &str) -> bool {
    password.len() == PASSWORD_LEN && password.bytes().all(|b| b.is_ascii_digit())
}

/// Failed attempts and the lockout of one wallet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptGuard {
    /// Wrong passwords in the current round.
    pub failed_attempts: u32,
    /// Unix ms until which balance payments are refused; 0 when not locked for a time.
    pub locked_until_ms: i64,
    /// Lockouts since the last correct password (or unlock): the step of the escalation.
    #[serde(default)]
    pub lockouts: u32,
    /// Locked until the merchant unlocks the wallet or sets a new password.
    #[serde(default)]
    pub hard_locked: bool,
}

/// Why balance payments are refused now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Until this instant (unix ms).
    Until(i64),
    /// Until the merchant unlocks the wallet.
    Hard,
}

/// The result of a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The shopper may try again this many times.
    AttemptsLeft(u32),
    /// The wallet is now locked; the merchant is told ([`Lock::Hard`] needs the merchant).
    Locked(Lock),
}

impl AttemptGuard {
    /// `Err` while the wallet is locked.
    pub fn check(&self, now_ms: i64) -> Result<(), Lock> {
        if self.hard_locked {
            Err(Lock::Hard)
        } else if now_ms < self.locked_until_ms {
            Err(Lock::Until(self.locked_until_ms))
        } else {
            Ok(())
        }
    }

    /// Counts a wrong password (the caller has checked the wallet is not locked). The last of a
    /// round locks the wallet for the round's step, or hard-locks it after the last step.
    pub fn record_failure(&mut self, now_ms: i64) -> Failure {
        self.record_failure_with(LockoutSteps::DEFAULT, now_ms)
    }

    /// As [`AttemptGuard::record_failure`], with configured step lengths.
    pub fn record_failure_with(&mut self, steps: LockoutSteps, now_ms: i64) -> Failure {
        if self.locked_until_ms != 0 && now_ms >= self.locked_until_ms {
            // A served lockout starts a fresh round; the escalation remains.
            self.failed_attempts = 0;
            self.locked_until_ms = 0;
        }
        self.failed_attempts += 1;
        if self.failed_attempts < MAX_FAILED_ATTEMPTS {
            return Failure::AttemptsLeft(MAX_FAILED_ATTEMPTS - self.failed_attempts);
        }
        let step = self.lockouts as usize;
        self.lockouts += 1;
        match steps.steps_ms.get(step) {
            Some(step_ms) => {
                self.locked_until_ms = now_ms + step_ms;
                Failure::Locked(Lock::Until(self.locked_until_ms))
            }
            None => {
                self.hard_locked = true;
                self.locked_until_ms = 0;
                Failure::Locked(Lock::Hard)
            }
        }
    }

    /// A correct password clears the count and the escalation.
    pub fn record_success(&mut self) {
        *self = AttemptGuard::default();
    }

    /// The merchant's unlock (or a new password): everything starts again.
    pub fn unlock(&mut self) {
        *self = AttemptGuard::default();
    }

    /// Attempts left before the next lockout, as the widget shows them.
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
    use proptest::prelude::*;

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;

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
            Failure::Locked(Lock::Until(1_000 + LOCKOUT_MS))
        );
        assert_eq!(
            guard.check(1_000 + LOCKOUT_MS - 1),
            Err(Lock::Until(1_000 + LOCKOUT_MS))
        );
        assert_eq!(guard.attempts_left(2_000), 0);
        assert_eq!(guard.check(1_000 + LOCKOUT_MS), Ok(()));
    }

    /// Fails a whole round at `now`, returning the round's outcome.
    fn fail_round(guard: &mut AttemptGuard, now: i64) -> Failure {
        for _ in 1..MAX_FAILED_ATTEMPTS {
            assert!(matches!(
                guard.record_failure(now),
                Failure::AttemptsLeft(_)
            ));
        }
        guard.record_failure(now)
    }

    #[test]
    fn lockouts_escalate_to_an_hour_a_day_then_a_hard_lock() {
        let mut guard = AttemptGuard::default();
        let mut now = 0;
        for step_ms in LOCKOUT_STEPS_MS {
            assert_eq!(
                fail_round(&mut guard, now),
                Failure::Locked(Lock::Until(now + step_ms))
            );
            assert!(guard.check(now + step_ms - 1).is_err());
            now += step_ms;
            assert_eq!(guard.attempts_left(now), MAX_FAILED_ATTEMPTS);
        }
        assert_eq!(fail_round(&mut guard, now), Failure::Locked(Lock::Hard));
        assert_eq!(guard.check(now + 365 * DAY_MS), Err(Lock::Hard));
        assert_eq!(guard.attempts_left(now + 365 * DAY_MS), 0);
        guard.unlock();
        assert_eq!(guard.check(now), Ok(()));
        assert_eq!(
            fail_round(&mut guard, now),
            Failure::Locked(Lock::Until(now + LOCKOUT_STEPS_MS[0])),
            "an unlock starts the escalation again"
        );
    }

    #[test]
    fn configured_steps_never_shorten_a_live_lockout() {
        let test = LockoutSteps::configured("2, 3,4", false).unwrap();
        assert_eq!(test.steps_ms, [2_000, 3_000, 4_000]);
        let live = LockoutSteps::configured("2,3,172800", true).unwrap();
        assert_eq!(
            live.steps_ms,
            [LOCKOUT_STEPS_MS[0], LOCKOUT_STEPS_MS[1], 172_800_000]
        );
        for bad in ["", "1,2", "1,2,3,4", "0,1,2", "a,b,c", "-1,2,3"] {
            assert!(LockoutSteps::configured(bad, false).is_err(), "{bad:?}");
        }
        let mut guard = AttemptGuard::default();
        for _ in 1..MAX_FAILED_ATTEMPTS {
            guard.record_failure_with(test, 0);
        }
        assert_eq!(
            guard.record_failure_with(test, 0),
            Failure::Locked(Lock::Until(2_000))
        );
    }

    #[test]
    fn a_correct_password_clears_the_count_and_the_escalation() {
        let mut guard = AttemptGuard::default();
        fail_round(&mut guard, 0);
        guard.record_failure(LOCKOUT_MS);
        guard.record_success();
        assert_eq!(guard, AttemptGuard::default());
    }

    proptest! {
        /// Whatever the timing of an attacker's wrong passwords, a wallet admits at most
        /// `MAX_GUESSES_PER_DAY` of them in any 24 hours (today: 480), and
        /// `MAX_GUESSES_BEFORE_HARD_LOCK` in all.
        #[test]
        fn wrong_passwords_per_day_are_bounded(gaps in prop::collection::vec(0_i64..2 * DAY_MS, 1..200)) {
            let mut guard = AttemptGuard::default();
            let mut now = 0_i64;
            let mut admitted = Vec::new();
            for gap in gaps {
                now += gap;
                if guard.check(now).is_ok() {
                    guard.record_failure(now);
                    admitted.push(now);
                }
            }
            prop_assert!(admitted.len() as u32 <= MAX_GUESSES_BEFORE_HARD_LOCK);
            for (i, start) in admitted.iter().enumerate() {
                let in_day = admitted[i..].iter().take_while(|t| **t < start + DAY_MS).count();
                prop_assert!(in_day as u32 <= MAX_GUESSES_PER_DAY, "{} in a day", in_day);
            }
            if admitted.len() as u32 == MAX_GUESSES_BEFORE_HARD_LOCK {
                prop_assert_eq!(guard.check(now), Err(Lock::Hard));
            }
        }
    }
}
