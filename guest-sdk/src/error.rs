//! The SDK's one error type: a kind, a message, and a chain of context.
//!
//! Every fallible SDK function returns [`Result<T>`]. A phase that fails
//! returns its [`Error`] to the SDK's export glue, which renders it with
//! [`Display`](fmt::Display) into the WIT `string` error the host reports:
//! outermost context first, so the user reads what the port was doing before
//! the low-level cause, e.g.
//! `configure: reinplace @PREFIX@ in /work/demo-1.0/hello.in: No such file or directory`.

use std::fmt;

use crate::imports::{exec, files};

/// Shorthand for results of SDK operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarsely: enough for a port to decide whether to recover
/// (for example, to treat [`ErrorKind::NotFound`] as "nothing to do").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file, directory or program does not exist.
    NotFound,
    /// The sandbox refused: a path outside the phase's grants, a read-only
    /// directory, a command the capability manifest does not allow, or a
    /// directory the phase has no access to at all.
    Denied,
    /// A destination exists already.
    AlreadyExists,
    /// A malformed argument: bad regex, unknown placeholder, bad mode, ...
    Invalid,
    /// A host limit was hit (time budget of a host call or a command).
    Limit,
    /// A native command ran and failed (non-zero exit or killed by a signal).
    CommandFailed,
    /// A patch does not parse or does not apply.
    Patch,
    /// Any other failure (I/O errors, errors raised by the port itself).
    Other,
}

/// An error from a port phase or an SDK helper.
///
/// It carries an [`ErrorKind`], the message of the innermost cause, and the
/// context added on the way up with [`Context::context`] or
/// [`Error::context`]. Conversions exist from [`std::io::Error`], the WIT
/// `files` and `exec` errors, [`regex::Error`] and UTF-8 errors, so `?` works
/// on all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// Innermost first: the order in which context was added.
    context: Vec<String>,
}

impl Error {
    /// A new error of kind [`ErrorKind::Other`] with `message`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            context: Vec::new(),
        }
    }

    /// Add a line of context saying what was being done when this error
    /// happened. Context reads outermost first when displayed.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.context.push(context.to_string());
        self
    }

    /// The coarse kind of the innermost cause.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message of the innermost cause, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The context lines, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &str> {
        self.context.iter().rev().map(String::as_str)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.chain() {
            write!(f, "{c}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Adds context to the error of a `Result` (or turns a `None` into an error).
///
/// ```
/// use wport_guest_sdk::{Context, Result};
/// fn read_version(path: &str) -> Result<String> {
///     std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
/// }
/// ```
pub trait Context<T> {
    /// Wrap the error with `context`.
    fn context(self, context: impl fmt::Display) -> Result<T>;
    /// Wrap the error with the context `f` computes (only on failure).
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error::new(ErrorKind::NotFound, context.to_string()))
    }

    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::new(ErrorKind::NotFound, f().to_string()))
    }
}

/// Return early with an [`Error`] of kind [`ErrorKind::Other`] built like
/// `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::Error::msg(::std::format!($($arg)*)))
    };
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match e.kind() {
            Io::NotFound => ErrorKind::NotFound,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::Denied,
            Io::AlreadyExists => ErrorKind::AlreadyExists,
            Io::InvalidInput | Io::InvalidData => ErrorKind::Invalid,
            _ => ErrorKind::Other,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<files::Error> for Error {
    fn from(e: files::Error) -> Self {
        use files::ErrorKind as F;
        let (kind, what) = match e.kind {
            F::NotFound => (ErrorKind::NotFound, "not found"),
            F::Escape => (
                ErrorKind::Denied,
                "leaves the directories granted to this phase",
            ),
            F::ReadOnly => (ErrorKind::Denied, "not writable in this phase"),
            F::Exists => (ErrorKind::AlreadyExists, "exists already"),
            F::Invalid => (ErrorKind::Invalid, "invalid argument"),
            F::Limit => (ErrorKind::Limit, "host time limit reached"),
            F::Io => (ErrorKind::Other, "I/O error"),
        };
        let mut message = format!("{}: {what}", e.path);
        if !e.message.is_empty() {
            message.push_str(" (");
            message.push_str(&e.message);
            message.push(')');
        }
        Self::new(kind, message)
    }
}

impl From<exec::Error> for Error {
    fn from(e: exec::Error) -> Self {
        match e {
            exec::Error::Denied(m) => Self::new(ErrorKind::Denied, format!("denied: {m}")),
            exec::Error::NotFound(m) => Self::new(ErrorKind::NotFound, format!("not found: {m}")),
            exec::Error::Timeout(ms) => Self::new(
                ErrorKind::Limit,
                format!("killed after its time limit of {ms} ms"),
            ),
            exec::Error::Unavailable(m) => Self::new(
                ErrorKind::Denied,
                format!("native commands are unavailable on this host: {m}"),
            ),
            exec::Error::Failed(m) => {
                Self::new(ErrorKind::Other, format!("could not be started: {m}"))
            }
        }
    }
}

impl From<regex::Error> for Error {
    fn from(e: regex::Error) -> Self {
        Self::new(ErrorKind::Invalid, format!("bad regular expression: {e}"))
    }
}

impl From<std::string::FromUtf8Error> for Error {
    fn from(e: std::string::FromUtf8Error) -> Self {
        Self::new(ErrorKind::Invalid, format!("not UTF-8: {e}"))
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(e: std::str::Utf8Error) -> Self {
        Self::new(ErrorKind::Invalid, format!("not UTF-8: {e}"))
    }
}

impl From<fmt::Error> for Error {
    fn from(_: fmt::Error) -> Self {
        Self::msg("formatting failed")
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self::msg(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self::msg(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_outermost_context_first() {
        let e = Error::new(ErrorKind::NotFound, "no such file")
            .context("reading /work/a")
            .context("configure");
        assert_eq!(e.to_string(), "configure: reading /work/a: no such file");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "no such file");
    }

    #[test]
    fn context_on_results_and_options() {
        let r: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        let e = r.context("opening x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "opening x: gone");
        let e = None::<u8>
            .with_context(|| "param `x` is not set")
            .unwrap_err();
        assert_eq!(e.to_string(), "param `x` is not set");
    }

    #[test]
    fn files_errors_name_the_path() {
        let e: Error = files::Error {
            kind: files::ErrorKind::ReadOnly,
            path: "/sources/x".into(),
            message: String::new(),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::Denied);
        assert_eq!(e.to_string(), "/sources/x: not writable in this phase");
    }
}
