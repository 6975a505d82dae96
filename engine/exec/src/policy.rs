//! The policy layer: everything decided before a process exists.
//!
//! Pure functions over the request, the phase's grants and the executor's
//! fixed settings. They run in the host process; the confinement layer never
//! re-interprets the result (no shell, no splitting, no joining).
//!
//! **Invariant:** the grant check is a gate, not a wall. A granted `sh` or
//! `./configure` can run any tool on the toolchain PATH; what it can *reach* is
//! decided by the kernel walls in `confine`. See docs/CONFINEMENT.md.

use std::collections::BTreeMap;

use crate::error::{DenialReason, ExecError};
use crate::{DirAccess, ExecutorConfig, PhaseAccess, Policy, Request, SessionOptions};

/// Guest mount points (the same paths the WASM guest sees).
pub(crate) const SOURCES: &str = "/sources";
pub(crate) const WORK: &str = "/work";
pub(crate) const DESTROOT: &str = "/destroot";

/// Variables a request may set without the manifest declaring them: the
/// usual knobs of autotools and make. They change what the build produces,
/// never what it can reach.
pub const BUILD_VARS: &[&str] = &[
    "AR", "CC", "CFLAGS", "CPP", "CPPFLAGS", "CXX", "CXXFLAGS", "DESTDIR", "LDFLAGS", "LIBS",
    "PREFIX", "RANLIB", "V", "VERBOSE",
];

/// Variables read by the dynamic loader or libc that change which code runs
/// (glibc drops most of them for setuid programs for the same reason).
const LOADER_VARS: &[&str] = &[
    "GCONV_PATH",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_TRACE",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
];

/// Is `name` a loader variable (`LD_*`, `DYLD_*`, `GCONV_PATH`, `GLIBC_TUNABLES`, ...)?
/// Same list as docs/CAPABILITIES.md "Loader and reserved variables".
pub fn is_loader_var(name: &str) -> bool {
    name.starts_with("LD_") || name.starts_with("DYLD_") || LOADER_VARS.contains(&name)
}

/// Variables nobody but wport sets. PATH decides which binary a granted
/// program name runs (and what `make` finds when it runs `cc`).
pub const RESERVED_VARS: &[&str] = &["PATH"];

/// `./` followed by file names joined by `/`: no `.`, `..`, empty component or `\`.
fn is_work_script(program: &str) -> bool {
    program.strip_prefix("./").is_some_and(|rest| {
        !rest.contains('\\')
            && rest
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    })
}

/// How the confined child finds the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Bare name, tried in each toolchain PATH directory in order.
    Search(String),
    /// A `./script` resolved to an absolute guest path inside /work.
    Path(String),
}

/// A call that passed the policy, ready to be sent to the session.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub target: Target,
    /// argv[0] is the program exactly as the guest wrote it.
    pub argv: Vec<String>,
    pub cwd: String,
    pub env: Vec<(String, String)>,
}

fn deny(program: &str, reason: DenialReason) -> ExecError {
    ExecError::Denied {
        program: program.to_string(),
        reason,
    }
}

/// Lexically normalise an absolute guest path (`.` and `..` folded, no
/// filesystem access). Returns None for relative paths.
pub(crate) fn normalize(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    Some(format!("/{}", out.join("/")))
}

fn is_within(path: &str, root: &str) -> bool {
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Guest roots the phase may use as working directory.
fn granted_roots(access: &PhaseAccess) -> Vec<&'static str> {
    let mut roots = Vec::new();
    for (root, a) in [
        (SOURCES, access.sources),
        (WORK, access.work),
        (DESTROOT, access.destroot),
    ] {
        match a {
            DirAccess::None => {}
            DirAccess::ReadOnly | DirAccess::ReadWrite => roots.push(root),
        }
    }
    roots
}

