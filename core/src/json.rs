//! A small JSON reader and writer for the widget.
//!
//! serde_json with derived visitors was a fifth of the widget's download; the shopper pays for
//! every byte before the widget is usable. The edge keeps serde. [`crate::wire`] maps the widget
//! API's types onto this tree, and its tests hold both to the same shapes.

/// A parsed JSON value. Numbers keep their text; readers take the integer type they expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Deeper nesting than any API answer has is refused, so hostile input cannot exhaust the stack.
const MAX_DEPTH: u32 = 32;

impl Json {
    /// The whole of `text` as one JSON value; `None` when it is not exactly that.
    pub fn parse(text: &str) -> Option<Json> {
        let mut reader = Reader {
            text,
            at: 0,
            depth: 0,
        };
        let value = reader.value()?;
        reader.skip_space();
        (reader.at == text.len()).then_some(value)
    }

    /// The member `key` of an object (the first, should a key repeat).
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// An integer written without fraction or exponent, as serde writes integers.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.skip_space();
        match self.peek()? {
            b'{' => self.nested(Reader::object),
            b'[' => self.nested(Reader::array),
            b'"' => self.string().map(Json::String),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Option<Json>) -> Option<Json> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn literal(&mut self, word: &str, value: Json) -> Option<Json> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word).then(|| {
            self.at = end;
            value
        })
    }

    fn object(&mut self) -> Option<Json> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(Json::Object(members));
        }
        loop {
            self.skip_space();
            let key = self.string()?;
            self.skip_space();
            self.expect(b':')?;
            members.push((key, self.value()?));
            self.skip_space();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(Json::Object(members)),
                _ => return None,
            }
        }
    }

    fn array(&mut self) -> Option<Json> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Json::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.next()? {
                b',' => continue,
                b']' => return Some(Json::Array(items)),
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.at;
            while !matches!(self.peek()?, b'"' | b'\\' | 0..=0x1f) {
                self.at += 1;
            }
            // Stops fall on ASCII bytes, so the run between them is whole UTF-8.
            out.push_str(&self.text[start..self.at]);
            match self.next()? {
                b'"' => return Some(out),
                b'\\' => out.push(self.escape()?),
                _ => return None,
            }
        }
    }

    fn escape(&mut self) -> Option<char> {
        Some(match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return None,
        })
    }

    /// `\uXXXX`, and a UTF-16 surrogate pair written as two of them.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if !(0xD800..0xDC00).contains(&first) {
            return char::from_u32(first);
        }
        self.expect(b'\\')?;
        self.expect(b'u')?;
        let second = self.hex4()?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        self.at += 4;
        digits
            .bytes()
            .try_fold(0, |sum, b| Some(sum * 16 + char::from(b).to_digit(16)?))
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(Json::Number(self.text[start..self.at].to_owned()))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

/// Builds one JSON object, member by member, in the order written.
#[derive(Debug)]
pub struct ObjectWriter {
    out: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        ObjectWriter::new()
    }
}

impl ObjectWriter {
    pub fn new() -> ObjectWriter {
        ObjectWriter {
            out: String::from("{"),
        }
    }

    pub fn string(self, key: &str, value: &str) -> ObjectWriter {
        let mut writer = self.key(key);
        quote(value, &mut writer.out);
        writer
    }

    pub fn integer(self, key: &str, value: i64) -> ObjectWriter {
        self.raw(key, &value.to_string())
    }

    /// A member whose value is already JSON, such as a nested object.
    pub fn raw(self, key: &str, json: &str) -> ObjectWriter {
        let mut writer = self.key(key);
        writer.out.push_str(json);
        writer
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }

    fn key(mut self, key: &str) -> ObjectWriter {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        quote(key, &mut self.out);
        self.out.push(':');
        self
    }
}

/// `value` as a JSON string literal.
fn quote(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let byte = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[byte >> 4]));
                out.push(char::from(HEX[byte & 15]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Json> {
        Json::parse(text)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        let samples = [
            r#"{"a":[1,-2,3.5e-2,0],"b":{"c":null,"d":true,"e":false},"f":"x\"y\\z\/\n\t\u00e9"}"#,
            " [ ] ",
            "{}",
            r#""\ud83d\ude00 emoji and 中文""#,
            "-0",
            "1E+9",
        ];
        for sample in samples {
            let ours = parse(sample).unwrap_or_else(|| panic!("refused {sample}"));
            let theirs: serde_json::Value = serde_json::from_str(sample).unwrap();
            assert_eq!(to_serde(&ours), theirs, "{sample}");
        }
    }

    #[test]
    fn refuses_what_is_not_json() {
        let samples = [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "nul",
            "\"open",
            "\"tab\there\"",
            "\"\\x\"",
            "\"\\ud83d\"",
            "\"\\ud83d\\u0041\"",
            "\"\\u12\"",
            "{} {}",
            "[1] x",
            "{1:2}",
        ];
        for sample in samples {
            assert_eq!(parse(sample), None, "accepted {sample:?}");
            assert!(serde_json::from_str::<serde_json::Value>(sample).is_err());
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(parse(&deep), None);
        let fine = "[".repeat(20) + &"]".repeat(20);
        assert!(parse(&fine).is_some());
    }

    #[test]
    fn reads_accessors() {
        let value =
            parse(r#"{"n":42,"big":9223372036854775808,"f":1.5,"s":"t","b":true}"#).unwrap();
        assert_eq!(value.get("n").and_then(Json::as_i64), Some(42));
        assert_eq!(value.get("big").and_then(Json::as_i64), None);
        assert_eq!(value.get("f").and_then(Json::as_i64), None);
        assert_eq!(value.get("s").and_then(Json::as_str), Some("t"));
        assert_eq!(value.get("b").and_then(Json::as_bool), Some(true));
        assert_eq!(value.get("missing"), None);
        assert_eq!(Json::Null.get("n"), None);
    }

    #[test]
    fn writes_what_serde_json_reads_back() {
        let tricky = "quote \" backslash \\ newline \n bell \u{7} 中文 😀";
        let written = ObjectWriter::new()
            .string("text", tricky)
            .integer("n", -42)
            .raw("inner", &ObjectWriter::new().string("k", "v").finish())
            .finish();
        let back: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"text": tricky, "n": -42, "inner": {"k": "v"}})
        );
        assert_eq!(ObjectWriter::new().finish(), "{}");
    }

    proptest::proptest! {
        #[test]
        fn any_string_round_trips(text in "\\PC*|[\\x00-\\x1f\"\\\\]*") {
            let written = ObjectWriter::new().string("k", &text).finish();
            let read = parse(&written).unwrap();
            proptest::prop_assert_eq!(read.get("k").and_then(Json::as_str), Some(text.as_str()));
            let theirs: serde_json::Value = serde_json::from_str(&written).unwrap();
            proptest::prop_assert_eq!(theirs["k"].as_str(), Some(text.as_str()));
        }
    }

    fn to_serde(value: &Json) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(text) => serde_json::from_str(text).unwrap(),
            Json::String(text) => Value::String(text.clone()),
            Json::Array(items) => Value::Array(items.iter().map(to_serde).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.clone(), to_serde(v)))
                    .collect(),
            ),
        }
    }
}
