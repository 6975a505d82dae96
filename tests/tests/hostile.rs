//! The hostile-guest suite: every guest in `tests/hostile-guests` attacks
//! the real sandbox, and its test asserts the precise outcome (the guest's
//! report of each attempt, or the `PhaseError` variant and limit) and that
//! nothing outside the build's writable directories changed.
//!
//! Each test runs its guest in a fresh temporary tree:
//!
//! ```text
//! $TMP/wport-hostile-XXXX/
//!   victim/            outside every build dir; must stay byte-identical
//!     secret
//!     dir/file
//!   build/
//!     sources/         read-only to the guest; must stay byte-identical
//!       distfiles/hello-1.0.tar.gz
//!       patches/fix.patch
//!       files/README
//!       files/evil  -> $TMP/.../victim          (planted, absolute)
//!       files/link1 -> evil2/                   (planted chain, RUSTSEC-2026-0269)
//!       files/evil2 -> ../../../victim          (planted, relative)
//!     work/            writable
//!       hello-1.0/README
//!       mine                                    (mode 0644)
//!       evil      -> $TMP/.../victim            (planted, absolute)
//!       evil_rel  -> ../../victim               (planted, relative)
//!       evil_file -> $TMP/.../victim/secret     (planted, to a file)
//!     destroot/        writable in destroot phases
//! ```
//!
//! Before and after the phase the test snapshots (path, type, mode, sha256
//! or link target) everything under `$TMP/wport-hostile-XXXX` except `work`
//! and `destroot`: the victim, the sources, and any file an escape would
//! create beside them. A probe path under `/tmp` must not appear either.
//!
//! Reports are normalised before comparison: the probe path becomes
//! `{probe}`, the victim's path `{victim}` and sixteen `../` `{up}` (see
//! `climb` in the guests).
//!
//! Attacks that may crash or hang the host process run in a child process
//! (this binary, filtered to one test): see [`in_child_process`].
//! See the `wport-hostile-guests` crate docs for the report format.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: mkfifo and rm make and clean fixtures, and this test binary is re-run as a child"
)]

use std::collections::BTreeMap;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wport_sandbox::{
    BuildLog, BuildSpec, HostDirs, LimitKind, Limits, Phase, PhaseError, PhaseReport, Sandbox,
    SandboxConfig,
};

include!(concat!(env!("OUT_DIR"), "/hostile.rs"));

/// A hostile guest without a `#[test]` of the same name in this file does
/// not compile.
macro_rules! assert_test_exists {
    ($name:ident, $path:expr) => {
        #[expect(unused_imports, reason = "only checks that the test exists")]
        use self::$name as _;
    };
}
foreach_hostile!(assert_test_exists);

/// A table of guests whose whole test is one check given the guest's name:
/// a row `NAME => CHECK(ARGS...);` is `#[test] fn NAME() { CHECK("NAME",
/// ARGS...) }`, so `assert_test_exists` sees it like any other test.
macro_rules! guest_tests {
    ($($(#[$doc:meta])* $name:ident => $check:ident($($arg:expr),*);)*) => {
        $(
            $(#[$doc])*
            #[test]
            fn $name() {
                $check(stringify!($name) $(, $arg)*)
            }
        )*
    };
}

const VICTIM_SECRET: &[u8] = b"victim secret: must never be read, changed or removed\n";
const DISTFILE: &[u8] = b"\x1f\x8b pretend this is hello-1.0.tar.gz\n";
const SOURCE_DATE_EPOCH: u64 = 1_700_000_000;

/// One engine for the whole binary, with a private component cache.
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        // CARGO_TARGET_TMPDIR is this package's scratch space in target/;
        // the cache creates the directory with mode 0700 and refuses one
        // others can write.
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-component-cache");
        Sandbox::new(SandboxConfig {
            cache_dir: Some(cache),
        })
        .expect("creating the sandbox")
    })
}

fn guest_path(name: &str) -> &'static str {
    HOSTILE_GUESTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no hostile guest named {name}"))
}

/// A build tree with planted victims, and the snapshot taken before the
/// phase.
struct Fixture {
    name: &'static str,
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dirs: HostDirs,
    victim: PathBuf,
    probe: PathBuf,
    params: BTreeMap<String, Vec<String>>,
    limits: Limits,
    before: Option<Snapshot>,
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link)
        .unwrap_or_else(|e| panic!("planting {}: {e}", link.display()));
}

