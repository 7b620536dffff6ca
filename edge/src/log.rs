//! Structured logs: one JSON object a line, with a `level`, and nothing in it that could act as a
//! credential or name a shopper's wallet.
//!
//! Values the Worker logs are ids, codes, amounts and statuses. Free text that comes from
//! elsewhere (an internal error's message, a provider's reason) goes through [`scrub`], which
//! masks what looks like a merchant key, a widget token, a client secret, a bearer credential, a
//! PEM block or a mobile wallet number (`01770618575` becomes `0177****575`).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Logs one event: `fields` (an object) with its `level`, every string in it scrubbed.
pub fn event(level: Level, fields: Value) {
    let line = line(level, fields);
    match level {
        Level::Info => worker::console_log!("{line}"),
        Level::Warn => worker::console_warn!("{line}"),
        Level::Error => worker::console_error!("{line}"),
    }
}

/// The JSON line [`event`] prints.
pub fn line(level: Level, fields: Value) -> String {
    let mut fields = match fields {
        Value::Object(map) => Value::Object(map),
        other => serde_json::json!({ "message": other }),
    };
    scrub_value(&mut fields);
    fields["level"] = Value::from(level.as_str());
    fields.to_string()
}

fn scrub_value(value: &mut Value) {
    match value {
        Value::String(text) => *text = scrub(text),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::Object(map) => map.values_mut().for_each(scrub_value),
        _ => {}
    }
}

/// Prefixes after which everything up to the next separator is a credential.
const CREDENTIAL_PREFIXES: [&str; 5] = ["sk_test_", "sk_live_", "wt1.", "_secret_", "Bearer "];

/// `text` with credentials, PEM blocks and mobile wallet numbers masked.
pub fn scrub(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if let Some(prefix) = CREDENTIAL_PREFIXES
            .iter()
            .find(|p| rest.starts_with(p.as_bytes()))
        {
            out.extend_from_slice(prefix.as_bytes());
            out.extend_from_slice(b"****");
            i += prefix.len();
            while i < bytes.len() && is_credential_byte(bytes[i]) {
                i += 1;
            }
        } else if rest.starts_with(b"-----BEGIN") {
            out.extend_from_slice(b"[PEM redacted]");
            i += pem_len(rest);
        } else if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()) {
            let run = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            out.extend_from_slice(mask_digits(&text[i..i + run]).as_bytes());
            i += run;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    // Only ASCII was removed or inserted, at ASCII positions, so the bytes are still UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn is_credential_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~' | b'+' | b'/' | b'=')
}

/// The length of a PEM block starting at `rest`, through its `-----END ...-----` line (or to the
/// end of the text when the block is cut off).
fn pem_len(rest: &[u8]) -> usize {
    let Some(end) = find(rest, b"-----END") else {
        return rest.len();
    };
    let after_end = end + b"-----END".len();
    match find(&rest[after_end..], b"-----") {
        Some(close) => after_end + close + b"-----".len(),
        None => rest.len(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A whole run of digits: masked when it is a mobile wallet number (bKash: `01XXXXXXXXX`,
/// optionally with the country code `880`), left alone otherwise (amounts, ids, timestamps).
fn mask_digits(run: &str) -> String {
    let national = match run.len() {
        11 => run,
        13 if run.starts_with("880") => &run[2..],
        _ => return run.to_owned(),
    };
    if !national.starts_with("01") {
        return run.to_owned();
    }
    mask_wallet_number(run)
}

/// `01770618575` → `0177****575`: enough for a person to recognise their number, too little to
/// reuse it.
pub fn mask_wallet_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked_wherever_they_appear() {
        let cases = [
            (
                "bad key sk_test_AbC123xyz in header",
                "bad key sk_test_**** in header",
            ),
            ("sk_live_Zz9-0.", "sk_live_****"),
            (
                "token wt1.eyJzaWQiOiJjcyJ9.c2ln rejected",
                "token wt1.**** rejected",
            ),
            (
                "secret cs_ab12_secret_m_demo.Xy9 given",
                "secret cs_ab12_secret_**** given",
            ),
            (
                "Authorization: Bearer abc/def+g==",
                "Authorization: Bearer ****",
            ),
            (
                "key -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- done",
                "key [PEM redacted] done",
            ),
            (
                "cut -----BEGIN PRIVATE KEY-----\nMIIE",
                "cut [PEM redacted]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input), expected, "{input}");
        }
    }

    #[test]
    fn wallet_numbers_are_masked_but_other_numbers_are_not() {
        let cases = [
            ("payer 01770618575 paid", "payer 0177****575 paid"),
            ("msisdn=8801770618575", "msisdn=8801****575"),
            ("+8801770618575", "+8801****575"),
            // Amounts, timestamps, 28-digit transaction ids and other 11-digit runs stay.
            (
                "amount 1250.00 at 1767225600123",
                "amount 1250.00 at 1767225600123",
            ),
            (
                "trx 4200001234202601011234567890",
                "trx 4200001234202601011234567890",
            ),
            ("id 12345678901", "id 12345678901"),
            ("x017706185751", "x017706185751"),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input), expected, "{input}");
        }
    }

    #[test]
    fn text_without_secrets_is_unchanged_including_unicode() {
        for text in [
            "",
            "session cs_1 paid",
            "金额 88.00 元",
            "HTTP 503 from create",
        ] {
            assert_eq!(scrub(text), text);
        }
    }

    #[test]
    fn a_line_is_one_json_object_with_its_level_and_scrubbed_strings() {
        let line = line(
            Level::Warn,
            serde_json::json!({"request_id": "req_1", "reason": ["wt1.abc.def"], "n": 7}),
        );
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["reason"][0], "wt1.****");
        assert_eq!(value["n"], 7);
    }
}
