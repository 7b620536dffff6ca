//! `wechat-sim`: runs the WeChat Pay simulator standalone until killed, for the local demo.
//!
//! `wechat-sim --port P --keys FILE [--public-origin URL]`, where FILE is the dev keys JSON
//! (`mchid`, `appid`, `merchant_serial_no`, `merchant_public_key_pem`, `platform_private_key_pem`,
//! `platform_public_key_id`, `api_v3_key`). Prints `listening on http://127.0.0.1:P` first, then
//! the base URL.

use std::process::ExitCode;

use checkout_simulators::common::cli::{self, Standalone};
use checkout_simulators::wechat::{RunningWechat, WechatSimConfig, WechatSimulator};

/// The options, then the config from the keys file they name.
fn parse_args(args: &[String]) -> Result<WechatSimConfig, String> {
    let (mut port, mut keys, mut public_origin) = (0, None, None);
    for (name, value) in cli::options(args)? {
        match name {
            "--port" => port = cli::port(value)?,
            "--keys" => keys = Some(value),
            "--public-origin" => public_origin = Some(value.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let keys = keys.ok_or("--keys FILE is required")?;
    let json = std::fs::read_to_string(keys).map_err(|e| format!("{keys}: {e}"))?;
    let mut config = WechatSimConfig::from_keys_json(&json)?;
    config.port = port;
    config.public_origin = public_origin;
    Ok(config)
}

fn announce(sim: &RunningWechat) {
    println!("base url: {}", sim.base_url());
    println!("shopper pages and controls: {}", sim.origin());
}

fn main() -> ExitCode {
    Standalone {
        name: "wechat-sim",
        usage: "usage: wechat-sim --port P --keys FILE [--public-origin URL]",
    }
    .main(
        parse_args,
        WechatSimulator::try_start,
        RunningWechat::port,
        announce,
    )
}
