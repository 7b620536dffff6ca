//! The widget's first view (everything a shopper's browser downloads before the widget is
//! interactive: JS, wasm and CSS, brotli -q11) beside Adyen Web's drop-in with Card, WeChat Pay
//! and Giftcard, bundled and minified by esbuild from the npm dev dependency, in the same run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::shell::{node_bin, root, write, Result};

/// The widget issue's budget: at most this fraction of Adyen's first view.
const BUDGET_RATIO: f64 = 0.7;

/// What the widget's first view loads: the loader, wasm-bindgen's glue, the link module that
/// loads the lazy parts, and the main wasm (the shadow-root stylesheet is compiled into it).
const WIDGET_FILES: [&str; 4] = [
    "www/checkout.js",
    "www/pkg/checkout_widget.js",
    "www/pkg/__wasm_split.js",
    "www/pkg/checkout_widget_bg.wasm",
];

/// A merchant's integration of Adyen Web v6's drop-in with three payment methods and its
/// stylesheet, as its docs show it.
const ADYEN_ENTRY: &str = r#"import { AdyenCheckout, Dropin, Card, WeChat, Giftcard } from '@adyen/adyen-web';
import '@adyen/adyen-web/styles/adyen.css';

export async function mountDropin(element, configuration) {
  const checkout = await AdyenCheckout(configuration);
  return new Dropin(checkout, { paymentMethodComponents: [Card, WeChat, Giftcard] }).mount(element);
}
"#;

/// Raw, gzip -9 and brotli -q11 sizes of one file.
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    raw: u64,
    gzip: u64,
    brotli: u64,
}

impl Sizes {
    fn of(path: &Path) -> Result<Sizes> {
        Ok(Sizes {
            raw: std::fs::metadata(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len(),
            gzip: compressed_size("gzip", &["-9", "-c"], path)?,
            brotli: compressed_size("brotli", &["-q", "11", "-c"], path)?,
        })
    }

    fn add(self, other: Sizes) -> Sizes {
        Sizes {
            raw: self.raw + other.raw,
            gzip: self.gzip + other.gzip,
            brotli: self.brotli + other.brotli,
        }
    }
}

/// Prints both first views, file by file, and the ratio against the budget.
pub fn first_view() -> Result {
    println!("\nfirst view (what a shopper's browser downloads before the widget is interactive)");
    let root = root();
    let ours: Vec<PathBuf> = WIDGET_FILES.iter().map(|f| root.join(f)).collect();
    let ours = table("this widget", &ours)?;
    let adyen = table(
        "Adyen Web drop-in (Card, WeChat, Giftcard)",
        &adyen_bundle()?,
    )?;
    table(
        "this widget's lazy parts (fetched in the background after the first view, or when the shopper gets there)",
        &lazy_parts(&root.join("www/pkg"))?,
    )?;
    let ratio = ours.brotli as f64 / adyen.brotli as f64;
    let budget = (adyen.brotli as f64 * BUDGET_RATIO) as u64;
    let verdict = if ours.brotli <= budget {
        "within budget".to_owned()
    } else {
        format!("OVER budget by {} B", ours.brotli - budget)
    };
    println!(
        "\nbrotli: ours {} B, Adyen {} B, ratio {ratio:.3} (budget {BUDGET_RATIO}: at most {budget} B): {verdict}",
        ours.brotli, adyen.brotli
    );
    Ok(())
}

/// The split-off wasm parts of the widget, in name order.
fn lazy_parts(pkg: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(pkg).map_err(|e| format!("{}: {e}", pkg.display()))?;
    let mut parts: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            name.ends_with(".wasm") && name != "checkout_widget_bg.wasm"
        })
        .collect();
    parts.sort();
    Ok(parts)
}

/// Bundles the Adyen entry with the pinned esbuild; returns the JS and CSS it wrote.
fn adyen_bundle() -> Result<Vec<PathBuf>> {
    let root = root();
    let dir = root.join("target/adyen-bench");
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let version = adyen_version(&root)?;
    let entry = dir.join("entry.js");
    write(&entry, ADYEN_ENTRY)?;
    let esbuild = node_bin().join("esbuild");
    let status = Command::new(&esbuild)
        .arg(&entry)
        .args([
            "--bundle",
            "--minify",
            "--format=esm",
            "--log-level=warning",
        ])
        .arg(format!("--outdir={}", out.display()))
        .current_dir(&root)
        .status()
        .map_err(|e| format!("{}: {e} (run `cargo xtask setup`)", esbuild.display()))?;
    if !status.success() {
        return Err(format!("esbuild could not bundle Adyen Web: {status}"));
    }
    println!("(@adyen/adyen-web {version}, bundled and minified by esbuild)");
    Ok(vec![out.join("entry.js"), out.join("entry.css")])
}

fn adyen_version(root: &Path) -> Result<String> {
    let manifest = root.join("node_modules/@adyen/adyen-web/package.json");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| format!("{}: {e} (run `cargo xtask setup`)", manifest.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(json["version"].as_str().unwrap_or("?").to_owned())
}

/// Prints each file's sizes under `title`, and their total; returns the total.
fn table(title: &str, files: &[PathBuf]) -> Result<Sizes> {
    let root = root();
    println!("\n{title}");
    println!(
        "  {:<44} {:>9} {:>9} {:>11}",
        "file", "raw", "gzip -9", "brotli -q11"
    );
    let mut total = Sizes::default();
    for path in files {
        let sizes = Sizes::of(path)?;
        total = total.add(sizes);
        let name = path.strip_prefix(&root).unwrap_or(path).display();
        println!(
            "  {name:<44} {:>9} {:>9} {:>11}",
            sizes.raw, sizes.gzip, sizes.brotli
        );
    }
    println!(
        "  {:<44} {:>9} {:>9} {:>11}",
        "total", total.raw, total.gzip, total.brotli
    );
    Ok(total)
}

fn compressed_size(program: &str, args: &[&str], path: &Path) -> Result<u64> {
    let out = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} failed on {}", path.display()));
    }
    Ok(out.stdout.len() as u64)
}
