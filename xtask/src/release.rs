//! The widget as a versioned, immutable release a merchant can pin with Subresource Integrity.
//!
//! `www/checkout.js` is the loader (`widget/loader/checkout.js`) minified. `www/v/<version>/`
//! holds a copy of it and its `pkg/` (wasm-bindgen's glue, the main wasm, the
//! split link module and the lazy parts), where `<version>` is derived from all their contents, so
//! a version never changes once served (`www/_headers` marks `/v/*` immutable). The versioned
//! loader carries the SRI hashes of the glue, the main wasm and the link module, which carries
//! those of the lazy parts; so the one hash a merchant pins in `<script integrity>` covers
//! everything the widget runs. `www/release.json` names the current
//! release and its hash (served as `/release.json`), and the build prints the tag to paste.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256, Sha384};

use crate::shell::{self, node_bin, read, root, run_in, Result};

/// The line in the loader's source the versioned copy replaces with the pinned hashes.
const INTEGRITY_MARKER: &str = "var PINNED = null; // replaced in versioned releases";

/// The loader's source, kept readable; shoppers download it minified (`www/checkout.js`, and the
/// versioned copy), as it is part of the first view.
const LOADER_SOURCE: &str = "widget/loader/checkout.js";

/// A release: its path under `www/` and the loader's SRI hash.
pub struct Release {
    pub script_path: String,
    pub integrity: String,
}

pub fn write() -> Result<Release> {
    let root = root();
    let www = root.join("www");
    let loader = String::from_utf8(read(&root.join(LOADER_SOURCE))?)
        .map_err(|_| format!("{LOADER_SOURCE} is not UTF-8"))?;
    if !loader.contains(INTEGRITY_MARKER) {
        return Err(format!(
            "{LOADER_SOURCE} lacks the line `{INTEGRITY_MARKER}`"
        ));
    }
    // `/checkout.js`, always the newest widget.
    shell::write(&www.join("checkout.js"), minify_script(&root, &loader)?)?;
    let pkg = package(&www.join("pkg"))?;
    let hash_of = |name: &str| {
        pkg.iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| sri(bytes))
            .ok_or_else(|| format!("www/pkg/{name} is missing; build the widget first"))
    };
    // The lazy parts need no entry: the link module carries their hashes.
    let pinned = format!(
        "var PINNED = {{ glue: \"{}\", wasm: \"{}\", link: \"{}\" }};",
        hash_of("checkout_widget.js")?,
        hash_of("checkout_widget_bg.wasm")?,
        hash_of(crate::split::LINK_MODULE)?,
    );
    let versioned_loader = minify_script(&root, &loader.replace(INTEGRITY_MARKER, &pinned))?;
    let mut digest = Sha256::new();
    digest.update(versioned_loader.as_bytes());
    for (name, bytes) in &pkg {
        digest.update(name.as_bytes());
        digest.update(bytes);
    }
    let version: String = digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let releases = www.join("v");
    // Only the current release is kept locally; a deployment keeps what it has served.
    let _ = std::fs::remove_dir_all(&releases);
    let dir = releases.join(&version);
    std::fs::create_dir_all(dir.join("pkg")).map_err(|e| format!("{}: {e}", dir.display()))?;
    shell::write(&dir.join("checkout.js"), versioned_loader.as_bytes())?;
    for (name, bytes) in &pkg {
        shell::write(&dir.join("pkg").join(name), bytes)?;
    }
    let release = Release {
        script_path: format!("/v/{version}/checkout.js"),
        integrity: sri(versioned_loader.as_bytes()),
    };
    let latest = serde_json::json!({
        "version": version,
        "script": release.script_path,
        "integrity": release.integrity,
    });
    shell::write(&www.join("release.json"), latest.to_string().as_bytes())?;
    Ok(release)
}

/// `source` (a classic script, not a module) minified by the pinned esbuild.
fn minify_script(root: &Path, source: &str) -> Result<String> {
    let dir = root.join("target/tmp");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (input, output) = (dir.join("checkout.src.js"), dir.join("checkout.min.js"));
    shell::write(&input, source)?;
    let esbuild = node_bin().join("esbuild");
    run_in(
        root,
        esbuild.to_str().unwrap_or_default(),
        &[
            input.to_str().unwrap_or_default(),
            "--minify",
            "--log-level=warning",
            &format!("--outfile={}", output.display()),
        ],
        &[],
    )?;
    String::from_utf8(read(&output)?).map_err(|_| "esbuild's output is not UTF-8".to_owned())
}

/// Every file of the built widget, by name, in name order.
fn package(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let bytes = read(&path)?;
        files.push((name, bytes));
    }
    files.sort();
    Ok(files)
}

/// `sha384-<base64>`, the form `integrity` attributes take.
pub fn sri(bytes: &[u8]) -> String {
    format!("sha384-{}", BASE64.encode(Sha384::digest(bytes)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn integrity_is_sha384_in_base64() {
        // printf 'abc' | openssl dgst -sha384 -binary | base64
        assert_eq!(
            super::sri(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
    }
}
