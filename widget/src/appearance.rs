//! The merchant's look for the widget, like Stripe's appearance API:
//! `{theme: "light" | "dark", variables: {colorPrimary, colorPrimaryText, colorBackground,
//! colorText, colorDanger, borderRadius, fontFamily}}`.
//!
//! Each variable becomes one of the widget's CSS custom properties (`--ck-*`, see `style.css`),
//! set one by one through `CSSStyleDeclaration.setProperty`, never as CSS text. A value is taken
//! only if it is plainly a colour (`#rgb`, `#rrggbb`, `rgb()`, `hsl()`…), a length (`8px`) or a
//! list of font names; anything else (a `url(…)`, a `;`, a brace) is dropped with a warning.
//! Pure: the DOM side is in `lib.rs`.

/// Light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

/// A checked appearance: the theme and the custom properties to set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Appearance {
    pub theme: Theme,
    /// `(custom property, value)`, values already validated.
    pub properties: Vec<(&'static str, String)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Colour,
    Length,
    Font,
}

/// The variables a merchant may set: option name, custom property, kind of value.
const VARIABLES: [(&str, &str, Kind); 7] = [
    ("colorPrimary", "--ck-accent", Kind::Colour),
    ("colorPrimaryText", "--ck-accent-text", Kind::Colour),
    ("colorBackground", "--ck-bg", Kind::Colour),
    ("colorText", "--ck-text", Kind::Colour),
    ("colorDanger", "--ck-error", Kind::Colour),
    ("borderRadius", "--ck-radius", Kind::Length),
    ("fontFamily", "--ck-font", Kind::Font),
];

impl Appearance {
    /// Every custom property a merchant may set (to clear them before another appearance).
    pub fn all_properties() -> impl Iterator<Item = &'static str> {
        VARIABLES.iter().map(|(_, property, _)| *property)
    }

    /// Reads the `appearance` option: `theme` (absent: light) and `variables` as name and value
    /// (`None` for a value that is not a string). The second value lists what was ignored and
    /// why, for the console.
    pub fn parse(
        theme: Option<&str>,
        variables: &[(String, Option<String>)],
    ) -> (Appearance, Vec<String>) {
        let mut appearance = Appearance::default();
        let mut warnings = Vec::new();
        match theme {
            None | Some("light") => {}
            Some("dark") => appearance.theme = Theme::Dark,
            Some(_) => warnings.push("appearance.theme must be \"light\" or \"dark\"".to_owned()),
        }
        for (name, given) in variables {
            let Some((_, property, kind)) = VARIABLES.iter().find(|(n, ..)| n == name) else {
                warnings.push(format!(
                    "appearance.variables.{name} is not a known variable"
                ));
                continue;
            };
            match given
                .as_deref()
                .map(str::trim)
                .filter(|v| is_valid(*kind, v))
            {
                Some(valid) => appearance.properties.push((property, valid.to_owned())),
                None => warnings.push(format!(
                    "appearance.variables.{name} is not a valid {} and was ignored",
                    match kind {
                        Kind::Colour => "colour",
                        Kind::Length => "length",
                        Kind::Font => "font family",
                    }
                )),
            }
        }
        (appearance, warnings)
    }
}

fn is_valid(kind: Kind, value: &str) -> bool {
    match kind {
        Kind::Colour => is_colour(value),
        Kind::Length => is_length(value),
        Kind::Font => is_font_family(value),
    }
}

/// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, or `rgb()`/`rgba()`/`hsl()`/`hsla()` holding only
/// numbers, units, spaces and `, . % / + -`.
fn is_colour(value: &str) -> bool {
    if let Some(hex) = value.strip_prefix('#') {
        return [3, 4, 6, 8].contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let lower = value.to_ascii_lowercase();
    let Some(open) = lower.find('(') else {
        return false;
    };
    let (function, rest) = lower.split_at(open);
    let Some(inner) = rest[1..].strip_suffix(')') else {
        return false;
    };
    ["rgb", "rgba", "hsl", "hsla"].contains(&function)
        && value.len() <= 64
        && inner.bytes().any(|b| b.is_ascii_digit())
        && inner
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b" .,%/+-".contains(&b))
}

