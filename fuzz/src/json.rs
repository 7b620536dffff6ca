//! `checkout_core::json`: the widget reads every API answer with it.
//!
//! Properties: never panics; what it accepts, writing it back (with the crate's own
//! `ObjectWriter` for objects and strings) reads back to the same tree; and it agrees with
//! serde_json on accept or refuse, and on the value, except where the difference is by design:
//! nesting deeper than 32 (refused here, so hostile input cannot exhaust the widget's stack) and
//! numbers beyond f64 (kept as text here, refused by serde_json; the widget reads integers only).

use checkout_core::json::{Json, ObjectWriter};
use serde_json::Value;

/// The widget's nesting limit (`MAX_DEPTH` in core/src/json.rs).
const MAX_DEPTH: usize = 32;

pub fn check(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let ours = Json::parse(text);
    let theirs = serde_json::from_str::<Value>(text);
    match (&ours, &theirs) {
        (Some(value), Ok(reference)) => {
            assert_eq!(&to_serde(value), reference, "read differently: {text:?}");
            agree_on_integers(value, reference);
        }
        (Some(value), Err(_)) => assert!(
            has_number_beyond_f64(value),
            "accepted what serde_json refuses: {text:?}"
        ),
        (None, Ok(reference)) => {
            assert!(depth(reference) > MAX_DEPTH, "refused valid JSON: {text:?}")
        }
        (None, Err(_)) => {}
    }
    if let Some(value) = ours {
        let written = write(&value);
        assert_eq!(
            Json::parse(&written).as_ref(),
            Some(&value),
            "does not round-trip: {text:?} written as {written:?}"
        );
    }
}

/// The value as serde_json would hold it: a repeated key keeps its last value, as there.
fn to_serde(value: &Json) -> Value {
    match value {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(text) => serde_json::from_str(text).unwrap_or(Value::Null),
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

/// `as_i64`, which the widget reads amounts with, gives what serde_json's does.
fn agree_on_integers(value: &Json, reference: &Value) {
    match (value, reference) {
        // serde_json reads `-0` as the float -0.0; zero either way.
        (Json::Number(text), _) if text == "-0" => assert_eq!(value.as_i64(), Some(0)),
        (Json::Number(text), _) => {
            assert_eq!(value.as_i64(), reference.as_i64(), "integer {text:?}")
        }
        (Json::Array(items), Value::Array(reference)) => {
            for (item, theirs) in items.iter().zip(reference) {
                agree_on_integers(item, theirs);
            }
        }
        (Json::Object(members), Value::Object(_)) => {
            for (key, member) in members {
                // A repeated key: `get` keeps the first, serde_json the last.
                if !repeated(members, key) {
                    agree_on_integers(member, &reference[key.as_str()]);
                }
            }
        }
        _ => {}
    }
}

fn repeated(members: &[(String, Json)], key: &str) -> bool {
    members.iter().filter(|(k, _)| k == key).count() > 1
}

fn has_number_beyond_f64(value: &Json) -> bool {
    match value {
        Json::Number(text) => serde_json::from_str::<Value>(text).is_err(),
        Json::Array(items) => items.iter().any(has_number_beyond_f64),
        Json::Object(members) => members.iter().any(|(_, v)| has_number_beyond_f64(v)),
        _ => false,
    }
}

/// Levels of arrays and objects, as the reader counts them.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The tree as JSON text, through the crate's writer wherever it has one.
fn write(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(text) => text.clone(),
        Json::String(text) => {
            let object = ObjectWriter::new().string("", text).finish();
            object["{\"\":".len()..object.len() - 1].to_owned()
        }
        Json::Array(items) => {
            let items: Vec<String> = items.iter().map(write).collect();
            format!("[{}]", items.join(","))
        }
        Json::Object(members) => members
            .iter()
            .fold(ObjectWriter::new(), |object, (key, member)| {
                object.raw(key, &write(member))
            })
            .finish(),
    }
}
