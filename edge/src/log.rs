//! Structured logs: one JSON object a line, with a `level`, and nothing in it that could act as a
//! credential or name a shopper's wallet.
//!
//! Values the Worker logs are ids, codes, amounts and statuses. Free text that comes from
//! elsewhere (a request path, an internal error's message, a provider's reason) goes through
//! [`scrub`], which masks:
//! - what looks like a merchant key, a widget token, a client secret, a webhook signing secret
//!   (`whsec_`), a bearer credential, a PEM block or a mobile wallet number (`01770618575`
//!   becomes `0177****575`);
//! - the value after a password or secret name (`pay_password=135790`, `"app_secret":"..."`),
//!   and every value of a field so named, whatever its type;
//! - every provider credential this Worker holds (bKash's app secret, password, app key and user
//!   name; WeChat Pay's APIv3 key; the token-signing key), by value: they have no shape to
//!   recognise, so they are remembered ([`remember_env_secrets`]) and masked wherever they occur.

use std::cell::RefCell;

use serde_json::Value;
use worker::Env;

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
    print(level, &line(level, fields));
}

/// Logs a line of known fields: `fields` serialised as they are, then its `level`. Cheaper than
/// [`event`] (no `Value` built and walked) for the line every request writes; the caller passes
/// text from elsewhere (a path, an internal error) through [`scrub`] itself.
pub fn typed<T: serde::Serialize>(level: Level, fields: &T) {
    #[derive(serde::Serialize)]
    struct Line<'a, T> {
        #[serde(flatten)]
        fields: &'a T,
        level: &'static str,
    }
    let line = Line {
        fields,
        level: level.as_str(),
    };
    match serde_json::to_string(&line) {
        Ok(line) => print(level, &line),
        Err(e) => event(Level::Error, serde_json::json!({"log": e.to_string()})),
    }
}

fn print(level: Level, line: &str) {
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
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if is_secret_name(key) && (value.is_string() || value.is_number()) {
                    *value = Value::from(MASK);
                } else {
                    scrub_value(value);
                }
            }
        }
        _ => {}
    }
}

const MASK: &str = "****";

/// Whether a field or parameter so named holds a secret: a pay password (6 digits, which no
/// shape rule can tell from an amount), a PIN or OTP, an app secret, an APIv3 key.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|n| name.contains(n)) || name == "pin" || name == "otp"
}

/// Names after which, in free text, a `=` or `:` and then the secret follow.
const SECRET_NAMES: [&str; 5] = ["password", "passwd", "secret", "apiv3_key", "api_v3_key"];

/// Prefixes after which everything up to the next separator is a credential.
/// `rk_` are Stripe's restricted keys.
const CREDENTIAL_PREFIXES: [&str; 8] = [
    "sk_test_", "sk_live_", "rk_test_", "rk_live_", "wt1.", "_secret_", "Bearer ", "whsec_",
];

/// Remembered credentials shorter than this are not masked by value (they would mask ordinary
/// words and numbers); every credential the Worker is configured with is far longer.
const MIN_REMEMBERED_LEN: usize = 8;

