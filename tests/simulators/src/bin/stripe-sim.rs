//! `stripe-sim`: runs the Stripe simulator standalone until killed, for the local demo.
//!
//! `stripe-sim [--port P] [--secret-key sk_test_...] [--webhook-secret whsec_...]
//! [--webhook-endpoint URL] [--public-origin URL] [--retry-base-ms N] [--max-attempts N]`;
//! prints `listening on http://127.0.0.1:P` first, then the base URL, the keys and the test cards.

use std::process::ExitCode;
use std::time::Duration;

use checkout_simulators::common::cli::{self, Standalone};
use checkout_simulators::stripe::{cards, RunningStripe, StripeSimConfig, StripeSimulator};

const USAGE: &str = "usage: stripe-sim [--port P] [--secret-key sk_test_...] \
                     [--webhook-secret whsec_...] [--webhook-endpoint URL] [--public-origin URL] \
                     [--retry-base-ms N] [--max-attempts N]";

fn parse_args(args: &[String]) -> Result<StripeSimConfig, String> {
    let mut config = StripeSimConfig::default();
    for (name, value) in cli::options(args)? {
        let number = |name: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name}: not a number"))
        };
        match name {
            "--port" => config.port = cli::port(value)?,
            "--secret-key" if value.starts_with("sk_test_") => config.secret_key = value.into(),
            "--secret-key" => return Err("--secret-key must be a test key (sk_test_...)".into()),
            "--webhook-secret" if value.starts_with("whsec_") => {
                config.webhook_secret = value.into()
            }
            "--webhook-secret" => return Err("--webhook-secret must start with whsec_".into()),
            "--webhook-endpoint" => config.webhook_endpoint = Some(value.into()),
            "--public-origin" => config.public_origin = Some(value.into()),
            "--retry-base-ms" => {
                config.retry_base = Duration::from_millis(number("--retry-base-ms")?)
            }
            "--max-attempts" => config.max_attempts = number("--max-attempts")?.clamp(1, 20) as u32,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

fn announce(sim: &RunningStripe) {
    println!("base url: {}", sim.base_url());
    println!(
        "secret key {}  webhook secret {}",
        sim.secret_key(),
        sim.webhook_secret()
    );
    match &sim.config().webhook_endpoint {
        Some(url) => println!("webhooks to {url}"),
        None => println!("no webhook endpoint (set one: POST /__sim/webhook_endpoint)"),
    }
    println!(
        "cards: {} pays, {} declines, {} asks for 3-D Secure",
        cards::SUCCESS_CARD,
        cards::GENERIC_DECLINE_CARD,
        cards::THREE_DS_CARD
    );
}

fn main() -> ExitCode {
    Standalone {
        name: "stripe-sim",
        usage: USAGE,
    }
    .main(
        parse_args,
        StripeSimulator::try_start,
        RunningStripe::port,
        announce,
    )
}
