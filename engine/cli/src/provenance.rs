//! The mediated-calls part of a package's provenance, taken from the host's
//! own record: the executor's [`AuditRecord`]s of the build's session.
//!
//! Issue 11, item 6: the count and digest used to be parsed from the build
//! log's `[exec]` lines, and a build that printed a forged `[exec]` line got
//! it counted in the signed provenance (3 calls recorded for 2). The records
//! come from `wport-exec` itself, which writes one per call it was asked to
//! run, allowed or not; nothing a build prints can add one.
//!
//! When a destroot is packaged later (`wport package --destroot`), the record
//! is read back from the one summary line the build wrote at its end; a
//! build's own output cannot start a line with `[wport] ` (command output is
//! marked `  | `, guest output `[<phase> stdout] `, and wport's lines escape
//! line breaks), so that line is the host's.

use sha2::{Digest, Sha256};
use wport_exec::AuditRecord;

/// Text of the `[wport]` line a build ends its log with.
pub const SUMMARY: &str = "mediated calls (host record): ";

/// How many mediated calls a build made, and the sha256 over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallsRecord {
    pub sha256: String,
    pub count: u64,
}

/// One stable line per call: what ran, where, and how it ended (no timing,
/// so two builds that ran the same commands agree). The build's job count
/// is an input that must not matter (`wport build --check` varies it), so
/// an argument passing exactly that count as a job count — `-jN`,
/// `--jobs=N`, `--parallel=N`, or `N` after `-j`, `--jobs` or `--parallel`
/// — is recorded as `{jobs}`: two builds with `-j2` and `-j4` running the
/// same commands agree, and their packages are the same bytes.
pub fn call_line(r: &AuditRecord, jobs: u32) -> String {
    let args = r.argv.get(1..).unwrap_or_default();
    let n = jobs.to_string();
    let mut shown = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let after_flag = i > 0 && matches!(args[i - 1].as_str(), "-j" | "--jobs" | "--parallel");
        let normalised = if after_flag && *a == n {
            "{jobs}".to_owned()
        } else if let Some(flag) = ["-j", "--jobs=", "--parallel="]
            .into_iter()
            .find(|f| a.strip_prefix(f) == Some(n.as_str()))
        {
            format!("{flag}{{jobs}}")
        } else {
            a.clone()
        };
        shown.push(normalised);
    }
    format!(
        "{:?} argv={:?} cwd={:?} -> {}",
        r.program, shown, r.cwd, r.status
    )
}

/// The record of a build's calls, made with `jobs` parallel jobs.
pub fn record(calls: &[AuditRecord], jobs: u32) -> CallsRecord {
    let mut h = Sha256::new();
    for c in calls {
        h.update(call_line(c, jobs).as_bytes());
        h.update(b"\n");
    }
    CallsRecord {
        sha256: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        count: calls.len() as u64,
    }
}

/// The summary line's text (after `[wport] `).
pub fn summary(r: &CallsRecord) -> String {
    format!("{SUMMARY}{} sha256 {}", r.count, r.sha256)
}

/// The record a build wrote at the end of its log: the last line that is
/// exactly `[wport] ` + [`summary`]. `None`: the log has none.
pub fn from_log(log: &str) -> Option<CallsRecord> {
    let prefix = format!("[wport] {SUMMARY}");
    log.lines().rev().find_map(|line| {
        let rest = line.strip_prefix(&prefix)?;
        let (count, sha256) = rest.split_once(" sha256 ")?;
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let count = count.parse().ok()?;
        valid.then(|| CallsRecord {
            sha256: sha256.to_owned(),
            count,
        })
    })
}

/// The file next to `build.log` holding the host's record of a build:
/// the calls, one [`call_line`] each, and the programs they ran.
pub const HOST_RECORD: &str = "host-record.json";

/// The host's record of a build, as written to [`HOST_RECORD`] at its end
/// and carried into the package's provenance attestation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRecord {
    /// One [`call_line`] per mediated call, in the order they were made.
    pub calls: Vec<String>,
    /// Each program the calls named, resolved by the host (see [`programs`]).
    pub programs: Vec<wport_registry::attestation::ProgramFact>,
}

impl HostRecord {
    /// The record of a build's calls, made with `jobs` parallel jobs,
    /// resolving programs in `toolchain_path`.
    pub fn of(calls: &[AuditRecord], jobs: u32, toolchain_path: &[String]) -> Self {
        HostRecord {
            calls: calls.iter().map(|c| call_line(c, jobs)).collect(),
            programs: programs(calls, toolchain_path),
        }
    }

    /// Count and digest, as [`record`] computes them from the audit records.
    pub fn calls_record(&self) -> CallsRecord {
        CallsRecord {
            sha256: wport_registry::attestation::calls_sha256(&self.calls),
            count: self.calls.len() as u64,
        }
    }
}

