//! JSON read strictly: a key given twice in one object is an error, not "the last one wins"
//! (a duplicate `op` would switch the command), and every string is checked as text a person
//! can read back: not empty, no control characters, at most [`MAX_TEXT`] bytes. Used for
//! `levfarm exec` lines and the service's request bodies alike.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The longest string a command or a request may carry (an amount of 2^256 has 78 digits).
pub const MAX_TEXT: usize = 128;

/// What is wrong and where: the path of the field (`"."` for the whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictError {
    pub field: String,
    pub message: String,
}

/// Parses `text` as JSON, refusing duplicate keys and unreadable strings.
pub fn parse(text: &str) -> Result<Value, StrictError> {
    let value = Strict::deserialize(&mut serde_json::Deserializer::from_str(text))
        .map_err(|e| StrictError { field: ".".into(), message: format!("not JSON: {e}") })?
        .0;
    check_text(&value, "")?;
    Ok(value)
}

/// Like [`parse`], but strings may be empty (a request can clear a setting with `""`); they
/// still may not hold control characters or run past [`MAX_TEXT`] bytes.
pub fn parse_lenient(text: &str) -> Result<Value, StrictError> {
    let value = Strict::deserialize(&mut serde_json::Deserializer::from_str(text))
        .map_err(|e| StrictError { field: ".".into(), message: format!("not JSON: {e}") })?
        .0;
    check_strings(&value, "", false)?;
    Ok(value)
}

/// The field a serde message names (`missing field `to``, `unknown field `x``), for errors
/// raised at the object above it.
pub fn field_named(message: &str) -> Option<String> {
    ["missing field `", "unknown field `", "duplicate field `"].iter().find_map(|prefix| {
        let rest = message.strip_prefix(prefix)?;
        Some(rest[..rest.find('`')?].to_string())
    })
}

/// Every string under `value` (keys and values) is readable text.
fn check_text(value: &Value, path: &str) -> Result<(), StrictError> {
    check_strings(value, path, true)
}

/// Every string under `value` is readable text; with `strict` off, empty strings pass.
fn check_strings(value: &Value, path: &str, strict: bool) -> Result<(), StrictError> {
    let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    let ok = |s: &str| if strict || !s.is_empty() { readable(s) } else { Ok(()) };
    match value {
        Value::String(s) => ok(s).map_err(|message| StrictError {
            field: if path.is_empty() { ".".into() } else { path.into() },
            message,
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_strings(v, &at(&i.to_string()), strict)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            readable(k).map_err(|m| StrictError {
                field: at(&printable(k)),
                message: format!("a key: {m}"),
            })?;
            check_strings(v, &at(k), strict)
        }),
        _ => Ok(()),
    }
}

/// Why `s` cannot be a name, an amount or any other text field.
pub fn readable(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_TEXT {
        return Err(format!("is {} bytes long; at most {MAX_TEXT} are allowed", s.len()));
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character U+{:04X}", u32::from(c)));
    }
    Ok(())
}

/// `s` with control characters escaped and cut to [`MAX_TEXT`] characters, for messages.
pub fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_TEXT).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out
}

/// `s` with its control characters escaped (any length): one line of a message.
pub fn printable_line(s: &str) -> String {
    s.chars()
        .flat_map(|c| if c.is_control() { c.escape_debug().collect() } else { vec![c] })
        .collect()
}

/// A JSON value whose objects had no repeated key.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!(
                    "the key `{}` is given twice",
                    printable(&key)
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        let e = parse(r#"{"op":"mint","op":"transfer"}"#).unwrap_err();
        assert!(e.message.contains("`op` is given twice"), "{e:?}");
        let e = parse(r#"{"op":"x","a":{"b":1,"b":2}}"#).unwrap_err();
        assert!(e.message.contains("`b` is given twice"), "{e:?}");
        assert!(parse(r#"{"op":"x","a":{"b":1},"c":[{"b":2},{"b":3}]}"#).is_ok());
    }

    #[test]
    fn strings_must_be_readable_text() {
        let e = parse(r#"{"to":""}"#).unwrap_err();
        assert_eq!((e.field.as_str(), e.message.as_str()), ("to", "must not be empty"));
        let e = parse(r#"{"to":"al\nice"}"#).unwrap_err();
        assert_eq!(e.field, "to");
        assert!(e.message.contains("U+000A"), "{e:?}");
        let e = parse(r#"{"a":{"b":["ok","\u0000"]}}"#).unwrap_err();
        assert_eq!(e.field, "a.b.1");
        let long = format!(r#"{{"to":"{}"}}"#, "x".repeat(129));
        assert!(parse(&long).unwrap_err().message.contains("129 bytes"));
        assert_eq!(printable("a\nb\u{0}"), "a\\nb\\0");
    }
}
