//! The provider simulators, started with the credentials in `.dev.vars`, and the Worker variables
//! that point the Worker at them. Used by the tests and by `cargo xtask dev`.

use checkout_simulators::bkash::{BkashSimulator, RunningBkash, SimConfig};

use crate::dev_vars::DevVars;

/// A bKash simulator on `port` (0: a free one) accepting the Worker's dev credentials.
pub fn start_bkash(vars: &DevVars, port: u16) -> RunningBkash {
    BkashSimulator::start(SimConfig {
        username: vars.bkash.username.clone(),
        password: vars.bkash.password.clone(),
        app_key: vars.bkash.app_key.clone(),
        app_secret: vars.bkash.app_secret.clone(),
        port,
        ..SimConfig::default()
    })
}

/// `BKASH_BASE_URL` and friends for a Worker that talks to `sim`.
pub fn bkash_worker_vars(sim: &RunningBkash) -> Vec<(String, String)> {
    vec![
        ("BKASH_BASE_URL".into(), sim.base_url()),
        // Short enough that a simulated hang ends a test in seconds, not half a minute.
        ("BKASH_TIMEOUT_MS".into(), "3000".into()),
    ]
}
