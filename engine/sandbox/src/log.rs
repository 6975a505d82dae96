//! The build log: one file per build that records what every phase said and
//! ran. Guest output is capped per phase; past the cap it is dropped with a
//! marker, and the build goes on (a chatty port must never fail for it).
//!
//! Nothing that reaches the log can act on a terminal (`wport build -v`
//! copies it to stderr; issue 11, item 6: window-title and clipboard escape
//! sequences reached the user's terminal) or start a line that is not its
//! own: in wport's lines ([`BuildLog::line`]) and in guest output, ESC and
//! the other C0 controls except tab, DEL, the C1 controls and the Unicode
//! bidirectional overrides are written as `\xNN` / `\u{NNNN}`, invalid
//! UTF-8 as `\xNN`, and a line break inside a [`BuildLog::line`] text as
//! `\n`. Native commands' output arrives already marked and escaped by
//! `wport-exec` (every line starts with `  | `).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where a build's log goes. Cheap to clone; all clones share one sink.
#[derive(Clone)]
pub struct BuildLog {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    sink: Box<dyn Write + Send>,
    /// Also copy every line to stderr (`wport build -v`).
    echo: bool,
    /// First write error, kept so the build can report it at the end.
    error: Option<std::io::Error>,
}

impl BuildLog {
    pub fn new(sink: Box<dyn Write + Send>, echo: bool) -> Self {
        BuildLog {
            inner: Arc::new(Mutex::new(Inner {
                sink,
                echo,
                error: None,
            })),
        }
    }

    /// A log that keeps everything in memory (tests, benchmarks).
    pub fn memory() -> (Self, MemorySink) {
        let sink = MemorySink::default();
        (BuildLog::new(Box::new(sink.clone()), false), sink)
    }

    /// Append bytes as they are. Only for text already made safe: the
    /// output relay of `wport-exec` (marked and escaped), and this module.
    pub fn write_bytes(&self, bytes: &[u8]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.echo {
            let _ = std::io::stderr().write_all(bytes);
        }
        if inner.error.is_none()
            && let Err(e) = inner.sink.write_all(bytes)
        {
            inner.error = Some(e);
        }
    }

    /// Append one line, tagged with where it came from (`configure`, `exec`...).
    ///
    /// Its text may hold names a build chose (a file it left, a program it
    /// asked for): control characters, line breaks included, are escaped, so
    /// the line stays one line and cannot forge the next.
    pub fn line(&self, tag: &str, text: &str) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut line = String::with_capacity(tag.len() + text.len() + 4);
        line.push('[');
        escape_into(tag, &mut line, true);
        line.push_str("] ");
        escape_into(text, &mut line, true);
        line.push('\n');
        self.write_bytes(line.as_bytes());
    }

    pub fn flush(&self) -> std::io::Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = inner.error.take() {
            return Err(e);
        }
        inner.sink.flush()
    }
}

