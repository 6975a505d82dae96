//! Example TOML for each key, quoted in help texts ("add `size = 725946`").
//!
//! Kept next to nothing else on purpose: when a key is added to
//! [`crate::raw`], its example goes here, and the `every_key_has_an_example`
//! test fails until it does.

/// A one-line example of `field` in the table `table` (`"port"`, `"source"`,
/// `"capabilities.configure"`; `""` for the top level).
///
/// For a key whose value is a table the example is a phrase, not TOML ("a
/// [port] table with ..."); [`is_phrase`] tells which.
pub(crate) fn example(table: &str, field: &str) -> Option<String> {
    if table == "capabilities" {
        return Some(format!(
            "a [capabilities.{field}] table with e.g. `programs = [\"sh\", \"./configure\"]`"
        ));
    }
    example_line(table, field).map(str::to_owned)
}

/// Whether an [`example`] is a phrase describing a table rather than a TOML line.
pub(crate) fn is_phrase(example: &str) -> bool {
    example.starts_with("a [") || example.starts_with("[[")
}

fn example_line(table: &str, field: &str) -> Option<&'static str> {
    // Phase tables share their keys: `capabilities.build.env` -> `capabilities.<phase>.env`.
    let generic;
    let table = match table.strip_prefix("capabilities.") {
        Some(rest) => {
            generic = match rest.split_once('.') {
                Some((_, below)) => format!("capabilities.<phase>.{below}"),
                None => "capabilities.<phase>".to_owned(),
            };
            generic.as_str()
        }
        None => match table.strip_prefix("runtime.programs.") {
            Some(_) => "runtime.programs.<name>",
            None => table,
        },
    };
    Some(match (table, field) {
        ("", "port") => {
            "a [port] table with `name`, `version`, `description`, `homepage`, `license`, `maintainers` and `upstream-contact`"
        }
        ("", "build") => {
            "a [build] table with `standard = \"autotools\"` (or `\"make\"`), or `component = \"port.wasm\"` and `component-sha256`"
        }
        ("", "source") => "[[source]] tables, each with `url`, `sha256` and `size`",
        ("", "patchfile") => "[[patchfile]] tables, each with `file` and `sha256`",
        ("", "dependencies") => "a [dependencies] table with `build`, `lib` and `run` lists",
        ("", "capabilities") => {
            "a [capabilities.<phase>] table per phase, e.g. [capabilities.configure]"
        }
        ("", "limits") => "a [limits] table, e.g. `memory = \"4GiB\"` and `processes = 1024`",
        ("", "runtime") => {
            "a [runtime] table, e.g. `read = [\"{xdg-config}/figlet\"]` and `network = false`"
        }
        ("runtime" | "runtime.programs.<name>", "confine") => "confine = true",
        ("runtime" | "runtime.programs.<name>", "network") => "network = false",
        ("runtime" | "runtime.programs.<name>", "exec") => "exec = true",
        ("runtime" | "runtime.programs.<name>", "arguments") => "arguments = true",
        ("runtime" | "runtime.programs.<name>", "read") => "read = [\"{xdg-config}/figlet\"]",
        ("runtime" | "runtime.programs.<name>", "write") => "write = [\"{xdg-cache}/figlet\"]",
        ("runtime", "programs") => {
            "a [runtime.programs.NAME] table per program, e.g. `network = true`"
        }
        ("runtime.programs", _) => "a [runtime.programs.NAME] table, e.g. `network = true`",
        ("limits", "memory") => "memory = \"4GiB\"",
        ("limits", "processes") => "processes = 1024",
        ("build", "params") => {
            "a [build.params] table, e.g. `configure-args = [\"--disable-nls\"]`"
        }
        ("port", "name") => "name = \"hello\"",
        ("port", "version") => "version = \"2.10\"",
        ("port", "revision") => "revision = 0",
        ("port", "description") => "description = \"Produces a familiar, friendly greeting\"",
        ("port", "homepage") => "homepage = \"https://www.gnu.org/software/hello/\"",
        ("port", "license") => "license = \"GPL-3.0-or-later\"",
        ("port", "maintainers") => "maintainers = [\"Alice <alice@example.org>\"]",
        ("port", "upstream-contact") => "upstream-contact = \"bug-hello@gnu.org\"",
        ("port", "source-date-epoch") => "source-date-epoch = 1400000000",
        ("source", "url") => "url = \"https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz\"",
        ("source", "mirrors") => {
            "mirrors = [\"https://mirror.example/gnu/hello/hello-2.10.tar.gz\"]"
        }
        ("source" | "patchfile", "sha256") => "sha256 = \"<64 lowercase hex digits>\"",
        ("source", "size") => "size = 725946",
        ("source", "file") => "file = \"hello-2.10.tar.gz\"",
        ("source", "extract") => "extract = true",
        ("patchfile", "file") => "file = \"patch-Makefile.diff\"",
        ("dependencies", "build") => "build = [\"pkgconfig\"]",
        ("dependencies", "lib") => "lib = [\"zlib\"]",
        ("dependencies", "run") => "run = []",
        ("build", "standard") => "standard = \"autotools\"",
        ("build", "component") => "component = \"port.wasm\"",
        ("build", "component-sha256") => "component-sha256 = \"<64 lowercase hex digits>\"",
        ("build", "worksrcdir") => "worksrcdir = \"hello-2.10\"",
        ("build", "test") => "test = true",
        ("build.params", _) => "configure-args = [\"--disable-nls\"]",
        ("capabilities.<phase>", "programs") => "programs = [\"sh\", \"cc\", \"./configure\"]",
        ("capabilities.<phase>", "dependencies") => "dependencies = [\"zlib\"]",
        ("capabilities.<phase>", "env") => "env = { CFLAGS = \"-O2\" }",
        ("capabilities.<phase>", "allow-loader-env") => "allow-loader-env = false",
        ("capabilities.<phase>", "timeout") => "timeout = 600",
        ("capabilities.<phase>.env", _) => "CFLAGS = \"-O2\"",
        _ => return None,
    })
}

