//! The widget as a versioned, immutable release a merchant can pin with Subresource Integrity.
//!
//! `www/v/<version>/` holds `checkout.js` and its `pkg/` (wasm-bindgen's glue and the wasm), where
//! `<version>` is derived from the three files' contents, so a version never changes once served
//! (`www/_headers` marks `/v/*` immutable). The versioned loader carries the SRI hashes of its
//! glue and wasm and loads them with integrity checks, so the one hash a merchant pins in
//! `<script integrity>` covers everything the widget runs. `www/release.json` names the current
//! release and its hash (served as `/release.json`), and the build prints the tag to paste.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256, Sha384};

use crate::shell::{root, Result};

/// The line in `www/checkout.js` the versioned copy replaces with the pinned hashes.
const INTEGRITY_MARKER: &str = "var PINNED = null; // replaced in versioned releases";

/// A release: its path under `www/` and the loader's SRI hash.
pub struct Release {
    pub script_path: String,
    pub integrity: String,
}

pub fn write() -> Result<Release> {
    let www = root().join("www");
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let loader = String::from_utf8(read(&www.join("checkout.js"))?)
        .map_err(|_| "www/checkout.js is not UTF-8".to_owned())?;
    let glue = read(&www.join("pkg/checkout_widget.js"))?;
    let wasm = read(&www.join("pkg/checkout_widget_bg.wasm"))?;
    if !loader.contains(INTEGRITY_MARKER) {
        return Err(format!(
            "www/checkout.js lacks the line `{INTEGRITY_MARKER}`"
        ));
    }
    let pinned = format!(
        "var PINNED = {{ glue: \"{}\", wasm: \"{}\" }};",
        sri(&glue),
        sri(&wasm)
    );
    let versioned_loader = loader.replace(INTEGRITY_MARKER, &pinned);
    let mut digest = Sha256::new();
    for part in [versioned_loader.as_bytes(), &glue, &wasm] {
        digest.update(part);
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
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&dir.join("checkout.js"), versioned_loader.as_bytes())?;
    write(&dir.join("pkg/checkout_widget.js"), &glue)?;
    write(&dir.join("pkg/checkout_widget_bg.wasm"), &wasm)?;
    let release = Release {
        script_path: format!("/v/{version}/checkout.js"),
        integrity: sri(versioned_loader.as_bytes()),
    };
    let latest = serde_json::json!({
        "version": version,
        "script": release.script_path,
        "integrity": release.integrity,
    });
    write(&www.join("release.json"), latest.to_string().as_bytes())?;
    Ok(release)
}

/// `sha384-<base64>`, the form `integrity` attributes take.
fn sri(bytes: &[u8]) -> String {
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
