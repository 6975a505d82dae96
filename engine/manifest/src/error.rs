//! [`ManifestError`]: one problem in a Portfile, with its position and a
//! suggestion, rendered like a rustc diagnostic.
//!
//! Errors are for two readers: a port maintainer, who reads the rendered
//! snippet ([`ManifestError::render`], or `Display`), and tools (a linter
//! emitting JSON or GitHub annotations), which read the structured accessors
//! ([`ManifestError::kind`], [`ManifestError::line`], ...). Security-relevant
//! outcomes are their own [`ErrorKind`] variants, never only a string.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Element, Level, Origin, Renderer, Snippet};

use crate::phase::Phase;

/// What kind of problem a [`ManifestError`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`crate::Portfile::load`] could not read the file.
    Io,
    /// The Portfile is larger than [`crate::MAX_PORTFILE_BYTES`]; nothing of
    /// it was parsed.
    TooLarge {
        /// Its size in bytes (at least `limit + 1` when read from a file:
        /// reading stops there).
        size: u64,
        /// [`crate::MAX_PORTFILE_BYTES`].
        limit: u64,
    },
    /// The text is not valid TOML.
    Syntax,
    /// A key the schema does not know (including an unknown phase in
    /// `[capabilities]`).
    UnknownField {
        /// The key as written.
        field: String,
        /// The table it appeared in, e.g. `[[source]]`.
        table: String,
        /// The keys that table accepts.
        expected: Vec<String>,
        /// The closest accepted key, when one is close.
        suggestion: Option<String>,
    },
    /// A required key (or table) is absent.
    MissingField {
        /// The missing key.
        field: String,
        /// The table it is missing from, e.g. `[port]`.
        table: String,
    },
    /// A value of the wrong TOML type, e.g. a number where a string belongs.
    WrongType {
        /// The key whose value has the wrong type.
        field: String,
        /// What the schema expects, in words.
        expected: String,
    },
    /// A value of the right type that breaks a rule (bad hex, bad name, ...).
    InvalidValue {
        /// The key whose value is invalid.
        field: String,
    },
    /// A path that is absolute, contains `..` or NUL, or otherwise could
    /// leave the directory it is relative to.
    UnsafePath {
        /// The key holding the path.
        field: String,
        /// The path as written.
        path: String,
    },
    /// Two keys that exclude each other were both given (`standard` and
    /// `component`), or neither of two alternatives was.
    Conflict {
        /// The first key.
        field: String,
        /// The key it conflicts with.
        other: String,
    },
    /// A phase was granted a dependency that `[dependencies]` does not declare.
    UndeclaredDependency {
        /// The phase that asked.
        phase: Phase,
        /// The undeclared port name.
        dependency: String,
    },
    /// A loader variable (`LD_PRELOAD`, `DYLD_*`...) in a phase's `env`
    /// without `allow-loader-env = true`.
    LoaderEnvRefused {
        /// The phase whose env sets it.
        phase: Phase,
        /// The variable name.
        variable: String,
    },
    /// A variable the engine owns (`PATH`) in a phase's `env`.
    ReservedEnv {
        /// The phase whose env sets it.
        phase: Phase,
        /// The variable name.
        variable: String,
    },
    /// A value that must be unique appears twice (distfile names,
    /// dependencies in one list).
    Duplicate {
        /// The key holding the value.
        field: String,
        /// The repeated value.
        value: String,
    },
}

impl ErrorKind {
    /// A stable, kebab-case identifier for tools: `"unknown-field"`, ...
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::TooLarge { .. } => "too-large",
            ErrorKind::Syntax => "syntax",
            ErrorKind::UnknownField { .. } => "unknown-field",
            ErrorKind::MissingField { .. } => "missing-field",
            ErrorKind::WrongType { .. } => "wrong-type",
            ErrorKind::InvalidValue { .. } => "invalid-value",
            ErrorKind::UnsafePath { .. } => "unsafe-path",
            ErrorKind::Conflict { .. } => "conflict",
            ErrorKind::UndeclaredDependency { .. } => "undeclared-dependency",
            ErrorKind::LoaderEnvRefused { .. } => "loader-env-refused",
            ErrorKind::ReservedEnv { .. } => "reserved-env",
            ErrorKind::Duplicate { .. } => "duplicate",
        }
    }
}

/// One problem in a Portfile.
///
/// `Display` renders the full diagnostic (the same text as
/// [`ManifestError::render`] with the Portfile's own text):
///
/// ```text
/// error: unknown field `sha265` in [[source]]
///   --> ports/hello/Portfile.toml:14:1
///    |
/// 14 | sha265 = "31e0..."
///    | ^^^^^^ unknown field
///    |
///    = help: expected one of `url`, `mirrors`, `sha256`, `size`, `file`, `extract`; did you mean `sha256`?
/// ```
#[derive(Clone)]
pub struct ManifestError {
    // Boxed: `Result<Portfile, ManifestError>` stays small on the happy path.
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    file: String,
    text: Option<Arc<str>>,
    span: Option<Range<usize>>,
    line: usize,
    column: usize,
    message: String,
    label: String,
    help: Option<String>,
    related: Option<(Range<usize>, String)>,
    io: Option<Arc<std::io::Error>>,
}

