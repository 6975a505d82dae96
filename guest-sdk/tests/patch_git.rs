//! Patches made by git itself (`git format-patch -M -C`, `git diff`) in a
//! temporary repository, applied by the default `patch` phase through the
//! SDK's host harness: file I/O, modes and the all-or-nothing rule as a
//! port sees them. Needs git(1) on the host; these tests fail, never skip,
//! without it (CI works in a git clone).
//!
//! Before git's extended headers were read, the applier skipped every
//! section without hunks: the renames, the copy of an empty file, the mode
//! change and the new empty file below did nothing, the renames with hunks
//! patched the old name in place, and the binary change was not refused
//! with its line and file.

#![expect(
    clippy::disallowed_methods,
    reason = "the tests make their patches with git(1)"
)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use wport_guest_sdk::Port;
use wport_guest_sdk::env::Phase;
use wport_guest_sdk::host::HostBuild;

/// A port with the default phases: `patch` applies the patchfiles.
struct Defaults;
impl Port for Defaults {}

/// A git repository in a fresh temporary directory, removed on drop.
struct Repo(PathBuf);

impl Repo {
    fn new(name: &str) -> Repo {
        let dir =
            std::env::temp_dir().join(format!("wport-patch-git-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let repo = Repo(dir);
        repo.git(&["init", "-q"]);
        repo
    }

    /// Run git with a fixed identity and no user or system configuration;
    /// its standard output.
    fn git(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=wport",
                "-c",
                "user.email=wport@example.org",
                "-c",
                "core.fileMode=true",
                "-c",
                "core.autocrlf=false",
            ])
            .args(args)
            .current_dir(&self.0)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
            .output()
            .expect("git(1) runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn write(&self, path: &str, content: &[u8], mode: u32) {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Commit everything, and remove the directories a `git mv` emptied
    /// (git does not track directories; `git apply` removes them).
    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["clean", "-fdq"]);
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file below `root` (not `.git`): its content and whether its owner
/// may execute it; and every directory.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    files: BTreeMap<String, (Vec<u8>, bool)>,
    dirs: Vec<String>,
}

fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, snap: &mut Snapshot) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if rel == ".git" {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                snap.dirs.push(rel);
                walk(root, &path, snap);
            } else {
                let exec = meta.permissions().mode() & 0o100 != 0;
                snap.files
                    .insert(rel, (std::fs::read(&path).unwrap(), exec));
            }
        }
    }
    let mut snap = Snapshot {
        files: BTreeMap::new(),
        dirs: Vec::new(),
    };
    walk(root, root, &mut snap);
    snap
}

