//! The incident suite: real deletions by build and install scripts, replayed
//! through the whole `wport build` (Portfile, component, mediated `make` and
//! `sh`, the kernel walls) against victim trees planted outside the build.
//!
//! The ports are in `tests/incidents/` (see its README for each incident and
//! for how the scripts are kept from aiming at anything but planted trees).
//! Each test packs the port's `src/` into its distfile, plants victims, builds,
//! and asserts that
//! - every victim survives byte for byte (content, link target, mode, owner);
//! - the build log shows what was refused: the commands' own stderr
//!   ("Read-only file system" / "Permission denied" where the victim is
//!   mounted read-only in the sandbox, "No such file or directory" where it
//!   is not mounted at all) and the failing build's exit status.
//!
//! Victims are planted in two places. *Exposed*: under /usr/local, which the
//! sandbox mounts read-only with the toolchain; owned by the build user with
//! modes 0777/0666, so file permissions alone would let the build delete
//! them. Only as root (CI runs as root); otherwise the test says so on
//! stderr and checks the hidden ones. *Hidden*: beside the build directory,
//! including a neighbouring port's build directory, which the sandbox does
//! not mount.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: tar makes the fixtures the real builds start from"
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, explain, sha256_hex};

/// Every planted tree's path contains this; the incident scripts refuse any
/// other target.
const MARKER: &str = "wport-incident-victims";

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// One node of a victim tree, everything a deletion or an overwrite changes.
#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir { mode: u32, uid: u32 },
    File { mode: u32, uid: u32, sha256: String },
    Link { target: PathBuf },
}

fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, path: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        let meta =
            std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            out.insert(
                rel,
                Node::Link {
                    target: std::fs::read_link(path).unwrap(),
                },
            );
        } else if meta.is_dir() {
            out.insert(
                rel,
                Node::Dir {
                    mode,
                    uid: meta.uid(),
                },
            );
            for e in std::fs::read_dir(path).unwrap() {
                walk(root, &e.unwrap().path(), out);
            }
        } else {
            let bytes = std::fs::read(path).unwrap();
            out.insert(
                rel,
                Node::File {
                    mode,
                    uid: meta.uid(),
                    sha256: sha256_hex(&bytes),
                },
            );
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A planted victim tree, removed when the test ends.
struct Victims {
    root: PathBuf,
    before: BTreeMap<PathBuf, Node>,
    /// Remove `root` on drop (the exposed trees live outside any tempdir).
    owned: bool,
}

impl Victims {
    /// Plant `files` (relative path, content) and `links` under `root`. As
    /// root, everything is handed to the build user with open modes, so
    /// that only the sandbox's walls stand between the build and the files.
    fn plant(
        root: PathBuf,
        files: &[(&str, &str)],
        links: &[(&str, &str)],
        owned: bool,
    ) -> Victims {
        assert!(
            root.to_string_lossy().contains(MARKER),
            "{}",
            root.display()
        );
        assert!(!root.exists(), "{} already exists", root.display());
        std::fs::create_dir_all(&root).unwrap();
        for (rel, content) in files {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
        for (rel, target) in links {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, &p).unwrap();
        }
        let mut v = Victims {
            root,
            before: BTreeMap::new(),
            owned,
        };
        v.open_up();
        v.before = snapshot(&v.root);
        v
    }

    fn open_up(&self) {
        fn walk(p: &Path, root_user: bool) {
            let meta = std::fs::symlink_metadata(p).unwrap();
            if meta.file_type().is_symlink() {
                if root_user {
                    std::os::unix::fs::lchown(p, Some(65534), Some(65534)).unwrap();
                }
                return;
            }
            let mode = if meta.is_dir() { 0o777 } else { 0o666 };
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
            if root_user {
                std::os::unix::fs::lchown(p, Some(65534), Some(65534)).unwrap();
            }
            if meta.is_dir() {
                for e in std::fs::read_dir(p).unwrap() {
                    walk(&e.unwrap().path(), root_user);
                }
            }
        }
        walk(&self.root, is_root());
    }

    fn assert_intact(&self, what: &str) {
        let after = snapshot(&self.root);
        assert_eq!(
            self.before,
            after,
            "{what}: victim tree {} changed",
            self.root.display()
        );
    }
}

impl Drop for Victims {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// Where exposed victims go: a fresh directory under /usr/local (mounted
/// read-only in the sandbox), or None when not root.
fn exposed_root(tag: &str) -> Option<PathBuf> {
    if !is_root() {
        eprintln!(
            "incidents: not root, so no victim is planted under /usr/local (a path the sandbox mounts); \
             only the hidden victims are checked"
        );
        return None;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Some(PathBuf::from(format!(
        "/usr/local/{MARKER}-{tag}-{}-{nanos}",
        std::process::id()
    )))
}

/// The incident port `name`: its distfile packed from `src/`, its Portfile
/// filled in. Returns the port directory.
fn make_port(scratch: &Scratch, name: &str, exposed: &Path, hidden: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/incidents")
        .join(name);
    let template = std::fs::read_to_string(fixture.join("Portfile.toml.in")).unwrap();
    // The distfile's name and top directory follow the Portfile.
    let url = template
        .lines()
        .find_map(|l| l.strip_prefix("url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    let top = url.strip_suffix(".tar.gz").unwrap();
    let stage = scratch.path().join("dist");
    let src = stage.join(top);
    std::fs::create_dir_all(&src).unwrap();
    for e in std::fs::read_dir(fixture.join("src")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), src.join(e.file_name())).unwrap();
    }
    let port = scratch.path().join("port");
    std::fs::create_dir_all(&port).unwrap();
    let tarball = port.join(url);
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&stage)
        .args(["--owner=0", "--group=0", "-czf"])
        .arg(&tarball)
        .arg(top)
        .output()
        .unwrap();
    assert!(
        tar.status.success(),
        "{}",
        String::from_utf8_lossy(&tar.stderr)
    );
    let bytes = std::fs::read(&tarball).unwrap();
    for p in [exposed, hidden] {
        let s = p.to_str().unwrap();
        assert!(s.contains(MARKER) && !s.contains(['"', '\\', ' ']), "{s}");
    }
    let portfile = template
        .replace("@SHA256@", &sha256_hex(&bytes))
        .replace("@SIZE@", &bytes.len().to_string())
        .replace("@EXPOSED@", exposed.to_str().unwrap())
        .replace("@HIDDEN@", hidden.to_str().unwrap());
    for placeholder in ["@SHA256@", "@SIZE@", "@EXPOSED@", "@HIDDEN@"] {
        assert!(
            !portfile.contains(placeholder),
            "{placeholder} left in {name}'s Portfile:\n{portfile}"
        );
    }
    std::fs::write(port.join("Portfile.toml"), portfile).unwrap();
    port
}

/// A neighbouring port's finished build, beside this one in the build root.
fn plant_neighbour(scratch: &Scratch) -> Victims {
    Victims::plant(
        scratch.build_root().join(format!("{MARKER}-neighbour-1.0")),
        &[
            (
                "destroot/opt/wport/bin/neighbour",
                "#!/bin/sh\necho neighbour\n",
            ),
            ("build.log", "neighbour's log\n"),
        ],
        &[],
        false,
    )
}

/// The result of one incident build.
struct Run {
    code: Option<i32>,
    log: String,
    explain: String,
}

fn run(scratch: &Scratch, port: &Path, extra: &[&str]) -> Run {
    let out = scratch.build(port, &[&["-j2"], extra].concat());
    let dir = std::fs::read_dir(scratch.build_root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("incident-")
        })
        .expect("the incident's build directory");
    let log_path = dir.join("build.log");
    Run {
        code: out.status.code(),
        log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        explain: explain(&out, Some(&log_path)),
    }
}

/// The exposed victims were reached by name and refused by a wall.
fn assert_refused_by_wall(r: &Run, path: &Path) {
    let p = path.to_string_lossy();
    let refused = r.log.lines().any(|l| {
        l.contains(&*p) && (l.contains("Read-only file system") || l.contains("Permission denied"))
    });
    assert!(
        refused,
        "no refusal for {p} in the build log:\n{}",
        r.explain
    );
    // ...and the trace of refused accesses names it, after its call's
    // `[exec]` line and in the summary on stderr (issue 14).
    assert_traced(r, path, &["EROFS", "EACCES"]);
    // The failing command failed the build (exit 1: FAILURE).
    assert_eq!(r.code, Some(1), "{}", r.explain);
}

/// The hidden victims did not even exist inside the sandbox.
fn assert_invisible(r: &Run, path: &Path) {
    let p = path.to_string_lossy();
    let absent = r
        .log
        .lines()
        .any(|l| l.contains(&*p) && l.contains("No such file or directory"));
    assert!(
        absent,
        "the build log does not show {p} as absent:\n{}",
        r.explain
    );
    // It exists on the host: the trace reports it as hidden by the view.
    assert_traced(r, path, &["ENOENT (hidden"]);
}

/// A `[trace] refused:` line for a path under `path` with one of `errors`,
/// and the end-of-build summary on stderr (docs/CONFINEMENT.md, "Trace of
/// refused accesses"), though the build failed.
fn assert_traced(r: &Run, path: &Path, errors: &[&str]) {
    let p = format!("{:?}", path.to_string_lossy());
    let under = &p[..p.len() - 1];
    let traced = r.log.lines().any(|l| {
        l.starts_with("[trace] refused: ")
            && l.contains(under)
            && errors.iter().any(|e| l.contains(&format!(": {e}")))
    });
    assert!(
        traced,
        "no [trace] line for {p} with {errors:?}:\n{}",
        r.explain
    );
    assert!(
        r.explain
            .contains("outside the build's view were refused:\n  phase "),
        "no summary on stderr:\n{}",
        r.explain
    );
}

#[test]
fn steam_2015_rm_rf_empty_steamroot() {
    let scratch = Scratch::new("steam");
    let home = [
        (
            "home/user/Documents/thesis.tex",
            "\\documentclass{article} % four years of work\n",
        ),
        (
            "home/user/.ssh/id_ed25519",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n",
        ),
        ("home/user/Music/track 01.ogg", "OggS..."),
    ];
    let links = [("home/user/latest", "Documents/thesis.tex")];
    let hidden = Victims::plant(scratch.path().join(MARKER), &home, &links, false);
    let exposed = exposed_root("steam").map(|r| Victims::plant(r, &home, &links, true));
    let neighbour = plant_neighbour(&scratch);
    let exposed_path = exposed.as_ref().map_or_else(
        || scratch.path().join(format!("{MARKER}-unplanted")),
        |v| v.root.clone(),
    );
    let port = make_port(&scratch, "steam", &exposed_path, &hidden.root);

    let r = run(&scratch, &port, &[]);

    hidden.assert_intact("steam");
    neighbour.assert_intact("steam");
    assert!(
        r.log.contains("STEAMROOT=''"),
        "the incident's variable was not empty:\n{}",
        r.explain
    );
    assert_invisible(&r, &hidden.root.join("home/user"));
    if let Some(v) = &exposed {
        v.assert_intact("steam");
        assert_refused_by_wall(&r, &v.root.join("home/user"));
        assert!(
            r.log.contains("steam.sh: rm exited with status 1"),
            "{}",
            r.explain
        );
    }
}

#[test]
fn bumblebee_2011_rm_rf_usr() {
    let scratch = Scratch::new("bumblebee");
    let system = [
        ("usr/bin/important-tool", "#!/bin/sh\necho important\n"),
        ("usr/lib/libimportant.so.1", "\x7fELF not really"),
        ("usr/share/doc/important/README", "read me\n"),
        (
            "lib/nvidia-current/xorg/xorg/libglx.so",
            "the module the script meant to remove\n",
        ),
    ];
    let links = [("usr/lib/libimportant.so", "libimportant.so.1")];
    let hidden = Victims::plant(scratch.path().join(MARKER), &system, &links, false);
    let exposed = exposed_root("bumblebee").map(|r| Victims::plant(r, &system, &links, true));
    let neighbour = plant_neighbour(&scratch);
    let exposed_path = exposed.as_ref().map_or_else(
        || scratch.path().join(format!("{MARKER}-unplanted")),
        |v| v.root.clone(),
    );
    let port = make_port(&scratch, "bumblebee", &exposed_path, &hidden.root);

    let r = run(&scratch, &port, &[]);

    hidden.assert_intact("bumblebee");
    neighbour.assert_intact("bumblebee");
    assert_invisible(&r, &hidden.root.join("usr"));
    if let Some(v) = &exposed {
        v.assert_intact("bumblebee");
        assert_refused_by_wall(&r, &v.root.join("usr"));
        assert!(
            r.log.contains("install.sh: rm exited with status 1"),
            "{}",
            r.explain
        );
        // It failed in the destroot phase, where `make install` runs.
        assert!(r.explain.contains("phase destroot failed"), "{}", r.explain);
    }
}

#[test]
fn itunes_2001_unquoted_volume_with_a_space() {
    let scratch = Scratch::new("itunes");
    let volumes = [
        // The other volume, named "Macintosh": the one the split argument hit.
        (
            "Volumes/Macintosh/Users/me/Music/iTunes Library.xml",
            "<plist>every song</plist>\n",
        ),
        ("Volumes/Macintosh/Users/me/Pictures/wedding.jpg", "JFIF..."),
        // The destination volume and the previous iTunes the script meant to remove.
        (
            "Volumes/Macintosh HD/Applications/iTunes.app/Contents/Info.plist",
            "<plist>iTunes 1</plist>\n",
        ),
        ("Volumes/Macintosh HD/Users/me/notes.txt", "notes\n"),
    ];
    let hidden = Victims::plant(scratch.path().join(MARKER), &volumes, &[], false);
    let exposed = exposed_root("itunes").map(|r| Victims::plant(r, &volumes, &[], true));
    let neighbour = plant_neighbour(&scratch);
    let exposed_path = exposed.as_ref().map_or_else(
        || scratch.path().join(format!("{MARKER}-unplanted")),
        |v| v.root.clone(),
    );
    let port = make_port(&scratch, "itunes", &exposed_path, &hidden.root);

    let r = run(&scratch, &port, &[]);

    hidden.assert_intact("itunes");
    neighbour.assert_intact("itunes");
    // `ls` of the split-off volume: not there inside the sandbox.
    assert_invisible(&r, &hidden.root.join("Volumes/Macintosh"));
    if let Some(v) = &exposed {
        v.assert_intact("itunes");
        // The split argument: "<root>/Volumes/Macintosh" on its own.
        assert_refused_by_wall(&r, &v.root.join("Volumes/Macintosh/"));
        assert!(
            r.log.contains("preflight: rm exited with status 1"),
            "{}",
            r.explain
        );
    }
}

/// (relative path, content) of planted files, or (link, target) of links.
type Entries = Vec<(&'static str, &'static str)>;

fn egpu_prefix_tree() -> (Entries, Entries) {
    (
        vec![
            ("prefix/bin/egpu-switcher", "#!/bin/sh\necho old version\n"),
            (
                "prefix/bin/neighbour-tool",
                "#!/bin/sh\necho installed by another package\n",
            ),
            (
                "prefix/share/man/man1/neighbour-tool.1",
                ".TH NEIGHBOUR 1\n",
            ),
        ],
        vec![("prefix/bin/nt", "neighbour-tool")],
    )
}

/// egpu-switcher with the install prefix planted under /usr/local: the
/// sandbox can name it (the toolchain mount), and the empty-DESTDIR
/// `rm -rfd` hits the read-only wall.
#[test]
fn egpu_switcher_2019_empty_destdir_prefix_on_the_toolchain_mount() {
    let scratch = Scratch::new("egpu");
    let (files, links) = egpu_prefix_tree();
    let hidden = Victims::plant(scratch.path().join(MARKER), &files, &links, false);
    let neighbour = plant_neighbour(&scratch);
    let Some(exposed_root) = exposed_root("egpu") else {
        return; // said so on stderr; the hidden-prefix test below still runs
    };
    let exposed = Victims::plant(exposed_root, &files, &links, true);
    let prefix = exposed.root.join("prefix");
    let port = make_port(&scratch, "egpu-switcher", &exposed.root, &hidden.root);

    let r = run(&scratch, &port, &["--prefix", prefix.to_str().unwrap()]);

    exposed.assert_intact("egpu-switcher");
    hidden.assert_intact("egpu-switcher");
    neighbour.assert_intact("egpu-switcher");
    assert!(
        r.log.contains(&format!("rm -rfd {}/bin", prefix.display())),
        "{}",
        r.explain
    );
    assert_refused_by_wall(&r, &prefix.join("bin"));
    // make reports the failed recipe line.
    assert!(r.log.contains("make: *** [Makefile"), "{}", r.explain);
}

/// egpu-switcher with the install prefix beside the build directory: the
/// sandbox has no such path; `rm -rfd` finds nothing, and the `mkdir -p`
/// that follows is refused by the read-only root.
#[test]
fn egpu_switcher_2019_empty_destdir_prefix_outside_the_sandbox() {
    let scratch = Scratch::new("egpu-hidden");
    let (files, links) = egpu_prefix_tree();
    let hidden = Victims::plant(scratch.path().join(MARKER), &files, &links, false);
    let neighbour = plant_neighbour(&scratch);
    let prefix = hidden.root.join("prefix");
    let unplanted = scratch.path().join(format!("{MARKER}-unplanted"));
    let port = make_port(&scratch, "egpu-switcher", &unplanted, &hidden.root);

    let r = run(&scratch, &port, &["--prefix", prefix.to_str().unwrap()]);

    hidden.assert_intact("egpu-switcher");
    neighbour.assert_intact("egpu-switcher");
    assert!(
        r.log.contains(&format!("rm -rfd {}/bin", prefix.display())),
        "{}",
        r.explain
    );
    let refused = r.log.lines().any(|l| {
        l.contains("mkdir")
            && (l.contains("Read-only file system") || l.contains("Permission denied"))
    });
    assert!(
        refused,
        "mkdir -p of the host prefix was not refused:\n{}",
        r.explain
    );
    assert_eq!(r.code, Some(1), "{}", r.explain);
}
