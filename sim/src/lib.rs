//! A seeded, deterministic simulation of the session saga, after TigerBeetle's VOPR: the real
//! state machine runs under a simulator that owns the clock, the network and the object's
//! storage, injects faults from a seed, checks invariants after every step, and replays any
//! failure exactly from its seed (`cargo xtask sim --seed S`).
//!
//! What is real and what is modelled:
//! - **Real**: the session saga (`checkout_edge::saga::step`, `next_alarm_at_s`, `needs_tracking`,
//!   `check_invariants`), the session record and its rules, the shared money and allocation
//!   rules, the ledger rules every wallet change goes through (`checkout_core::ledger`:
//!   credit, debit, hold, post, void, expire), and bKash's refund-claiming rule
//!   (`connectors::bkash::claim_latest_refund`).
//! - **Modelled** ([`wallet`]): the wallet object's bookkeeping around the ledger (its tables as
//!   maps keyed the same way; debit idempotent by transfer id, `Resolve` fencing an unseen id,
//!   hold groups both-or-neither and idempotent, post/void idempotent by group, credit and points
//!   idempotent by reference, holds expired by the wallet's alarm), read from
//!   `edge/src/objects/wallet.rs`, `wallet/holds.rs`, `wallet/points.rs` and `wallet_store.rs`.
//!   Pay passwords are not checked; a call re-run without the shopper's request is refused as
//!   the real wallet refuses it (no password).
//! - **Modelled** ([`providers`]): bKash, WeChat Pay and Stripe (card: Checkout Sessions,
//!   declines, automatic or manual capture, partial capture, void, the 7-day authorization
//!   lapse, refunds by our id), from their published rules, never from the connectors or the
//!   HTTP simulators.
//! - **Modelled** ([`world`]): the Durable Object shell (commit record and intents together,
//!   run intents one at a time per request, set the alarm, restart from the snapshot), the
//!   runtime's alarm (late, twice, throwing), the cron, shoppers, the merchant and the network.
//!
//! Layout: [`world`] drives (its `network` submodule carries the calls and notifications, its
//! `people` submodule the shoppers and the merchant); [`check`] holds the invariants; [`faults`]
//! the fault kinds and the seeded dice; [`trace`] the hashed trace; `main.rs` the command line.

pub mod check;
pub mod faults;
pub mod providers;
pub mod trace;
pub mod wallet;
pub mod world;

pub use world::{Outcome, RunConfig, World};

/// Runs one seed.
pub fn run(config: &RunConfig) -> Outcome {
    World::new(config).run(config)
}

/// The failure report: the seed, the invariant, the last steps, and how to replay.
pub fn report(outcome: &Outcome) -> String {
    let Some(failure) = &outcome.failure else {
        return format!(
            "seed {} ok: {} steps, trace {:016x}",
            outcome.seed, outcome.steps, outcome.hash
        );
    };
    let mut text = format!(
        "seed {} FAILED at step {}: {}\nlast {} steps:\n",
        outcome.seed,
        failure.step,
        failure.invariant,
        failure.tail.len()
    );
    for line in &failure.tail {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "trace {:016x}; replay: cargo xtask sim --seed {} --steps {} (--trace for every step)\n",
        outcome.hash, outcome.seed, outcome.asked_steps
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(seed: u64) -> RunConfig {
        RunConfig {
            seed,
            steps: 400,
            keep: 20,
            full_trace: false,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_trace() {
        for seed in [1, 7, 42] {
            let first = run(&config(seed));
            let second = run(&config(seed));
            assert_eq!(first.hash, second.hash, "seed {seed}");
            assert_eq!(first.steps, second.steps, "seed {seed}");
        }
        assert_ne!(run(&config(1)).hash, run(&config(2)).hash);
    }

    #[test]
    fn a_short_sweep_keeps_every_invariant_and_a_failure_names_its_replay() {
        let mut faults = faults::FaultCounts::default();
        for seed in 1..=5 {
            let outcome = run(&config(seed));
            assert!(outcome.failure.is_none(), "{}", report(&outcome));
            faults.merge(&outcome.faults);
        }
        assert!(faults.total() > 0);
        let mut failed = run(&config(3));
        failed.failure = Some(world::Failure {
            step: 12,
            invariant: "an example".into(),
            tail: vec!["11 t+5 cron".into()],
        });
        let text = report(&failed);
        assert!(text.contains("seed 3 FAILED at step 12: an example"));
        assert!(text.contains("cargo xtask sim --seed 3 --steps 400"));
    }
}
