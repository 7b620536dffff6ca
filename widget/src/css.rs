//! Minifies the widget's stylesheet at build time (`build.rs`): it ships inside the wasm, which
//! every shopper downloads before the widget is interactive, so its comments and indentation
//! would cost them bytes. Conservative on purpose: comments go, runs of whitespace become one
//! space, and spaces next to `{ } ; ,` and after `:` go. Nothing else changes: not inside
//! quoted strings, not before `:` (there a space is a descendant combinator, as in
//! `.ck-root :focus-visible`), and not inside `calc()`.

/// `css` without comments and the whitespace it does not need.
pub fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
                pending_space = true;
            }
            c if c.is_whitespace() => pending_space = true,
            '"' | '\'' => {
                push_space_if_needed(&mut out, &mut pending_space, c);
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            c => {
                push_space_if_needed(&mut out, &mut pending_space, c);
                if c == '}' && out.ends_with(';') {
                    out.pop();
                }
                out.push(c);
            }
        }
    }
    out
}

/// The one space a run of whitespace or a comment leaves, unless punctuation makes it redundant.
fn push_space_if_needed(out: &mut String, pending_space: &mut bool, next: char) {
    let needless = |c: char| matches!(c, '{' | '}' | ';' | ',');
    if std::mem::take(pending_space)
        && !out.is_empty()
        && !out.ends_with(needless)
        && !out.ends_with(':')
        && !needless(next)
    {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::minify;

    #[test]
    fn comments_and_needless_whitespace_go() {
        let css = "/* why */\n.a, .b {\n  color: red;   margin: 0 0 4px;\n}\n\n.c :focus-visible { outline: 3px solid var(--x); }\n";
        assert_eq!(
            minify(css),
            ".a,.b{color:red;margin:0 0 4px}.c :focus-visible{outline:3px solid var(--x)}"
        );
    }

    #[test]
    fn strings_and_calc_keep_their_spaces() {
        let css = ".a { font: 15px \"Segoe  UI\", sans-serif; width: calc(var(--r) - 4px); }";
        assert_eq!(
            minify(css),
            ".a{font:15px \"Segoe  UI\",sans-serif;width:calc(var(--r) - 4px)}"
        );
    }

    /// Whatever is not whitespace or a comment, and not a `;` before `}`, survives in order, in
    /// the first view's stylesheet and in each part's.
    #[test]
    fn the_widgets_stylesheets_lose_only_comments_and_whitespace() {
        for css in [
            include_str!("components/balance_pay.css"),
            include_str!("components/result.css"),
            include_str!("components/split.css"),
            include_str!("components/waiting.css"),
        ] {
            assert_keeps_what_shows(css);
        }
        let css = include_str!("style.css");
        let minified = assert_keeps_what_shows(css);
        assert!(
            minified.len() * 10 < css.len() * 8,
            "{} of {}",
            minified.len(),
            css.len()
        );
    }

    fn assert_keeps_what_shows(css: &str) -> String {
        let minified = minify(css);
        let visible = |text: &str| -> String {
            let mut kept = String::new();
            let mut rest = text;
            while let Some(start) = rest.find("/*") {
                kept.push_str(&rest[..start]);
                rest = rest[start..]
                    .split_once("*/")
                    .map_or("", |(_, after)| after);
            }
            kept.push_str(rest);
            kept.split_whitespace()
                .collect::<String>()
                .replace(";}", "}")
        };
        assert_eq!(visible(&minified), visible(css));
        assert!(!minified.contains("/*"));
        minified
    }
}