thread_local! {
    /// The credential values to mask, remembered per isolate (a Worker is single-threaded).
    static REMEMBERED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The provider credentials that have no recognisable shape, by their name within a mode's
/// account (`BKASH_TEST_APP_SECRET`, `WECHATPAY_LIVE_APIV3_KEY`).
const SHAPELESS_PROVIDER_SECRETS: [&str; 5] =
    ["USERNAME", "PASSWORD", "APP_KEY", "APP_SECRET", "APIV3_KEY"];

/// Remembers the configured credentials so [`scrub`] masks them by value. Read once per isolate,
/// since a deployment's secrets do not change under a running isolate; cheap after that.
pub fn remember_env_secrets(env: &Env) {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if DONE.with(|done| done.replace(true)) {
        return;
    }
    let mut names = vec!["TOKEN_SIGNING_KEY".to_owned()];
    for mode in [crate::config::Mode::Test, crate::config::Mode::Live] {
        for provider in ["BKASH", "WECHATPAY"] {
            for name in SHAPELESS_PROVIDER_SECRETS {
                names.push(mode.var(provider, name));
            }
        }
    }
    for name in names {
        if let Ok(Some(secret)) = crate::config::read(env, &name) {
            remember_secret(secret.expose());
        }
    }
}

/// Masks `value` in every later log line of this isolate.
pub fn remember_secret(value: &str) {
    if value.len() < MIN_REMEMBERED_LEN {
        return;
    }
    REMEMBERED.with(|remembered| {
        let mut remembered = remembered.borrow_mut();
        if !remembered.iter().any(|known| known == value) {
            remembered.push(value.to_owned());
        }
    });
}

/// `text` with remembered credentials, credentials by shape, secrets after their name, PEM
/// blocks and mobile wallet numbers masked.
pub fn scrub(text: &str) -> String {
    let text = REMEMBERED.with(|remembered| {
        remembered
            .borrow()
            .iter()
            .filter(|secret| text.contains(secret.as_str()))
            .fold(text.to_owned(), |text, secret| {
                text.replace(secret.as_str(), MASK)
            })
    });
    let text = text.as_str();
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
        } else if let Some(name_len) = secret_name_then_separator(rest) {
            out.extend_from_slice(&rest[..name_len]);
            out.extend_from_slice(MASK.as_bytes());
            i += name_len;
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

/// If `rest` starts with a secret's name (`pay_password`, `app_secret`, in any case, as the end
/// of a word) followed by `=` or `:` (with quotes or spaces around), the length up to the value.
fn secret_name_then_separator(rest: &[u8]) -> Option<usize> {
    let name_len = SECRET_NAMES.iter().find_map(|name| {
        let head = rest.get(..name.len())?;
        head.eq_ignore_ascii_case(name.as_bytes())
            .then_some(name.len())
    })?;
    let mut at = name_len;
    // The rest of the name (`password_hash` is a name too) before the separator.
    while at < rest.len() && (rest[at].is_ascii_alphanumeric() || rest[at] == b'_') {
        at += 1;
    }
    let gap = rest[at..]
        .iter()
        .take(6)
        .take_while(|b| matches!(b, b'"' | b'\'' | b' ' | b'\\' | b'=' | b':'))
        .count();
    let separated = rest[at..at + gap].iter().any(|b| matches!(b, b'=' | b':'));
    let value_follows = rest.get(at + gap).is_some_and(|b| is_credential_byte(*b));
    (separated && value_follows).then_some(at + gap)
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
                "stripe key rk_live_51Hx9QaZ refused",
                "stripe key rk_live_**** refused",
            ),
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
    fn secrets_after_their_name_are_masked_in_text() {
        let cases = [
            ("pay_password=135790&x=1", "pay_password=****&x=1"),
            (r#"{"pay_password":"135790"}"#, r#"{"pay_password":"****"}"#),
            (r#"{"pay_password":135790}"#, r#"{"pay_password":****}"#),
            (
                "bKash password: Xy9-abc rejected",
                "bKash password: **** rejected",
            ),
            (
                r#"body {\"app_secret\":\"abcDEF123\"}"#,
                r#"body {\"app_secret\":\"****\"}"#,
            ),
            ("WECHATPAY_APIV3_KEY=abcd1234", "WECHATPAY_APIV3_KEY=****"),
            (
                "signing whsec_AbC123xyz789 rotated",
                "signing whsec_**** rotated",
            ),
            // A name without a value after a separator is ordinary text.
            (
                "wrong pay password, 4 attempts left",
                "wrong pay password, 4 attempts left",
            ),
            ("incorrect_pay_password", "incorrect_pay_password"),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input), expected, "{input}");
        }
    }

    #[test]
    fn secret_fields_are_masked_whatever_their_type() {
        let line = line(
            Level::Info,
            serde_json::json!({"pay_password": 135790, "nested": {"app_secret": "abc", "PIN": "12345"},
                "code": "incorrect_pay_password", "amount": 135790}),
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["pay_password"], "****");
        assert_eq!(value["nested"]["app_secret"], "****");
        assert_eq!(value["nested"]["PIN"], "****");
        assert_eq!(value["code"], "incorrect_pay_password");
        assert_eq!(value["amount"], 135790);
    }

    #[test]
    fn remembered_credentials_are_masked_by_value() {
        remember_secret("Q7vLx2Kp9aZ3mN8bR4tY6wE1uI0oS5dF");
        remember_secret("short");
        assert_eq!(
            scrub("decrypt with Q7vLx2Kp9aZ3mN8bR4tY6wE1uI0oS5dF failed"),
            "decrypt with **** failed"
        );
        assert_eq!(
            scrub("/v1/checkout_sessions/Q7vLx2Kp9aZ3mN8bR4tY6wE1uI0oS5dF"),
            "/v1/checkout_sessions/****"
        );
        assert_eq!(scrub("short words stay"), "short words stay");
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
