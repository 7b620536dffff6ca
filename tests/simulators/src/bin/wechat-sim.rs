//! `wechat-sim`: runs the WeChat Pay simulator standalone until killed, for the local demo.
//!
//! `wechat-sim --port P --keys FILE [--public-origin URL]`, where FILE is the dev keys JSON
//! (`mchid`, `appid`, `merchant_serial_no`, `merchant_public_key_pem`, `platform_private_key_pem`,
//! `platform_public_key_id`, `api_v3_key`). Prints `listening on http://127.0.0.1:P` first, then
//! the base URL.

use std::process::ExitCode;

use checkout_simulators::wechat::{WechatSimConfig, WechatSimulator};

struct Args {
    port: u16,
    keys: String,
    public_origin: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (mut port, mut keys, mut public_origin) = (0, None, None);
    let mut i = 0;
    while i < args.len() {
        let value = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--port" => port = value.parse().map_err(|_| "--port: not a port")?,
            "--keys" => keys = Some(value.clone()),
            "--public-origin" => public_origin = Some(value.clone()),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(Args {
        port,
        keys: keys.ok_or("--keys FILE is required")?,
        public_origin,
    })
}

fn config(args: &Args) -> Result<WechatSimConfig, String> {
    let json = std::fs::read_to_string(&args.keys).map_err(|e| format!("{}: {e}", args.keys))?;
    let mut config = WechatSimConfig::from_keys_json(&json)?;
    config.port = args.port;
    config.public_origin = args.public_origin.clone();
    Ok(config)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: wechat-sim --port P --keys FILE [--public-origin URL]");
        return ExitCode::SUCCESS;
    }
    let config = match parse_args(&args).and_then(|args| config(&args)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("wechat-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let sim = match WechatSimulator::try_start(config) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("wechat-sim: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://127.0.0.1:{}", sim.port());
    println!("base url: {}", sim.base_url());
    println!("shopper pages and controls: {}", sim.origin());
    loop {
        std::thread::park();
    }
}