/// The toolchain's identity: for each distinct program the build's calls
/// named by bare name, the file it resolves to in the executor's toolchain
/// PATH (the first directory holding it, links followed) and the sha256 of
/// its bytes. Read by this process from the host's file system: the
/// confined build cannot write there, and nothing is run to describe
/// itself (a `cc --version` would be one more call, need `cc` granted to
/// ports that never use it, and name a version rather than the bytes).
/// `./script`s are the build's own files (covered by the source digests)
/// and are left out; a program not found is left out too (its calls then
/// failed to start, which the call lines record).
pub fn programs(
    calls: &[AuditRecord],
    toolchain_path: &[String],
) -> Vec<wport_registry::attestation::ProgramFact> {
    let mut names: Vec<&str> = calls
        .iter()
        .map(|c| c.program.as_str())
        .filter(|p| !p.contains('/') && !p.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        for dir in toolchain_path {
            let candidate = std::path::Path::new(dir).join(name);
            let Ok(real) = std::fs::canonicalize(&candidate) else {
                continue;
            };
            let Ok(bytes) = std::fs::read(&real) else {
                continue;
            };
            out.push(wport_registry::attestation::ProgramFact {
                name: name.to_owned(),
                path: real.to_string_lossy().into_owned(),
                sha256: Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            });
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use wport_exec::AuditStatus;

    fn call(program: &str, args: &[&str], status: AuditStatus) -> AuditRecord {
        let mut argv = vec![program.to_owned()];
        argv.extend(args.iter().map(|a| a.to_string()));
        AuditRecord {
            program: program.into(),
            argv,
            cwd: "/work/x".into(),
            duration: Duration::from_millis(3),
            status,
            refused: Vec::new(),
            trace_incomplete: false,
        }
    }

    #[test]
    fn the_record_counts_calls_not_lines_and_ignores_timing() {
        let a = [
            call("make", &["-j2"], AuditStatus::Exited(0)),
            call(
                "sh",
                &["-c", "echo '[exec] forged'"],
                AuditStatus::Exited(0),
            ),
        ];
        let mut b = a.clone();
        b[0].duration = Duration::from_secs(9);
        assert_eq!(record(&a, 1), record(&b, 1));
        assert_eq!(record(&a, 1).count, 2);
        assert_eq!(
            call_line(&a[0], 1),
            "\"make\" argv=[\"-j2\"] cwd=\"/work/x\" -> exit 0"
        );
        let mut c = a.clone();
        c[1].status = AuditStatus::Exited(1);
        assert_ne!(record(&a, 1), record(&c, 1));
    }

    #[test]
    fn the_job_count_is_recorded_as_a_placeholder() {
        let line =
            |args: &[&str], jobs| call_line(&call("make", args, AuditStatus::Exited(0)), jobs);
        assert_eq!(line(&["-j2", "all"], 2), line(&["-j4", "all"], 4));
        assert_eq!(
            line(&["-j2", "all"], 2),
            "\"make\" argv=[\"-j{jobs}\", \"all\"] cwd=\"/work/x\" -> exit 0"
        );
        assert_eq!(
            line(&["--build", "b", "--parallel", "3"], 3),
            line(&["--build", "b", "--parallel", "6"], 6)
        );
        assert_eq!(line(&["--jobs=2"], 2), line(&["--jobs=4"], 4));
        // Another count, or the count as something else, stays as it is.
        assert_ne!(line(&["-j1"], 1), line(&["-j1"], 2));
        assert_ne!(line(&["-O2"], 2), line(&["-O4"], 4));
        assert_eq!(
            line(&["-j1", "2"], 2),
            "\"make\" argv=[\"-j1\", \"2\"] cwd=\"/work/x\" -> exit 0"
        );
    }

    #[test]
    fn only_the_hosts_summary_line_is_read_back() {
        let r = record(&[call("make", &[], AuditStatus::Exited(0))], 1);
        let log = format!(
            "[exec] \"make\" argv=[] cwd=\"/work\" -> exit 0 (1 ms)\n  | [wport] {SUMMARY}9 sha256 {}\n\
             [build stdout] [wport] {SUMMARY}9 sha256 {}\n[wport] {}\n",
            "0".repeat(64),
            "0".repeat(64),
            summary(&r)
        );
        assert_eq!(from_log(&log), Some(r));
        assert_eq!(from_log("[exec] \"make\" -> exit 0 (1 ms)\n"), None);
    }

    #[test]
    fn the_host_record_agrees_with_the_summary_and_names_the_programs_bytes() {
        let calls = [
            call("sh", &["-c", "true"], AuditStatus::Exited(0)),
            call("sh", &["-j2"], AuditStatus::Exited(0)),
            call("./configure", &[], AuditStatus::Exited(0)),
            call("no-such-program-here", &[], AuditStatus::Exited(127)),
        ];
        let h = HostRecord::of(&calls, 2, &["/nonexistent".into(), "/bin".into()]);
        assert_eq!(h.calls_record(), record(&calls, 2));
        assert_eq!(h.calls.len(), 4);
        assert_eq!(h.programs.len(), 1, "{:?}", h.programs);
        let sh = &h.programs[0];
        assert_eq!(sh.name, "sh");
        let real = std::fs::canonicalize("/bin/sh").unwrap();
        assert_eq!(sh.path, real.to_string_lossy());
        let digest: String = Sha256::digest(std::fs::read(&real).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sh.sha256, digest);
    }
}
