//! [`Diagnostic`]: one finding, with its rule, position and help, and the
//! three ways it is printed (human, JSON, GitHub workflow annotations).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Element, Level, Origin, Renderer, Snippet};
use serde::Serialize;
use wport_manifest::ManifestError;

use crate::rules::{Rule, Severity};

/// One finding of `wport lint`.
#[derive(Clone)]
pub struct Diagnostic {
    /// The rule's stable id (`"weak-checksum"`); see docs/LINT.md.
    pub rule: &'static str,
    /// Error or warning (fixed per rule).
    pub severity: Severity,
    /// The file the finding is about, as the linter was given it (usually
    /// `<port dir>/Portfile.toml`).
    pub file: String,
    /// 1-based line, when the finding has a position in `file`.
    pub line: Option<usize>,
    /// 1-based column in characters, when the finding has a position.
    pub column: Option<usize>,
    /// One line: what is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The short text printed under the offending span.
    pub label: String,
    /// Byte range in `file` of the offending text.
    pub span: Option<Range<usize>>,
    /// The text of `file`, for rendering the snippet.
    text: Option<Arc<str>>,
    /// A schema error keeps its own rendering (it may carry a second,
    /// related annotation the public accessors do not expose).
    schema: Option<ManifestError>,
}

impl Diagnostic {
    /// A finding of `rule` in `file`, without position.
    pub fn new(rule: &Rule, file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule: rule.id,
            severity: rule.severity,
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
            label: String::new(),
            span: None,
            text: None,
            schema: None,
        }
    }

    /// Points the finding at `span` of `text` (the content of `file`).
    pub fn at(
        mut self,
        text: &Arc<str>,
        span: Option<Range<usize>>,
        label: impl Into<String>,
    ) -> Diagnostic {
        if let Some(span) = span.filter(|s| {
            s.end <= text.len() && text.is_char_boundary(s.start) && text.is_char_boundary(s.end)
        }) {
            let (line, column) = line_column(text, span.start);
            self.line = Some(line);
            self.column = Some(column);
            self.span = Some(span);
        }
        self.text = Some(text.clone());
        self.label = label.into();
        self
    }

    /// Adds the help text.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// A schema error reported under `rule`.
    pub(crate) fn from_schema(
        rule: &Rule,
        err: ManifestError,
        text: Option<&Arc<str>>,
    ) -> Diagnostic {
        Diagnostic {
            rule: rule.id,
            severity: rule.severity,
            file: err.file().to_owned(),
            line: err.line(),
            column: err.column(),
            message: err.message().to_owned(),
            help: err.help().map(str::to_owned),
            label: err.label().to_owned(),
            span: err.span(),
            text: text.cloned(),
            schema: Some(err),
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The rustc-style rendering: `error[rule]: message`, the snippet with
    /// the offending text underlined, and the help. Plain text, ending in a
    /// newline.
    pub fn render(&self) -> String {
        let text = self.text.as_deref().unwrap_or("");
        if let Some(err) = &self.schema {
            let rendered = err.render(text);
            // The schema's renderer knows no lint rule ids: add ours to the
            // title so a reader can look the rule up in docs/LINT.md.
            return match rendered.strip_prefix("error: ") {
                Some(rest) => format!("{}[{}]: {rest}", self.severity, self.rule),
                None => rendered,
            };
        }
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let mut elements: Vec<Element<'_>> = Vec::new();
        match &self.span {
            Some(span) if self.text.is_some() => elements.push(
                Snippet::source(text)
                    .path(self.file.as_str())
                    .annotation(
                        AnnotationKind::Primary
                            .span(span.clone())
                            .label(self.label.as_str()),
                    )
                    .into(),
            ),
            _ => elements.push(Origin::path(self.file.as_str()).into()),
        }
        if let Some(help) = &self.help {
            elements.push(Level::HELP.message(help.as_str()).into());
        }
        let group = level
            .primary_title(self.message.as_str())
            .id(self.rule)
            .elements(elements);
        let mut out = Renderer::plain().render(&[group]);
        out.push('\n');
        out
    }

    /// One GitHub Actions workflow command:
    /// `::error file=F,line=L,col=C,title=RULE::MESSAGE`.
    ///
    /// Values are escaped as the runner expects (`%`, CR, LF everywhere, and
    /// `:` `,` in properties), so a crafted message cannot end the command
    /// early and inject another (`::add-mask::`, `::stop-commands::`...).
    pub fn github(&self) -> String {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = format!("file={}", escape_property(&self.file));
        if let Some(line) = self.line {
            props.push_str(&format!(",line={line}"));
            if let Some(col) = self.column {
                props.push_str(&format!(",col={col}"));
            }
        }
        props.push_str(&format!(",title={}", escape_property(self.rule)));
        let mut message = self.message.clone();
        if let Some(help) = &self.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        format!("::{level} {props}::{}", escape_data(&message))
    }

    /// The JSON form (see docs/LINT.md).
    pub fn json(&self) -> JsonDiagnostic<'_> {
        JsonDiagnostic {
            rule: self.rule,
            severity: self.severity,
            file: &self.file,
            line: self.line,
            column: self.column,
            message: &self.message,
            help: self.help.as_deref(),
        }
    }
}

/// The JSON shape of a [`Diagnostic`].
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub rule: &'a str,
    pub severity: Severity,
    pub file: &'a str,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: &'a str,
    pub help: Option<&'a str>,
}

// By hand: the derived form would print the whole Portfile text.
impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostic")
            .field("rule", &self.rule)
            .field("severity", &self.severity)
            .field("file", &self.file)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("message", &self.message)
            .field("help", &self.help)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    #[test]
    fn github_annotations_cannot_be_split() {
        let d = Diagnostic::new(
            &rules::PLAIN_HTTP,
            "p,x:y/Portfile.toml",
            "100% bad\n::add-mask::x",
        );
        assert_eq!(
            d.github(),
            "::warning file=p%2Cx%3Ay/Portfile.toml,title=plain-http::100%25 bad%0A::add-mask::x"
        );
    }

    #[test]
    fn positions_are_one_based() {
        let text: Arc<str> = Arc::from("a = 1\nbé = 2\n");
        let d = Diagnostic::new(&rules::PLAIN_HTTP, "f", "m").at(&text, Some(9..10), "here");
        assert_eq!((d.line, d.column), (Some(2), Some(3)));
    }
}
