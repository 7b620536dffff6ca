//! Builds the widget into `www/pkg/` (and its pinned release into `www/v/`) and the Worker into
//! `edge/build/`.

use crate::shell::{cargo_bin, node_bin, root, run_in, Result};

pub fn run() -> Result {
    widget()?;
    let release = crate::release::write()?;
    eprintln!(
        "widget release: <script src=\"https://<edge>{}\" integrity=\"{}\" crossorigin=\"anonymous\">",
        release.script_path, release.integrity
    );
    edge()
}

/// The widget: release wasm, wasm-bindgen's web glue, then wasm-opt for size.
fn widget() -> Result {
    let root = root();
    run_in(
        &root,
        "cargo",
        &[
            "build",
            "-p",
            "checkout-widget",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ],
        &[],
    )?;
    run_in(
        &root,
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--no-typescript",
            "--out-dir",
            "www/pkg",
            "target/wasm32-unknown-unknown/release/checkout_widget.wasm",
        ],
        &[],
    )?;
    let wasm = "www/pkg/checkout_widget_bg.wasm";
    // Features are read from the module itself; `--all-features` would emit the compact-imports
    // encoding, which browsers refuse.
    run_in(&root, "wasm-opt", &["-Oz", wasm, "-o", wasm], &[])
}

/// The Worker, through worker-build pointed at the pinned local tools: left to itself it would
/// download wasm-bindgen and wasm-opt from GitHub, which this machine cannot reach.
fn edge() -> Result {
    let wasm_bindgen = cargo_bin().join("wasm-bindgen");
    let wasm_opt = node_bin().join("wasm-opt");
    let esbuild = node_bin().join("esbuild");
    run_in(
        &root().join("edge"),
        "worker-build",
        &["--release"],
        &[
            (
                "WASM_BINDGEN_BIN",
                wasm_bindgen.to_str().unwrap_or_default(),
            ),
            ("WASM_OPT_BIN", wasm_opt.to_str().unwrap_or_default()),
            ("ESBUILD_BIN", esbuild.to_str().unwrap_or_default()),
        ],
    )
}
