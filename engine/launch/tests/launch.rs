//! The launcher end to end: a prefix laid out as a package installs it
//! (`bin/probe` a link to `libexec/wport/probe/wport-launch`, its policy
//! and the real program next to it), and the probe program
//! (`src/bin/probe.rs`), which exits with the errno of what it was told to
//! do, so every denial is asserted exactly: EACCES (13) from Landlock.
//!
//! Run as root (CI), every launch goes through `setpriv` to an
//! unprivileged uid and gid, as an ordinary user runs it: no privilege is
//! needed for any of this. The test tree is under `CARGO_TARGET_TMPDIR`,
//! not `/tmp`: a home directory inside `/tmp` makes `/tmp` an ancestor of
//! home, which the launcher never grants.

#![allow(
    clippy::disallowed_methods,
    reason = "a test: runs the launcher (through setpriv as another user) as an installed program is run"
)]

use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use wport_launch::{Layout, Policy};

/// The launcher program build.rs compiled (what `wport_launch::PROGRAM` embeds).
const LAUNCHER: &str = env!("WPORT_LAUNCH_PROGRAM");
const PROBE: &str = env!("CARGO_BIN_EXE_wport-launch-probe");
const EACCES: i32 = 13;
const ENETUNREACH: i32 = 101;
/// The unprivileged identity launches run as when the tests run as root.
const NOBODY: u32 = 65534;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    prefix: PathBuf,
    home: PathBuf,
    work: PathBuf,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Copies a program with cp(1), not in this process: a file this process
/// has open for writing is inherited by every child another test thread
/// forks meanwhile, until that child execs, and executing the copy while
/// such a child holds it fails with ETXTBSY. cp's descriptor is cp's own.
fn install_program(from: &str, to: &Path) {
    let status = Command::new("cp")
        .arg("--")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp {from} {}: {status}", to.display());
}

