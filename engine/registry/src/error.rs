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
    #[error("package {package} is already installed (version {version}); uninstall it first")]
    AlreadyInstalled { package: String, version: String },
    #[error("package {package} is not installed")]
    NotInstalled { package: String },
    #[error("package {package} needs {dependency}, which is not installed{hint}")]
    MissingDependency {
        package: String,
        dependency: String,
        hint: String,
    },
    #[error("package {package} is needed by {dependents:?}; uninstall those first")]
    HasDependents {
        package: String,
        dependents: Vec<String>,
    },
    #[error("package {package} was built for prefix {built_for}, not {prefix}")]
    WrongPrefix {
        package: String,
        built_for: String,
        prefix: String,
    },
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
                | RegistryError::UnsafePath { .. }
                | RegistryError::ThroughSymlink { .. }
                | RegistryError::Trust(_)
        )
    }
}