/// The keys of each table, for "this key belongs in [port]" hints. A test
/// checks these lists against the serde structs in `raw`.
pub(crate) const TABLE_KEYS: [(&str, &[&str]); 9] = [
    (
        "[port]",
        &[
            "name",
            "version",
            "revision",
            "description",
            "homepage",
            "license",
            "maintainers",
            "upstream-contact",
            "source-date-epoch",
        ],
    ),
    (
        "[[source]]",
        &["url", "mirrors", "sha256", "size", "file", "extract"],
    ),
    ("[[patchfile]]", &["file", "sha256"]),
    ("[dependencies]", &["build", "lib", "run"]),
    (
        "[build]",
        &[
            "standard",
            "component",
            "component-sha256",
            "worksrcdir",
            "test",
            "params",
        ],
    ),
    (
        "[capabilities.<phase>]",
        &[
            "programs",
            "dependencies",
            "env",
            "allow-loader-env",
            "timeout",
        ],
    ),
    ("[limits]", &["memory", "processes"]),
    (
        "[runtime]",
        &[
            "confine",
            "network",
            "exec",
            "arguments",
            "read",
            "write",
            "programs",
        ],
    ),
    (
        "[runtime.programs.<name>]",
        &["confine", "network", "exec", "arguments", "read", "write"],
    ),
];

/// The header of a top-level table: `[port]`, `[[source]]`.
pub(crate) fn header(field: &str) -> String {
    match field {
        "source" | "patchfile" => format!("[[{field}]]"),
        _ => format!("[{field}]"),
    }
}

/// Why a required key is required, when that is not obvious.
pub(crate) fn why(table: &str, field: &str) -> Option<&'static str> {
    Some(match (table, field) {
        ("port", "upstream-contact") => {
            "who to ask when an upstream tarball changes under a published checksum"
        }
        ("port", "maintainers") => "at least one person answerable for the port",
        ("source", "sha256") => "compute it with `sha256sum FILE`",
        ("patchfile", "sha256") => "compute it with `sha256sum files/FILE`",
        ("build", "component-sha256") => "compute it with `sha256sum port.wasm`",
        ("source", "size") => {
            "the size in bytes, e.g. from `stat -c %s FILE`; downloads stop past it"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde::de::{self, Deserializer, Visitor, value::Error};

    use super::*;
    use crate::raw::{
        RawBuild, RawCapabilities, RawDependencies, RawLimits, RawPatchfile, RawPhase, RawPort,
        RawPortfile, RawRuntime, RawRuntimeProgram, RawSource,
    };

    /// A deserializer that only records the field list a derived struct
    /// asks for, so this test reads the schema from `raw` itself.
    struct FieldNames(Option<&'static [&'static str]>);

    impl<'de> Deserializer<'de> for &mut FieldNames {
        type Error = Error;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("field names recorded"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
            Err(de::Error::custom("not a struct"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    fn fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
        let mut names = FieldNames(None);
        let _ = T::deserialize(&mut names);
        names.0.expect("a derived struct")
    }

    #[test]
    fn every_key_has_an_example() {
        let tables: [(&str, &[&str]); 10] = [
            ("", fields::<RawPortfile>()),
            ("port", fields::<RawPort>()),
            ("source", fields::<RawSource>()),
            ("patchfile", fields::<RawPatchfile>()),
            ("dependencies", fields::<RawDependencies>()),
            ("build", fields::<RawBuild>()),
            ("capabilities.configure", fields::<RawPhase>()),
            ("limits", fields::<RawLimits>()),
            ("runtime", fields::<RawRuntime>()),
            ("runtime.programs.figlet", fields::<RawRuntimeProgram>()),
        ];
        for (table, keys) in tables {
            for key in keys {
                assert!(
                    example(table, key).is_some(),
                    "no example for `{key}` in [{table}]"
                );
            }
        }
        for phase in fields::<RawCapabilities>() {
            assert!(
                example("capabilities", phase).is_some(),
                "no example for phase `{phase}`"
            );
        }
        assert_eq!(
            fields::<RawSource>(),
            ["url", "mirrors", "sha256", "size", "file", "extract"]
        );
    }
}
