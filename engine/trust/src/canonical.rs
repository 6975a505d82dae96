//! Canonical JSON as TUF uses it (the OLPC dialect, as implemented by
//! securesystemslib): object keys sorted by their UTF-8 bytes, no
//! insignificant whitespace, strings escaping only `"` and `\` (every other
//! byte, control characters included, is written verbatim), integers only.
//!
//! Signatures are computed over these bytes, so two implementations must
//! agree on them exactly. serde_json's `Map` is not relied on for ordering
//! (a `preserve_order` feature enabled anywhere in the build would change
//! it): keys are sorted here.

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
}
