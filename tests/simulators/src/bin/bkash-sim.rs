//! `bkash-sim`: runs the bKash simulator standalone until killed, for the local demo.
//!
//! `bkash-sim [--port P] [--token-lifetime-s N] [--public-origin URL]`; prints
//! `listening on http://127.0.0.1:P` first, then the base URL and the sandbox credentials.

use std::process::ExitCode;

use checkout_simulators::bkash::{self, BkashSimulator, SimConfig};

fn parse_args(args: &[String]) -> Result<SimConfig, String> {
    let mut config = SimConfig::default();
    let mut i = 0;
    while i < args.len() {
        let value = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--port" => config.port = value.parse().map_err(|_| "--port: not a port")?,
            "--token-lifetime-s" => {
                config.token_lifetime_s = value
                    .parse()
                    .map_err(|_| "--token-lifetime-s: not a number")?
            }
            "--public-origin" => config.public_origin = Some(value.clone()),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(config)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: bkash-sim [--port P] [--token-lifetime-s N] [--public-origin URL]");
        return ExitCode::SUCCESS;
    }
    let config = match parse_args(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("bkash-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let sim = match BkashSimulator::try_start(config) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("bkash-sim: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://127.0.0.1:{}", sim.port());
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
    loop {
        std::thread::park();
    }
}
