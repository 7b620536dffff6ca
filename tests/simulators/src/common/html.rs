//! The hosted pages' common frame and escaping. Each simulator brings its own brand, colours
//! and wording; the frame is the simulator's, not the provider's (no provider page is copied).

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A one-line message in place of the page's form (`#notice`).
pub(crate) fn notice(message: &str) -> String {
    format!(
        r#"<p class="notice" id="notice" data-testid="notice">{}</p>"#,
        escape(message)
    )
}

/// What a simulator's page frame is made of.
pub(crate) struct Frame<'a> {
    /// The `<title>`, as HTML.
    pub title: &'a str,
    /// The stylesheet, inlined (no external assets).
    pub style: &'a str,
    /// The header's brand and its badge, as HTML.
    pub logo: &'a str,
    pub badge: &'a str,
    /// After the content, inside `<main>` (with its own line end), or empty.
    pub footer: &'a str,
}

impl Frame<'_> {
    /// A whole page around `content`, laid out for phones first.
    pub(crate) fn page(&self, content: &str) -> String {
        let Frame {
            title,
            style,
            logo,
            badge,
            footer,
        } = self;
        format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{style}</style>
</head>
<body>
<main>
<header><span class="logo">{logo}</span><span class="sandbox">{badge}</span></header>
<div class="content">
{content}
</div>
{footer}</main>
</body>
</html>
"#
        )
    }
}
