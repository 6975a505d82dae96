//! Launch overhead of a confined program against running it directly, in
//! the same run (issue 16: at most 1 ms added per launch, median; a shell
//! loop of 1,000 launches at most 1.2x). Driven by `bench/launch.sh`.
//!
//! A scratch prefix holds `/bin/true` as a package installs it
//! (`bin/true` a link to the launcher, `libexec/wport/bench/real/true`, the
//! default policy), and each case is timed against the real binary started
//! directly, alternating the two launch by launch so both see the same
//! machine. Cases: the default policy (`network = false`: Landlock with
//! TCP rules and the seccomp filter on sockets), `network = true`, and the
//! default with 50 files named on the command line, in the current
//! directory (`tool *.c`) and elsewhere (a rule each).
//! As root, the same again as uid 65534 through `setpriv` (its own cost is
//! on both sides). The floor, in the same run: two trampolines that do
//! nothing but `execve` the real binary, compiled here with `cc` (one with
//! no C library, one static glibc), each timed against the direct start
//! the same way: what any launcher that is its own executable costs before
//! it does any work. Then `sh -c` loops of 1,000 launches each way (and
//! through the trampoline without libc). Each
//! figure is a median of wall time and of CPU time (user + system of the
//! launched processes, from `getrusage`), which a loaded machine moves far
//! less.
//!
//! `cargo bench -p wport-launch --bench overhead [-- LAUNCHES]` (default
//! 2000 launches per side and case).

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark: running the program directly is the baseline the launcher is compared with"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wport_launch::{Layout, Policy};

/// The launcher program build.rs compiled (what `wport_launch::PROGRAM` embeds).
const LAUNCHER: &str = env!("WPORT_LAUNCH_PROGRAM");

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn percentile(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Case {
    name: &'static str,
    policy: Policy,
    args: Vec<String>,
    user: bool,
    /// What is compared with the direct start: the link to the launcher
    /// (`None`), or another program (a floor trampoline).
    via: Option<PathBuf>,
}

/// A program that only `execve`s `target` with its own argv and envp: no C
/// library, its own `_start` (x86_64, aarch64).
const TRAMPOLINE_RAW: &str = r#"
static const char target[] = TARGET;
#if defined(__x86_64__)
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
#define SYS_EXECVE 59
#define SYS_EXIT 60
__attribute__((naked, noreturn)) void _start(void) {
    __asm__("mov %rsp, %rdi\n and $-16, %rsp\n call entry\n ud2");
}
#elif defined(__aarch64__)
static long sys3(long n, long a, long b, long c) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}
#define SYS_EXECVE 221
#define SYS_EXIT 93
__attribute__((naked, noreturn)) void _start(void) {
    __asm__("mov x0, sp\n bl entry\n brk #0");
}
#endif
__attribute__((used, noreturn)) void entry(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    sys3(SYS_EXECVE, (long)target, (long)argv, (long)(argv + argc + 1));
    for (;;) sys3(SYS_EXIT, 127, 0, 0);
}
"#;

/// The same with glibc, linked static.
const TRAMPOLINE_GLIBC: &str = r#"
#include <unistd.h>
int main(int argc, char **argv, char **envp) {
    (void)argc;
    execve(TARGET, argv, envp);
    return 127;
}
"#;

/// Compiles a trampoline to `target` with `cc`; `None` (and a note) when
/// that fails.
fn trampoline(
    dir: &Path,
    name: &str,
    source: &str,
    flags: &[&str],
    target: &Path,
) -> Option<PathBuf> {
    let c = dir.join(format!("{name}.c"));
    let out = dir.join(name);
    let quoted = format!("{:?}", target.display().to_string());
    std::fs::write(&c, source.replace("TARGET", &quoted)).unwrap();
    let status = Command::new("cc")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&c)
        .stderr(Stdio::null())
        .status();
    if status.is_ok_and(|s| s.success()) {
        Some(out)
    } else {
        println!("(no {name}: `cc {}` failed)", flags.join(" "));
        None
    }
}

