//! The faults a seed injects, and how many of each a run injected.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Every kind of fault the world can inject (issue 15, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// A call never reached its target; the caller hears nothing.
    LostBefore,
    /// The target acted; its answer never came back.
    LostAfter,
    /// A provider answered 5xx / timed out without acting (an unknown outcome).
    ProviderUnavailable,
    /// The answer came 30 s late (after recovery may have replaced the intent).
    Stall30s,
    /// A notification or callback delivered twice.
    DuplicateNotice,
    /// A notification held back so that later ones overtake it.
    OutOfOrderNotice,
    /// A notification delivered hours late.
    LateNotice,
    /// A notification or callback that never arrives.
    DroppedNotice,
    /// The shopper pays the instant the session has the create answer: the notification races
    /// the rest of the chain that created it.
    EarlyNotice,
    /// A bKash callback claiming success that the shopper never gave.
    ForgedCallback,
    /// The session object restarts between two effects (uncommitted work is lost).
    Restart,
    /// The object crashes after a step, before its commit: the step never happened.
    CrashBeforeCommit,
    /// The alarm fires late.
    AlarmLate,
    /// The alarm fires twice.
    AlarmTwice,
    /// The alarm handler throws (retried by the runtime, up to 7 times here).
    AlarmThrows,
    /// The provider's clock is off the session's (±6 min).
    ClockSkew,
    /// The same idempotency key sent many times at once.
    SameKeyBurst,
    /// The same idempotency key with another split (amount).
    SameKeyOtherAmount,
    /// The same idempotency key with another method.
    SameKeyOtherMethod,
    /// A retry with another method after a failure.
    RetryOtherMethod,
    /// Cancel sent while a payment is under way.
    CancelRacingPay,
    /// A refund sent while the payment settles.
    RefundRacingSettlement,
    /// The provider took another amount or reported another order.
    ProviderMismatch,
    /// The shopper pays at the provider around the session's end (the provider's clock decides).
    LateShopper,
    /// WeChat answers a close as done, but the shopper already paying gets through: a success
    /// after the attempt ended.
    PaidAfterClose,
    /// A provider call caused by a stranger was over its budget (throttled).
    Throttled,
    /// Card authorizations lapse at Stripe before the session's own void window ends (an issuer
    /// with a shorter window): the saga learns it from an event or its cron's query.
    AuthorizationLapsedEarly,
}

/// How many of each fault a run injected.
#[derive(Debug, Clone, Default)]
pub struct FaultCounts(pub BTreeMap<Fault, u64>);

impl FaultCounts {
    pub fn add(&mut self, fault: Fault) {
        *self.0.entry(fault).or_insert(0) += 1;
    }

    pub fn merge(&mut self, other: &FaultCounts) {
        for (fault, n) in &other.0 {
            *self.0.entry(*fault).or_insert(0) += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// The seeded source of every choice, and the switch that turns faults off for quiescence.
pub struct Dice {
    pub rng: ChaCha8Rng,
    pub faults_on: bool,
    pub counts: FaultCounts,
}

impl Dice {
    /// True with probability `per_mille`/1000, counted as `fault`, when faults are on.
    pub fn fault(&mut self, fault: Fault, per_mille: u32) -> bool {
        if !self.faults_on {
            return false;
        }
        let hit = self.rng.gen_range(0..1000) < per_mille;
        if hit {
            self.counts.add(fault);
        }
        hit
    }

    /// True with probability `per_mille`/1000 (an ordinary choice, not a fault).
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.rng.gen_range(0..1000) < per_mille
    }

    pub fn range(&mut self, low: i64, high_inclusive: i64) -> i64 {
        self.rng.gen_range(low..=high_inclusive)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }
}