/// The fixed, deterministic base environment. Nothing comes from the user's.
pub(crate) fn base_env(
    config: &ExecutorConfig,
    opts: &SessionOptions,
    access: &PhaseAccess,
) -> BTreeMap<String, String> {
    let path = config.toolchain_path.join(":");
    // HOME and TMPDIR live in the work dir when the phase may write there (gcc
    // needs a writable TMPDIR); otherwise in the session's private /tmp.
    let (home, tmp) = match access.work {
        DirAccess::ReadWrite => ("/work/.home", "/work/.tmp"),
        DirAccess::ReadOnly | DirAccess::None => ("/tmp/.home", "/tmp"),
    };
    let jobs = opts.jobs.unwrap_or(config.jobs).max(1);
    [
        ("PATH", path),
        ("HOME", home.to_string()),
        ("TMPDIR", tmp.to_string()),
        ("LC_ALL", "C".to_string()),
        ("LANG", "C".to_string()),
        ("TZ", "UTC".to_string()),
        ("SOURCE_DATE_EPOCH", opts.source_date_epoch.to_string()),
        ("MAKEFLAGS", format!("-j{jobs}")),
        ("SHELL", "/bin/sh".to_string()),
        ("USER", crate::confine::BUILD_USER_NAME.to_string()),
        ("LOGNAME", crate::confine::BUILD_USER_NAME.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Check a request against the phase's grants and build the exact call.
pub(crate) fn prepare(
    config: &ExecutorConfig,
    opts: &SessionOptions,
    access: &PhaseAccess,
    policy: &Policy,
    req: &Request,
) -> Result<Prepared, ExecError> {
    let program = req.program.as_str();
    let malformed = |what: &str| {
        deny(
            program,
            DenialReason::Malformed {
                what: what.to_string(),
            },
        )
    };
    if program.is_empty() || program.contains('\0') {
        return Err(malformed("program name is empty or contains NUL"));
    }
    if req.args.iter().any(|a| a.contains('\0')) {
        return Err(malformed("an argument contains a NUL byte"));
    }

    // 1. Working directory inside a granted directory.
    let cwd = normalize(&req.cwd)
        .filter(|_| !req.cwd.contains('\0'))
        .ok_or_else(|| {
            deny(
                program,
                DenialReason::CwdNotGranted {
                    cwd: req.cwd.clone(),
                },
            )
        })?;
    if !granted_roots(access)
        .iter()
        .any(|root| is_within(&cwd, root))
    {
        return Err(deny(
            program,
            DenialReason::CwdNotGranted {
                cwd: req.cwd.clone(),
            },
        ));
    }

    // 2. Program granted, in one of the two accepted forms.
    let is_script = is_work_script(program);
    if !is_script && program.contains('/') {
        return Err(deny(program, DenialReason::ProgramNotBareName));
    }
    if !policy.programs.iter().any(|p| p == program) {
        return Err(deny(program, DenialReason::ProgramNotGranted));
    }
    let target = if is_script {
        if !policy.allow_work_scripts {
            return Err(deny(program, DenialReason::WorkScriptsNotAllowed));
        }
        let resolved = normalize(&format!("{cwd}/{program}")).unwrap_or_default();
        if !is_within(&resolved, WORK) || resolved == WORK {
            return Err(deny(program, DenialReason::ScriptOutsideWork { resolved }));
        }
        Target::Path(resolved)
    } else {
        if program == "." || program == ".." {
            return Err(deny(program, DenialReason::ProgramNotBareName));
        }
        Target::Search(program.to_string())
    };

    // 3. Environment: base, then the manifest's, then the request's declared ones.
    let mut env = base_env(config, opts, access);
    for (name, value) in &policy.env {
        check_var(program, name, value, policy)?;
        env.insert(name.clone(), value.clone());
    }
    for (name, value) in &req.env {
        check_var(program, name, value, policy)?;
        if !policy.env.contains_key(name) && !BUILD_VARS.contains(&name.as_str()) {
            return Err(deny(
                program,
                DenialReason::EnvNotDeclared { name: name.clone() },
            ));
        }
        env.insert(name.clone(), value.clone());
    }

    let mut argv = Vec::with_capacity(req.args.len() + 1);
    argv.push(program.to_string());
    argv.extend(req.args.iter().cloned());
    Ok(Prepared {
        target,
        argv,
        cwd,
        env: env.into_iter().collect(),
    })
}

fn check_var(program: &str, name: &str, value: &str, policy: &Policy) -> Result<(), ExecError> {
    if !valid_env_name(name) || value.contains('\0') {
        return Err(deny(
            program,
            DenialReason::Malformed {
                what: format!("environment variable {name:?}"),
            },
        ));
    }
    if RESERVED_VARS.contains(&name) {
        return Err(deny(
            program,
            DenialReason::ReservedEnv {
                name: name.to_string(),
            },
        ));
    }
    if is_loader_var(name) && !policy.allow_loader_env {
        return Err(deny(
            program,
            DenialReason::LoaderEnv {
                name: name.to_string(),
            },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(programs: &[&str]) -> Policy {
        Policy {
            programs: programs.iter().map(|s| s.to_string()).collect(),
            env: BTreeMap::new(),
            allow_loader_env: false,
            timeout: Duration::from_secs(5),
            allow_work_scripts: false,
        }
    }

    fn req(program: &str, cwd: &str) -> Request {
        Request {
            program: program.into(),
            args: vec![],
            cwd: cwd.into(),
            env: vec![],
            capture_stdout: false,
        }
    }

    const RW: PhaseAccess = PhaseAccess {
        sources: DirAccess::ReadOnly,
        work: DirAccess::ReadWrite,
        destroot: DirAccess::None,
        view: None,
    };

    fn check(p: &Policy, r: &Request) -> Result<Prepared, ExecError> {
        prepare(
            &ExecutorConfig::default(),
            &SessionOptions::default(),
            &RW,
            p,
            r,
        )
    }

    fn reason(e: ExecError) -> DenialReason {
        match e {
            ExecError::Denied { reason, .. } => reason,
            other => panic!("expected Denied, got {other:?}"),
        }
    }

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(normalize("/work/../etc").as_deref(), Some("/etc"));
        assert_eq!(normalize("/work/./a//b/").as_deref(), Some("/work/a/b"));
        assert_eq!(normalize("/../..").as_deref(), Some("/"));
        assert_eq!(normalize("work"), None);
    }

    #[test]
    fn ungranted_program_is_denied() {
        assert_eq!(
            reason(check(&policy(&["make"]), &req("rm", "/work")).unwrap_err()),
            DenialReason::ProgramNotGranted
        );
    }

    #[test]
    fn absolute_program_is_never_granted() {
        let e = check(&policy(&["/bin/rm"]), &req("/bin/rm", "/work")).unwrap_err();
        assert_eq!(reason(e), DenialReason::ProgramNotBareName);
    }

    #[test]
    fn cwd_must_be_granted() {
        for cwd in [
            "/etc",
            "/work/../etc",
            "/destroot",
            "relative",
            "/workshop",
            "/",
        ] {
            let e = check(&policy(&["make"]), &req("make", cwd)).unwrap_err();
            assert!(
                matches!(reason(e), DenialReason::CwdNotGranted { .. }),
                "{cwd}"
            );
        }
        assert!(check(&policy(&["make"]), &req("make", "/sources/x")).is_ok());
        assert!(check(&policy(&["make"]), &req("make", "/work/dir with space")).is_ok());
    }

    #[test]
    fn work_scripts_need_the_flag_and_stay_in_work() {
        let mut p = policy(&[
            "./configure",
            "../../etc/x",
            "./a/../../x",
            "./build-aux/gen.sh",
        ]);
        assert_eq!(
            reason(check(&p, &req("./configure", "/work/a")).unwrap_err()),
            DenialReason::WorkScriptsNotAllowed
        );
        p.allow_work_scripts = true;
        let ok = check(&p, &req("./configure", "/work/a")).unwrap();
        assert_eq!(ok.target, Target::Path("/work/a/configure".into()));
        assert_eq!(ok.argv[0], "./configure");
        for bad in ["../../etc/x", "./a/../../x"] {
            assert_eq!(
                reason(check(&p, &req(bad, "/work/a")).unwrap_err()),
                DenialReason::ProgramNotBareName,
                "{bad}"
            );
        }
        assert_eq!(
            check(&p, &req("./build-aux/gen.sh", "/work/a"))
                .unwrap()
                .target,
            Target::Path("/work/a/build-aux/gen.sh".into())
        );
        let e = check(&p, &req("./configure", "/sources")).unwrap_err();
        assert!(matches!(reason(e), DenialReason::ScriptOutsideWork { .. }));
    }

    #[test]
    fn env_is_fixed_plus_declared() {
        let mut p = policy(&["make"]);
        p.env.insert("FOO".into(), "default".into());
        let mut r = req("make", "/work");
        r.env = vec![
            ("FOO".into(), "x".into()),
            ("CFLAGS".into(), "-O2 -g".into()),
        ];
        let ok = check(&p, &r).unwrap();
        let env: BTreeMap<_, _> = ok.env.into_iter().collect();
        assert_eq!(env["FOO"], "x");
        assert_eq!(env["CFLAGS"], "-O2 -g");
        assert_eq!(env["LC_ALL"], "C");
        assert_eq!(env["TMPDIR"], "/work/.tmp");
        assert_eq!(env["PATH"], "/usr/local/bin:/usr/bin:/bin");
        r.env = vec![("SECRET".into(), "x".into())];
        assert_eq!(
            reason(check(&p, &r).unwrap_err()),
            DenialReason::EnvNotDeclared {
                name: "SECRET".into()
            }
        );
    }

    #[test]
    fn path_is_reserved() {
        let mut p = policy(&["make"]);
        p.env.insert("PATH".into(), "/work/bin:/usr/bin".into());
        p.allow_loader_env = true;
        assert_eq!(
            reason(check(&p, &req("make", "/work")).unwrap_err()),
            DenialReason::ReservedEnv {
                name: "PATH".into()
            }
        );
        let mut r = req("make", "/work");
        r.env = vec![("PATH".into(), "/work".into())];
        assert_eq!(
            reason(check(&policy(&["make"]), &r).unwrap_err()),
            DenialReason::ReservedEnv {
                name: "PATH".into()
            }
        );
        r.env = vec![("DYLD_INSERT_LIBRARIES".into(), "/work/x".into())];
        assert!(matches!(
            reason(check(&policy(&["make"]), &r).unwrap_err()),
            DenialReason::LoaderEnv { .. }
        ));
    }

    #[test]
    fn loader_env_needs_explicit_grant() {
        let mut p = policy(&["make"]);
        p.env.insert("LD_PRELOAD".into(), "/work/x.so".into());
        assert_eq!(
            reason(check(&p, &req("make", "/work")).unwrap_err()),
            DenialReason::LoaderEnv {
                name: "LD_PRELOAD".into()
            }
        );
        p.allow_loader_env = true;
        assert!(check(&p, &req("make", "/work")).is_ok());
        let mut r = req("make", "/work");
        r.env = vec![("GCONV_PATH".into(), "/work".into())];
        let p2 = policy(&["make"]);
        assert_eq!(
            reason(check(&p2, &r).unwrap_err()),
            DenialReason::LoaderEnv {
                name: "GCONV_PATH".into()
            }
        );
    }

    #[test]
    fn arguments_stay_whole() {
        let mut r = req("printf", "/work");
        r.args = vec!["%s\n".into(), "/work/dir with space".into()];
        let ok = check(&policy(&["printf"]), &r).unwrap();
        assert_eq!(ok.argv, vec!["printf", "%s\n", "/work/dir with space"]);
        r.args.push("nul\0byte".into());
        assert!(matches!(
            reason(check(&policy(&["printf"]), &r).unwrap_err()),
            DenialReason::Malformed { .. }
        ));
    }
}
