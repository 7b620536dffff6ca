//! The widget as a versioned, immutable release pinned with Subresource Integrity: the hash in
//! `/release.json` is the loader's, the files are cached as immutable, and in Chromium the pinned
//! widget runs while a wrong hash is refused.

use std::time::Duration;

use base64::Engine as _;
use checkout_tests::api::Client;
use checkout_tests::temp_dir;
use checkout_tests::webdriver::Browser;
use checkout_tests::worker::WorkerProcess;
use serde_json::json;
use sha2::{Digest, Sha384};
use std::io::Read as _;

const WAIT: Duration = Duration::from_secs(25);

fn sri(bytes: &[u8]) -> String {
    let digest = Sha384::digest(bytes);
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The raw bytes of a static file, with its Cache-Control and CORS headers.
fn fetch(url: &str) -> (Vec<u8>, String, String) {
    let response = ureq::get(url).call().expect("a static file");
    let cache = response
        .header("Cache-Control")
        .unwrap_or_default()
        .to_owned();
    let cors = response
        .header("Access-Control-Allow-Origin")
        .unwrap_or_default()
        .to_owned();
    let mut bytes = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut bytes)
        .expect("read the body");
    (bytes, cache, cors)
}

#[test]
fn a_pinned_release_loads_and_a_wrong_hash_is_refused() {
    let worker = WorkerProcess::start(&temp_dir("release"));
    let client = Client::new(&worker.base_url);
    let release = client
        .call("GET", "/release.json")
        .send()
        .expect_status(200);
    let script = release.body["script"].as_str().unwrap().to_owned();
    assert!(
        script.starts_with("/v/") && script.ends_with("/checkout.js"),
        "{script}"
    );

    // The published hash is the loader's, which pins the glue's and the wasm's.
    let (loader, cache, cors) = fetch(&format!("{}{script}", worker.base_url));
    assert_eq!(release.body["integrity"], json!(sri(&loader)));
    assert!(cache.contains("immutable"), "{cache}");
    assert_eq!(cors, "*");
    let base = script.trim_end_matches("checkout.js");
    let (wasm, _, _) = fetch(&format!(
        "{}{base}pkg/checkout_widget_bg.wasm",
        worker.base_url
    ));
    let loader_text = String::from_utf8(loader).unwrap();
    assert!(
        loader_text.contains(&sri(&wasm)),
        "the loader pins the wasm it loads"
    );
    // The lazy parts are pinned by the link module, which the loader pins.
    let (link, _, _) = fetch(&format!("{}{base}pkg/__wasm_split.js", worker.base_url));
    assert!(
        loader_text.contains(&sri(&link)),
        "the loader pins the link module"
    );
    let link_text = String::from_utf8(link).unwrap();
    let parts: Vec<&str> = link_text
        .split("new URL(\"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(
        parts.iter().any(|p| p.starts_with("split_pay")),
        "{parts:?}"
    );
    // The build minifies the link module; spacing is not what this checks.
    let compact: String = link_text.split_whitespace().collect();
    for part in parts {
        let (bytes, cache, _) = fetch(&format!("{}{base}pkg/{part}", worker.base_url));
        assert!(cache.contains("immutable"), "{part}: {cache}");
        assert!(
            compact.contains(&format!(
                "\"./{part}\",import.meta.url),{{integrity:\"{}\"",
                sri(&bytes)
            )),
            "the link module checks {part} against its hash"
        );
    }

    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{}/test/sri.html", worker.base_url));
    browser.wait_for("[data-testid=pay-button]", WAIT);
    let loaded = browser.script(
        "return performance.getEntriesByType('resource').map(e => e.name)\
         .filter(n => n.includes('/v/') && n.endsWith('.wasm')).length",
        vec![],
    );
    assert_eq!(loaded, json!(1), "the wasm came from the pinned release");

    browser.goto(&format!("{}/test/sri.html?tampered", worker.base_url));
    browser.wait_until(
        "the browser refuses the script",
        "return document.body.getAttribute('data-script-refused') === 'true'",
        WAIT,
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(browser.find("[data-testid=pay-button]").is_none());
}
