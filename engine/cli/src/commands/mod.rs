pub mod attest;
pub mod build;
pub mod check;
pub mod checksum;
pub mod fetch;
pub mod install;
pub mod key;
pub mod lint;
pub mod new;
pub mod package;
pub mod ports;
pub mod quarantine;
pub mod repo;
pub mod run;
pub mod schedule;
pub mod shell;
pub mod sync;
pub mod tree;

/// Print an error with its whole context chain, the way every verb does:
/// `error: OUTER` then `  caused by: INNER` lines, each said once. A
/// message that already starts with `error` (a rendered Portfile
/// diagnostic) is not prefixed again; a context that the next message
/// repeats at its start (`port zlib@1.3` before `port zlib@1.3: phase build
/// failed`) is left out; and a cause whose text the previous line already
/// ends with (an `io::Error` under a message quoting it) is not repeated.
pub fn report(e: &anyhow::Error) {
    eprint!("{}", report_text(e));
}

/// The text [`report`] prints.
pub fn report_text(e: &anyhow::Error) -> String {
    let messages: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let mut lines: Vec<&str> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if messages
            .get(i + 1)
            .is_some_and(|next| next.starts_with(&format!("{m}:")))
        {
            continue;
        }
        if lines.last().is_some_and(|prev| prev.ends_with(m.as_str())) {
            continue;
        }
        lines.push(m);
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            if line.starts_with("error:") || line.starts_with("error[") {
                out.push_str(line);
            } else {
                out.push_str(&format!("error: {line}"));
            }
        } else {
            out.push_str(&format!("  caused by: {line}"));
        }
        out.push('\n');
    }
    out
}