/// The Portfile being parsed: where errors point to.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) file: String,
    pub(crate) text: Arc<str>,
}

impl Ctx {
    pub(crate) fn new(text: &str, file: &str) -> Ctx {
        Ctx {
            file: file.to_owned(),
            text: Arc::from(text),
        }
    }

    /// An error at `span` of this Portfile.
    pub(crate) fn error(
        &self,
        kind: ErrorKind,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: impl Into<String>,
    ) -> ManifestError {
        let span = clamp(&self.text, span);
        let (line, column) = line_column(&self.text, span.start);
        let help = help.into();
        ManifestError {
            inner: Box::new(Inner {
                kind,
                file: self.file.clone(),
                text: Some(self.text.clone()),
                span: Some(span),
                line,
                column,
                message: message.into(),
                label: label.into(),
                help: (!help.is_empty()).then_some(help),
                related: None,
                io: None,
            }),
        }
    }
}

impl ManifestError {
    /// A file that could not be read.
    pub(crate) fn io(file: &str, error: std::io::Error) -> ManifestError {
        ManifestError {
            inner: Box::new(Inner {
                kind: ErrorKind::Io,
                file: file.to_owned(),
                text: None,
                span: None,
                line: 0,
                column: 0,
                message: format!("cannot read {file}: {error}"),
                label: String::new(),
                help: Some(
                    "check that the port directory contains a readable Portfile.toml".to_owned(),
                ),
                related: None,
                io: Some(Arc::new(error)),
            }),
        }
    }

    /// A Portfile over [`crate::MAX_PORTFILE_BYTES`].
    pub(crate) fn too_large(file: &str, size: u64, exact: bool) -> ManifestError {
        let limit = crate::MAX_PORTFILE_BYTES;
        let size_text = if exact {
            format!("{size} bytes")
        } else {
            format!("more than {limit} bytes")
        };
        ManifestError {
            inner: Box::new(Inner {
                kind: ErrorKind::TooLarge { size, limit },
                file: file.to_owned(),
                text: None,
                span: None,
                line: 0,
                column: 0,
                message: format!(
                    "{file} is {size_text}, over the Portfile limit of {limit} bytes; nothing of it was parsed"
                ),
                label: String::new(),
                help: Some(
                    "a Portfile is a few kilobytes of TOML; keep data in files/ or in the distfiles"
                        .to_owned(),
                ),
                related: None,
                io: None,
            }),
        }
    }

    /// Adds a secondary annotation (e.g. "first defined here").
    pub(crate) fn with_related(
        mut self,
        span: Range<usize>,
        label: impl Into<String>,
    ) -> ManifestError {
        if let Some(text) = &self.inner.text {
            self.inner.related = Some((clamp(text, span), label.into()));
        }
        self
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The file name given to [`crate::Portfile::parse`] (or the path given to
    /// [`crate::Portfile::load`]).
    pub fn file(&self) -> &str {
        &self.inner.file
    }

    /// 1-based line of the start of the problem; `None` for [`ErrorKind::Io`].
    pub fn line(&self) -> Option<usize> {
        self.inner.span.as_ref().map(|_| self.inner.line)
    }

    /// 1-based column, in characters; `None` for [`ErrorKind::Io`].
    pub fn column(&self) -> Option<usize> {
        self.inner.span.as_ref().map(|_| self.inner.column)
    }

    /// Byte range of the offending text in the Portfile; `None` for
    /// [`ErrorKind::Io`].
    pub fn span(&self) -> Option<Range<usize>> {
        self.inner.span.clone()
    }

    /// One line saying what is wrong, e.g. "unknown field `sha265` in \[\[source\]\]".
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The short text printed under the offending span, e.g. "unknown field".
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// What to write instead.
    pub fn help(&self) -> Option<&str> {
        self.inner.help.as_deref()
    }

    /// The error that kept the file from being read, for [`ErrorKind::Io`]
    /// (its text is already part of [`ManifestError::message`]).
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.inner.io.as_deref()
    }

    /// Renders the diagnostic against `source_text` (the Portfile's text), as
    /// plain text without colour.
    pub fn render(&self, source_text: &str) -> String {
        self.render_with(&Renderer::plain(), source_text)
    }

    /// Like [`ManifestError::render`], with ANSI colours for a terminal.
    pub fn render_styled(&self, source_text: &str) -> String {
        self.render_with(&Renderer::styled(), source_text)
    }

    fn render_with(&self, renderer: &Renderer, source_text: &str) -> String {
        let inner = &*self.inner;
        let mut elements: Vec<Element<'_>> = Vec::new();
        let spans_fit = |span: &Range<usize>| {
            span.end <= source_text.len()
                && source_text.is_char_boundary(span.start)
                && source_text.is_char_boundary(span.end)
        };
        match &inner.span {
            Some(span) if spans_fit(span) => {
                let mut snippet = Snippet::source(source_text)
                    .path(inner.file.as_str())
                    .annotation(
                        AnnotationKind::Primary
                            .span(span.clone())
                            .label(inner.label.as_str()),
                    );
                if let Some((related, label)) =
                    inner.related.as_ref().filter(|(span, _)| spans_fit(span))
                {
                    snippet = snippet.annotation(
                        AnnotationKind::Context
                            .span(related.clone())
                            .label(label.as_str()),
                    );
                }
                elements.push(snippet.into());
            }
            _ => elements.push(Origin::path(inner.file.as_str()).into()),
        }
        if let Some(help) = &inner.help {
            elements.push(Level::HELP.message(help.as_str()).into());
        }
        let group = Level::ERROR
            .primary_title(inner.message.as_str())
            .elements(elements);
        let mut out = renderer.render(&[group]);
        out.push('\n');
        out
    }
}

// By hand: the derived form would print the whole Portfile text.
impl fmt::Debug for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("ManifestError")
            .field("kind", &inner.kind)
            .field("file", &inner.file)
            .field("line", &self.line())
            .field("column", &self.column())
            .field("message", &inner.message)
            .field("help", &inner.help)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.inner.text.as_deref().unwrap_or("");
        f.write_str(self.render(text).trim_end())
    }
}

