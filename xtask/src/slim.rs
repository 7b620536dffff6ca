//! Trims what wasm-bindgen writes for the widget's main part, because the shopper downloads it
//! before the widget can be used (the first view, `docs/benchmarks.md`):
//!
//! - wasm-streams' JS classes go: Leptos always enables server_fn's browser client, which exports
//!   them, and the widget calls no server functions. [`UNUSED_EXPORTS`] names them for wasm-opt.
//! - Imports from the glue get short names (`a`, `b`, ...) in the wasm and in the glue. The
//!   names wasm-bindgen gives them end in 16 hex digits that brotli cannot compress, twice over.
//! - The glue and the parts' link module are minified by the pinned esbuild.
//!
//! Each step checks its own result and fails the build if wasm-bindgen's output changed shape.

use std::path::Path;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{ImportSection, Module, RawSection};
use wasmparser::{Parser, Payload};

use crate::shell::{node_bin, run_in, Result};

/// wasm-opt's `remove-exports` patterns for wasm-streams' classes and their destructors.
pub const UNUSED_EXPORTS: &str = "intounderlying*,__wbg_intounderlying*";

/// The JS module the main part imports the glue's functions from, as wasm-bindgen names it.
const GLUE_IMPORT_MODULE: &str = "./checkout_widget_bg.js";

/// Removes wasm-streams' classes from the glue; their exports leave the wasm in wasm-opt.
pub fn drop_stream_classes(glue: &str) -> Result<String> {
    let unexpected = || "glue: wasm-streams' classes are not where slim.rs expects them".to_owned();
    let mut kept = Vec::new();
    let mut lines = glue.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("export class IntoUnderlying") {
            // Up to the class's closing brace, then its `Symbol.dispose` line.
            lines.by_ref().find(|l| *l == "}");
            let dispose = lines.next().unwrap_or_default();
            if !dispose.starts_with("if (Symbol.dispose) IntoUnderlying") {
                return Err(unexpected());
            }
        } else if line.starts_with("const IntoUnderlying") && line.contains("Finalization = ") {
            // `(typeof FinalizationRegistry === 'undefined')`, then `? ...` and `: ...` lines.
            let rest: Vec<&str> = lines.by_ref().take(2).map(str::trim_start).collect();
            if !(rest.len() == 2 && rest[0].starts_with('?') && rest[1].starts_with(':')) {
                return Err(unexpected());
            }
        } else {
            kept.push(line);
        }
    }
    let kept = kept.join("\n") + "\n";
    if kept.to_ascii_lowercase().contains("intounderlying") {
        return Err(unexpected());
    }
    Ok(kept)
}

/// Renames the main part's imports from the glue to short names, in `wasm` and in `glue`.
pub fn shorten_import_names(wasm: &[u8], glue: &str) -> Result<(Vec<u8>, String)> {
    let mut module = Module::new();
    let mut glue = glue.to_owned();
    let mut renamed = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| format!("reading the widget's wasm: {e}"))?;
        if let Payload::ImportSection(reader) = &payload {
            let mut imports = ImportSection::new();
            for import in reader.clone().into_imports() {
                let import = import.map_err(|e| format!("reading an import: {e}"))?;
                let ty = RoundtripReencoder
                    .entity_type(import.ty)
                    .map_err(|e| format!("re-encoding an import: {e}"))?;
                let mut name = import.name.to_owned();
                if import.module == GLUE_IMPORT_MODULE {
                    name = short_name(renamed);
                    renamed += 1;
                    glue = rename_glue_import(&glue, import.name, &name)?;
                }
                imports.import(import.module, &name, ty);
            }
            module.section(&imports);
        } else if let Some((id, range)) = payload.as_section() {
            let (start, end) = (range.start as usize, range.end as usize);
            module.section(&RawSection {
                id,
                data: &wasm[start..end],
            });
        }
    }
    if renamed == 0 {
        return Err(format!(
            "the widget's wasm imports nothing from {GLUE_IMPORT_MODULE}"
        ));
    }
    Ok((module.finish(), glue))
}

/// The glue's import object has one `name: function(` entry per import.
fn rename_glue_import(glue: &str, old: &str, new: &str) -> Result<String> {
    let entry = format!("    {old}: function(");
    if glue.matches(&entry).count() != 1 || glue.matches(old).count() != 1 {
        return Err(format!("glue: expected `{old}` once, as an import entry"));
    }
    Ok(glue.replacen(&entry, &format!("    {new}: function("), 1))
}

