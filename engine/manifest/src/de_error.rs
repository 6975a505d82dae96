//! Turns `toml` parse and serde errors into [`ManifestError`]s a maintainer
//! can act on: which table, which key, what was expected, what to write.
//!
//! `toml` reports a serde error as a message plus a byte span. The span is
//! enough to find the key in the spanned document tree ([`locate`]), which
//! gives the table the error belongs to; the message's shape (serde's stable
//! `unknown field`, `missing field`, `invalid type` wording) gives the class.
//! Unit tests pin those shapes, so a serde upgrade that changes them fails
//! here rather than degrading the diagnostics silently.

use std::ops::Range;

use toml::de::{DeArray, DeTable, DeValue};

use crate::error::{Ctx, ErrorKind, ManifestError};
use crate::suggest::did_you_mean;
use crate::text::short;

/// A TOML syntax error (from `DeTable::parse`).
pub(crate) fn syntax(err: &toml::de::Error, ctx: &Ctx) -> ManifestError {
    let span = err.span().unwrap_or(0..0);
    let full = err.message();
    let (what, expected) = match full.split_once(", expected ") {
        Some((what, expected)) => (what, Some(expected)),
        None => (full, None),
    };
    let found = ctx.text.get(span.clone()).unwrap_or("");
    let help = match what {
        "string values must be quoted" => {
            format!("quote the value: `\"{}\"` (TOML has no bare strings)", short(found.trim()))
        }
        "duplicate key" => {
            format!("`{}` is already set in this table; each key may appear once: remove one of them", short(found))
        }
        "unclosed table" | "unclosed array of tables" => {
            "end the header with `]` (or `]]` for [[source]] and [[patchfile]]) on the same line".to_owned()
        }
        w if w.contains("basic string") || w.contains("literal string") => {
            "close the string with the same quote on the same line; use `\"\"\"` for a string spanning lines".to_owned()
        }
        "key with no value" => "write `key = value`; strings need quotes".to_owned(),
        "invalid float" | "invalid integer" | "invalid number" => {
            "numbers are digits only (`size = 725946`); if this is text, put it in quotes".to_owned()
        }
        _ => "see the TOML syntax at https://toml.io/en/v1.0.0".to_owned(),
    };
    let label = match (what, expected) {
        ("string values must be quoted", _) => "not quoted".to_owned(),
        (_, Some(expected)) if expected != "nothing" => format!("expected {expected}"),
        (_, _) => what.to_owned(),
    };
    let header = header_at(&ctx.text, &span);
    let err = match (what, header) {
        ("duplicate key", Some(header)) => ctx.error(
            ErrorKind::Syntax,
            span.clone(),
            format!("invalid TOML: table {header} is defined twice"),
            "defined again here",
            format!(
                "merge the keys of both {header} tables into the first one and delete this header"
            ),
        ),
        _ => ctx.error(
            ErrorKind::Syntax,
            span.clone(),
            format!("invalid TOML: {what}"),
            label,
            help,
        ),
    };
    match (what, first_definition(&ctx.text, &span)) {
        ("duplicate key", Some(first)) => err.with_related(first, "first defined here"),
        _ => err,
    }
}

/// Whether `span` sits on a `[table]` or `[[array]]` header line.
fn is_header_line(text: &str, span: &Range<usize>) -> bool {
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    text[line_start..].trim_start().starts_with('[')
}

/// The `[table]` header on the line of `span`, when that line is one (not
/// `[[array]]` headers, which may repeat).
fn header_at<'t>(text: &'t str, span: &Range<usize>) -> Option<&'t str> {
    let line_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?.trim();
    let line = line.split('#').next()?.trim_end();
    (line.starts_with('[') && !line.starts_with("[[") && line.ends_with(']')).then_some(line)
}

/// For a duplicate key or table header at `span`, the earlier definition: the
/// same `[header]` line anywhere before, or the same `key =` line earlier in
/// the same table. A best-effort text search (the parser stops at the
/// duplicate, so there is no document to ask); `None` when unsure.
fn first_definition(text: &str, span: &Range<usize>) -> Option<Range<usize>> {
    let key = text.get(span.clone())?;
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[span.start..]
        .find('\n')
        .map_or(text.len(), |i| span.start + i);
    let line = text[line_start..line_end].trim();
    let mut offset = line_start;
    // Walk the earlier lines backwards, tracking each line's byte offset.
    // `split('\n')`, not `lines()`: a `\r` must count towards the offset.
    let before = text[..line_start].strip_suffix('\n').unwrap_or("");
    for earlier in before.split('\n').rev().take_while(|_| line_start > 0) {
        offset -= earlier.len() + 1;
        let trimmed = earlier.trim();
        let indent = earlier.len() - earlier.trim_start().len();
        if line.starts_with('[') {
            if trimmed == line {
                return Some(offset + indent..offset + indent + trimmed.len());
            }
        } else if trimmed.starts_with('[') {
            return None;
        } else if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(offset + indent..offset + indent + key.len());
        }
    }
    None
}

