//! Installs what the project needs, pinned, and only what is missing: on a machine that already
//! has everything it costs a few seconds.

use std::path::Path;

use checkout_tests::dev_vars::DevVars;

use crate::shell::{cargo_bin, node_bin, output, root, run_in, Result};

/// `worker-build` drives the Worker's wasm build; 0.8.7 matches the `worker` crate.
const WORKER_BUILD_VERSION: &str = "0.8.7";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Enough to build and run the Worker and the widget.
    Dev,
    /// Also the browser for tests and the tools for benchmarks.
    Everything,
}

pub fn run(needs: Needs) -> Result {
    wasm_target()?;
    widget_toolchain()?;
    worker_build()?;
    wasm_bindgen_cli()?;
    npm_tools()?;
    if needs == Needs::Everything {
        debian_packages()?;
        cargo_fuzz()?;
    }
    dev_vars()
}

/// What `cargo xtask fuzz` needs: the pinned nightly and cargo-fuzz.
pub fn fuzzing() -> Result {
    widget_toolchain()?;
    cargo_fuzz()
}

fn wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed.lines().any(|l| l == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run_in(
        &root(),
        "rustup",
        &["target", "add", "wasm32-unknown-unknown"],
        &[],
    )
}

/// The widget builds its own standard library with a pinned nightly (see
/// [`crate::build::WIDGET_TOOLCHAIN`]); that needs the toolchain and its sources, nothing else.
fn widget_toolchain() -> Result {
    let toolchain = crate::build::WIDGET_TOOLCHAIN;
    let installed = output("rustup", &["toolchain", "list"]).unwrap_or_default();
    let sources = output(
        "rustup",
        &["component", "list", "--installed", "--toolchain", toolchain],
    )
    .unwrap_or_default();
    if installed.lines().any(|l| l.starts_with(toolchain))
        && sources.lines().any(|l| l.starts_with("rust-src"))
    {
        return Ok(());
    }
    run_in(
        &root(),
        "rustup",
        &[
            "toolchain",
            "install",
            toolchain,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ],
        &[],
    )
}

fn worker_build() -> Result {
    let bin = cargo_bin().join("worker-build");
    let version = output(bin.to_str().unwrap_or_default(), &["--version"]).unwrap_or_default();
    if version.contains(WORKER_BUILD_VERSION) {
        return Ok(());
    }
    run_in(
        &root(),
        "cargo",
        &[
            "install",
            "worker-build",
            "--version",
            WORKER_BUILD_VERSION,
            "--locked",
        ],
        &[],
    )
}

/// cargo-fuzz, pinned ([`crate::fuzz::CARGO_FUZZ_VERSION`]); libFuzzer itself comes with the
/// fuzz crate's `libfuzzer-sys` dependency, built from its C++ sources by the system compiler.
fn cargo_fuzz() -> Result {
    let version = crate::fuzz::CARGO_FUZZ_VERSION;
    let bin = cargo_bin().join("cargo-fuzz");
    let installed = output(bin.to_str().unwrap_or_default(), &["--version"]).unwrap_or_default();
    if installed.split_whitespace().nth(1) == Some(version) {
        return Ok(());
    }
    run_in(
        &root(),
        "cargo",
        &["install", "cargo-fuzz", "--version", version, "--locked"],
        &[],
    )
}

/// The CLI must be exactly the version of the `wasm-bindgen` crate in Cargo.lock. Installed
/// without `--locked`: its lock file names a dependency version the registry no longer serves.
fn wasm_bindgen_cli() -> Result {
    let wanted = locked_version("wasm-bindgen")?;
    let bin = cargo_bin().join("wasm-bindgen");
    let version = output(bin.to_str().unwrap_or_default(), &["--version"]).unwrap_or_default();
    if version.split_whitespace().nth(1) == Some(wanted.as_str()) {
        return Ok(());
    }
    run_in(
        &root(),
        "cargo",
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            &wanted,
            "--force",
        ],
        &[],
    )
}

/// The version of `package` that Cargo.lock pins.
pub fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == name_line {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                return Ok(version.trim_matches('"').to_owned());
            }
        }
    }
    Err(format!("{package} is not in Cargo.lock"))
}

/// wrangler, a Node 22 for it, and binaryen's wasm-opt, as package.json pins them. `npm install`
/// rather than `npm ci`: the lock file names other platforms' optional packages, which the
/// registry mirror may lack.
fn npm_tools() -> Result {
    let root = root();
    let marker = root.join("node_modules/.package-lock.json");
    let fresh = newer_than(&marker, &root.join("package.json"))
        && newer_than(&marker, &root.join("package-lock.json"))
        && node_bin().join("wrangler").exists();
    if fresh {
        return Ok(());
    }
    run_in(&root, "npm", &["install", "--no-audit", "--no-fund"], &[])
}

fn newer_than(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a >= b)
}

/// Debian's chromium and chromedriver for the browser tests, brotli for size figures.
fn debian_packages() -> Result {
    let have = |tool: &str| output("sh", &["-c", &format!("command -v {tool}")]).is_some();
    if have("chromium") && have("chromedriver") && have("brotli") {
        return Ok(());
    }
    let sudo: &[&str] = if output("id", &["-u"]).as_deref() == Some("0") {
        &[]
    } else {
        &["sudo"]
    };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.to_vec();
        full.push("apt-get");
        full.extend_from_slice(args);
        run_in(
            &root(),
            full[0],
            &full[1..],
            &[("DEBIAN_FRONTEND", "noninteractive")],
        )
    };
    apt(&["update", "-qq"])?;
    apt(&[
        "install",
        "-y",
        "-qq",
        "chromium",
        "chromium-driver",
        "brotli",
    ])
}

/// Generates `.dev.vars` (git-ignored) with fresh random dev secrets, once.
fn dev_vars() -> Result {
    let path = root().join(".dev.vars");
    // A file from before the demo merchant had points rules is regenerated too; one from before
    // merchants had allowed origins or the pay-password pepper gets them, keeping its keys.
    let existing = DevVars::read(&path).ok();
    if let Some(vars) = existing.filter(|v| v.merchant_points_configured()) {
        if vars.merchant_origins_configured() && vars.pepper_configured() {
            return Ok(());
        }
        if !vars.merchant_origins_configured() {
            eprintln!("adding the merchants' allowed origins to .dev.vars");
        }
        if !vars.pepper_configured() {
            eprintln!("adding a pay-password pepper (PAY_PASSWORD_PEPPERS) to .dev.vars");
        }
        return vars
            .with_default_origins()
            .with_default_pepper()
            .write(&path)
            .map_err(|e| format!("writing .dev.vars: {e}"));
    }
    eprintln!("generating dev secrets in .dev.vars");
    DevVars::generate()
        .write(&path)
        .map_err(|e| format!("writing .dev.vars: {e}"))
}
