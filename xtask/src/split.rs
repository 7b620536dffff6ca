//! Splits the widget's wasm at its `lazy_part!` points (Leptos' code splitting; the parts are
//! listed in `widget/src/components/parts.rs`), so the first view downloads only the code it
//! runs; the rest loads after it, or when the shopper gets there.

use std::path::{Path, PathBuf};

use crate::release::sri;
use crate::shell::{read, read_text, write, Result};

/// The loader module the split wasm imports; it fetches the lazy parts next to itself.
pub const LINK_MODULE: &str = "__wasm_split.js";

/// Splits `unsplit` into `main` (for wasm-bindgen) and lazy parts plus [`LINK_MODULE`] in
/// `out_dir`. Returns the lazy parts' paths.
pub fn split(unsplit: &Path, main: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let wasm = read(unsplit)?;
    if let Some(dir) = main.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let link_name = format!("./{LINK_MODULE}");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = out_dir;
    options.main_out_path = main;
    options.link_name = &link_name;
    // The glue wasm-bindgen writes for the main part, beside the link module.
    options.main_module = "./checkout_widget.js";
    options.target.web();
    let split = wasm_split_cli_support::transform(options)
        .map_err(|e| format!("splitting the widget's wasm: {e:#}"))?;
    Ok(split.split_modules)
}

/// Makes the link module check every lazy part it fetches against the part's SRI hash, so the
/// hashes a pinned loader carries cover the lazy parts too (the link module is itself pinned).
/// Run after the parts' last change (wasm-opt).
pub fn pin_parts(out_dir: &Path, parts: &[PathBuf]) -> Result {
    let link = out_dir.join(LINK_MODULE);
    let mut text = read_text(&link)?;
    for part in parts {
        let name = part
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{}: no file name", part.display()))?;
        let bytes = read(part)?;
        let fetch = format!("fetch(new URL(\"./{name}\", import.meta.url))");
        let checked = format!(
            "fetch(new URL(\"./{name}\", import.meta.url), {{ integrity: \"{}\", credentials: \"omit\" }})",
            sri(&bytes)
        );
        if text.matches(&fetch).count() != 1 {
            return Err(format!("{LINK_MODULE}: expected one `{fetch}`"));
        }
        text = text.replace(&fetch, &checked);
    }
    write(&link, text)
}