/// A serde error: unknown field, missing field, wrong type, invalid value.
pub(crate) fn serde(err: &toml::de::Error, ctx: &Ctx) -> ManifestError {
    let message = err.message();
    let span = err.span().unwrap_or(0..0);
    let location = match DeTable::parse(&ctx.text) {
        Ok(root) => locate(root.get_ref(), &span),
        Err(_) => None,
    };
    let path = location.as_ref().map(|l| l.path.as_slice()).unwrap_or(&[]);

    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("").to_owned();
        return unknown_field(ctx, span, field, table_of(path), expected_names(message));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or("").to_owned();
        // The span is the header of the table missing the key. At the top
        // level there is no header: point at the start of the file.
        let table = table_name(path);
        return missing_field(
            ctx,
            if path.is_empty() { 0..0 } else { span },
            field,
            &table,
        );
    }
    let (field, table) = field_and_table(path);
    for (prefix, invalid_value) in [("invalid type: ", false), ("invalid value: ", true)] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let (found, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another value"));
        let expected = humanize_expected(expected);
        let found = humanize_found(found);
        let help = match crate::examples::example(&table_key(&table), &field) {
            Some(example) if crate::examples::is_phrase(&example) => format!("write {example}"),
            Some(example) => format!("write {expected}, e.g. `{example}`"),
            None => format!("write {expected}"),
        };
        let where_ = describe_field(&field, &table);
        if invalid_value {
            return ctx.error(
                ErrorKind::InvalidValue {
                    field: field.clone(),
                },
                span,
                format!("invalid value for {where_}"),
                format!("expected {expected}, found {found}"),
                help,
            );
        }
        return ctx.error(
            ErrorKind::WrongType {
                field: field.clone(),
                expected: expected.clone(),
            },
            span,
            format!("wrong type for {where_}"),
            format!("expected {expected}, found {found}"),
            help,
        );
    }
    // Not a shape we know (a future serde or toml message): still positioned.
    ctx.error(
        ErrorKind::InvalidValue {
            field: field.clone(),
        },
        span,
        format!("invalid value for {}", describe_field(&field, &table)),
        message.to_owned(),
        "",
    )
}

pub(crate) fn unknown_field(
    ctx: &Ctx,
    span: Range<usize>,
    field: String,
    table: String,
    expected: Vec<String>,
) -> ManifestError {
    let suggestion = did_you_mean(&field, expected.iter().map(String::as_str)).map(str::to_owned);
    let list = expected
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let is_phase = table == "[capabilities]";
    let (message, label) = if is_phase {
        (
            format!("unknown phase `{}` in [capabilities]", short(&field)),
            "unknown phase",
        )
    } else if table.is_empty() && is_header_line(&ctx.text, &span) {
        (
            format!("unknown table `{}`", short(&field)),
            "unknown table",
        )
    } else if table.is_empty() {
        (
            format!("unknown top-level key `{}`", short(&field)),
            "unknown key",
        )
    } else {
        (
            format!("unknown field `{}` in {}", short(&field), short(&table)),
            "unknown field",
        )
    };
    let mut help = match (is_phase, expected.len()) {
        (_, 0) => format!("{} takes no keys", short(&table)),
        (true, _) => format!("the phases are {list}"),
        (false, 1) => format!("expected {list}"),
        (false, _) => format!("expected one of {list}"),
    };
    if let Some(suggestion) = &suggestion {
        help.push_str(&format!("; did you mean `{suggestion}`?"));
    } else if !is_phase {
        // A key above the first header, or under the wrong one.
        let home = crate::examples::TABLE_KEYS
            .iter()
            .filter(|(home, _)| {
                *home != table
                    && !(home.starts_with("[capabilities") && table.starts_with("[capabilities"))
                    && !(home.starts_with("[runtime") && table.starts_with("[runtime"))
            })
            .find_map(|(home, keys)| {
                did_you_mean(&field, keys.iter().copied()).map(|key| (home, key))
            });
        if let Some((home, key)) = home {
            help.push_str(&format!(
                "; `{key}` belongs in {home}: move this line below that header"
            ));
        }
    }
    ctx.error(
        ErrorKind::UnknownField {
            field,
            table,
            expected,
            suggestion,
        },
        span,
        message,
        label,
        help,
    )
}

