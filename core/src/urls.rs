//! URLs a merchant gives the checkout (a session's `return_url`, a webhook endpoint), parsed with
//! the WHATWG URL parser of the `url` crate rather than matched as text, and the one way a query
//! parameter is added to them.
//!
//! Parsing first is what makes the rules hold: `http://localhost:@evil.example/x` starts with
//! `http://localhost:` but its host is `evil.example` (the `localhost:` before `@` is userinfo,
//! URL Standard §4.4, "authority state"), and a parameter appended as text after a `#fragment`
//! is part of the fragment, which the browser never sends (RFC 3986 §3.5). `Url::query_pairs_mut`
//! puts it in the query and keeps the fragment (docs.rs/url, `Url::query_pairs_mut`).
//!
//! Architecture Invariant: a merchant URL is accepted only through [`check_url`], and a parameter
//! is added to one only through [`with_query_param`].

use std::net::IpAddr;

use url::{Host, Url};

use crate::api::FieldError;

/// The longest URL accepted; browsers and providers handle this much everywhere.
pub const MAX_URL_LEN: usize = 2048;

/// Checks a URL the checkout sends people or data to:
/// - it parses as an absolute `https` URL, or, in test mode only, `http` to a loopback host
///   (`localhost`, `127.0.0.0/8`, `[::1]`) for local development;
/// - a loopback host is refused in live mode whatever the scheme: nothing real runs there;
/// - it carries no user name or password (`https://shop.example@evil.example` is refused);
/// - at most [`MAX_URL_LEN`] bytes, without whitespace or control characters.
///
/// Messages name the rule, never the submitted URL.
pub fn check_url(param: &'static str, url: &str, livemode: bool) -> Result<(), FieldError> {
    let invalid = |rule: &str| Err(FieldError::invalid(param, format!("{param} {rule}")));
    if url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid("is not a valid URL");
    }
    let Ok(parsed) = Url::parse(url) else {
        return invalid("is not a valid URL");
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return invalid("must not contain a user name or password");
    }
    let loopback = parsed.host().is_some_and(|host| is_loopback(&host));
    match parsed.scheme() {
        "https" if parsed.host().is_some() => {}
        "http" if loopback && !livemode => {}
        _ if livemode => return invalid("must be an https:// URL"),
        _ => return invalid("must be an https:// URL (http:// only to localhost in test mode)"),
    }
    if loopback && livemode {
        return invalid("must not point at localhost in live mode");
    }
    Ok(())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// `url` with `name=value` added to its query, encoded, before any fragment, which is kept.
/// `None` if `url` does not parse (a URL [`check_url`] accepted always does).
pub fn with_query_param(url: &str, name: &str, value: &str) -> Option<String> {
    let mut parsed = Url::parse(url).ok()?;
    parsed.query_pairs_mut().append_pair(name, value);
    Some(parsed.into())
}

#[cfg(test)]
mod tests {
    use super::{check_url, with_query_param};

    fn accepted(url: &str, livemode: bool) -> bool {
        check_url("return_url", url, livemode).is_ok()
    }

    #[test]
    fn live_mode_accepts_only_https() {
        assert!(accepted("https://shop.example/done", true));
        assert!(accepted("https://shop.example:8443/done?x=1#top", true));
        for url in [
            "http://shop.example/done",
            "http://localhost:8787/done",
            "http://127.0.0.1/done",
            "ftp://shop.example/",
            "javascript:alert(1)",
            "data:text/html,hi",
        ] {
            assert!(!accepted(url, true), "{url}");
        }
    }

    #[test]
    fn loopback_is_for_test_mode_only() {
        for url in [
            "http://localhost:8787/done",
            "http://LOCALHOST/done",
            "http://127.0.0.1/x",
            "http://127.1.2.3:3000/x",
            "http://[::1]:8787/x",
            "https://localhost/x",
        ] {
            assert!(accepted(url, false), "{url}");
            assert!(!accepted(url, true), "{url}");
        }
    }

    #[test]
    fn a_host_that_only_starts_like_localhost_is_not_local() {
        for url in [
            "http://localhost.evil.example/",
            "http://localhost:@evil.example/x",
            "http://127.0.0.1.evil.example/",
            "http://localhost%2eevil.example/",
        ] {
            assert!(!accepted(url, false), "{url}");
        }
    }

    #[test]
    fn userinfo_is_refused_in_both_modes() {
        for url in [
            "https://shop.example@evil.example/",
            "https://user:pass@shop.example/",
            "https://:pass@shop.example/",
            "http://localhost:@evil.example/x",
            "http://localhost:x@127.0.0.1/x",
        ] {
            assert!(!accepted(url, false), "{url}");
            assert!(!accepted(url, true), "{url}");
        }
        let error = check_url("url", "https://a:b@shop.example/", true).unwrap_err();
        assert!(error.message.contains("user name"), "{}", error.message);
        assert!(!error.message.contains("shop.example"), "{}", error.message);
    }

    #[test]
    fn malformed_and_oversized_urls_are_refused() {
        let long = format!("https://shop.example/{}", "a".repeat(2048));
        for url in [
            "",
            "shop.example/done",
            "https://",
            "https://shop .example/",
            &long,
        ] {
            assert!(!accepted(url, false), "{url}");
        }
    }

    #[test]
    fn the_parameter_goes_in_the_query_and_the_fragment_is_kept() {
        let cases = [
            (
                "https://shop.example/done",
                "https://shop.example/done?checkout_session=cs_1",
            ),
            (
                "https://shop.example/done?a=1",
                "https://shop.example/done?a=1&checkout_session=cs_1",
            ),
            (
                "https://shop.example/done#receipt",
                "https://shop.example/done?checkout_session=cs_1#receipt",
            ),
            (
                "https://shop.example/done?a=1#r?b=2",
                "https://shop.example/done?a=1&checkout_session=cs_1#r?b=2",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(
                with_query_param(url, "checkout_session", "cs_1").as_deref(),
                Some(expected)
            );
        }
        assert_eq!(
            with_query_param("https://x.example/", "back", "http://a/b?c=d&e").as_deref(),
            Some("https://x.example/?back=http%3A%2F%2Fa%2Fb%3Fc%3Dd%26e")
        );
    }
}