fn command(program: &Path, args: &[String], user: bool, cwd: &Path) -> Command {
    let mut c = if user {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(program);
        c
    } else {
        Command::new(program)
    };
    c.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// User + system CPU time of every child waited for so far.
#[expect(unsafe_code, reason = "getrusage into a local struct")]
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes one rusage into the zeroed local.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is a valid `who`.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Wall time and CPU time (user + system, the child and what it waited
/// for) of one launch. CPU time moves far less with the machine's load.
fn time_one(mut c: Command) -> (Duration, Duration) {
    let cpu = children_cpu();
    let start = Instant::now();
    let status = c.status().expect("spawning");
    let took = start.elapsed();
    assert!(status.success(), "{c:?} failed: {status}");
    (took, children_cpu() - cpu)
}

fn main() {
    let launches: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let root = rustix::process::geteuid().is_root();
    let dir = tempfile::Builder::new()
        .prefix("wport-bench-launch-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let base = dir.path().canonicalize().unwrap();
    std::fs::set_permissions(&base, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let prefix = base.join("prefix");
    let work = base.join("work");
    let layout = Layout { port: "bench" };
    for d in [
        prefix.join("bin"),
        prefix.join(layout.dir()).join("real"),
        prefix.join(layout.dir()).join("policy"),
        work.clone(),
    ] {
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    std::fs::copy(LAUNCHER, prefix.join(layout.launcher())).unwrap();
    let real = prefix.join(layout.real("true"));
    std::fs::copy("/bin/true", &real).unwrap();
    std::os::unix::fs::symlink(layout.link_target(), prefix.join("bin/true")).unwrap();
    let shim = prefix.join("bin/true");
    // 50 files named on the command line, as `tool *.c` would, in the
    // current directory; and 50 in another directory, by absolute path
    // (each its own rule).
    let (mut here, mut elsewhere) = (Vec::new(), Vec::new());
    let other = base.join("other");
    std::fs::create_dir_all(&other).unwrap();
    for i in 0..50 {
        std::fs::write(work.join(format!("file{i}.c")), "x").unwrap();
        here.push(format!("file{i}.c"));
        let f = other.join(format!("file{i}.c"));
        std::fs::write(&f, "x").unwrap();
        elsewhere.push(f.display().to_string());
    }
    let mut cases = vec![
        Case {
            name: "default (network = false)",
            policy: Policy::default(),
            args: vec![],
            user: false,
            via: None,
        },
        Case {
            name: "network = true",
            policy: Policy {
                network: true,
                ..Policy::default()
            },
            args: vec![],
            user: false,
            via: None,
        },
        Case {
            name: "default, 50 files in cwd in argv",
            policy: Policy::default(),
            args: here,
            user: false,
            via: None,
        },
        Case {
            name: "default, 50 files elsewhere in argv",
            policy: Policy::default(),
            args: elsewhere,
            user: false,
            via: None,
        },
    ];
    if root {
        for c in [
            Case {
                name: "as uid 65534: default (network = false)",
                policy: Policy::default(),
                args: vec![],
                user: true,
                via: None,
            },
            Case {
                name: "as uid 65534: network = true",
                policy: Policy {
                    network: true,
                    ..Policy::default()
                },
                args: vec![],
                user: true,
                via: None,
            },
        ] {
            cases.push(c);
        }
    }
    // The floor: what exec'ing a second, minimal program costs.
    let raw = trampoline(
        &base,
        "trampoline-nolibc",
        TRAMPOLINE_RAW,
        &[
            "-O2",
            "-static",
            "-nostdlib",
            "-fno-pie",
            "-no-pie",
            "-fno-stack-protector",
        ],
        &real,
    );
    let glibc = trampoline(
        &base,
        "trampoline-glibc",
        TRAMPOLINE_GLIBC,
        &["-O2", "-static"],
        &real,
    );
    for (name, program) in [
        ("floor: execve trampoline, no libc", &raw),
        ("floor: execve trampoline, static glibc", &glibc),
    ] {
        if let Some(program) = program {
            cases.push(Case {
                name,
                policy: Policy::default(),
                args: vec![],
                user: false,
                via: Some(program.clone()),
            });
        }
    }
    println!(
        "launch overhead: /bin/true through wport-launch vs directly, {launches} launches each, alternating; {} CPUs, kernel {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>8} {:>12} {:>11} {:>11} {:>10}",
        "case",
        "direct ms",
        "shim ms",
        "added ms",
        "ratio",
        "shim p90 ms",
        "direct cpu",
        "shim cpu",
        "added cpu"
    );
    let policy_file = prefix.join(layout.policy("true"));
    for case in &cases {
        std::fs::write(&policy_file, case.policy.encode()).unwrap();
        let (mut direct, mut shimmed) = (Vec::new(), Vec::new());
        let (mut direct_cpu, mut shimmed_cpu) = (Vec::new(), Vec::new());
        for i in 0..launches {
            let d = || command(&real, &case.args, case.user, &work);
            let via = case.via.as_ref().unwrap_or(&shim);
            let s = || command(via, &case.args, case.user, &work);
            let (dt, st) = if i % 2 == 0 {
                let dt = time_one(d());
                (dt, time_one(s()))
            } else {
                let st = time_one(s());
                (time_one(d()), st)
            };
            direct.push(dt.0);
            direct_cpu.push(dt.1);
            shimmed.push(st.0);
            shimmed_cpu.push(st.1);
        }
        let (d, s) = (median(direct), median(shimmed.clone()));
        let (dc, sc) = (median(direct_cpu), median(shimmed_cpu));
        println!(
            "{:<44} {:>10.3} {:>10.3} {:>10.3} {:>7.2}x {:>12.3} {:>11.3} {:>11.3} {:>10.3}",
            case.name,
            ms(d),
            ms(s),
            ms(s) - ms(d),
            s.as_secs_f64() / d.as_secs_f64(),
            ms(percentile(shimmed, 90)),
            ms(dc),
            ms(sc),
            ms(sc) - ms(dc)
        );
    }

    // A shell loop of 1,000 launches each way, seven rounds alternating
    // the order. The machine's load moves a single loop by ±30%, so each
    // round's loops are compared with each other (paired ratios, median),
    // besides the medians of each side.
    std::fs::write(&policy_file, Policy::default().encode()).unwrap();
    let looped = |program: &PathBuf| -> (Duration, Duration) {
        let script = format!(
            "i=0; while [ $i -lt 1000 ]; do {} || exit 1; i=$((i+1)); done",
            program.display()
        );
        let mut c = Command::new("sh");
        c.args(["-c", &script]).current_dir(&work);
        time_one(c)
    };
    let (mut direct, mut shimmed, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..7 {
        if round % 2 == 0 {
            direct.push(looped(&real));
            shimmed.push(looped(&shim));
            floor.extend(raw.as_ref().map(looped));
        } else {
            floor.extend(raw.as_ref().map(looped));
            shimmed.push(looped(&shim));
            direct.push(looped(&real));
        }
    }
    let wall = |v: &[(Duration, Duration)]| median(v.iter().map(|t| t.0).collect());
    let cpu = |v: &[(Duration, Duration)]| median(v.iter().map(|t| t.1).collect());
    // Median of the per-round ratios `side / direct` (wall, CPU).
    let paired = |side: &[(Duration, Duration)]| -> (f64, f64) {
        let ratios = |f: fn(&(Duration, Duration)) -> Duration| {
            let mut r: Vec<f64> = side
                .iter()
                .zip(&direct)
                .map(|(s, d)| f(s).as_secs_f64() / f(d).as_secs_f64())
                .collect();
            r.sort_by(f64::total_cmp);
            r[r.len() / 2]
        };
        (ratios(|t| t.0), ratios(|t| t.1))
    };
    let (d, s) = (wall(&direct), wall(&shimmed));
    let (dc, sc) = (cpu(&direct), cpu(&shimmed));
    let (pw, pc) = paired(&shimmed);
    println!(
        "shell loop, 1000 launches (7 rounds): direct {:.1} ms, through the launcher {:.1} ms (medians); \
         paired ratio {pw:.2}x wall, {pc:.2}x CPU (CPU {:.1} ms vs {:.1} ms)",
        ms(d),
        ms(s),
        ms(dc),
        ms(sc),
    );
    if !floor.is_empty() {
        let (fw, fc) = paired(&floor);
        println!(
            "shell loop floor, through the execve trampoline without libc: {:.1} ms (median); \
             paired ratio {fw:.2}x wall, {fc:.2}x CPU",
            ms(wall(&floor)),
        );
    }
}
