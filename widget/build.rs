//! Writes the minified stylesheets (`src/css.rs`) that the widget compiles in: `style.css` for the
//! first view (`lib.rs`), and one per lazily loaded part beside its component.

#[path = "src/css.rs"]
mod css;

/// Each stylesheet, and the name of its minified copy in `OUT_DIR`.
const STYLESHEETS: [(&str, &str); 5] = [
    ("src/style.css", "style.min.css"),
    ("src/components/balance_pay.css", "balance_pay.min.css"),
    ("src/components/result.css", "result.min.css"),
    ("src/components/split.css", "split.min.css"),
    ("src/components/waiting.css", "waiting.min.css"),
];

fn main() {
    println!("cargo::rerun-if-changed=src/css.rs");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    for (source, minified) in STYLESHEETS {
        println!("cargo::rerun-if-changed={source}");
        let css = std::fs::read_to_string(source).expect(source);
        std::fs::write(format!("{out}/{minified}"), css::minify(&css))
            .expect("writing a stylesheet");
    }
}
