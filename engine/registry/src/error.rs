//! Errors of the registry crate. Security outcomes are variants with the
//! facts that decided them, never strings.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("registry database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("package {package}: no signature by a trusted key ({reason})")]
    SignatureRejected { package: String, reason: String },
    #[error("package {package}: {what}: expected {expected}, found {actual}")]
    DigestMismatch {
        package: String,
        what: String,
        expected: String,
        actual: String,
    },
    #[error("package {package}: malformed: {reason}")]
    Malformed { package: String, reason: String },
    /// The provenance attestation says something else than the package.
    #[error(
        "package {package}: the provenance attestation does not match the package: {field}: \
         the package has {expected}, the attestation {actual}"
    )]
    ProvenanceMismatch {
        package: String,
        field: String,
        expected: String,
        actual: String,
    },
    #[error("package {package}: unsafe path {path:?} in the manifest or payload")]
    UnsafePath { package: String, path: String },
    #[error("{path} is owned by package {owner}; refusing to install {package} over it")]
    Conflict {
        package: String,
        path: String,
        owner: String,
    },
    #[error(
        "{path} already exists in the prefix and belongs to no package; refusing to install {package} over it"
    )]
    UnownedFileExists { package: String, path: String },
    #[error("{path}: a directory on the way is a symbolic link or not a directory; never followed")]
    ThroughSymlink { path: String },
    #[error(
        "package {package} is already installed (version {version}); upgrade it, or uninstall it first"
    )]
    AlreadyInstalled { package: String, version: String },
    #[error("package {package} is not installed")]
    NotInstalled { package: String },
    #[error("package {package} needs {dependency}, which is not installed{hint}")]
    MissingDependency {
        package: String,
        dependency: String,
        hint: String,
    },
    #[error(
        "package {package} is needed by {}; uninstall those first",
        dependents.join(", ")
    )]
    HasDependents {
        package: String,
        dependents: Vec<String>,
    },
    /// An upgrade would overwrite or move away files of the installed
    /// version that were changed since it was installed (the same files
    /// `uninstall` keeps without `force`). Nothing was changed.
    #[error(
        "upgrading {package}: {} file(s) changed since install would be replaced: {}; nothing was changed. Restore them (`wport verify {package}` lists them) or upgrade with force to replace them",
        changed.len(),
        changed.iter().map(|(p, why)| format!("{p} ({why})")).collect::<Vec<_>>().join(", ")
    )]
    ChangedFiles {
        package: String,
        /// (path, what changed)
        changed: Vec<(String, String)>,
    },
    /// The new version's dependencies would make the package depend on
    /// itself (`cycle` starts and ends with it); no package of such a cycle
    /// could ever be uninstalled.
    #[error("package {package} would depend on itself: {}", cycle.join(" -> "))]
    DependencyCycle { package: String, cycle: Vec<String> },
    #[error("package {package} was built for prefix {built_for}, not {prefix}")]
    WrongPrefix {
        package: String,
        built_for: String,
        prefix: String,
    },
    /// A bound of the payload reader was exceeded: the payload holds more
    /// than the signed manifest can account for (a header, long name or
    /// expanded size beyond it). Refused before the excess is read.
    #[error("package {package}: {what} is {actual}, over the bound of {limit}; refused")]
    BoundExceeded {
        package: String,
        what: String,
        limit: u64,
        actual: u64,
    },
    /// A destroot file whose name cannot be packaged (a control character
    /// such as a newline or ESC, or not UTF-8). `path` is escaped.
    #[error(
        "port {port}: destroot entry {path} has a name wport cannot package (control characters such as newline or ESC, or not UTF-8); rename it in the port's destroot"
    )]
    UnsafeName { port: String, path: String },
    /// The registry is gone (or empty) but the prefix shows it had one:
    /// never silently recreated, or `verify` would call a populated prefix
    /// clean.
    #[error(
        "the registry {path} is missing or empty, but the prefix {prefix} had one ({evidence}); wport will not start an empty registry over installed packages. Restore the registry from a backup; or, to forget every installed package (their files stay in the prefix, owned by no package), run `wport install` with --new-registry (it replaces the id in {marker})"
    )]
    RegistryMissing {
        path: PathBuf,
        prefix: PathBuf,
        marker: PathBuf,
        evidence: String,
    },
    /// SQLite's integrity check failed, or the file is not a database.
    #[error(
        "the registry {path} is corrupt ({detail}); nothing was changed. Restore it from a backup"
    )]
    RegistryCorrupt { path: PathBuf, detail: String },
    /// The registry is not the one this prefix was created with.
    #[error(
        "the registry {path} belongs to another prefix (its id is {found}; {marker} records {expected}); nothing was changed. Give the right --registry, or restore it from a backup"
    )]
    RegistryMismatch {
        path: PathBuf,
        marker: PathBuf,
        expected: String,
        found: String,
    },
    /// A read-only open found a transaction a crash interrupted; only a
    /// writable open can recover it.
    #[error(
        "the prefix {prefix} has an interrupted transaction ({journal}) and is not writable here; run any wport registry command with write access to the prefix to recover it first"
    )]
    RecoveryNeeded { prefix: PathBuf, journal: String },
    #[error("trust: {0}")]
    Trust(#[from] wport_trust::TrustError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, RegistryError>;

pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> RegistryError {
    let path = path.into();
    move |source| RegistryError::Io {
        action,
        path,
        source,
    }
}

impl RegistryError {
    /// Whether this is a security refusal (exit code 3 in the CLI) rather
    /// than an ordinary failure.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            RegistryError::SignatureRejected { .. }
                | RegistryError::DigestMismatch { .. }
                | RegistryError::Malformed { .. }
                | RegistryError::ProvenanceMismatch { .. }
                | RegistryError::UnsafePath { .. }
                | RegistryError::ThroughSymlink { .. }
                | RegistryError::BoundExceeded { .. }
                | RegistryError::UnsafeName { .. }
                | RegistryError::Trust(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::RegistryError;

    #[test]
    fn dependents_are_listed_in_words_not_as_a_debug_list() {
        let e = RegistryError::HasDependents {
            package: "zlib".into(),
            dependents: vec!["greet".into(), "libpng".into()],
        };
        assert_eq!(
            e.to_string(),
            "package zlib is needed by greet, libpng; uninstall those first"
        );
    }
}