/// `0`, or a non-negative number with `px`, `rem` or `em`: `8px`, `0.5rem`.
fn is_length(value: &str) -> bool {
    if value == "0" {
        return true;
    }
    let number = ["px", "rem", "em"]
        .iter()
        .find_map(|unit| value.strip_suffix(unit));
    let Some(number) = number else {
        return false;
    };
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    number.len() <= 8
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Font names separated by commas: ASCII letters and digits, any non-ASCII character (font names
/// in other scripts; CSS syntax is all ASCII), spaces, `-`, `_`, `.` and balanced quotes: nothing
/// that could end the declaration, escape, or open a function.
fn is_font_family(value: &str) -> bool {
    !value.is_empty()
        && value.chars().count() <= 200
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ,-_.'\"".contains(c) || !c.is_ascii())
        && value.matches('"').count().is_multiple_of(2)
        && value.matches('\'').count().is_multiple_of(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), Some((*v).to_owned())))
            .collect()
    }

    #[test]
    fn valid_variables_become_custom_properties_and_the_theme_is_read() {
        let (appearance, warnings) = Appearance::parse(
            Some("dark"),
            &vars(&[
                ("colorPrimary", "#6d28d9"),
                ("colorBackground", "rgb(17, 24, 39)"),
                ("colorText", "hsl(210 20% 98%)"),
                ("colorDanger", "#f00"),
                ("borderRadius", " 4px "),
                ("fontFamily", "\"IBM Plex Sans\", Arial, sans-serif"),
                ("colorPrimaryText", "rgba(255,255,255,0.9)"),
            ]),
        );
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(appearance.theme, Theme::Dark);
        let get = |p: &str| {
            appearance
                .properties
                .iter()
                .find(|(name, _)| *name == p)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("--ck-accent"), Some("#6d28d9"));
        assert_eq!(get("--ck-bg"), Some("rgb(17, 24, 39)"));
        assert_eq!(get("--ck-text"), Some("hsl(210 20% 98%)"));
        assert_eq!(get("--ck-radius"), Some("4px"));
        assert_eq!(
            get("--ck-font"),
            Some("\"IBM Plex Sans\", Arial, sans-serif")
        );
        assert_eq!(appearance.properties.len(), 7);
    }

    #[test]
    fn values_that_could_inject_css_or_load_anything_are_ignored_with_a_warning() {
        let hostile = [
            (
                "colorPrimary",
                "red; background: url(https://evil.example/x)",
            ),
            ("colorPrimary", "url(https://evil.example/x)"),
            ("colorPrimary", "rgb(0 0 0) } .x { color: red"),
            ("colorPrimary", "var(--other)"),
            ("colorPrimary", "#12345"),
            ("colorPrimary", "expression(alert(1))"),
            ("colorBackground", "rgb(calc(1) 0 0)"),
            ("colorBackground", "rgb(0 0 0 \\29)"),
            ("borderRadius", "8px;color:red"),
            ("borderRadius", "-8px"),
            ("borderRadius", "8"),
            ("borderRadius", "1e3px"),
            ("fontFamily", "Arial; } :host { display: none"),
            ("fontFamily", "<script>"),
            ("fontFamily", "url(x)"),
            ("fontFamily", "Arial\\3b color: red"),
            ("fontFamily", "\"Unclosed"),
        ];
        for (name, value) in hostile {
            let (appearance, warnings) = Appearance::parse(None, &vars(&[(name, value)]));
            assert!(
                appearance.properties.is_empty(),
                "{name}: {value} was taken"
            );
            assert_eq!(warnings.len(), 1, "{name}: {value}");
        }
    }

    #[test]
    fn unknown_names_bad_themes_and_non_strings_are_reported() {
        let mut given = vars(&[("spacingUnit", "4px"), ("borderRadius", "0")]);
        given.push(("colorPrimary".to_owned(), None));
        let (appearance, warnings) = Appearance::parse(Some("neon"), &given);
        assert_eq!(appearance.theme, Theme::Light);
        assert_eq!(appearance.properties, vec![("--ck-radius", "0".to_owned())]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(
            Appearance::parse(None, &[]),
            (Appearance::default(), vec![])
        );
    }

    #[test]
    fn lengths_and_colours_take_the_usual_spellings() {
        for ok in ["0", "8px", "0.5rem", "1.25em", "12px"] {
            assert!(is_length(ok), "{ok}");
        }
        for ok in [
            "#abc",
            "#abcd",
            "#AABBCC",
            "#aabbcc80",
            "RGB(1,2,3)",
            "hsla(120deg 50% 50% / .5)",
        ] {
            assert!(is_colour(ok), "{ok}");
        }
        for bad in ["", "#", "rgb()", "rgb(1,2,3", "red", "transparent"] {
            assert!(!is_colour(bad), "{bad}");
        }
        assert!(is_font_family("微软雅黑, 'Noto Sans Bengali'"));
    }

    /// The default themes' colours, as the stylesheet sets them: `--name: #rrggbb` in the block
    /// that starts with `selector {`.
    fn theme_colour(selector: &str, name: &str) -> [f64; 3] {
        let css = include_str!("style.css");
        let block = css.split(&format!("{selector} {{")).nth(1).unwrap();
        let block = block.split('}').next().unwrap();
        let value = block.split(&format!("--{name}: #")).nth(1).unwrap();
        let hex = &value[..6];
        let channel = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        [channel(0), channel(2), channel(4)]
    }

    /// WCAG's contrast ratio between two sRGB colours.
    fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
        let luminance = |c: [f64; 3]| {
            let linear = c.map(|v| {
                if v <= 0.039_28 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            });
            0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        };
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn the_focus_ring_stands_out_three_to_one_in_both_themes() {
        for theme in [".ck-root", ".ck-root.ck-dark"] {
            let focus = theme_colour(theme, "ck-focus");
            for surface in ["ck-bg", "ck-error-bg", "ck-field"] {
                let ratio = contrast(focus, theme_colour(theme, surface));
                assert!(ratio >= 3.0, "{theme} focus on {surface}: {ratio:.2}");
            }
        }
    }
}
