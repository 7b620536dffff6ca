//! Builds the widget into `www/pkg/` (and its pinned release into `www/v/`) and the Worker into
//! `edge/build/`.

use crate::shell::{cargo_bin, node_bin, read, read_text, root, run_in, write, Result};
use crate::slim;

pub fn run() -> Result {
    widget_only()?;
    edge()
}

/// The widget and its versioned release, without the Worker.
pub fn widget_only() -> Result {
    widget()?;
    let release = crate::release::write()?;
    eprintln!(
        "widget release: <script src=\"https://<edge>{}\" integrity=\"{}\" crossorigin=\"anonymous\">",
        release.script_path, release.integrity
    );
    Ok(())
}

/// The toolchain the widget is built with. A nightly, pinned: only it can rebuild the standard
/// library without panic messages, source locations and `Debug` formatting, which the shopper
/// would otherwise download (about a tenth of the widget). The edge and all tests use stable.
pub const WIDGET_TOOLCHAIN: &str = "nightly-2026-05-20";

/// Rust flags for the widget: a panic aborts at once (nothing to print it to a shopper anyway).
const WIDGET_RUSTFLAGS: &str =
    "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none";

/// The widget: release wasm, split at its `lazy_part!` points (`widget/src/lazy.rs`),
/// wasm-bindgen's web glue for the main part, then wasm-opt for size on every part.
fn widget() -> Result {
    let root = root();
    let toolchain = format!("+{WIDGET_TOOLCHAIN}");
    run_in(
        &root,
        "cargo",
        &[
            &toolchain,
            "rustc",
            "-p",
            "checkout-widget",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--crate-type",
            "cdylib",
            "-Zbuild-std=std,panic_abort",
            "-Zbuild-std-features=optimize_for_size",
            "--",
            // The splitter follows relocations to see which code each part needs.
            "-Clink-args=--emit-relocs",
        ],
        &[
            ("RUSTFLAGS", WIDGET_RUSTFLAGS),
            // Its own target directory: stable builds of the same crates would otherwise evict
            // these on every switch.
            ("CARGO_TARGET_DIR", "target/widget"),
        ],
    )?;
    let pkg = root.join("www/pkg");
    let _ = std::fs::remove_dir_all(&pkg);
    let unsplit = root.join("target/widget/wasm32-unknown-unknown/release/checkout_widget.wasm");
    let main = root.join("target/wasm-split/checkout_widget.wasm");
    let chunks = crate::split::split(&unsplit, &main, &pkg)?;
    run_in(
        &root,
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--no-typescript",
            // The lazy parts call through the main part's function table.
            "--keep-lld-exports",
            "--out-dir",
            "www/pkg",
            main.to_str().unwrap_or_default(),
        ],
        &[],
    )?;
    let glue = pkg.join("checkout_widget.js");
    let wasm = pkg.join("checkout_widget_bg.wasm");
    let glue_text = slim::drop_stream_classes(&read_text(&glue)?)?;
    let (wasm_bytes, glue_text) = slim::shorten_import_names(&read(&wasm)?, &glue_text)?;
    write(&glue, glue_text)?;
    write(&wasm, &wasm_bytes)?;
    let remove_exports = format!("--pass-arg=remove-exports@{}", slim::UNUSED_EXPORTS);
    let main_part = wasm.to_str().unwrap_or_default();
    // Features are read from the module itself; `--all-features` would emit the compact-imports
    // encoding, which browsers refuse.
    run_in(
        &root,
        "wasm-opt",
        &[
            "--remove-exports",
            &remove_exports,
            "-Oz",
            main_part,
            "-o",
            main_part,
        ],
        &[],
    )?;
    for part in &chunks {
        let part = part.to_str().unwrap_or_default();
        run_in(&root, "wasm-opt", &["-Oz", part, "-o", part], &[])?;
    }
    crate::split::pin_parts(&pkg, &chunks)?;
    slim::minify_js(&root, &glue)?;
    slim::minify_js(&root, &pkg.join(crate::split::LINK_MODULE))
}

/// The Worker, through worker-build pointed at the pinned local tools: left to itself it would
/// download wasm-bindgen and wasm-opt from GitHub, which this machine cannot reach.
pub fn edge() -> Result {
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
    )?;
    // The entry module (`main` in wrangler.toml) beside the glue it imports: see its comment.
    let entry = root().join("edge/entry.mjs");
    std::fs::copy(&entry, root().join("edge/build/entry.mjs"))
        .map_err(|e| format!("{}: {e}", entry.display()))?;
    Ok(())
}