/// Copy the files of `from` (not `.git`) into `to`, with their modes.
fn copy_tree(from: &Path, to: &Path) {
    for (rel, (content, exec)) in snapshot(from).files {
        let dst = to.join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(&dst, content).unwrap();
        let mode = if exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn lines(n: usize, tag: &str) -> Vec<u8> {
    (1..=n)
        .map(|i| format!("{tag} line {i}\n"))
        .collect::<String>()
        .into_bytes()
}

/// A build whose worksrc holds `repo`'s files and whose one patchfile is
/// `patch`.
fn build_with(repo: &Repo, name: &str, patch: &[u8]) -> HostBuild {
    let build = HostBuild::new("patchgit", "1.0").unwrap().patchfile(name);
    std::fs::write(build.sources().join(name), patch).unwrap();
    copy_tree(&repo.0, &build.worksrc());
    build
}

#[test]
fn git_renames_copies_modes_new_and_deleted_files_apply() {
    let repo = Repo::new("renames");
    repo.write("keep.txt", &lines(6, "keep"), 0o644);
    repo.write("run.sh", b"#!/bin/sh\necho hi\n", 0o755);
    repo.write("src.c", &lines(12, "src"), 0o644);
    repo.write("empty", b"", 0o644);
    repo.write("gone.txt", b"x\ny\n", 0o644);
    repo.write("old/dir/moved.c", &lines(10, "moved"), 0o644);
    repo.write("data.txt", &lines(8, "data"), 0o644);
    repo.write("release notes/café 1.txt", &lines(3, "notes"), 0o644);
    repo.commit("base");

    repo.git(&["mv", "keep.txt", "kept.txt"]);
    std::fs::create_dir_all(repo.0.join("tools")).unwrap();
    repo.git(&["mv", "run.sh", "tools/run.sh"]);
    let mut copy = lines(12, "src");
    copy.extend_from_slice(b"one more line\n");
    repo.write("copy.c", &copy, 0o644);
    repo.write("copy-of-empty", b"", 0o644);
    std::fs::set_permissions(repo.0.join("src.c"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_file(repo.0.join("gone.txt")).unwrap();
    std::fs::create_dir_all(repo.0.join("new")).unwrap();
    repo.git(&["mv", "old/dir/moved.c", "new/moved.c"]);
    let moved = String::from_utf8(lines(10, "moved"))
        .unwrap()
        .replace("moved line 5\n", "moved line five\n");
    repo.write("new/moved.c", moved.as_bytes(), 0o644);
    repo.write(
        "configure",
        b"#!/bin/sh\n# a new script, like no other file here\nprefix=/opt/wport\nexit 0\n",
        0o755,
    );
    let data = String::from_utf8(lines(8, "data"))
        .unwrap()
        .replace("data line 2\n", "data line two\n");
    repo.write("data.txt", data.as_bytes(), 0o644);
    repo.git(&["mv", "release notes/café 1.txt", "release notes/café 2.txt"]);
    repo.commit("change");
    let after = snapshot(&repo.0);

    let patch = repo.git(&[
        "format-patch",
        "-1",
        "-M",
        "-C",
        "--find-copies-harder",
        "--stdout",
    ]);
    let text = String::from_utf8_lossy(&patch);
    // What git wrote is what this test is about.
    for header in [
        "rename from keep.txt",
        "rename to tools/run.sh",
        "copy from src.c",
        "copy to copy.c",
        "copy to copy-of-empty",
        "old mode 100644\nnew mode 100755",
        "new file mode 100755",
        "deleted file mode 100644",
        "rename from old/dir/moved.c",
        "rename to \"release notes/caf\\303\\251 2.txt\"",
    ] {
        assert!(text.contains(header), "no `{header}` in:\n{text}");
    }

    repo.git(&["checkout", "-q", "HEAD~1"]);
    let mut build = build_with(&repo, "changes.patch", &patch);
    build.run::<Defaults>(Phase::Patch).unwrap();
    assert_eq!(snapshot(&build.worksrc()), after, "{text}");
    assert!(
        !build.worksrc().join("old").exists(),
        "emptied by the rename"
    );
}

/// `git diff --no-prefix` of a rename with a change and a new empty file
/// (a section without hunks), applied at -p0.
#[test]
fn git_rename_without_prefixes_applies_at_p0() {
    let repo = Repo::new("noprefix");
    repo.write("lib/a.c", &lines(10, "a"), 0o755);
    repo.commit("base");
    repo.git(&["mv", "lib/a.c", "lib/b.c"]);
    let changed = String::from_utf8(lines(10, "a"))
        .unwrap()
        .replace("a line 9\n", "a line nine\n");
    repo.write("lib/b.c", changed.as_bytes(), 0o755);
    repo.write("NEWS", b"", 0o644);
    repo.commit("rename");
    let after = snapshot(&repo.0);
    let patch = repo.git(&["diff", "-M", "--no-prefix", "HEAD~1", "HEAD"]);
    let text = String::from_utf8_lossy(&patch);
    for header in [
        "rename from lib/a.c",
        "new file mode 100644\nindex 0000000..e69de29\n",
    ] {
        assert!(text.contains(header), "no `{header}` in:\n{text}");
    }

    repo.git(&["checkout", "-q", "HEAD~1"]);
    let mut build = build_with(&repo, "rename.diff", &patch);
    build.run::<Defaults>(Phase::Patch).unwrap();
    assert_eq!(snapshot(&build.worksrc()), after);
}

/// A binary change is refused, naming the patch file, the line and the
/// file, and the text change in the same patch is not written.
#[test]
fn git_binary_changes_are_refused_and_nothing_is_written() {
    let repo = Repo::new("binary");
    repo.write("README", &lines(5, "readme"), 0o644);
    repo.commit("base");
    let readme = String::from_utf8(lines(5, "readme"))
        .unwrap()
        .replace("readme line 3\n", "readme line three\n");
    repo.write("README", readme.as_bytes(), 0o644);
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 0o644);
    repo.commit("logo");

    // format-patch writes the binary patch; plain `git diff` says only
    // that the files differ.
    let with_data = repo.git(&["format-patch", "-1", "--stdout"]);
    let without = repo.git(&["diff", "HEAD~1", "HEAD"]);
    repo.git(&["checkout", "-q", "HEAD~1"]);
    for (name, patch, marker, what) in [
        (
            "logo.patch",
            &with_data,
            "GIT binary patch",
            "a binary patch (`GIT binary patch`)",
        ),
        (
            "logo.diff",
            &without,
            "Binary files /dev/null and b/logo.png differ",
            "a binary change (`Binary files ... differ`)",
        ),
    ] {
        let text = String::from_utf8_lossy(patch);
        let line = text
            .lines()
            .position(|l| l == marker)
            .unwrap_or_else(|| panic!("no `{marker}` in:\n{text}"))
            + 1;
        let mut build = build_with(&repo, name, patch);
        let before = snapshot(&build.worksrc());
        let err = build.run::<Defaults>(Phase::Patch).unwrap_err();
        let want = format!("applying {name} to ");
        assert!(err.contains(&want), "{err}");
        let want = format!("line {line}: `b/logo.png`: {what} is not supported");
        assert!(err.contains(&want), "{err}");
        assert_eq!(snapshot(&build.worksrc()), before, "nothing written");
    }
}
