//! Placeholder expansion in Portfile parameter values (pure logic, no WIT).
//!
//! A `[build.params]` value such as `"DESTDIR={destroot}"` names build
//! facts with `{name}` placeholders. Known names are `prefix`, `destroot`,
//! `jobs`, `worksrc`, `work`, `sources`, `name` and `version`. `{{` and `}}`
//! stand for literal braces. A brace that does not start a `{identifier}`
//! (for example `{` followed by a space or `$`) is kept as it is, so shell and
//! make syntax mostly passes through; but a `{word}` that is not a known
//! placeholder is an error, so a typo like `{prefx}` fails the build instead
//! of reaching a command line.

use std::fmt;

/// The placeholder names [`Placeholders`] knows, in documentation order.
pub const NAMES: &[&str] = &[
    "prefix", "destroot", "jobs", "worksrc", "work", "sources", "name", "version",
];

/// Values for placeholders. A `None` value means the current phase has no
/// such fact (e.g. `{destroot}` during `build`): using it is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placeholders {
    /// `{prefix}`: the install prefix, e.g. `/opt/wport`.
    pub prefix: Option<String>,
    /// `{destroot}`: the staging root, only in destroot phases.
    pub destroot: Option<String>,
    /// `{jobs}`: parallel jobs allowed.
    pub jobs: Option<String>,
    /// `{worksrc}`: the extracted source tree.
    pub worksrc: Option<String>,
    /// `{work}`: the work directory.
    pub work: Option<String>,
    /// `{sources}`: the read-only sources directory.
    pub sources: Option<String>,
    /// `{name}`: the port's name.
    pub name: Option<String>,
    /// `{version}`: the port's version.
    pub version: Option<String>,
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// `{name}` is not a placeholder this SDK knows.
    Unknown {
        /// The unknown name.
        name: String,
    },
    /// `{name}` is known but has no value in the current phase.
    Unavailable {
        /// The placeholder's name.
        name: String,
    },
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { name } => write!(
                f,
                "unknown placeholder {{{name}}} (known: {}; write {{{{ for a literal brace)",
                NAMES
                    .iter()
                    .map(|n| format!("{{{n}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::Unavailable { name } => {
                write!(f, "placeholder {{{name}}} has no value in this phase")
            }
        }
    }
}

impl std::error::Error for ExpandError {}

impl Placeholders {
    fn lookup(&self, name: &str) -> Result<&str, ExpandError> {
        let v = match name {
            "prefix" => &self.prefix,
            "destroot" => &self.destroot,
            "jobs" => &self.jobs,
            "worksrc" => &self.worksrc,
            "work" => &self.work,
            "sources" => &self.sources,
            "name" => &self.name,
            "version" => &self.version,
            _ => {
                return Err(ExpandError::Unknown {
                    name: name.to_owned(),
                });
            }
        };
        v.as_deref().ok_or_else(|| ExpandError::Unavailable {
            name: name.to_owned(),
        })
    }

    /// Expand every placeholder in `value`.
    pub fn expand(&self, value: &str) -> Result<String, ExpandError> {
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(i) = rest.find(['{', '}']) {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                out.push_str(&tail[..1]);
                rest = &tail[2..];
            } else if let Some(name) = placeholder_at(tail) {
                out.push_str(self.lookup(name)?);
                rest = &tail[name.len() + 2..];
            } else {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Expand every value of a list.
    pub fn expand_all<S: AsRef<str>>(&self, values: &[S]) -> Result<Vec<String>, ExpandError> {
        values.iter().map(|v| self.expand(v.as_ref())).collect()
    }
}

/// If `s` starts with `{identifier}`, the identifier (letters, digits, `-`,
/// `_`, starting with a letter).
fn placeholder_at(s: &str) -> Option<&str> {
    let body = s.strip_prefix('{')?;
    let end = body.find('}')?;
    let name = &body[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph() -> Placeholders {
        Placeholders {
            prefix: Some("/opt/wport".into()),
            jobs: Some("4".into()),
            worksrc: Some("/work/x-1.0".into()),
            ..Default::default()
        }
    }

    #[test]
    fn expands_known_placeholders() {
        assert_eq!(
            ph().expand("PREFIX={prefix} -j{jobs}").unwrap(),
            "PREFIX=/opt/wport -j4"
        );
        assert_eq!(ph().expand("{worksrc}/src").unwrap(), "/work/x-1.0/src");
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(ph().expand("{{prefix}}").unwrap(), "{prefix}");
        assert_eq!(ph().expand("a}}b{{").unwrap(), "a}b{");
    }

    #[test]
    fn non_placeholder_braces_pass_through() {
        assert_eq!(ph().expand("${ HOME }").unwrap(), "${ HOME }");
        assert_eq!(ph().expand("{").unwrap(), "{");
        assert_eq!(ph().expand("}").unwrap(), "}");
        assert_eq!(ph().expand("{1}").unwrap(), "{1}");
        assert_eq!(ph().expand("f() { :; }").unwrap(), "f() { :; }");
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        let e = ph().expand("--prefix={prefx}").unwrap_err();
        assert_eq!(
            e,
            ExpandError::Unknown {
                name: "prefx".into()
            }
        );
        assert!(e.to_string().contains("{prefix}"));
    }

    #[test]
    fn unavailable_placeholder_is_an_error() {
        let e = ph().expand("DESTDIR={destroot}").unwrap_err();
        assert_eq!(
            e,
            ExpandError::Unavailable {
                name: "destroot".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "placeholder {destroot} has no value in this phase"
        );
    }

    #[test]
    fn values_are_not_re_expanded() {
        let p = Placeholders {
            prefix: Some("/opt/{jobs}".into()),
            jobs: Some("2".into()),
            ..Default::default()
        };
        assert_eq!(p.expand("{prefix}").unwrap(), "/opt/{jobs}");
    }
}