impl Fixture {
    fn new(name: &'static str) -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("wport-hostile-")
            .tempdir()
            .unwrap();
        let root = tmp.path().to_path_buf();
        let victim = root.join("victim");
        write_file(&victim.join("secret"), VICTIM_SECRET, 0o644);
        write_file(&victim.join("dir/file"), b"victim dir file\n", 0o600);

        let build = root.join("build");
        let dirs = HostDirs {
            sources: build.join("sources"),
            work: build.join("work"),
            destroot: build.join("destroot"),
        };
        let s = &dirs.sources;
        write_file(&s.join("distfiles/hello-1.0.tar.gz"), DISTFILE, 0o644);
        write_file(
            &s.join("patches/fix.patch"),
            b"--- a/README\n+++ b/README\n",
            0o644,
        );
        write_file(&s.join("files/README"), b"port files\n", 0o644);
        symlink(&victim, &s.join("files/evil"));
        symlink("evil2/", &s.join("files/link1"));
        symlink("../../../victim", &s.join("files/evil2"));

        let w = &dirs.work;
        write_file(&w.join("hello-1.0/README"), b"hello\n", 0o644);
        write_file(&w.join("mine"), b"mine\n", 0o644);
        symlink(&victim, &w.join("evil"));
        symlink("../../victim", &w.join("evil_rel"));
        symlink(victim.join("secret"), &w.join("evil_file"));
        std::fs::create_dir_all(&dirs.destroot).unwrap();

        // A host path an absolute-path write would create.
        let probe =
            std::env::temp_dir().join(format!("wport-hostile-probe-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&probe);

        let mut params = BTreeMap::new();
        params.insert("victim".to_owned(), vec![victim.display().to_string()]);
        params.insert("probe".to_owned(), vec![probe.display().to_string()]);

        Fixture {
            name,
            _tmp: tmp,
            root,
            dirs,
            victim,
            probe,
            params,
            limits: Limits {
                // Generous for attacks that are not about time, but a hang
                // still ends the test.
                phase_time: Duration::from_secs(60),
                memory_bytes: 256 << 20,
                ..Limits::default()
            },
            before: None,
        }
    }

    fn param(mut self, key: &str, value: impl ToString) -> Self {
        self.params.insert(key.to_owned(), vec![value.to_string()]);
        self
    }

    fn spec(&self) -> Arc<BuildSpec> {
        Arc::new(BuildSpec {
            name: format!("hostile-{}", self.name.replace('_', "-")),
            version: "1.0".into(),
            revision: 0,
            prefix: "/opt/wport".into(),
            jobs: 1,
            source_date_epoch: SOURCE_DATE_EPOCH,
            dirs: self.dirs.clone(),
            worksrc: Some("hello-1.0".into()),
            distfiles: vec!["hello-1.0.tar.gz".into()],
            patchfiles: vec!["fix.patch".into()],
            params: self.params.clone(),
            limits: self.limits.clone(),
            exec: None,
        })
    }

    /// Run `phase` of this fixture's guest; return the outcome and the log.
    fn run(&mut self, phase: Phase) -> (Result<PhaseReport, PhaseError>, String) {
        if self.before.is_none() {
            self.before = Some(self.snapshot());
        }
        let bytes = std::fs::read(guest_path(self.name)).expect("reading the guest component");
        let component = sandbox().load(&bytes).expect("loading the guest component");
        let (log, sink) = BuildLog::memory();
        let result = sandbox().run_phase(&component, &self.spec(), phase, &log);
        (result, sink.text())
    }

    /// Run `phase`, which must end with the guest's report; return its lines.
    fn report(&mut self, phase: Phase) -> Vec<String> {
        let (result, log) = self.run(phase);
        match result {
            Err(PhaseError::Failed { message, .. }) => self.normalise(&message),
            other => panic!(
                "{}: expected the guest's report, got {other:?}\nlog:\n{log}",
                self.name
            ),
        }
    }

    fn normalise(&self, text: &str) -> Vec<String> {
        let victim = self.victim.display().to_string();
        text.replace(&self.probe.display().to_string(), "{probe}")
            .replace(victim.trim_start_matches('/'), "{victim}")
            .replace(&"../".repeat(16), "{up}")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Everything outside `work` and `destroot`.
    fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::default();
        snap.walk(
            &self.root,
            Path::new(""),
            &[&self.dirs.work, &self.dirs.destroot],
        );
        snap
    }

    /// The victim, the sources and the rest of the tree are as they were, and
    /// no probe file appeared.
    fn assert_untouched(&self) {
        let before = self.before.as_ref().expect("run a phase first");
        let after = self.snapshot();
        if *before != after {
            let mut diff = String::new();
            for (p, v) in &before.0 {
                match after.0.get(p) {
                    None => diff.push_str(&format!("  removed  {p}: {v}\n")),
                    Some(a) if a != v => diff.push_str(&format!("  changed  {p}: {v} -> {a}\n")),
                    Some(_) => {}
                }
            }
            for (p, a) in &after.0 {
                if !before.0.contains_key(p) {
                    diff.push_str(&format!("  appeared {p}: {a}\n"));
                }
            }
            panic!(
                "{}: the guest changed files outside its writable dirs:\n{diff}",
                self.name
            );
        }
        assert!(
            std::fs::symlink_metadata(&self.probe).is_err(),
            "{}: the guest created {}",
            self.name,
            self.probe.display()
        );
        assert_eq!(
            std::fs::read(self.victim.join("secret")).unwrap(),
            VICTIM_SECRET
        );
    }
}

/// Path -> "file <mode> <sha256>" / "dir <mode>" / "link -> <target>".
#[derive(Default, PartialEq, Eq, Debug)]
struct Snapshot(BTreeMap<String, String>);

impl Snapshot {
    fn walk(&mut self, dir: &Path, rel: &Path, skip: &[&Path]) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            if skip.contains(&path.as_path()) {
                continue;
            }
            let rel = rel.join(e.file_name());
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.mode() & 0o7777;
            let desc = if meta.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                self.walk(&path, &rel, skip);
                format!("dir {mode:o}")
            } else {
                let digest = Sha256::digest(std::fs::read(&path).unwrap());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!("file {mode:o} nlink={} {hex}", meta.nlink())
            };
            self.0.insert(rel.display().to_string(), desc);
        }
    }
}

/// Assert the report, showing the actual lines as a pasteable array on failure.
#[track_caller]
fn assert_report(actual: &[String], expected: &[&str]) {
    if actual != expected {
        let mut shown = String::new();
        for l in actual {
            shown.push_str(&format!("        {l:?},\n"));
        }
        panic!(
            "report differs\n--- expected\n{}\n--- actual\n{}\n--- actual, as code:\n{shown}",
            expected.join("\n"),
            actual.join("\n")
        );
    }
}

/// The guest's report for `phase` of guest `name`, with the victims checked.
fn attack(name: &'static str, phase: Phase, expected: &[&str]) {
    let mut f = Fixture::new(name);
    let report = f.report(phase);
    assert_report(&report, expected);
    f.assert_untouched();
}

