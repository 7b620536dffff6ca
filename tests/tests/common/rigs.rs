//! A test file's rig: the shared [`fixtures::Rig`] (Worker, client, dev secrets) with the
//! provider simulators it pays through beside it. A test file adds its own calls in an
//! `impl Rig` block on its alias, e.g. `type Rig = SimRig<RunningWechat>`.

use std::ops::Deref;
use std::time::Duration;

use checkout_simulators::bkash::RunningBkash;
use checkout_simulators::wechat::RunningWechat;
use checkout_tests::dev_vars::DevVars;
use checkout_tests::fixtures;
use checkout_tests::providers::{self, Stripe};

/// How far apart the quick simulators retry a notification or webhook nobody acknowledged
/// (instead of the providers' schedules of minutes and hours).
const RETRY_GAP: Duration = Duration::from_millis(500);

/// The shared rig with `sim` beside it; it derefs to the shared rig.
pub struct SimRig<S> {
    pub sim: S,
    pub base: fixtures::Rig,
}

impl<S> Deref for SimRig<S> {
    type Target = fixtures::Rig;

    fn deref(&self) -> &fixtures::Rig {
        &self.base
    }
}

/// A Worker with WeChat Pay (plus `extra` variables) and a simulator that retries its
/// notifications every half second.
pub fn wechat_rig(label: &str, extra: &[(&str, &str)]) -> SimRig<RunningWechat> {
    let sim = providers::start_wechat_with_retries(&DevVars::of_repo(), 0, RETRY_GAP);
    let base = fixtures::Rig::start_with_vars(label, providers::wechat_worker_vars(&sim), extra);
    SimRig { sim, base }
}

/// A Worker with bKash (plus `extra` variables) and the bKash simulator.
pub fn bkash_rig(label: &str, extra: &[(&str, &str)]) -> SimRig<RunningBkash> {
    let sim = providers::start_bkash(&DevVars::of_repo(), 0);
    let base = fixtures::Rig::start_with_vars(label, providers::bkash_worker_vars(&sim), extra);
    SimRig { sim, base }
}

/// A Worker taking cards (plus `extra` variables) through a Stripe simulator that retries its
/// webhooks half a second apart (doubling); they go nowhere until [`SimRig::send_webhooks`].
pub fn stripe_rig(label: &str, extra: &[(&str, &str)]) -> SimRig<Stripe> {
    let sim = providers::start_stripe_with_retries(0, RETRY_GAP);
    let base = fixtures::Rig::start_with_vars(label, providers::stripe_worker_vars(&sim), extra);
    SimRig { sim, base }
}

impl SimRig<Stripe> {
    /// Points the simulator's webhooks at this rig's Worker.
    pub fn send_webhooks(&self) {
        self.sim.send_webhooks_to(&self.base.worker.base_url);
    }
}

/// Both wallet-style providers, for tests that cross them.
pub struct BkashAndWechat {
    pub bkash: RunningBkash,
    pub wechat: RunningWechat,
}

/// A Worker with bKash and WeChat Pay (plus `extra` variables) and both simulators, WeChat's
/// retrying its notifications every half second.
pub fn bkash_and_wechat_rig(label: &str, extra: &[(&str, &str)]) -> SimRig<BkashAndWechat> {
    let vars = DevVars::of_repo();
    let bkash = providers::start_bkash(&vars, 0);
    let wechat = providers::start_wechat_with_retries(&vars, 0, RETRY_GAP);
    let mut worker_vars = providers::bkash_worker_vars(&bkash);
    worker_vars.extend(providers::wechat_worker_vars(&wechat));
    let base = fixtures::Rig::start_with_vars(label, worker_vars, extra);
    SimRig {
        sim: BkashAndWechat { bkash, wechat },
        base,
    }
}
