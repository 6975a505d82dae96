//! Issue 11, items 8, 10 and 13 with the real `wport` binary: a signed
//! payload bomb refused within a memory bound (exit 3), a lost registry
//! refused rather than recreated, queries on a read-only prefix, packaging
//! sparse files within a memory bound, unpackageable names (exit 3), and a
//! repository index that skips a bad package instead of failing whole.
//!
//! Memory bounds are asserted with `ulimit -d` (RLIMIT_DATA: heap and
//! private mappings) on the child, never by timing: the unfixed code aborts
//! on an allocation failure under these limits.

#![allow(
    clippy::disallowed_methods,
    reason = "an end-to-end test: runs the wport binary as a user does (and the tools a test names)"
)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};
use wport_registry::manifest::{FORMAT, FileEntry, Payload, Provenance, sign_envelope};
use wport_registry::{Manifest, PackageMeta, create_package};
use wport_trust::SecretKey;

const WPORT: &str = env!("CARGO_BIN_EXE_wport");

struct Env {
    tmp: tempfile::TempDir,
    key: SecretKey,
    prefix: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let key = SecretKey::from_seed(&[43; 32]).unwrap();
        let keys = tmp.path().join("trusted");
        std::fs::create_dir(&keys).unwrap();
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            keys.join("packager.pub"),
            serde_json::to_vec(&key.public().to_tuf()).unwrap(),
        )
        .unwrap();
        key.write_file(&tmp.path().join("packager.key")).unwrap();
        let prefix = tmp.path().canonicalize().unwrap().join("prefix");
        Env { tmp, key, prefix }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    fn s(&self, p: &str) -> String {
        self.path(p).to_string_lossy().into_owned()
    }

    /// The argument list of `wport VERB ... --prefix P [--keys K]`.
    fn args(&self, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend([
            "--prefix".into(),
            self.prefix.to_string_lossy().into_owned(),
        ]);
        if args[0] == "install" {
            all.extend(["--keys".into(), self.s("trusted")]);
        }
        all
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("XDG_CONFIG_HOME", self.path("config"))
            .env_remove("WPORT_TEST_CRASH_AT");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(WPORT).args(self.args(args)).output().unwrap()
    }

    /// `wport ARGS` with its data segment limited to `kib` KiB.
    fn run_limited(&self, kib: u64, args: &[String]) -> Output {
        self.cmd("sh")
            .arg("-c")
            .arg(format!("ulimit -d {kib} && exec \"$0\" \"$@\""))
            .arg(WPORT)
            .args(args)
            .output()
            .unwrap()
    }

    fn package(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let tree = self.path(&format!("trees/{name}"));
        for (p, c) in files {
            let p = tree.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, c).unwrap();
        }
        let out_dir = self.path("repo");
        std::fs::create_dir_all(&out_dir).unwrap();
        let out = out_dir.join(format!("{name}-1.0_0.wpkg"));
        create_package(&tree, &self.meta(name), &self.key, &out).unwrap();
        out
    }

    fn meta(&self, name: &str) -> PackageMeta {
        PackageMeta {
            name: name.into(),
            version: "1.0".into(),
            revision: 0,
            prefix: self.prefix.to_string_lossy().into_owned(),
            dependencies: vec![],
            source_date_epoch: 0,
            provenance: Provenance::default(),
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every path below `root`, relative, wport's own state included (so a
/// recreated registry would show).
fn listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".wport/lock" || rel.ends_with("-shm") || rel.ends_with("-wal") {
                continue;
            }
            out.push(rel);
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A GNU tar header, written byte by byte as a hostile packager would.
fn tar_header(kind: u8, name: &[u8], size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = kind;
    h[257..265].copy_from_slice(b"ustar  \0");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A zstd frame: `raw` as a raw block, then `zeros` zero bytes as RLE
/// blocks (the format's own run-length blocks: 4 bytes per 128 KiB).
fn zstd_frame(raw: &[u8], mut zeros: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    let mut f = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 7 << 3];
    let block_header = |f: &mut Vec<u8>, last: bool, kind: u32, size: u64| {
        let v = (last as u32) | (kind << 1) | ((size as u32) << 3);
        f.extend_from_slice(&v.to_le_bytes()[..3]);
    };
    for chunk in raw.chunks(BLOCK as usize) {
        block_header(&mut f, false, 0, chunk.len() as u64);
        f.extend_from_slice(chunk);
    }
    while zeros > 0 {
        let n = zeros.min(BLOCK);
        zeros -= n;
        block_header(&mut f, zeros == 0, 1, n);
        f.push(0);
    }
    f
}

/// The outer package tar around an envelope and a payload.
fn write_package(path: &Path, envelope: &[u8], payload: &[u8]) {
    let mut out = Vec::new();
    for (name, data) in [("+MANIFEST", envelope), ("payload.tar.zst", payload)] {
        out.extend_from_slice(&tar_header(b'0', name.as_bytes(), data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    std::fs::write(path, out).unwrap();
}

/// A package signed with the trusted key whose manifest is `m` and whose
/// payload (stated truthfully in the manifest) is `payload`.
fn signed_package(env: &Env, mut m: Manifest, payload: &[u8], file: &str) -> PathBuf {
    m.payload = Payload {
        sha256: hex(&Sha256::digest(payload)),
        size: payload.len() as u64,
    };
    let envelope = sign_envelope(&m.to_value(), &env.key).unwrap();
    let out = env.path(file);
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    write_package(&out, &envelope, payload);
    out
}

fn manifest(env: &Env, name: &str, files: &[&str]) -> Manifest {
    Manifest {
        format: FORMAT.into(),
        name: name.into(),
        version: "1.0".into(),
        revision: 0,
        prefix: env.prefix.to_string_lossy().into_owned(),
        dependencies: vec![],
        source_date_epoch: 0,
        payload: Payload {
            sha256: "0".repeat(64),
            size: 0,
        },
        files: files
            .iter()
            .map(|p| FileEntry {
                path: p.to_string(),
                sha256: hex(&Sha256::digest(b"")),
                mode: 0o644,
                size: 0,
            })
            .collect(),
        symlinks: vec![],
        directories: vec![],
        provenance: Provenance::default(),
    }
}

/// 256 MiB of data segment: far more than wport needs, far less than the
/// bombs below.
const DATA_LIMIT_KIB: u64 = 256 << 10;

#[test]
fn a_signed_long_name_bomb_is_refused_within_a_memory_bound() {
    let env = Env::new();
    let base = env.package("base", &[("bin/base", "b")]);
    assert!(
        env.run(&["install", base.to_str().unwrap()])
            .status
            .success()
    );
    let before = listing(&env.prefix);

    // 1 GiB of GNU long name, really there (zeros, as RLE blocks): the
    // tar crate would read it whole into memory.
    let payload = zstd_frame(&tar_header(b'L', b"././@LongLink", 1 << 30), 1 << 30);
    assert!(payload.len() < 64 << 10);
    let pkg = signed_package(&env, manifest(&env, "bomb", &["f"]), &payload, "bomb.wpkg");
    let o = env.run_limited(
        DATA_LIMIT_KIB,
        &env.args(&["install", pkg.to_str().unwrap()]),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("GNU long name entry in the payload is 1073741824, over the bound of 4096"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        listing(&env.prefix),
        before,
        "the prefix or registry changed"
    );
    let l = env.run(&["list"]);
    assert_eq!(stdout(&l), "base 1.0_0\n");
}

#[test]
fn a_lost_registry_is_refused_by_every_verb_until_restored() {
    let env = Env::new();
    let pkg = env.package("tool", &[("bin/tool", "t"), ("share/tool/x", "x")]);
    let other = env.package("other", &[("bin/other", "o")]);
    assert!(
        env.run(&["install", pkg.to_str().unwrap()])
            .status
            .success()
    );
    let db = env.prefix.join("var/wport/registry.sqlite");
    let saved = env.path("registry.backup");
    std::fs::copy(&db, &saved).unwrap();

    for lose in ["delete", "truncate"] {
        std::fs::remove_file(&db).unwrap();
        if lose == "truncate" {
            std::fs::write(&db, b"").unwrap();
        }
        let before = listing(&env.prefix);
        for args in [
            vec!["verify"],
            vec!["list"],
            vec!["info", "tool"],
            vec!["uninstall", "tool"],
            vec!["install", other.to_str().unwrap()],
        ] {
            let o = env.run(&args);
            assert_eq!(o.status.code(), Some(1), "{lose} {args:?}: {}", stderr(&o));
            assert!(
                stderr(&o).contains("is missing or empty, but the prefix")
                    && stderr(&o).contains("--new-registry"),
                "{lose} {args:?}: {}",
                stderr(&o)
            );
            assert_eq!(listing(&env.prefix), before, "{lose} {args:?}");
        }
        // Restoring the backup restores everything.
        std::fs::copy(&saved, &db).unwrap();
        let v = env.run(&["verify"]);
        assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    }

    // Starting over is explicit; the old files then belong to nobody.
    std::fs::remove_file(&db).unwrap();
    let o = env.run(&["install", other.to_str().unwrap(), "--new-registry"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&env.run(&["list"])), "other 1.0_0\n");
    let o = env.run(&["owner", "bin/tool"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_corrupt_registry_fails_verify_loudly() {
    let env = Env::new();
    let pkg = env.package("tool", &[("bin/tool", "t")]);
    assert!(
        env.run(&["install", pkg.to_str().unwrap()])
            .status
            .success()
    );
    let db = env.prefix.join("var/wport/registry.sqlite");
    let mut bytes = std::fs::read(&db).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 4096..] {
        *b = 0x5A;
    }
    std::fs::write(&db, &bytes).unwrap();
    let o = env.run(&["verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("is corrupt"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("no problems"));
    let o = env.run(&["uninstall", "tool"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(env.prefix.join("bin/tool").exists());
}

/// Runs `wport ARGS` where the prefix cannot be written: as root, inside a
/// private mount namespace with the prefix bind-mounted read-only (EROFS);
/// otherwise with the prefix made read-only for this user. Checks first
/// that the mechanism really keeps a write out.
fn run_read_only(env: &Env, args: &[&str]) -> Output {
    let prefix = env.prefix.to_string_lossy().into_owned();
    let root = rustix::process::geteuid().is_root();
    let wrap = |program: &str, rest: Vec<String>| -> Output {
        if root {
            env.cmd("unshare")
                .args([
                    "-m",
                    "sh",
                    "-c",
                    "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"",
                ])
                .arg(&prefix)
                .arg(program)
                .args(rest)
                .output()
                .unwrap()
        } else {
            env.cmd(program).args(rest).output().unwrap()
        }
    };
    let probe = wrap("touch", vec![format!("{prefix}/.wport/probe")]);
    assert!(
        !probe.status.success(),
        "the prefix is writable here; the test would prove nothing"
    );
    wrap(WPORT, env.args(args))
}

fn set_tree_writable(root: &Path, writable: bool) {
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            set_tree_writable(&e.path(), writable);
        }
    }
    let md = std::fs::symlink_metadata(root).unwrap();
    let mode = md.permissions().mode();
    let mode = if writable {
        mode | 0o200
    } else {
        mode & !0o222
    };
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn queries_work_on_a_read_only_prefix() {
    let env = Env::new();
    let pkg = env.package("tool", &[("bin/tool", "t"), ("share/tool/doc", "d")]);
    let other = env.package("other", &[("bin/other", "o")]);
    assert!(
        env.run(&["install", pkg.to_str().unwrap()])
            .status
            .success()
    );
    let before = listing(&env.prefix);
    let root = rustix::process::geteuid().is_root();
    if !root {
        set_tree_writable(&env.prefix, false);
    }

    let o = run_read_only(&env, &["list"]);
    assert_eq!(stdout(&o), "tool 1.0_0\n", "{}", stderr(&o));
    let o = run_read_only(&env, &["verify"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("no problems"));
    let o = run_read_only(&env, &["contents", "tool"]);
    assert!(stdout(&o).contains("bin/tool"), "{}", stderr(&o));
    let o = run_read_only(&env, &["owner", "bin/tool"]);
    assert!(stdout(&o).contains("provided by tool"), "{}", stderr(&o));
    let o = run_read_only(&env, &["info", "tool"]);
    assert!(stdout(&o).contains("tool 1.0_0"), "{}", stderr(&o));
    // A mutation fails cleanly, changing nothing.
    let o = run_read_only(&env, &["install", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    if !root {
        set_tree_writable(&env.prefix, true);
    }
    assert_eq!(listing(&env.prefix), before);
}

/// `wport package --destroot D` of the embedded demo port's metadata.
fn package_destroot(env: &Env, destroot: &Path, out: &Path, limit_kib: Option<u64>) -> Output {
    let args: Vec<String> = [
        "package",
        "--destroot",
        destroot.to_str().unwrap(),
        "--prefix",
        env.prefix.to_str().unwrap(),
        "--build-root",
        env.path("build").to_str().unwrap(),
        "--key",
        env.path("packager.key").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match limit_kib {
        Some(k) => env.run_limited(k, &args),
        None => env.cmd(WPORT).args(&args).output().unwrap(),
    }
}

#[test]
fn packaging_two_sparse_files_stays_within_a_memory_bound() {
    let env = Env::new();
    let destroot = env.path("destroot");
    let tree = destroot.join(env.prefix.strip_prefix("/").unwrap());
    std::fs::create_dir_all(tree.join("share")).unwrap();
    for n in ["big1", "big2"] {
        let f = std::fs::File::create(tree.join("share").join(n)).unwrap();
        f.set_len(384 << 20).unwrap();
    }
    let out = env.path("out");
    let o = package_destroot(&env, &destroot, &out, Some(DATA_LIMIT_KIB));
    assert!(o.status.success(), "{}", stderr(&o));
    let pkg = out.join("demo-1.0_0.wpkg");
    assert!(std::fs::metadata(&pkg).unwrap().len() < 1 << 20);
    let m = wport_registry::open_package(&pkg, &[env.key.public().clone()])
        .unwrap()
        .manifest;
    assert_eq!(
        m.files.iter().map(|f| f.size).collect::<Vec<_>>(),
        vec![384 << 20, 384 << 20]
    );
}

#[test]
fn packaging_refuses_newline_and_esc_names_naming_port_and_file() {
    let env = Env::new();
    for (i, (name, shown)) in [("a\nb", "bin/a\\nb"), ("\u{1b}[2Jx", "bin/\\u{1b}[2Jx")]
        .into_iter()
        .enumerate()
    {
        let destroot = env.path(&format!("destroot{i}"));
        let tree = destroot.join(env.prefix.strip_prefix("/").unwrap());
        std::fs::create_dir_all(tree.join("bin")).unwrap();
        std::fs::write(tree.join("bin").join(name), "x").unwrap();
        let out = env.path(&format!("out{i}"));
        let o = package_destroot(&env, &destroot, &out, None);
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&format!("port demo: destroot entry {shown} has a name")),
            "{e}"
        );
        assert!(
            !e.contains('\u{1b}'),
            "a raw ESC reached the terminal: {e:?}"
        );
        let written: Vec<_> = std::fs::read_dir(&out)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(written.is_empty(), "written: {written:?}");
    }
}

#[test]
fn index_skips_a_bad_package_and_the_rest_stays_installable() {
    let env = Env::new();
    let good = env.package("good", &[("bin/good", "g")]);
    let tampered = env.package("tampered", &[("bin/tampered", "t")]);
    let mut bytes = std::fs::read(&tampered).unwrap();
    // The payload's first byte: after the manifest's header and blocks.
    let manifest_size =
        u64::from_str_radix(std::str::from_utf8(&bytes[124..135]).unwrap(), 8).unwrap() as usize;
    let payload = 1024 + manifest_size.div_ceil(512) * 512;
    bytes[payload + 20] ^= 1;
    std::fs::write(&tampered, bytes).unwrap();
    // Signed, but with a newline in a path: packaged by an older wport.
    let mut m = manifest(&env, "newline", &["a\nb"]);
    m.files[0].path = "a\nb".into();
    signed_package(&env, m, b"not read", "repo/newline-1.0_0.wpkg");
    let repo = env.path("repo");

    let o = env
        .cmd(WPORT)
        .args([
            "index",
            repo.to_str().unwrap(),
            "--key",
            env.path("packager.key").to_str().unwrap(),
            "--keys",
            env.path("trusted").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("skipped tampered-1.0_0.wpkg (not indexed)"),
        "{e}"
    );
    assert!(e.contains("payload sha256"), "{e}");
    assert!(
        e.contains("skipped newline-1.0_0.wpkg (not indexed)"),
        "{e}"
    );
    assert!(stdout(&o).contains("indexed 1 packages"), "{}", stdout(&o));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("index.json")).unwrap()).unwrap();
    let names: Vec<&String> = index["signed"]["packages"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(names, vec!["good"]);
    let o = env.run(&["install", "good", "--repo", repo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = env.run(&["install", "tampered", "--repo", repo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("has no package for it"),
        "{}",
        stderr(&o)
    );
    assert!(!env.prefix.join("bin/tampered").exists());
    assert!(good.exists());
}

#[test]
fn an_unsigned_manifest_is_not_parsed_before_its_signature_is_checked() {
    let env = Env::new();
    // 60 MiB of `0,`: as JSON values, 30 M of them (about 1 GiB) if the
    // envelope were parsed whole before the signature check.
    let mut body = b"{\"signatures\":[],\"signed\":[".to_vec();
    body.reserve(60 << 20);
    for _ in 0..(30 << 20) {
        body.extend_from_slice(b"0,");
    }
    body.extend_from_slice(b"0]}");
    let pkg = env.path("unsigned.wpkg");
    write_package(&pkg, &body, b"payload");
    drop(body);
    let o = env.run_limited(
        DATA_LIMIT_KIB,
        &env.args(&["install", pkg.to_str().unwrap()]),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no signature by a trusted key"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_read_only_query_of_an_interrupted_transaction_says_so() {
    let env = Env::new();
    let base = env.package("base", &[("bin/base", "b")]);
    assert!(
        env.run(&["install", base.to_str().unwrap()])
            .status
            .success()
    );
    let pkg = env.package("tool", &[("bin/tool", "t")]);
    // Abort right after the install's journal is durable.
    let o = env
        .cmd(WPORT)
        .args(env.args(&["install", pkg.to_str().unwrap()]))
        .env("WPORT_TEST_CRASH_AT", "1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let journal = env.prefix.join(".wport/journal");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 1);
    let root = rustix::process::geteuid().is_root();
    if !root {
        set_tree_writable(&env.prefix, false);
    }
    let o = run_read_only(&env, &["list"]);
    if !root {
        set_tree_writable(&env.prefix, true);
    }
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("has an interrupted transaction"),
        "{}",
        stderr(&o)
    );
    // With write access the next query recovers first.
    let o = env.run(&["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("recovery: rolled back"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "base 1.0_0\n");
    assert_eq!(std::fs::read_dir(&journal).unwrap().count(), 0);
    assert!(!env.prefix.join("bin/tool").exists());
}
