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

/// A byte budget shared by a phase's stdout and stderr.
#[derive(Clone)]
pub(crate) struct OutputBudget {
    state: Arc<Mutex<BudgetState>>,
}

struct BudgetState {
    left: u64,
    cap: u64,
    truncated: bool,
}

impl OutputBudget {
    pub(crate) fn new(cap: u64) -> Self {
        OutputBudget {
            state: Arc::new(Mutex::new(BudgetState {
                left: cap,
                cap,
                truncated: false,
            })),
        }
    }

    /// Write as much of `bytes` as the budget allows; emit the truncation
    /// marker once when it runs out.
    pub(crate) fn write(&self, log: &BuildLog, bytes: &[u8]) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let take = (bytes.len() as u64).min(st.left) as usize;
        if take > 0 {
            log.write_bytes(&bytes[..take]);
            st.left -= take as u64;
        }
        if take < bytes.len() && !st.truncated {
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

    pub(crate) fn truncated(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_truncates_once_with_marker() {
        let (log, sink) = BuildLog::memory();
        let b = OutputBudget::new(5);
        b.write(&log, b"abc");
        b.write(&log, b"defgh");
        b.write(&log, b"ijk");
        let text = sink.text();
        assert!(text.starts_with("abcde\n[wport] output truncated"), "{text}");
        assert_eq!(text.matches("truncated").count(), 1);
        assert!(b.truncated());
    }
}