pub(crate) fn missing_field(
    ctx: &Ctx,
    span: Range<usize>,
    field: String,
    table: &str,
) -> ManifestError {
    let key = table_key(table);
    let example = crate::examples::example(&key, &field);
    let (message, label, mut help) = if table.is_empty() {
        let header = crate::examples::header(&field);
        let help = match &example {
            Some(example) => format!("add {example}"),
            None => format!("add a {header} table"),
        };
        (
            format!("missing {header} table"),
            format!("this Portfile has no {header} table"),
            help,
        )
    } else {
        let help = match &example {
            Some(example) if crate::examples::is_phrase(example) => format!("add {example}"),
            Some(example) => format!("add `{field}` to this table: `{example}`"),
            None => format!("add `{field}` to this table"),
        };
        (
            format!("missing field `{field}` in {table}"),
            format!("{table} needs `{field}`"),
            help,
        )
    };
    if let Some(why) = crate::examples::why(&key, &field) {
        help = format!("{help} ({why})");
    }
    ctx.error(
        ErrorKind::MissingField {
            field,
            table: table.to_owned(),
        },
        span,
        message,
        label,
        help,
    )
}

/// One step of a path through the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Where a span sits in the document.
#[derive(Debug)]
pub(crate) struct Location {
    /// Keys (and array indices) from the root to the key or value.
    pub path: Vec<Seg>,
}

/// Finds the key or value whose span is exactly `span`, preferring the
/// deepest match (an array of tables and its first element can share a
/// span).
pub(crate) fn locate(root: &DeTable<'_>, span: &Range<usize>) -> Option<Location> {
    let mut path = Vec::new();
    locate_in_table(root, span, &mut path).then_some(Location { path })
}

fn locate_in_table(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Seg>) -> bool {
    for (key, value) in table {
        path.push(Seg::Key(key.get_ref().to_string()));
        if key.span() == *span
            || locate_in_value(value.get_ref(), span, path)
            || value.span() == *span
        {
            return true;
        }
        path.pop();
    }
    false
}

