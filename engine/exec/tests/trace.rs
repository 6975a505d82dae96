//! The trace of refused accesses (docs/CONFINEMENT.md, "Trace of refused
//! accesses"): a command that tries to change or read something outside its
//! view and still exits 0 leaves a record per distinct (process, operation,
//! path, errno) with a count, in its audit record and in the log after its
//! one `[exec]` line; a clean command leaves none; nothing outside changed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::{BUILD, fixture, policy, req, snapshot};
use wport_exec::{AuditRecord, ExitStatus, Refusal, TraceOp};

/// A directory outside the build, under /var/tmp: not mounted in the
/// sandbox (its /tmp is private, so a host path under /tmp would not do).
struct Outside(PathBuf);

impl Outside {
    fn new(tag: &str) -> Outside {
        let dir = tempfile::Builder::new()
            .prefix(&format!("wport-trace-{tag}-"))
            .tempdir_in("/var/tmp")
            .unwrap()
            .keep();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("secret"), b"host secret\n").unwrap();
        Outside(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn last_audit(f: &common::Fixture) -> AuditRecord {
    f.session.audit().pop().expect("a call was recorded")
}

fn refusal(process: &str, op: TraceOp, path: &str, errno: i32, count: u64) -> Refusal {
    Refusal {
        process: process.into(),
        op,
        path: path.into(),
        errno,
        count,
    }
}

#[test]
fn refused_accesses_are_reported_even_when_the_command_exits_0() {
    let f = fixture();
    let out = Outside::new("refused");
    let probe = format!(
        "/usr/local/wport-trace-probe-{}",
        out.0.file_name().unwrap().to_str().unwrap()
    );
    let outside_before = snapshot(&out.0);
    let sources_before = snapshot(&f.dirs.sources);
    let script = format!(
        "touch {probe} 2>/dev/null
         cat {secret} 2>/dev/null; cat {secret} 2>/dev/null
         cat {absent} 2>/dev/null
         mkdir {newdir} 2>/dev/null
         echo x > /sources/planted 2>/dev/null
         cat /work/not-here /usr/include/not-here.h 2>/dev/null
         exit 0",
        secret = out.path("secret"),
        absent = out.path("absent"),
        newdir = out.path("newdir"),
    );
    let mut log = Vec::new();
    let o = f
        .session
        .run(
            &BUILD,
            &policy(&["sh"]),
            &req("sh", &["-c", &script], "/work"),
            &mut log,
        )
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    assert_eq!(o.status, ExitStatus::Exited(0), "{log}");

    let expected = vec![
        refusal("touch", TraceOp::Write, &probe, libc::EROFS, 1),
        refusal("cat", TraceOp::Read, &out.path("secret"), libc::ENOENT, 2),
        refusal(
            "mkdir",
            TraceOp::Mkdir,
            &out.path("newdir"),
            libc::ENOENT,
            1,
        ),
        refusal("sh", TraceOp::Write, "/sources/planted", libc::EROFS, 1),
    ];
    assert_eq!(o.refused, expected, "{log}");
    let audit = last_audit(&f);
    assert_eq!(audit.refused, expected);
    assert!(!audit.trace_incomplete);

    // The log: the call's one line, then one line per refusal, exactly.
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("[exec]") || l.starts_with("[trace]"))
        .collect();
    assert_eq!(lines.len(), 5, "{log}");
    assert!(
        lines[0].starts_with(r#"[exec] "sh" argv=["-c", "touch "#)
            && lines[0].contains(r#"cwd="/work" -> exit 0 ("#),
        "{log}"
    );
    let hidden = "ENOENT (hidden: exists on the host, not in the build's view)";
    assert_eq!(
        lines[1..],
        [
            format!(r#"[trace] refused: "touch" write "{probe}": EROFS (read-only file system), 1 time"#),
            format!(r#"[trace] refused: "cat" read "{}": {hidden}, 2 times"#, out.path("secret")),
            format!(r#"[trace] refused: "mkdir" mkdir "{}": {hidden}, 1 time"#, out.path("newdir")),
            r#"[trace] refused: "sh" write "/sources/planted": EROFS (read-only file system), 1 time"#.to_string(),
        ]
    );

    // Nothing outside the build changed.
    assert!(!std::path::Path::new(&probe).exists());
    assert_eq!(snapshot(&out.0), outside_before);
    assert_eq!(snapshot(&f.dirs.sources), sources_before);
}

#[test]
fn a_clean_call_reports_nothing() {
    let f = fixture();
    let mut log = Vec::new();
    let o = f
        .session
        .run(
            &BUILD,
            &policy(&["sh"]),
            &req(
                "sh",
                &[
                    "-c",
                    "cc -o /work/hello /sources/hello.c && /work/hello && ls /work >/dev/null \
                     && test ! -e /work/nothing && mkdir -p /work/a/b && rm -r /work/a",
                ],
                "/work",
            ),
            &mut log,
        )
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    assert_eq!(o.status, ExitStatus::Exited(0), "{log}");
    assert_eq!(o.refused, vec![], "{log}");
    assert!(!log.contains("[trace]"), "{log}");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("[exec]")).count(),
        1,
        "{log}"
    );
}

#[test]
fn the_trace_cannot_be_read_or_replaced_and_forged_bytes_are_flagged() {
    let f = fixture();
    let mut log = Vec::new();
    let o = f
        .session
        .run(
            &BUILD,
            &policy(&["sh"]),
            &req(
                "sh",
                &[
                    "-c",
                    // Reading the FIFO and changing the preload list fail
                    // (Landlock; the read-only root); junk written to the
                    // FIFO is flagged, not parsed into records.
                    "timeout 1 cat /.wport/trace; echo \"read=$?\"; \
                     echo >/etc/ld.so.preload; echo \"preload=$?\"; \
                     rm -f /.wport/trace.so; echo \"library=$?\"; \
                     printf 'junk' >/.wport/trace; echo \"forge=$?\"",
                ],
                "/work",
            ),
            &mut log,
        )
        .unwrap();
    let log = String::from_utf8(log).unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status, ExitStatus::Exited(0), "{log}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["read=1", "preload=2", "library=1", "forge=0"],
        "{log}"
    );
    assert!(
        log.contains("[trace] incomplete: some of this call's trace records were dropped"),
        "{log}"
    );
    assert!(last_audit(&f).trace_incomplete);
    // The next call starts with a clean trace.
    let mut log = Vec::new();
    f.session
        .run(
            &BUILD,
            &policy(&["true"]),
            &req("true", &[], "/work"),
            &mut log,
        )
        .unwrap();
    assert!(!last_audit(&f).trace_incomplete);
    assert!(!String::from_utf8(log).unwrap().contains("[trace]"));
}
