//! Canonical JSON as TUF uses it (the OLPC dialect, as implemented by
//! securesystemslib): object keys sorted by their UTF-8 bytes, no
//! insignificant whitespace, strings escaping only `"` and `\` (every other
//! byte, control characters included, is written verbatim), integers only.
//!
//! Signatures are computed over these bytes, so two implementations must
//! agree on them exactly. serde_json's `Map` is not relied on for ordering
//! (a `preserve_order` feature enabled anywhere in the build would change
//! it): keys are sorted here.
//!
//! Two entry points: [`to_canonical`] encodes a [`Value`] the repository
//! built, and [`canonicalize`] re-encodes received JSON text directly,
//! without building a `Value` tree. The client uses the latter on metadata
//! whose signature it has not checked yet: a `Value` tree costs about 20
//! times the text (issue 11 item 15: 58 MB of unsigned metadata reached
//! 1.2 GB), while [`canonicalize`] holds only the output and, per object
//! being encoded, its entries' encodings (about twice the text at most).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::{Result, TrustError};

/// The canonical encoding of `value`. Floats are refused: they have no
/// canonical form in this dialect.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(TrustError::Malformed {
                    document: "canonical JSON".into(),
                    reason: format!("non-integer number {n}"),
                });
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                write(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// The canonical encoding of the JSON text `text`, without building a
/// [`Value`]: the same bytes as [`to_canonical`] of the parsed value
/// (a repeated object key keeps its last value, as the parse does). Floats
/// and integers outside `i64`/`u64` are refused.
pub fn canonicalize(text: &[u8]) -> Result<Vec<u8>> {
    let malformed = |e: serde_json::Error| TrustError::Malformed {
        document: "canonical JSON".into(),
        reason: e.to_string(),
    };
    let mut out = Vec::with_capacity(text.len());
    let mut de = serde_json::Deserializer::from_slice(text);
    Canon(&mut out).deserialize(&mut de).map_err(malformed)?;
    de.end().map_err(malformed)?;
    Ok(out)
}

/// Writes the canonical form of the value it is fed to `.0`.
struct Canon<'o>(&'o mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Canon<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Canon<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<(), E> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<(), E> {
        self.0
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<(), E> {
        self.0.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<(), E> {
        self.0.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<(), E> {
        Err(E::custom(format!("non-integer number {v}")))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<(), E> {
        write_str(v, self.0);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.0.push(b'[');
        let mut first = true;
        loop {
            // The separator goes in before the element is known to exist,
            // and is taken back at the end of the array.
            let mark = self.0.len();
            if !first {
                self.0.push(b',');
            }
            if seq.next_element_seed(Canon(self.0))?.is_none() {
                self.0.truncate(mark);
                break;
            }
            first = false;
        }
        self.0.push(b']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        // Keys are sorted by their UTF-8 bytes (`str`'s order); a repeated
        // key keeps its last value, as serde_json's `Value` does.
        let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let mut value = Vec::new();
            map.next_value_seed(Canon(&mut value))?;
            entries.insert(key, value);
        }
        self.0.push(b'{');
        for (i, (k, v)) in entries.into_iter().enumerate() {
            if i > 0 {
                self.0.push(b',');
            }
            write_str(&k, self.0);
            self.0.push(b':');
            self.0.extend_from_slice(&v);
        }
        self.0.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(to_canonical(&v).unwrap()).unwrap()
    }

    #[test]
    fn keys_sorted_by_bytes_no_whitespace() {
        assert_eq!(
            canon(json!({"b": 1, "a": [true, false, null], "B": {}})),
            r#"{"B":{},"a":[true,false,null],"b":1}"#
        );
        // UTF-8 byte order equals code point order: U+00E9 (c3 a9) sorts after 'z'.
        assert_eq!(canon(json!({"é": 1, "z": 2})), "{\"z\":2,\"é\":1}");
    }

    #[test]
    fn strings_escape_only_quote_and_backslash() {
        assert_eq!(canon(json!("a\"b\\c\nd\u{1}")), "\"a\\\"b\\\\c\nd\u{1}\"");
        assert_eq!(canon(json!("ü/é")), "\"ü/é\"");
    }

    #[test]
    fn integers_only() {
        assert_eq!(
            canon(json!([-3, 0, 18446744073709551615u64])),
            "[-3,0,18446744073709551615]"
        );
        let float: Value = serde_json::from_str("1.5").unwrap();
        assert!(matches!(
            to_canonical(&float),
            Err(TrustError::Malformed { .. })
        ));
        let float: Value = serde_json::from_str("1.0").unwrap();
        assert!(matches!(
            to_canonical(&float),
            Err(TrustError::Malformed { .. })
        ));
    }

    #[test]
    fn nested_objects_sorted_at_every_level() {
        assert_eq!(
            canon(json!({"z": {"y": 1, "x": [{"b": 0, "a": 0}]}})),
            r#"{"z":{"x":[{"a":0,"b":0}],"y":1}}"#
        );
    }

    /// `canonicalize` of text agrees with `to_canonical` of the parsed
    /// value, on the shapes metadata has and the corner cases of the
    /// dialect.
    #[test]
    fn text_and_value_encodings_agree() {
        let cases: &[&str] = &[
            r#"{"b": 1, "a": [true, false, null], "B": {}}"#,
            r#"{"\u00e9": 1, "z": 2, "a\"b": "x\u0001\n", "é": 0}"#,
            r#"[-3, 0, 18446744073709551615, -9223372036854775808]"#,
            r#"{"z": {"y": 1, "x": [{"b": 0, "a": 0}]}, "dup": 1, "dup": [2]}"#,
            r#"  [ [], {}, "", [[]] ]  "#,
        ];
        for text in cases {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                String::from_utf8(canonicalize(text.as_bytes()).unwrap()).unwrap(),
                String::from_utf8(to_canonical(&value).unwrap()).unwrap(),
                "{text}"
            );
        }
        // The duplicate key kept its last value.
        assert_eq!(
            canonicalize(br#"{"k": 1, "k": 2}"#).unwrap(),
            br#"{"k":2}"#.to_vec()
        );
    }

    #[test]
    fn text_encoding_refuses_floats_and_trailing_bytes() {
        for text in [
            "1.5",
            "[1.0]",
            "1e3",
            "18446744073709551616",
            "{} x",
            "{",
            "",
        ] {
            assert!(
                matches!(
                    canonicalize(text.as_bytes()),
                    Err(TrustError::Malformed { .. })
                ),
                "{text}"
            );
        }
    }
}
