//! Writes the minified stylesheet (`src/css.rs`) that `lib.rs` compiles into the widget.

#[path = "src/css.rs"]
mod css;

fn main() {
    println!("cargo::rerun-if-changed=src/style.css");
    println!("cargo::rerun-if-changed=src/css.rs");
    let css = std::fs::read_to_string("src/style.css").expect("src/style.css");
    let out = std::env::var("OUT_DIR").expect("OUT_DIR");
    std::fs::write(format!("{out}/style.min.css"), css::minify(&css))
        .expect("writing the stylesheet");
}