fn locate_in_value(value: &DeValue<'_>, span: &Range<usize>, path: &mut Vec<Seg>) -> bool {
    match value {
        DeValue::Table(table) => locate_in_table(table, span, path),
        DeValue::Array(array) => {
            for (index, item) in array.iter().enumerate() {
                path.push(Seg::Index(index));
                if locate_in_value(item.get_ref(), span, path) || item.span() == *span {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// Leaves out of `table` the key, value or array element whose span is
/// `span`, recording a removed key's name in `pruned`. An array of tables
/// and its first element share a span: `deepest` picks the element (a
/// `[[source]]` missing a key), otherwise the key (`[[port]]` where a table
/// belongs). False when nothing has that span: the caller stops there rather
/// than read the same document again.
pub(crate) fn prune(
    table: &mut DeTable<'_>,
    span: &Range<usize>,
    deepest: bool,
    pruned: &mut Vec<String>,
) -> bool {
    let mut hit = None;
    for (key, value) in table.iter_mut() {
        let here = key.span() == *span || value.span() == *span;
        if here && !deepest {
            hit = Some(key.clone());
            break;
        }
        if prune_in_value(value.get_mut(), span, deepest, pruned) {
            return true;
        }
        if here {
            hit = Some(key.clone());
            break;
        }
    }
    let Some(hit) = hit else { return false };
    pruned.push(hit.get_ref().to_string());
    table.remove_entry(&hit).is_some()
}

fn prune_in_value(
    value: &mut DeValue<'_>,
    span: &Range<usize>,
    deepest: bool,
    pruned: &mut Vec<String>,
) -> bool {
    match value {
        DeValue::Table(table) => prune(table, span, deepest, pruned),
        DeValue::Array(array) => {
            let own = |array: &DeArray<'_>| array.iter().position(|item| item.span() == *span);
            if !deepest && let Some(index) = own(array) {
                remove_item(array, index);
                return true;
            }
            for item in array.iter_mut() {
                if prune_in_value(item.get_mut(), span, deepest, pruned) {
                    return true;
                }
            }
            match own(array) {
                Some(index) => {
                    remove_item(array, index);
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// `DeArray` has no `remove`.
fn remove_item(array: &mut DeArray<'_>, index: usize) {
    let items = std::mem::replace(array, std::iter::empty().collect());
    *array = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| (i != index).then_some(item))
        .collect();
}

/// `[port]`, `[[source]]`, `[capabilities.configure]`; "" for the top level.
pub(crate) fn table_name(path: &[Seg]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|seg| match seg {
            Seg::Key(key) => Some(key.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    if keys.is_empty() {
        return String::new();
    }
    match path.last() {
        Some(Seg::Index(_)) => format!("[[{}]]", keys.join(".")),
        _ => format!("[{}]", keys.join(".")),
    }
}

/// The table holding the last key of `path`.
fn table_of(path: &[Seg]) -> String {
    match path.iter().rposition(|seg| matches!(seg, Seg::Key(_))) {
        Some(last) => table_name(&path[..last]),
        None => String::new(),
    }
}

/// The key a value belongs to (skipping list indices), and its table.
fn field_and_table(path: &[Seg]) -> (String, String) {
    match path.iter().rposition(|seg| matches!(seg, Seg::Key(_))) {
        Some(last) => {
            let Seg::Key(key) = &path[last] else {
                unreachable!("rposition found a key")
            };
            (key.clone(), table_name(&path[..last]))
        }
        None => (String::new(), String::new()),
    }
}

/// `[[source]]` -> `source`, `[capabilities.build]` -> `capabilities.build`.
pub(crate) fn table_key(table: &str) -> String {
    table
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

pub(crate) fn describe_field(field: &str, table: &str) -> String {
    match (field.is_empty(), table.is_empty()) {
        (true, _) => "a value".to_owned(),
        (false, true) => format!("`{}`", short(field)),
        (false, false) => format!("`{}` in {}", short(field), short(table)),
    }
}

/// The backquoted names after "expected" in serde's unknown-field message:
/// "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`",
/// "there are no fields".
fn expected_names(message: &str) -> Vec<String> {
    let Some((_, expected)) = message.split_once(", expected ") else {
        return Vec::new();
    };
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// serde's "expected" wording, in a Portfile author's terms.
fn humanize_expected(expected: &str) -> String {
    match expected {
        "u32" => "a whole number from 0 to 4294967295".to_owned(),
        "u64" => "a whole number from 0 to 18446744073709551615".to_owned(),
        "a boolean" => "`true` or `false`".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a table" => "a table".to_owned(),
        "a map" => "a table".to_owned(),
        e if e.starts_with("struct ") => "a table".to_owned(),
        e => e.to_owned(),
    }
}

/// serde's description of what it found, in TOML terms.
fn humanize_found(found: &str) -> String {
    match found {
        "sequence" => "a list".to_owned(),
        "map" => "a table".to_owned(),
        f => f.replace("floating point", "float"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_names_parse_serde_wording() {
        assert_eq!(expected_names("unknown field `x`, expected `a`"), ["a"]);
        assert_eq!(
            expected_names("unknown field `x`, expected `a` or `b`"),
            ["a", "b"]
        );
        assert_eq!(
            expected_names("unknown field `x`, expected one of `a`, `b`, `c`"),
            ["a", "b", "c"]
        );
        assert!(expected_names("unknown field `x`, there are no fields").is_empty());
    }

    /// Pins the serde message shapes this module classifies by.
    #[test]
    fn serde_messages_have_the_shapes_we_parse() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[expect(dead_code, reason = "only the errors matter")]
        struct T {
            a: u32,
            bb: String,
        }
        let unknown = toml::from_str::<T>("a = 1\nbb = 'x'\nc = 1").unwrap_err();
        assert_eq!(unknown.message(), "unknown field `c`, expected `a` or `bb`");
        let missing = toml::from_str::<T>("a = 1").unwrap_err();
        assert_eq!(missing.message(), "missing field `bb`");
        let wrong = toml::from_str::<T>("a = 'x'\nbb = 'x'").unwrap_err();
        assert_eq!(wrong.message(), "invalid type: string \"x\", expected u32");
        let invalid = toml::from_str::<T>("a = -1\nbb = 'x'").unwrap_err();
        assert_eq!(
            invalid.message(),
            "invalid value: integer `-1`, expected u32"
        );
    }

    #[test]
    fn table_names() {
        let k = |s: &str| Seg::Key(s.to_owned());
        assert_eq!(table_name(&[]), "");
        assert_eq!(table_name(&[k("port")]), "[port]");
        assert_eq!(table_name(&[k("source"), Seg::Index(1)]), "[[source]]");
        assert_eq!(
            table_name(&[k("capabilities"), k("post-destroot")]),
            "[capabilities.post-destroot]"
        );
        assert_eq!(
            field_and_table(&[k("port"), k("maintainers"), Seg::Index(0)]),
            ("maintainers".to_owned(), "[port]".to_owned())
        );
    }
}