#[track_caller]
fn assert_limit(result: &Result<PhaseReport, PhaseError>, phase: Phase, kind: LimitKind) {
    match result {
        Err(PhaseError::Limit {
            phase: p, limit, ..
        }) if *p == phase && *limit == kind => {}
        other => panic!("expected the {kind} limit in {phase}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Filesystem escapes through WASI
// ---------------------------------------------------------------------------

#[test]
fn abs_path_read() {
    attack(
        "abs_path_read",
        Phase::Build,
        &[
            "read /etc/passwd: Err(NotFound, os 44)",
            "read /proc/self/environ: Err(NotFound, os 44)",
            "read /{victim}/secret: Err(NotFound, os 44)",
            "metadata /{victim}/secret: Err(NotFound, os 44)",
            "read_dir /: Err(NotFound, os 44)",
            "read_dir /etc: Err(NotFound, os 44)",
            "read_dir /{victim}: Err(NotFound, os 44)",
        ],
    );
}

#[test]
fn abs_path_write() {
    attack(
        "abs_path_write",
        Phase::Build,
        &[
            "write {probe}: Err(NotFound, os 44)",
            "write /{victim}/new: Err(NotFound, os 44)",
            "write /{victim}/secret: Err(NotFound, os 44)",
            "write /x: Err(NotFound, os 44)",
            "create_dir /{victim}/newdir: Err(NotFound, os 44)",
            "remove_file /{victim}/secret: Err(NotFound, os 44)",
            "remove_dir_all /{victim}/dir: Err(NotFound, os 44)",
        ],
    );
}

#[test]
fn dotdot_escape() {
    let mut f = Fixture::new("dotdot_escape");
    let build = f.report(Phase::Build);
    assert_report(
        &build,
        &[
            "read_dir /sources/..: Err(PermissionDenied, os 63)",
            "read_dir /sources/../..: Err(PermissionDenied, os 63)",
            "read /sources/{up}etc/passwd: Err(PermissionDenied, os 63)",
            "read /sources/{up}{victim}/secret: Err(PermissionDenied, os 63)",
            "write /sources/{up}{victim}/new: Err(PermissionDenied, os 63)",
            "create_dir /sources/../escaped: Err(PermissionDenied, os 63)",
            "read_dir /work/..: Err(PermissionDenied, os 63)",
            "read_dir /work/../..: Err(PermissionDenied, os 63)",
            "read /work/{up}etc/passwd: Err(PermissionDenied, os 63)",
            "read /work/{up}{victim}/secret: Err(PermissionDenied, os 63)",
            "write /work/{up}{victim}/new: Err(PermissionDenied, os 63)",
            "create_dir /work/../escaped: Err(PermissionDenied, os 63)",
            "read /sources/../sources/distfiles/hello-1.0.tar.gz: Err(PermissionDenied, os 63)",
            "read /work/../sources/distfiles/hello-1.0.tar.gz: Err(PermissionDenied, os 63)",
            "read ../etc/passwd: Err(NotFound, os 44)",
            "read etc/passwd: Err(NotFound, os 44)",
        ],
    );
    let destroot = f.report(Phase::Destroot);
    assert_report(
        &destroot,
        &[
            "read_dir /destroot/..: Err(PermissionDenied, os 63)",
            "read_dir /destroot/../..: Err(PermissionDenied, os 63)",
            "read /destroot/{up}etc/passwd: Err(PermissionDenied, os 63)",
            "read /destroot/{up}{victim}/secret: Err(PermissionDenied, os 63)",
            "write /destroot/{up}{victim}/new: Err(PermissionDenied, os 63)",
            "create_dir /destroot/../escaped: Err(PermissionDenied, os 63)",
            "read /destroot/../work/hello-1.0/README: Err(PermissionDenied, os 63)",
        ],
    );
    f.assert_untouched();
}

#[test]
fn symlink_out_absolute() {
    attack(
        "symlink_out_absolute",
        Phase::Build,
        &[
            "symlink /work/abs_dir -> /{victim}: Err(PermissionDenied, os 63)",
            "symlink /work/abs_file -> /{victim}/secret: Err(PermissionDenied, os 63)",
            "symlink /work/passwd -> /etc/passwd: Err(PermissionDenied, os 63)",
            "read /work/abs_file: Err(NotFound, os 44)",
            "read /work/passwd: Err(NotFound, os 44)",
            "read_dir /work/abs_dir: Err(NotFound, os 44)",
            "write /work/abs_dir/new: Err(NotFound, os 44)",
        ],
    );
}

#[test]
fn symlink_out_relative() {
    attack(
        "symlink_out_relative",
        Phase::Build,
        &[
            "symlink /work/rel_dir -> {up}{victim}: Ok",
            "symlink /work/rel_sibling -> ../../victim: Ok",
            "symlink /work/rel_file -> {up}{victim}/secret: Ok",
            "symlink /work/rel_dangling -> {up}{victim}/created: Ok",
            "symlink /work/up -> ..: Ok",
            "read /work/rel_dir/secret: Err(PermissionDenied, os 63)",
            "read_dir /work/rel_dir: Err(PermissionDenied, os 63)",
            "write /work/rel_dir/new: Err(PermissionDenied, os 63)",
            "read /work/rel_sibling/secret: Err(PermissionDenied, os 63)",
            "read /work/rel_file: Err(PermissionDenied, os 63)",
            "write /work/rel_file: Err(PermissionDenied, os 63)",
            "write /work/rel_dangling: Err(PermissionDenied, os 63)",
            "read_dir /work/up: Err(PermissionDenied, os 63)",
            "read /work/up/sources/distfiles/hello-1.0.tar.gz: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn host_planted_symlink() {
    attack(
        "host_planted_symlink",
        Phase::Build,
        &[
            "read /work/evil/secret: Err(PermissionDenied, os 63)",
            "read_dir /work/evil: Err(PermissionDenied, os 63)",
            "write /work/evil/new: Err(PermissionDenied, os 63)",
            "metadata /work/evil/secret: Err(PermissionDenied, os 63)",
            "remove_file /work/evil/secret: Err(PermissionDenied, os 63)",
            "create_dir /work/evil/newdir: Err(PermissionDenied, os 63)",
            "read /work/evil_rel/secret: Err(PermissionDenied, os 63)",
            "write /work/evil_rel/new: Err(PermissionDenied, os 63)",
            "read /work/evil_file: Err(PermissionDenied, os 63)",
            "write /work/evil_file: Err(PermissionDenied, os 63)",
            "append /work/evil_file: Err(PermissionDenied, os 63)",
            "read /sources/files/evil/secret: Err(PermissionDenied, os 63)",
            "read_dir /sources/files/evil: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn hard_link_from_sources() {
    attack(
        "hard_link_from_sources",
        Phase::Build,
        &[
            "hard_link /sources/distfiles/hello-1.0.tar.gz -> /work/hl: Err(PermissionDenied, os 63)",
            "hard_link /sources/patches -> /work/patches: Err(PermissionDenied, os 63)",
            "hard_link /work/evil/secret -> /work/hl2: Err(PermissionDenied, os 63)",
            "hard_link /work/hello-1.0/README -> /work/evil/planted: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn rename_from_sources() {
    attack(
        "rename_from_sources",
        Phase::Build,
        &[
            "rename /sources/distfiles/hello-1.0.tar.gz -> /work/stolen: Err(PermissionDenied, os 63)",
            "rename /sources/patches -> /work/patches: Err(PermissionDenied, os 63)",
            "rename /work/evil/secret -> /work/stolen2: Err(PermissionDenied, os 63)",
            "rename /work/hello-1.0/README -> /work/evil/moved: Err(PermissionDenied, os 63)",
            "rename /work/hello-1.0 -> /work/evil_rel/moved_dir: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn truncate_sources() {
    attack(
        "truncate_sources",
        Phase::Build,
        &[
            "open write+truncate: Err(PermissionDenied, os 63)",
            "File::create: Err(PermissionDenied, os 63)",
            "open append + write: Err(PermissionDenied, os 63)",
            "open read-only + set_len(0): Err(PermissionDenied, os 63)",
            "remove_file: Err(PermissionDenied, os 63)",
            "write /sources/distfiles/new: Err(PermissionDenied, os 63)",
            "create_dir /sources/newdir: Err(PermissionDenied, os 63)",
            "remove_dir_all /sources/patches: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn symlink_trailing_slash() {
    attack(
        "symlink_trailing_slash",
        Phase::Build,
        &[
            "read_dir /work/evil/: Err(PermissionDenied, os 63)",
            "read_dir /work/evil/.: Err(PermissionDenied, os 63)",
            "read_dir /work/evil_rel/: Err(PermissionDenied, os 63)",
            "read_dir /work/evil_rel/.: Err(PermissionDenied, os 63)",
            "read /work/evil_file/: Err(PermissionDenied, os 63)",
            "read /work/evil/secret/: Err(PermissionDenied, os 63)",
            // lstat("evil/") reports the link itself (32-byte target), not the
            // victim directory: no information leaks through it.
            "symlink_metadata /work/evil/: Ok(symlink, 32 bytes)",
            "open(NOFOLLOW|DIRECTORY) /work/evil/: Err(PermissionDenied, os 63)",
            "open(NOFOLLOW|DIRECTORY) /work/evil_rel/: Err(PermissionDenied, os 63)",
            "symlink /work/slash -> {up}{victim}/: Ok",
            "read_dir /work/slash: Err(PermissionDenied, os 63)",
            "read_dir /work/slash/: Err(PermissionDenied, os 63)",
            "open(NOFOLLOW|DIRECTORY) /work/slash/: Err(PermissionDenied, os 63)",
            "read /work/slash/secret: Err(PermissionDenied, os 63)",
            "write /work/slash/new: Err(PermissionDenied, os 63)",
            "create_dir /work/evil/sub/: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn symlink_bomb() {
    // Path resolution runs in host code no deadline interrupts, so a hang
    // would hang the test: run it in a child process with a timeout.
    in_child_process_within(
        "symlink_bomb",
        || {
            let mut f = Fixture::new("symlink_bomb");
            println!("FIXTURE_ROOT={}", f.root.display());
            f.limits.phase_time = Duration::from_secs(5);
            let report = f.report(Phase::Build);
            assert_report(
                &report,
                &[
                    "make 30 levels of 4-way links: Ok",
                    "read /work/bomb/l0/x: Err(FilesystemLoop, os 32)",
                    "read_dir /work/bomb/l0: Err(FilesystemLoop, os 32)",
                    "metadata /work/bomb/l0: Err(FilesystemLoop, os 32)",
                    "files.copy-tree /work/bomb/l0/x -> /work/y: Err(Io: opening the parent directory: Too many levels of symbolic links (os error 40))",
                ],
            );
            f.assert_untouched();
        },
        Duration::from_secs(30),
    );
}

#[test]
fn post_destroot_reach() {
    attack(
        "post_destroot_reach",
        Phase::PostDestroot,
        &[
            "dirs: sources=None work=None worksrc=None destroot=Some(\"/destroot\")",
            "distfiles: 0",
            "patchfiles: 0",
            "read_dir /sources: Err(NotFound, os 44)",
            "read_dir /work: Err(NotFound, os 44)",
            "read /sources/distfiles/hello-1.0.tar.gz: Err(NotFound, os 44)",
            "read /work/hello-1.0/README: Err(NotFound, os 44)",
            "write /work/hello-1.0/README: Err(NotFound, os 44)",
            "write /work/new: Err(NotFound, os 44)",
            "metadata /work: Err(NotFound, os 44)",
            "read_dir /destroot/..: Err(PermissionDenied, os 63)",
            "read /destroot/../work/hello-1.0/README: Err(PermissionDenied, os 63)",
            "files.copy-tree /work/hello-1.0 -> /destroot/x: Err(Escape)",
            "files.copy-tree /sources/distfiles -> /destroot/y: Err(Escape)",
            "files.remove-tree /work/hello-1.0: Err(Escape)",
            "files.symlink x -> /sources/x: Err(Escape)",
            "files.read-link /work/evil: Err(Escape)",
            "files.get-mode /work/hello-1.0/README: Err(Escape)",
            "files.set-mode /work/hello-1.0/README: Err(Escape)",
            "files.symlink /work at /destroot/w: Ok(())",
            "files.symlink ../work at /destroot/w2: Ok(())",
            "read /destroot/w/hello-1.0/README: Err(PermissionDenied, os 63)",
            "read_dir /destroot/w: Err(PermissionDenied, os 63)",
            "files.copy-tree /destroot/w/hello-1.0 -> /destroot/copy: Err(Escape)",
            "files.remove-tree /destroot/w/hello-1.0: Err(Escape)",
            "read /destroot/w2/hello-1.0/README: Err(PermissionDenied, os 63)",
            "read_dir /destroot/w2: Err(PermissionDenied, os 63)",
            "files.copy-tree /destroot/w2/hello-1.0 -> /destroot/copy: Err(Escape)",
            "files.remove-tree /destroot/w2/hello-1.0: Err(Escape)",
        ],
    );
}

#[test]
fn env_and_args() {
    attack(
        "env_and_args",
        Phase::Build,
        &[
            "env vars: []",
            "args: []",
            "current_dir: Ok(/)",
            "stdin: Ok(0 bytes)",
            "wall clock == SOURCE_DATE_EPOCH: true",
        ],
    );
}

#[test]
fn spawn_process() {
    attack(
        "spawn_process",
        Phase::Build,
        &[
            "std spawn sh: Err(Unsupported: operation not supported on this platform)",
            "exec.run sh: Err(Unavailable)",
        ],
    );
}

// ---------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------

#[test]
fn tcp_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut f = Fixture::new("tcp_connect").param("port", port);
    let report = f.report(Phase::Build);
    assert_report(
        &report,
        &[
            "connect 127.0.0.1: Err(PermissionDenied, os 2)",
            "connect [::ffff:127.0.0.1]: Err(PermissionDenied, os 2)",
            "connect 0.0.0.0: Err(PermissionDenied, os 2)",
            "connect_timeout 127.0.0.1: Err(PermissionDenied, os 2)",
        ],
    );
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a connection reached the listener: {accepted:?}"
    );
    f.assert_untouched();
}

#[test]
fn tcp_bind() {
    // A port that was free a moment ago, for the guest to try.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut f = Fixture::new("tcp_bind").param("port", port);
    let report = f.report(Phase::Build);
    assert_report(
        &report,
        &[
            "bind 127.0.0.1:0: Err(PermissionDenied, os 2)",
            "bind 0.0.0.0:0: Err(PermissionDenied, os 2)",
            "bind [::]:0: Err(PermissionDenied, os 2)",
            "bind 127.0.0.1:{port}: Err(PermissionDenied, os 2)",
        ],
    );
    f.assert_untouched();
}

#[test]
fn udp_bind_send() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let port = socket.local_addr().unwrap().port();
    let mut f = Fixture::new("udp_bind_send").param("port", port);
    let report = f.report(Phase::Build);
    assert_report(
        &report,
        &[
            "bind 127.0.0.1:0: Err(PermissionDenied, os 2)",
            "bind 0.0.0.0:0: Err(PermissionDenied, os 2)",
            "bind [::]:0: Err(PermissionDenied, os 2)",
        ],
    );
    let mut buf = [0u8; 64];
    let got = socket.recv_from(&mut buf);
    assert!(
        matches!(&got, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a datagram arrived: {got:?}"
    );
    f.assert_untouched();
}

#[test]
fn dns_lookup() {
    attack(
        "dns_lookup",
        Phase::Build,
        &[
            "resolve localhost:80: Err(Uncategorized: failed to lookup address information: Non-recoverable error)",
            "resolve example.com:443: Err(Uncategorized: failed to lookup address information: Non-recoverable error)",
        ],
    );
}

// ---------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------

#[test]
fn infinite_loop() {
    let mut f = Fixture::new("infinite_loop");
    f.limits.phase_time = Duration::from_millis(300);
    let started = Instant::now();
    let (result, _) = f.run(Phase::Build);
    assert_limit(&result, Phase::Build, LimitKind::Time);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped only after {:?}",
        started.elapsed()
    );
    f.assert_untouched();
}

#[test]
fn host_call_loop() {
    let mut f = Fixture::new("host_call_loop");
    f.limits.phase_time = Duration::from_millis(300);
    let started = Instant::now();
    let (result, _) = f.run(Phase::Build);
    assert_limit(&result, Phase::Build, LimitKind::Time);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped only after {:?}",
        started.elapsed()
    );
    f.assert_untouched();
}

#[test]
fn host_call_time_bypass() {
    let mut f = Fixture::new("host_call_time_bypass");
    // An extracted source tree of 1,000 files for the guest to copy around.
    for i in 0..1_000 {
        write_file(&f.dirs.work.join(format!("tree/f{i}")), b"x", 0o644);
    }
    f.limits.phase_time = Duration::from_millis(300);
    let started = Instant::now();
    let (result, _) = f.run(Phase::Build);
    // Either limit is a correct answer (a wall-clock phase limit, or a
    // budget for the sum of host calls); running to the end is not.
    match &result {
        Err(PhaseError::Limit {
            phase: Phase::Build,
            limit: LimitKind::Time | LimitKind::HostCall,
            ..
        }) => {}
        other => panic!(
            "expected a time limit, got {other:?} after {:?}",
            started.elapsed()
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped only after {:?}",
        started.elapsed()
    );
    f.assert_untouched();
}

/// Plant a FIFO at `work/<rel>`, run `guest`, and accept only the two safe
/// outcomes: the host swept the FIFO before the guest ran (the read finds
/// nothing, and the log says so), or the phase-time limit ended the blocked
/// open. Runs in a child process killed after 15 s: a hang fails the test.
fn fifo_attack(test: &str, body: fn()) {
    in_child_process_within(test, body, Duration::from_secs(15));
}

fn fifo_body(guest: &'static str, rel: &str, read_line: &str) {
    let mut f = Fixture::new(guest);
    println!("FIXTURE_ROOT={}", f.root.display());
    let fifo = f.dirs.work.join(rel);
    std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo failed");
    f.limits.phase_time = Duration::from_millis(300);
    let (result, log) = f.run(Phase::Build);
    match &result {
        Err(PhaseError::Failed { message, .. }) => {
            assert_eq!(message, &format!("{read_line}: Err(NotFound, os 44)"));
            let swept = format!("[wport] removed special file /work/{rel}");
            assert!(log.contains(&swept), "{swept:?} is not in the log:\n{log}");
        }
        Err(PhaseError::Limit {
            phase: Phase::Build,
            limit: LimitKind::Time,
            ..
        }) => {}
        other => panic!("expected the FIFO swept or the time limit, got {other:?}"),
    }
    f.assert_untouched();
}

#[test]
fn fifo_block() {
    fifo_attack("fifo_block", || {
        fifo_body("fifo_block", "fifo", "read /work/fifo")
    });
}

#[test]
fn fifo_block_deep() {
    fifo_attack("fifo_block_deep", || {
        let rel = format!("{}fifo", "a/".repeat(300));
        fifo_body("fifo_block_deep", &rel, "read /work/{a/ x 300}fifo")
    });
}

#[test]
fn memory_bomb() {
    let mut f = Fixture::new("memory_bomb");
    f.limits.memory_bytes = 64 << 20;
    let (result, _) = f.run(Phase::Build);
    assert_limit(&result, Phase::Build, LimitKind::Memory);
    f.assert_untouched();
}

fn assert_trap(name: &'static str, what: &str) {
    let mut f = Fixture::new(name);
    let (result, _) = f.run(Phase::Build);
    match &result {
        Err(PhaseError::Trap {
            phase: Phase::Build,
            message,
            ..
        }) => {
            assert!(
                message.contains(what),
                "expected a trap saying {what:?}, got: {message}"
            )
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    f.assert_untouched();
}

guest_tests! {
    /// wasmtime's own stack limit (max_wasm_stack), checked on entry to
    /// every wasm function: the host thread's stack is never reached.
    stack_overflow_native => assert_trap("call stack exhausted");
    /// Rust puts its shadow stack first in linear memory: overflowing it
    /// leaves the memory and traps instead of overwriting the guest's data.
    stack_overflow_shadow => assert_trap("out of bounds memory access");
}

const OUTPUT_CAP: u64 = 64 << 10;
/// Room for the runner's own lines (phase start/end) and the marker.
const LOG_SLACK: usize = 4 << 10;
const TRUNCATION_MARKER: &str = "[wport] output truncated";

fn assert_flood_bounded(name: &'static str) {
    let mut f = Fixture::new(name);
    f.limits.output_bytes = OUTPUT_CAP;
    let (result, log) = f.run(Phase::Build);
    let report = result.unwrap_or_else(|e| panic!("a chatty phase must not fail: {e}"));
    assert!(
        log.len() <= OUTPUT_CAP as usize + LOG_SLACK,
        "the log grew to {} bytes for a {OUTPUT_CAP}-byte cap",
        log.len()
    );
    assert!(
        report.output_truncated,
        "the report does not say the output was truncated"
    );
    assert_eq!(
        log.matches(TRUNCATION_MARKER).count(),
        1,
        "one truncation marker"
    );
    f.assert_untouched();
}

guest_tests! {
    output_flood_stdout => assert_flood_bounded();
    output_flood_log => assert_flood_bounded();
}

#[test]
fn log_forgery() {
    let mut f = Fixture::new("log_forgery");
    let (result, log) = f.run(Phase::Build);
    result.unwrap_or_else(|e| panic!("the phase itself is harmless: {e}"));
    // This build ran no native command, so any `[exec]` audit line is forged.
    let forged: Vec<&str> = log.lines().filter(|l| l.starts_with("[exec]")).collect();
    assert!(
        forged.is_empty(),
        "guest output forged {} audit line(s) in the build log:\n{}\n--- log\n{log}",
        forged.len(),
        forged.join("\n")
    );
    f.assert_untouched();
}

#[test]
fn open_files_unbounded() {
    let mut f = Fixture::new("open_files_unbounded");
    f.limits.resources = 100;
    let (result, _) = f.run(Phase::Build);
    assert_limit(&result, Phase::Build, LimitKind::Resources);
    f.assert_untouched();
}

// ---------------------------------------------------------------------------
// The host `files` interface
// ---------------------------------------------------------------------------

#[test]
fn files_copy_tree_escape() {
    attack(
        "files_copy_tree_escape",
        Phase::Build,
        &[
            "copy-tree /etc -> /work/etc: Err(Escape)",
            "copy-tree /etc/passwd -> /work/passwd: Err(Escape)",
            "copy-tree /{victim} -> /work/loot: Err(Escape)",
            "copy-tree /work/../../victim -> /work/loot: Err(Escape)",
            "copy-tree /work/evil/secret -> /work/loot: Err(Escape)",
            "copy-tree /work/evil_rel/secret -> /work/loot: Err(Escape)",
            "copy-tree /work/hello-1.0 -> /work/evil/planted: Err(Escape)",
            "copy-tree /work/hello-1.0 -> /{victim}/planted: Err(Escape)",
            "copy-tree /work/hello-1.0 -> /sources/planted: Err(ReadOnly)",
            "copy-tree /sources/distfiles -> /destroot/x: Err(Escape)",
            "copy-tree /work -> /work/hello-1.0/again: Err(Invalid)",
            "copy-tree /work/evil -> /work/evil_copy: Ok(1)",
            "read /work/evil_copy/secret: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn files_symlink_escape() {
    attack(
        "files_symlink_escape",
        Phase::Build,
        &[
            "symlink /etc/passwd at /sources/pw: Err(ReadOnly)",
            "symlink /etc/passwd at /sources/files/pw: Err(ReadOnly)",
            "symlink /etc/passwd at /work/../pw: Err(Escape)",
            "symlink /etc/passwd at /work/evil/pw: Err(Escape)",
            "symlink /etc/passwd at /work/evil_rel/pw: Err(Escape)",
            "symlink /etc/passwd at /{victim}/pw: Err(Escape)",
            "symlink /etc/passwd at /destroot/pw: Err(Escape)",
            "symlink /etc/passwd at pw: Err(Invalid)",
            "symlink {victim}/secret at /work/abs: Ok(())",
            "read-link /work/abs == target: Ok(true)",
            "read /work/abs: Err(PermissionDenied, os 63)",
            "write /work/abs: Err(PermissionDenied, os 63)",
            "read-link /work/evil/secret: Err(Escape)",
            "get-mode /work/evil/secret: Err(Escape)",
        ],
    );
}

#[test]
fn files_set_mode_setuid() {
    let mut f = Fixture::new("files_set_mode_setuid");
    let report = f.report(Phase::Build);
    assert_report(
        &report,
        &[
            "set-mode /work/mine 4755: Err(Invalid)",
            "set-mode /work/mine 2755: Err(Invalid)",
            "set-mode /work/mine 6777: Err(Invalid)",
            "set-mode /work/mine 1755: Err(Invalid)",
            "set-mode /work/mine 100644: Err(Invalid)",
            "set-mode /work/evil_file 777: Err(Invalid)",
            "set-mode /work/evil/secret 777: Err(Escape)",
            "set-mode /work/evil_rel/secret 777: Err(Escape)",
            "set-mode /{victim}/secret 777: Err(Escape)",
            "set-mode /work/../../victim/secret 777: Err(Escape)",
            "set-mode /sources/distfiles/hello-1.0.tar.gz 777: Err(ReadOnly)",
            "set-mode /work/evil 777: Err(Invalid)",
            "get-mode /work/mine: Ok(\"644\")",
        ],
    );
    let mode = std::fs::metadata(f.dirs.work.join("mine")).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o644, "mode of work/mine");
    f.assert_untouched();
}

#[test]
fn files_remove_tree_escape() {
    attack(
        "files_remove_tree_escape",
        Phase::Build,
        &[
            "remove-tree /work/../x: Err(Escape)",
            "remove-tree /work/../../victim: Err(Escape)",
            "remove-tree /work/hello-1.0/../../../victim: Err(Escape)",
            "remove-tree /{victim}: Err(Escape)",
            "remove-tree /: Err(Escape)",
            "remove-tree /work: Err(Invalid)",
            "remove-tree /work/: Err(Invalid)",
            "remove-tree /work/.: Err(Invalid)",
            "remove-tree /sources/distfiles: Err(ReadOnly)",
            "remove-tree /destroot: Err(Escape)",
            "remove-tree /work/evil/secret: Err(Escape)",
            "remove-tree /work/evil_rel/dir: Err(Escape)",
            "remove-tree /work/evil/: Ok(1)",
            "remove-tree /work/evil: Err(NotFound)",
            "remove-tree /work/evil_rel: Ok(1)",
        ],
    );
}

/// Run a test body in a child process (this binary, filtered to the test),
/// so that a host crash (a native stack overflow, an abort) fails the test
/// instead of killing the whole suite. In the child, the body runs on a
/// freshly spawned thread with std's default stack (2 MiB), as a phase would
/// in a parallel builder or a thread pool.
fn in_child_process(test: &str, body: fn()) {
    in_child_process_within(test, body, Duration::from_secs(300));
}

/// [`in_child_process`], failing the test (and killing the child) if the
/// child runs longer than `limit`: for attacks that may hang the host.
fn in_child_process_within(test: &str, body: fn(), limit: Duration) {
    const CHILD: &str = "WPORT_HOSTILE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let t = std::thread::spawn(body);
        if let Err(p) = t.join() {
            std::panic::resume_unwind(p);
        }
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running the test in a child process");
    let started = Instant::now();
    let mut hung = false;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            hung = true;
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The child prints where its tree is; remove it even if the child died
    // (with rm, which copes with very deep trees).
    for root in stdout
        .lines()
        // The harness prints "test <name> ... " on the same line first.
        .filter_map(|l| l.split_once("FIXTURE_ROOT=").map(|(_, root)| root.trim()))
    {
        let _ = std::process::Command::new("rm")
            .args(["-rf", root])
            .status();
    }
    assert!(
        !hung,
        "the host was still blocked after {limit:?}; killed it\n--- child stdout\n{stdout}"
    );
    assert!(
        out.status.success(),
        "the host did not survive the attack: {}\n--- child stdout\n{stdout}\n--- child stderr\n{stderr}",
        out.status
    );
}

/// Descriptors of this process that point into `root`. (Comparing plain
/// counts would flag the tokio runtime wasmtime-wasi creates lazily.)
fn open_fds_under(root: &Path) -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(root))
        .map(|target| target.display().to_string())
        .collect()
}

/// Run a deep-tree attack: line `i` of the report must be one of
/// `expected[i]`, no descriptor into the tree may stay open, the victims must
/// be untouched. The tree is left for `in_child_process` to remove with
/// `rm -rf`: std's `remove_dir_all` (used by `TempDir`) recurses, and a
/// 30,000-deep chain overflows the thread's stack in the test's own cleanup.
fn deep_tree_attack(name: &'static str, expected: &[&[&str]]) {
    let mut f = Fixture::new(name);
    f._tmp.disable_cleanup(true);
    println!("FIXTURE_ROOT={}", f.root.display());
    let report = f.report(Phase::Build);
    let ok = report.len() == expected.len()
        && report
            .iter()
            .zip(expected)
            .all(|(line, allowed)| allowed.contains(&line.as_str()));
    assert!(
        ok,
        "unexpected report:\n{}\nexpected, line by line: {expected:#?}",
        report.join("\n")
    );
    assert_eq!(
        open_fds_under(&f.root),
        Vec::<String>::new(),
        "descriptors into the build tree leaked"
    );
    f.assert_untouched();
}

#[test]
fn files_copy_into_itself() {
    in_child_process("files_copy_into_itself", || {
        deep_tree_attack(
            "files_copy_into_itself",
            &[
                // Refused up front, or stopped at the depth bound.
                &[
                    "copy-tree /work/hello-1.0 -> /work/hello-1.0/again: Err(Invalid)",
                    "copy-tree /work/hello-1.0 -> /work/hello-1.0/again: Err(Limit)",
                ],
                &["symlink /work/alias -> hello-1.0: Ok"],
                &[
                    "copy-tree /work/hello-1.0 -> /work/alias/again: Err(Invalid)",
                    "copy-tree /work/hello-1.0 -> /work/alias/again: Err(Limit)",
                ],
                &[
                    "copy-tree /work/alias -> /work/hello-1.0/again: Err(Invalid)",
                    "copy-tree /work/alias -> /work/hello-1.0/again: Err(Limit)",
                    // `alias` is a symlink: copied as a link, no recursion
                    // (but only if the first attempt left no `again`).
                    "copy-tree /work/alias -> /work/hello-1.0/again: Ok(1)",
                    "copy-tree /work/alias -> /work/hello-1.0/again: Err(Exists)",
                ],
            ],
        )
    });
}

#[test]
fn files_deep_tree() {
    in_child_process("files_deep_tree", || {
        deep_tree_attack(
            "files_deep_tree",
            &[
                &["build a 30000-deep chain: Ok"],
                // A walk that copes with any depth, or one that stops at a
                // bound and says so.
                &[
                    "copy-tree /work/d -> /work/d2: Ok(30001)",
                    "copy-tree /work/d -> /work/d2: Err(Limit)",
                ],
                &[
                    "remove-tree /work/d: Ok(30001)",
                    "remove-tree /work/d: Err(Limit)",
                ],
            ],
        )
    });
}

// ---------------------------------------------------------------------------
// Advisories, reproduced against our configuration
// ---------------------------------------------------------------------------

#[test]
fn rustsec_2026_0020() {
    let mut f = Fixture::new("rustsec_2026_0020");
    f.limits.resources = 100;
    let (result, log) = f.run(Phase::Build);
    assert_limit(&result, Phase::Build, LimitKind::Resources);
    // The oversized read returned what the file holds.
    let read = format!("read 64 MiB request: Ok({} bytes)", DISTFILE.len());
    assert!(log.contains(&read), "expected {read:?} in the log:\n{log}");
    f.assert_untouched();
}

#[test]
fn rustsec_2026_0149() {
    attack(
        "rustsec_2026_0149",
        Phase::Build,
        &[
            "write /work/control: Ok",
            "open(RDONLY|TRUNC) /work/control: Ok",
            "size /work/control: Ok(0 bytes)",
            "open(RDONLY|TRUNC) /sources/distfiles/hello-1.0.tar.gz: Err(PermissionDenied, os 63)",
            "open(RDONLY|TRUNC|CREAT) /sources/distfiles/hello-1.0.tar.gz: Err(PermissionDenied, os 63)",
            "open(RDONLY|TRUNC) /sources/patches/fix.patch: Err(PermissionDenied, os 63)",
            "open(RDONLY|TRUNC|CREAT) /sources/patches/fix.patch: Err(PermissionDenied, os 63)",
            "open(RDONLY|TRUNC|CREAT) /sources/files/new: Err(PermissionDenied, os 63)",
            "open(WRONLY|TRUNC) /sources/files/README: Err(PermissionDenied, os 63)",
        ],
    );
}

#[test]
fn rustsec_2026_0188() {
    attack(
        "rustsec_2026_0188",
        Phase::Build,
        &[
            "hard_link /sources/distfiles/hello-1.0.tar.gz -> /work/linked: Err(PermissionDenied, os 63)",
            "overwrite /work/linked: Err(NotFound, os 44)",
            "rename /sources/distfiles/hello-1.0.tar.gz -> /work/renamed: Err(PermissionDenied, os 63)",
            "overwrite /work/renamed: Err(NotFound, os 44)",
            "hard_link /sources/patches/fix.patch -> /sources/patches/fix2.patch: Err(PermissionDenied, os 63)",
            "rename /sources/patches/fix.patch -> /work/fix.patch: Err(PermissionDenied, os 63)",
            "overwrite /work/fix.patch: Err(NotFound, os 44)",
        ],
    );
}

#[test]
fn rustsec_2026_0269() {
    attack(
        "rustsec_2026_0269",
        Phase::Build,
        &[
            "create_dir /work/a: Ok",
            "create_dir /work/a/inside: Ok",
            "symlink /work/a/link_in -> inside/: Ok",
            "read_dir /work/a/link_in/: Ok(0 entries)",
            "symlink /work/a/evil -> {up}{victim}: Ok",
            "symlink /work/a/link1 -> evil/: Ok",
            "read_dir /work/a/link1: Err(PermissionDenied, os 63)",
            "read_dir /work/a/link1/: Err(PermissionDenied, os 63)",
            "metadata /work/a/link1/: Err(PermissionDenied, os 63)",
            "symlink_metadata /work/a/link1/: Err(PermissionDenied, os 63)",
            "open(NOFOLLOW|DIRECTORY) /work/a/link1/: Err(PermissionDenied, os 63)",
            "read /work/a/link1/secret: Err(PermissionDenied, os 63)",
            "write /work/a/link1/new: Err(PermissionDenied, os 63)",
            "create_dir /work/a/link1/newdir: Err(PermissionDenied, os 63)",
            "remove_file /work/a/link1/secret: Err(PermissionDenied, os 63)",
            "rename /work/hello-1.0/README -> /work/a/link1/moved: Err(PermissionDenied, os 63)",
            "read_dir /sources/files/link1: Err(PermissionDenied, os 63)",
            "read_dir /sources/files/link1/: Err(PermissionDenied, os 63)",
            "metadata /sources/files/link1/: Err(PermissionDenied, os 63)",
            "symlink_metadata /sources/files/link1/: Err(PermissionDenied, os 63)",
            "open(NOFOLLOW|DIRECTORY) /sources/files/link1/: Err(PermissionDenied, os 63)",
            "read /sources/files/link1/secret: Err(PermissionDenied, os 63)",
        ],
    );
}