// No `source()`: the one cause a ManifestError has, the `io::Error` of
// [`ErrorKind::Io`], is already in its message ("cannot read FILE: No such
// file or directory (os error 2)"), which `wport lint` and the JSON and
// GitHub formats print on their own. Returning it as the source too made
// every chain printer (`wport build`'s `caused by:` lines, anyhow's `{:#}`)
// say it twice. [`ManifestError::io_error`] gives it to a caller that wants
// its kind.
impl std::error::Error for ManifestError {}

/// Keeps a span inside the text and on character boundaries, so rendering
/// never panics on a span computed from an edited or truncated text.
fn clamp(text: &str, span: Range<usize>) -> Range<usize> {
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 9), (2, 3));
    }

    #[test]
    fn debug_omits_the_portfile_text() {
        let ctx = Ctx::new("secret = 1\n", "P.toml");
        let err = ctx.error(ErrorKind::Syntax, 0..6, "m", "l", "h");
        let debug = format!("{err:?}");
        assert!(
            debug.contains("line: Some(1)") && !debug.contains("secret = 1"),
            "{debug}"
        );
    }

    #[test]
    fn errors_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<ManifestError>();
    }

    #[test]
    fn clamp_keeps_spans_renderable() {
        assert_eq!(clamp("abc", 5..9), 3..3);
        assert_eq!(clamp("é", 1..1), 0..2);
    }

    #[test]
    fn io_errors_have_no_position_and_render_the_file() {
        let err = ManifestError::io(
            "ports/x/Portfile.toml",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(err.kind(), &ErrorKind::Io);
        assert_eq!(err.line(), None);
        let shown = err.to_string();
        assert!(
            shown.starts_with("error: cannot read ports/x/Portfile.toml"),
            "{shown}"
        );
        assert!(shown.contains("ports/x/Portfile.toml"), "{shown}");
    }

    /// The OS error is said once, in the message: a chain printer that
    /// walks `source()` (`wport build`'s `caused by:` lines) must not find
    /// it again (issue 14: "No such file or directory" shown twice).
    #[test]
    fn an_io_error_is_in_the_message_and_not_also_the_source() {
        let err = ManifestError::io(
            "ports/x/Portfile.toml",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert!(
            err.message().ends_with("entity not found"),
            "{}",
            err.message()
        );
        assert!(std::error::Error::source(&err).is_none());
        assert_eq!(
            err.io_error().map(std::io::Error::kind),
            Some(std::io::ErrorKind::NotFound)
        );
        let chain = source_chain(&err);
        assert_eq!(chain.matches("entity not found").count(), 1, "{chain}");
    }

    /// Every message of an error's `source()` chain, one per line.
    fn source_chain(e: &dyn std::error::Error) -> String {
        let mut out = e.to_string();
        let mut next = e.source();
        while let Some(c) = next {
            out.push('\n');
            out.push_str(&c.to_string());
            next = c.source();
        }
        out
    }
}
