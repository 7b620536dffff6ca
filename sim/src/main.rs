//! `checkout-sim [--seeds N] [--steps M] [--seed S] [--first F] [--trace]`: runs seeds F..F+N
//! (or the one seed S, printing its trace tail or, with `--trace`, every line), then the totals.

use std::process::ExitCode;
use std::time::Instant;

use checkout_sim::faults::FaultCounts;
use checkout_sim::{report, run, RunConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\nusage: checkout-sim [--seeds N] [--steps M] [--seed S] [--first F] [--trace]");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let seeds: Vec<u64> = match options.seed {
        Some(seed) => vec![seed],
        None => (options.first..options.first + options.seeds).collect(),
    };
    let mut faults = FaultCounts::default();
    let mut endings = std::collections::BTreeMap::<String, u64>::new();
    let mut steps = 0;
    let mut failed = 0;
    for seed in &seeds {
        let config = RunConfig {
            seed: *seed,
            steps: options.steps,
            keep: 40,
            full_trace: options.trace,
        };
        let outcome = run(&config);
        steps += outcome.steps;
        faults.merge(&outcome.faults);
        for (ending, n) in &outcome.endings {
            *endings.entry(ending.clone()).or_insert(0) += n;
        }
        if let Some(lines) = &outcome.trace {
            for line in lines {
                println!("{line}");
            }
        }
        if outcome.failure.is_some() {
            failed += 1;
            eprintln!("{}", report(&outcome));
            if options.seed.is_none() {
                break;
            }
        } else if options.seed.is_some() {
            println!("{}", report(&outcome));
            println!("endings: {:?}", outcome.endings);
        }
    }
    let ran = if failed > 0 && options.seed.is_none() {
        steps_note(&seeds, failed)
    } else {
        seeds.len()
    };
    println!(
        "sim: {ran} seeds, {steps} steps in {:.1} s, {} faults injected",
        started.elapsed().as_secs_f64(),
        faults.total()
    );
    println!("fault mix: {}", mix(&faults));
    let endings: Vec<String> = endings.iter().map(|(e, n)| format!("{e} {n}")).collect();
    println!("endings: {}", endings.join(", "));
    if failed > 0 {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn steps_note(seeds: &[u64], _failed: u64) -> usize {
    seeds.len()
}

fn mix(faults: &FaultCounts) -> String {
    faults
        .0
        .iter()
        .map(|(fault, n)| format!("{fault:?} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Options {
    seeds: u64,
    first: u64,
    steps: u64,
    seed: Option<u64>,
    trace: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            seeds: 100,
            first: 1,
            steps: 2_000,
            seed: None,
            trace: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |flag: &str| -> Result<u64, String> {
                args.next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("{flag} takes a number"))
            };
            match arg.as_str() {
                "--seeds" => options.seeds = number("--seeds")?,
                "--first" => options.first = number("--first")?,
                "--steps" => options.steps = number("--steps")?,
                "--seed" => options.seed = Some(number("--seed")?),
                "--trace" => options.trace = true,
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(options)
    }
}
