//! `bkash-sim`: runs the bKash simulator standalone until killed, for the local demo.
//!
//! `bkash-sim [--port P] [--token-lifetime-s N] [--public-origin URL]`; prints
//! `listening on http://127.0.0.1:P` first, then the base URL and the sandbox credentials.

use std::process::ExitCode;

use checkout_simulators::bkash::{self, BkashSimulator, RunningBkash, SimConfig};
use checkout_simulators::common::cli::{self, Standalone};

fn parse_args(args: &[String]) -> Result<SimConfig, String> {
    let mut config = SimConfig::default();
    for (name, value) in cli::options(args)? {
        match name {
            "--port" => config.port = cli::port(value)?,
            "--token-lifetime-s" => {
                config.token_lifetime_s = value
                    .parse()
                    .map_err(|_| "--token-lifetime-s: not a number")?
            }
            "--public-origin" => config.public_origin = Some(value.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

fn announce(sim: &RunningBkash) {
    println!("base url: {}", sim.base_url());
    println!(
        "username={} password={} app_key={} app_secret={}",
        bkash::SANDBOX_USERNAME,
        bkash::SANDBOX_PASSWORD,
        bkash::SANDBOX_APP_KEY,
        bkash::SANDBOX_APP_SECRET
    );
    println!(
        "wallet {} otp {} pin {}",
        bkash::RICH_WALLET,
        bkash::SANDBOX_OTP,
        bkash::SANDBOX_PIN
    );
}

fn main() -> ExitCode {
    Standalone {
        name: "bkash-sim",
        usage: "usage: bkash-sim [--port P] [--token-lifetime-s N] [--public-origin URL]",
    }
    .main(
        parse_args,
        BkashSimulator::try_start,
        RunningBkash::port,
        announce,
    )
}
