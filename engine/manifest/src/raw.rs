//! The Portfile as serde reads it: the schema's shape, with spans.
//!
//! These structs are the single place the schema's keys are declared:
//! `deny_unknown_fields` everywhere, kebab-case keys, and `Spanned` wherever
//! [`crate::validate`] needs a position for an error. Values are still
//! unchecked strings here; `validate` turns them into [`crate::schema`] types.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPortfile {
    pub port: S<Table<RawPort>>,
    #[serde(default)]
    pub source: Vec<S<Table<RawSource>>>,
    #[serde(default)]
    pub patchfile: Vec<S<Table<RawPatchfile>>>,
    #[serde(default)]
    pub dependencies: Option<S<Table<RawDependencies>>>,
    pub build: S<Table<RawBuild>>,
    #[serde(default)]
    pub capabilities: Option<S<Table<RawCapabilities>>>,
    #[serde(default)]
    pub limits: Option<S<Table<RawLimits>>>,
    #[serde(default)]
    pub runtime: Option<S<Table<RawRuntime>>>,
}

/// `[runtime]`: how the installed programs run (the whole port), with
/// `[runtime.programs.NAME]` tables for single programs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRuntime {
    #[serde(default)]
    pub confine: Option<bool>,
    #[serde(default)]
    pub network: Option<bool>,
    #[serde(default)]
    pub exec: Option<bool>,
    #[serde(default)]
    pub arguments: Option<bool>,
    #[serde(default)]
    pub read: Vec<S<String>>,
    #[serde(default)]
    pub write: Vec<S<String>>,
    #[serde(default)]
    pub programs: BTreeMap<S<String>, S<Table<RawRuntimeProgram>>>,
}

/// `[runtime.programs.NAME]`: one program's differences from `[runtime]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRuntimeProgram {
    #[serde(default)]
    pub confine: Option<bool>,
    #[serde(default)]
    pub network: Option<bool>,
    #[serde(default)]
    pub exec: Option<bool>,
    #[serde(default)]
    pub arguments: Option<bool>,
    #[serde(default)]
    pub read: Vec<S<String>>,
    #[serde(default)]
    pub write: Vec<S<String>>,
}

/// `[limits]`: the whole build's resource limits.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawLimits {
    #[serde(default)]
    pub memory: Option<S<String>>,
    #[serde(default)]
    pub processes: Option<S<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPort {
    pub name: S<String>,
    pub version: S<String>,
    #[serde(default)]
    pub revision: u32,
    pub description: S<String>,
    pub homepage: S<String>,
    pub license: S<String>,
    pub maintainers: S<Vec<S<String>>>,
    pub upstream_contact: S<String>,
    #[serde(default)]
    pub source_date_epoch: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSource {
    pub url: S<String>,
    #[serde(default)]
    pub mirrors: Vec<S<String>>,
    pub sha256: S<String>,
    pub size: u64,
    #[serde(default)]
    pub file: Option<S<String>>,
    #[serde(default)]
    pub extract: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPatchfile {
    pub file: S<String>,
    pub sha256: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDependencies {
    #[serde(default)]
    pub build: Vec<S<String>>,
    #[serde(default)]
    pub lib: Vec<S<String>>,
    #[serde(default)]
    pub run: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawBuild {
    #[serde(default)]
    pub standard: Option<S<String>>,
    #[serde(default)]
    pub component: Option<S<String>>,
    #[serde(default)]
    pub component_sha256: Option<S<String>>,
    #[serde(default)]
    pub worksrcdir: Option<S<String>>,
    #[serde(default)]
    pub test: Option<bool>,
    #[serde(default)]
    pub params: BTreeMap<S<String>, S<Param>>,
}

/// A value that must be a TOML table.
///
/// A derived struct also accepts a sequence, so `configure = ["sh"]` in
/// `[capabilities]` would be read as `programs = "sh"` and fail with a
/// baffling message; this wrapper accepts only a table, so the error says
/// "expected a table, found a list".
pub(crate) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Table<T>, D::Error> {
        struct TableVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
            type Value = Table<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Table<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Table)
            }
        }

        deserializer.deserialize_map(TableVisitor(PhantomData))
    }
}

/// A `[build.params]` value: a string, a list of strings, or a boolean
/// (kept as `"true"`/`"false"`). The second field holds each list element's
/// span, so a bad `reinplace` edit is pointed at alone; it is empty for a
/// single string or boolean, whose span is the value's.
pub(crate) struct Param(pub Vec<String>, pub Vec<std::ops::Range<usize>>);

impl<'de> Deserialize<'de> for Param {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Param, D::Error> {
        struct ParamVisitor;

        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = Param;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a list of strings or a boolean")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Param, E> {
                Ok(Param(vec![value.to_owned()], Vec::new()))
            }

            /// `use-parallel-build = false`: a boolean is its word, `"false"`.
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Param, E> {
                Ok(Param(vec![value.to_string()], Vec::new()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Param, A::Error> {
                let mut values = Vec::new();
                let mut spans = Vec::new();
                while let Some(value) = seq.next_element::<S<String>>()? {
                    spans.push(value.span());
                    values.push(value.into_inner());
                }
                Ok(Param(values, spans))
            }
        }

        deserializer.deserialize_any(ParamVisitor)
    }
}

/// One optional table per phase. The field list is the list of phases, so
/// `deny_unknown_fields` is what rejects `[capabilities.compile]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCapabilities {
    #[serde(default)]
    pub patch: Option<S<Table<RawPhase>>>,
    #[serde(default)]
    pub configure: Option<S<Table<RawPhase>>>,
    #[serde(default)]
    pub build: Option<S<Table<RawPhase>>>,
    #[serde(default)]
    pub test: Option<S<Table<RawPhase>>>,
    #[serde(default)]
    pub destroot: Option<S<Table<RawPhase>>>,
    #[serde(default)]
    pub post_destroot: Option<S<Table<RawPhase>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPhase {
    #[serde(default)]
    pub programs: Vec<S<String>>,
    #[serde(default)]
    pub dependencies: Vec<S<String>>,
    #[serde(default)]
    pub env: BTreeMap<S<String>, S<String>>,
    #[serde(default)]
    pub allow_loader_env: Option<bool>,
    #[serde(default)]
    pub timeout: Option<S<u64>>,
}
