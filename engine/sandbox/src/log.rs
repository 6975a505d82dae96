//! The build log: one file per build that records what every phase said and
//! ran. Guest output is capped per phase; past the cap it is dropped with a
//! marker, and the build goes on (a chatty port must never fail for it).

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

    /// Append raw bytes.
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
    pub fn line(&self, tag: &str, text: &str) {
        let mut line = String::with_capacity(tag.len() + text.len() + 4);
        line.push('[');
        line.push_str(tag);
        line.push_str("] ");
        line.push_str(text);
        if !line.ends_with('\n') {
            line.push('\n');
        }
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
    /// Whether each stream's next byte starts a line; keyed by tag.
    at_line_start: Vec<(String, bool)>,
}

impl OutputBudget {
    pub(crate) fn new(cap: u64) -> Self {
        OutputBudget {
            state: Arc::new(Mutex::new(BudgetState {
                left: cap,
                cap,
                truncated: false,
                at_line_start: Vec::new(),
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
        let idx = match st.at_line_start.iter().position(|(t, _)| t == tag) {
            Some(i) => i,
            None => {
                st.at_line_start.push((tag.to_owned(), true));
                st.at_line_start.len() - 1
            }
        };
        let mut out = Vec::with_capacity(bytes.len() + 32);
        let mut line_start = st.at_line_start[idx].1;
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            if line_start {
                out.push(b'[');
                out.extend_from_slice(tag.as_bytes());
                out.extend_from_slice(b"] ");
            }
            out.extend_from_slice(chunk);
            line_start = chunk.ends_with(b"\n");
        }
        st.at_line_start[idx].1 = line_start;
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