impl Fixture {
    fn new(policy: &Policy) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("launch-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let root = dir.path().canonicalize().unwrap();
        let prefix = root.join("prefix");
        let home = root.join("home");
        let work = root.join("work");
        let f = Fixture {
            _dir: dir,
            root,
            prefix,
            home,
            work,
        };
        let layout = Layout { port: "probe" };
        for d in [
            f.prefix.join("bin"),
            f.prefix.join(layout.dir()).join("real"),
            f.prefix.join(layout.dir()).join("policy"),
            f.home.join(".ssh"),
            f.work.clone(),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        install_program(LAUNCHER, &f.prefix.join(layout.launcher()));
        install_program(PROBE, &f.prefix.join(layout.real("probe")));
        std::os::unix::fs::symlink(layout.link_target(), f.prefix.join("bin/probe")).unwrap();
        f.set_policy(policy);
        std::fs::write(
            f.home.join(".ssh/id_ed25519"),
            "-----BEGIN OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap();
        std::fs::write(f.home.join(".bashrc"), "# the user's\n").unwrap();
        std::fs::write(f.home.join("notes.txt"), "notes\n").unwrap();
        // The tree is the unprivileged user's, as a real home is: only
        // Landlock stands between the program and these files.
        if is_root() {
            for p in [&f.root, &f.prefix] {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            chown_tree(&f.home);
            chown_tree(&f.work);
        }
        f
    }

    fn set_policy(&self, policy: &Policy) {
        let layout = Layout { port: "probe" };
        std::fs::write(self.prefix.join(layout.policy("probe")), policy.encode()).unwrap();
    }

    fn shim(&self) -> PathBuf {
        self.prefix.join("bin/probe")
    }

    fn real(&self) -> PathBuf {
        self.prefix.join(Layout { port: "probe" }.real("probe"))
    }

    /// `bin/probe ARGS` in `work/` with `HOME` set, as the unprivileged
    /// user when running as root.
    fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={NOBODY}"),
                format!("--regid={NOBODY}"),
                "--clear-groups".into(),
                "--".into(),
            ]);
            c.arg(self.shim());
            c
        } else {
            Command::new(self.shim())
        };
        c.args(args)
            .current_dir(&self.work)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("TMPDIR")
            .stdin(Stdio::null());
        c
    }

    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command(args).output().unwrap()
    }

    fn code<S: AsRef<OsStr>>(&self, args: &[S]) -> i32 {
        let out = self.run(args);
        out.status.code().unwrap_or_else(|| {
            panic!(
                "killed: {:?}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

fn chown_tree(path: &Path) {
    std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for e in std::fs::read_dir(path).unwrap() {
            chown_tree(&e.unwrap().path());
        }
    }
}

fn policy(edit: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = Policy::default();
    edit(&mut p);
    p
}

#[test]
fn the_default_policy_lets_ordinary_use_work() {
    let f = Fixture::new(&Policy::default());
    // Read and write in the current directory, read the prefix and /etc,
    // write /dev/null, read a file named on the command line.
    assert_eq!(f.code(&["write", "out.txt"]), 0);
    assert_eq!(f.code(&["read", "out.txt"]), 0);
    assert_eq!(f.code(&["read", f.real().to_str().unwrap()]), 0);
    assert_eq!(f.code(&["read", "/etc/passwd"]), 0);
    assert_eq!(f.code(&["write", "/dev/null"]), 0);
    let notes = f.home.join("notes.txt");
    assert_eq!(f.code(&[OsStr::new("read"), notes.as_os_str()]), 0);
    // The same file, not named: denied.
    assert_eq!(f.code(&["read-home", "notes.txt"]), EACCES);
    // Runs other programs (which inherit the sandbox).
    assert_eq!(f.code(&["spawn", "/bin/sh", "-c", "exit 7"]), 7);
}

#[test]
fn home_secrets_are_denied_unless_granted() {
    let f = Fixture::new(&Policy::default());
    assert_eq!(f.code(&["read-home", ".ssh/id_ed25519"]), EACCES);
    assert_eq!(f.code(&["write-home", ".bashrc"]), EACCES);
    assert_eq!(f.code(&["write-home", ".profile"]), EACCES);
    assert_eq!(
        std::fs::read_to_string(f.home.join(".bashrc")).unwrap(),
        "# the user's\n"
    );
    assert!(!f.home.join(".profile").exists());

    f.set_policy(&policy(|p| {
        p.read.push("{home}/.ssh".into());
        p.write.push("{home}/.bashrc".into());
    }));
    assert_eq!(f.code(&["read-home", ".ssh/id_ed25519"]), 0);
    assert_eq!(f.code(&["write-home", ".bashrc"]), 0);
    // Read is not write.
    assert_eq!(f.code(&["write-home", ".ssh/id_ed25519"]), EACCES);
    assert_eq!(
        std::fs::read_to_string(f.home.join(".bashrc")).unwrap(),
        "# the user's\nprobe\n"
    );
}

#[test]
fn xdg_placeholders_expand_and_missing_write_dirs_are_created() {
    let f = Fixture::new(&policy(|p| {
        p.write.push("{xdg-cache}/probe".into());
    }));
    assert_eq!(f.code(&["write-home", ".cache/probe/state"]), 0);
    assert_eq!(f.code(&["write-home", ".cache/other"]), EACCES);
    let mode = std::fs::metadata(f.home.join(".cache/probe"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn loopback_tcp_is_denied_unless_network_is_granted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let f = Fixture::new(&Policy::default());
    assert_eq!(f.code(&["connect", &port]), EACCES);
    f.set_policy(&policy(|p| p.network = true));
    assert_eq!(f.code(&["connect", &port]), 0);
}

#[test]
fn a_child_stays_confined() {
    let f = Fixture::new(&Policy::default());
    let real = f.real();
    let real = real.to_str().unwrap();
    // The real program, run directly by the confined one: not through a
    // shim, still in the sandbox.
    assert_eq!(
        f.code(&["spawn", real, "read-home", ".ssh/id_ed25519"]),
        EACCES
    );
    assert_eq!(
        f.code(&["spawn", "/bin/sh", "-c", "cat \"$HOME/.ssh/id_ed25519\""]),
        1
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    assert_eq!(f.code(&["spawn", real, "connect", &port]), EACCES);
    // A child's own wider policy cannot undo the parent's layer.
    f.set_policy(&policy(|p| p.read.push("{home}/.ssh".into())));
    let shim = f.shim();
    assert_eq!(
        f.code(&[
            "spawn",
            shim.to_str().unwrap(),
            "read-home",
            ".ssh/id_ed25519"
        ]),
        0
    );
}

#[test]
fn exec_false_forbids_running_programs() {
    let f = Fixture::new(&policy(|p| p.exec = false));
    // The program itself starts (it and its ELF interpreter may run)...
    assert_eq!(f.code(&["exit", "3"]), 3);
    // ...and may run nothing else.
    assert_eq!(f.code(&["spawn", "/bin/true"]), EACCES);
    assert_eq!(
        f.code(&["spawn", f.shim().to_str().unwrap(), "exit", "0"]),
        EACCES
    );
}

#[test]
fn argv_stdin_stdout_exit_status_and_signals_pass_through() {
    let f = Fixture::new(&Policy::default());
    let odd = OsStr::from_bytes(b"caf\xe9 \xff");
    let args: Vec<&OsStr> = vec![
        OsStr::new("args"),
        OsStr::new("two words"),
        OsStr::new(""),
        odd,
        OsStr::new("--flag=x y"),
        OsStr::new("*"),
    ];
    let out = f.run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = f.shim().into_os_string().into_vec();
    expected.push(0);
    for a in &args {
        expected.extend_from_slice(a.as_bytes());
        expected.push(0);
    }
    assert_eq!(
        out.stdout, expected,
        "argv[0] and every argument, byte for byte"
    );

    let mut child = f
        .command(&["cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    let input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&input).map(|_| input));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout, feeder.join().unwrap().unwrap());

    assert_eq!(f.code(&["exit", "42"]), 42);
    let out = f.run(&["signal", "15"]);
    assert_eq!(out.status.signal(), Some(15), "{:?}", out.status);
}

#[test]
fn runs_as_an_ordinary_user_with_its_own_ids() {
    let f = Fixture::new(&Policy::default());
    let out = f.run(&["ids"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (uid, gid) = if is_root() {
        (NOBODY, NOBODY)
    } else {
        (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        )
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{uid} {gid}\n")
    );
}

#[test]
fn missing_or_bad_policy_and_direct_runs() {
    let f = Fixture::new(&Policy::default());
    let layout = Layout { port: "probe" };
    // `--run NAME` without the link (wport run), same rules.
    let out = Command::new(f.prefix.join(layout.launcher()))
        .args(["--run", "probe", "read-home", ".ssh/id_ed25519"])
        .env("HOME", &f.home)
        .current_dir(&f.work)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EACCES));
    // A program with no policy is not run (127), a policy it cannot read
    // stops the launch (125), both with a message.
    let out = Command::new(f.prefix.join(layout.launcher()))
        .args(["--run", "nothing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("wport-launch: nothing: cannot read its policy")
    );
    std::fs::write(
        f.prefix.join(layout.policy("probe")),
        "wport-launch-policy 1\nnetwork maybe\n",
    )
    .unwrap();
    let out = f.run(&["exit", "0"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing its policy"),
        "{out:?}"
    );
    // Run by its own name with no program: usage, 125.
    let out = Command::new(f.prefix.join(layout.launcher()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn a_users_own_link_to_the_shim_still_finds_the_program() {
    let f = Fixture::new(&Policy::default());
    let mine = f.work.join("my-probe");
    std::os::unix::fs::symlink(f.shim(), &mine).unwrap();
    let out = Command::new(&mine)
        .args(["read-home", ".ssh/id_ed25519"])
        .env("HOME", &f.home)
        .current_dir(&f.work)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EACCES), "{out:?}");
}

#[test]
fn without_network_only_tcp_streams_exist_and_they_cannot_connect() {
    let f = Fixture::new(&Policy::default());
    let out = f.run(&["udp"]);
    assert_eq!(out.status.code(), Some(EACCES), "{out:?}");
    f.set_policy(&policy(|p| p.network = true));
    let out = f.run(&["udp"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_link_in_the_current_directory_grants_its_target_only_when_named() {
    let f = Fixture::new(&Policy::default());
    let link = f.work.join("notes-link");
    std::os::unix::fs::symlink(f.home.join("notes.txt"), &link).unwrap();
    // Named: the link's target is granted (the user pointed at it).
    assert_eq!(f.code(&["read", "notes-link"]), 0);
    // Not named, the same link is only a way into the home directory.
    assert_eq!(
        f.code(&["spawn", "/bin/sh", "-c", "cat notes-link > /dev/null"]),
        1
    );
    // Plain names in the current directory need no rule of their own.
    std::fs::write(f.work.join("a.c"), "int a;\n").unwrap();
    assert_eq!(f.code(&["read", "a.c"]), 0);
    let absolute = f.work.join("a.c");
    assert_eq!(f.code(&[OsStr::new("read"), absolute.as_os_str()]), 0);
    let absolute_link = f.work.join("notes-link");
    assert_eq!(f.code(&[OsStr::new("read"), absolute_link.as_os_str()]), 0);
}

#[test]
fn without_landlock_the_launcher_refuses_unless_the_user_opted_out() {
    let f = Fixture::new(&Policy::default());
    // The probe, run directly (unconfined), hides Landlock from what it
    // runs, then runs the shim.
    let hidden_with = |f: &Fixture, args: &[&str]| {
        let c = f.command(args);
        let args: Vec<std::ffi::OsString> = c.get_args().map(|a| a.to_owned()).collect();
        let program = c.get_program().to_owned();
        let mut wrapped = Command::new(PROBE);
        wrapped
            .arg("no-landlock")
            .arg(program)
            .args(args)
            .current_dir(&f.work)
            .env("HOME", &f.home)
            .env_remove("XDG_CONFIG_HOME");
        wrapped.output().unwrap()
    };
    let hidden = |f: &Fixture| hidden_with(f, &["read-home", ".ssh/id_ed25519"]);
    let out = hidden(&f);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to run unconfined: this kernel has no Landlock"),
        "{stderr}"
    );
    // The user's own opt-out: it runs, unconfined, and says so.
    let conf = f.home.join(".config/wport");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("launch.conf"),
        "unconfined-without-landlock = true\n",
    )
    .unwrap();
    if is_root() {
        chown_tree(&f.home.join(".config"));
    }
    let out = hidden(&f);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runs UNCONFINED"),
        "{out:?}"
    );
    // With no Landlock TCP rules, `network = false` falls back on a
    // private network namespace (a user namespace too, as an ordinary
    // user): its loopback is down, so the host's listener is unreachable.
    // (Where unprivileged user namespaces are forbidden there is none to
    // check.)
    let mut userns = if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".into(),
            "--".into(),
            "unshare".into(),
        ]);
        c
    } else {
        Command::new("unshare")
    };
    let userns = userns
        .args(["--user", "--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !userns {
        eprintln!("no unprivileged user namespaces here: the namespace fallback is not checked");
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let out = hidden_with(&f, &["connect", &port]);
    assert_eq!(out.status.code(), Some(ENETUNREACH), "{out:?}");
    let out = hidden_with(&f, &["ids"]);
    let (uid, gid) = if is_root() {
        (NOBODY, NOBODY)
    } else {
        (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        )
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{uid} {gid}\n"),
        "the namespace maps the caller's own ids"
    );
}