/// `a`..`z`, then `aa`, `ab`, ...: bijective base 26.
fn short_name(index: usize) -> String {
    let mut name = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        name.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// Minifies an ES module in place with the pinned esbuild; its exports keep their names.
pub fn minify_js(root: &Path, file: &Path) -> Result {
    let esbuild = node_bin().join("esbuild");
    let file = file.to_str().unwrap_or_default();
    run_in(
        root,
        esbuild.to_str().unwrap_or_default(),
        &[
            file,
            "--minify",
            "--tree-shaking=true",
            "--format=esm",
            "--allow-overwrite",
            "--log-level=warning",
            // wasm-bindgen lists the link module once per part it loads; same value each time.
            "--log-override:duplicate-object-key=silent",
            &format!("--outfile={file}"),
        ],
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_unique_and_short() {
        let names: Vec<String> = (0..800).map(short_name).collect();
        assert_eq!(names[0], "a");
        assert_eq!(names[25], "z");
        assert_eq!(names[26], "aa");
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| n.len() <= 3));
    }

    #[test]
    fn stream_classes_leave_the_glue_and_nothing_else_does() {
        let glue = "export class IntoUnderlyingSink {\n    free() {\n    }\n}\nif (Symbol.dispose) IntoUnderlyingSink.prototype[Symbol.dispose] = IntoUnderlyingSink.prototype.free;\n\nexport class WidgetHandle {\n}\nconst IntoUnderlyingSinkFinalization = (typeof FinalizationRegistry === 'undefined')\n    ? { register: () => {}, unregister: () => {} }\n    : new FinalizationRegistry(ptr => wasm.__wbg_intounderlyingsink_free(ptr, 1));\nconst WidgetHandleFinalization = 1;\n";
        let kept = drop_stream_classes(glue).unwrap();
        assert_eq!(
            kept,
            "\nexport class WidgetHandle {\n}\nconst WidgetHandleFinalization = 1;\n"
        );
    }

    #[test]
    fn a_stream_class_in_an_unexpected_shape_fails_the_build() {
        for glue in [
            "export { IntoUnderlyingSink };\n",
            "export class IntoUnderlyingSink {\n}\nexport class WidgetHandle {\n}\n",
            "const IntoUnderlyingSinkFinalization = new FinalizationRegistry(f);\nconst a = 1;\nconst b = 2;\n",
        ] {
            assert!(drop_stream_classes(glue).is_err(), "{glue}");
        }
    }

    #[test]
    fn only_the_glue_imports_get_short_names() {
        let mut module = Module::new();
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut imports = ImportSection::new();
        let function = wasm_encoder::EntityType::Function(0);
        imports.import(GLUE_IMPORT_MODULE, "__wbg_now_463ac581d2fc7ea3", function);
        imports.import("./__wasm_split.js", "__wasm_split_load_pay", function);
        module.section(&imports);
        let glue = "    __wbg_now_463ac581d2fc7ea3: function() {},\n";

        let (wasm, glue) = shorten_import_names(&module.finish(), glue).unwrap();

        assert_eq!(glue, "    a: function() {},\n");
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(&wasm) {
            if let Payload::ImportSection(reader) = payload.unwrap() {
                for import in reader.into_imports() {
                    let import = import.unwrap();
                    names.push((import.module.to_owned(), import.name.to_owned()));
                }
            }
        }
        let expected = [
            (GLUE_IMPORT_MODULE, "a"),
            ("./__wasm_split.js", "__wasm_split_load_pay"),
        ];
        assert_eq!(names, expected.map(|(m, n)| (m.to_owned(), n.to_owned())));
        wasmparser::Validator::new().validate_all(&wasm).unwrap();
    }

    #[test]
    fn glue_imports_are_renamed_only_where_they_are_defined() {
        let glue =
            "const import0 = {\n        __wbg_now_463ac581d2fc7ea3: function() {\n        },\n};\n";
        let renamed = rename_glue_import(glue, "__wbg_now_463ac581d2fc7ea3", "a").unwrap();
        assert_eq!(
            renamed,
            "const import0 = {\n        a: function() {\n        },\n};\n"
        );
        assert!(rename_glue_import(glue, "__wbg_other_1", "b").is_err());
    }
}