/// Characters never written raw: C0 controls but tab and line feed, DEL, C1
/// controls, and the bidirectional embeddings, overrides and isolates that
/// reorder how a line is displayed. (The same set as `wport-exec`'s relay.)
fn must_escape(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Append `text` to `out`, escaping what [`must_escape`] names, and line
/// feeds too when `newline_too`.
fn escape_into(text: &str, out: &mut String, newline_too: bool) {
    for c in text.chars() {
        if c == '\n' {
            out.push_str(if newline_too { "\\n" } else { "\n" });
        } else if must_escape(c) {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
}

/// Escape untrusted bytes (see [`escape_into`]; line feeds pass), writing
/// invalid UTF-8 as `\xNN`. An incomplete sequence at the end is left in
/// `pending` for the next write of the same stream.
fn escape_bytes(pending: &mut Vec<u8>, data: &[u8]) -> String {
    let mut input = std::mem::take(pending);
    input.extend_from_slice(data);
    let mut out = String::with_capacity(input.len() + 8);
    let mut chunks = input.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        escape_into(chunk.valid(), &mut out, false);
        let bad = chunk.invalid();
        if chunks.peek().is_none() && is_incomplete_utf8(bad) {
            *pending = bad.to_vec();
        } else {
            for b in bad {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    }
    out
}

/// Whether `bytes` (the invalid part of the last UTF-8 chunk) is the start
/// of a character cut off by the end of a read, to be completed by the next.
fn is_incomplete_utf8(bytes: &[u8]) -> bool {
    !bytes.is_empty() && std::str::from_utf8(bytes).is_err_and(|e| e.error_len().is_none())
}

/// In-memory log contents, shared with the [`BuildLog`] that writes them.
#[derive(Clone, Default)]
pub struct MemorySink(Arc<Mutex<Vec<u8>>>);

impl MemorySink {
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.contents()).into_owned()
    }
}

impl Write for MemorySink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A byte budget shared by everything a phase's guest writes to the log:
/// its stdout, its stderr and its `log` messages.
///
/// Guest text is untrusted: every line it contributes starts with a tag
/// naming where it came from (`[build stdout] `), so a guest cannot forge
/// the engine's own lines (`[exec] ...` audit records, `[wport] ...`).
/// Prefixes count against the budget, so the log stays within it.
#[derive(Clone)]
pub(crate) struct OutputBudget {
    state: Arc<Mutex<BudgetState>>,
}

struct BudgetState {
    left: u64,
    cap: u64,
    truncated: bool,
    /// Per stream (keyed by tag): whether its next byte starts a line, and
    /// the start of a UTF-8 sequence its last write cut.
    streams: Vec<(String, bool, Vec<u8>)>,
}

impl OutputBudget {
    pub(crate) fn new(cap: u64) -> Self {
        OutputBudget {
            state: Arc::new(Mutex::new(BudgetState {
                left: cap,
                cap,
                truncated: false,
                streams: Vec::new(),
            })),
        }
    }

    /// Append `bytes` from the stream `tag`, tagging each new line, as far
    /// as the budget allows; emit the truncation marker once when it runs out.
    pub(crate) fn write(&self, log: &BuildLog, tag: &str, bytes: &[u8]) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.truncated {
            return;
        }
        let idx = match st.streams.iter().position(|(t, _, _)| t == tag) {
            Some(i) => i,
            None => {
                st.streams.push((tag.to_owned(), true, Vec::new()));
                st.streams.len() - 1
            }
        };
        let text = escape_bytes(&mut st.streams[idx].2, bytes);
        let mut out = Vec::with_capacity(text.len() + 32);
        let mut line_start = st.streams[idx].1;
        for chunk in text.as_bytes().split_inclusive(|b| *b == b'\n') {
            if line_start {
                out.push(b'[');
                out.extend_from_slice(tag.as_bytes());
                out.extend_from_slice(b"] ");
            }
            out.extend_from_slice(chunk);
            line_start = chunk.ends_with(b"\n");
        }
        st.streams[idx].1 = line_start;
        let take = (out.len() as u64).min(st.left) as usize;
        if take > 0 {
            log.write_bytes(&out[..take]);
            st.left -= take as u64;
        }
        if take < out.len() {
            st.truncated = true;
            log.write_bytes(
                format!(
                    "\n[wport] output truncated: this phase wrote more than {} bytes\n",
                    st.cap
                )
                .as_bytes(),
            );
        }
    }

    /// Append one whole line from the stream `tag`.
    pub(crate) fn line(&self, log: &BuildLog, tag: &str, text: &str) {
        let mut line = String::with_capacity(text.len() + 1);
        line.push_str(text);
        if !line.ends_with('\n') {
            line.push('\n');
        }
        self.write(log, tag, line.as_bytes());
    }

    pub(crate) fn truncated(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_cut_by_a_write_is_kept_for_the_next_and_invalid_bytes_are_escaped() {
        let mut pending = Vec::new();
        let bytes = "é€".as_bytes(); // c3 a9 | e2 82 ac
        let mut out = escape_bytes(&mut pending, &bytes[..3]);
        assert_eq!((out.as_str(), pending.as_slice()), ("é", &[0xe2][..]));
        out += &escape_bytes(&mut pending, &bytes[3..]);
        assert_eq!(out, "é€");
        assert!(pending.is_empty());
        assert_eq!(
            escape_bytes(&mut pending, b"a\xff\x9bb\x1b"),
            "a\\xff\\x9bb\\x1b"
        );
        assert!(pending.is_empty());
    }

    #[test]
    fn budget_truncates_once_with_marker() {
        let (log, sink) = BuildLog::memory();
        let b = OutputBudget::new(10);
        b.write(&log, "o", b"abc");
        b.write(&log, "o", b"defgh");
        b.write(&log, "o", b"ijk");
        let text = sink.text();
        assert!(
            text.starts_with("[o] abcdef\n[wport] output truncated"),
            "{text}"
        );
        assert_eq!(text.matches("truncated").count(), 1);
        assert!(b.truncated());
    }

    #[test]
    fn guest_output_cannot_drive_a_terminal() {
        let (log, sink) = BuildLog::memory();
        let b = OutputBudget::new(1 << 20);
        b.write(
            &log,
            "build stdout",
            b"\x1b]0;pwned\x07\x1b]52;c;ZWNobyBoaQ==\x07\r[wport] x\t\xc2\x9b\xff\n",
        );
        // A UTF-8 sequence cut between two writes passes whole.
        b.write(&log, "build stdout", b"\xc3");
        b.write(&log, "build stdout", b"\xa9\n");
        assert_eq!(
            sink.text(),
            "[build stdout] \\x1b]0;pwned\\x07\\x1b]52;c;ZWNobyBoaQ==\\x07\\x0d[wport] x\t\\u{9b}\\xff\n\
             [build stdout] é\n"
        );
    }

    #[test]
    fn a_wport_line_stays_one_line() {
        let (log, sink) = BuildLog::memory();
        log.line(
            "wport",
            "removed special file /work/a\n[exec] \"make\" -> exit 0\x1b[2J",
        );
        log.line("exec", "done\n");
        assert_eq!(
            sink.text(),
            "[wport] removed special file /work/a\\n[exec] \"make\" -> exit 0\\x1b[2J\n[exec] done\n"
        );
    }

    #[test]
    fn every_guest_line_is_tagged() {
        let (log, sink) = BuildLog::memory();
        let b = OutputBudget::new(1 << 20);
        b.write(&log, "build stdout", b"one\n[exec] forged\npart");
        b.write(&log, "build stderr", b"err\n");
        b.write(&log, "build stdout", b"ial\n");
        assert_eq!(
            sink.text(),
            "[build stdout] one\n[build stdout] [exec] forged\n[build stdout] part\
             [build stderr] err\nial\n"
        );
    }
}
