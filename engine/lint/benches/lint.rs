//! `wport lint` on a generated tree of 5,000 Portfile-only ports.
//!
//! ```sh
//! cargo bench -p wport-lint --bench lint            # 5,000 ports
//! WPORT_BENCH_PORTS=20000 cargo bench -p wport-lint --bench lint
//! ```
//!
//! Prints, per port, the time of `lint_tree` (the whole tree, in parallel)
//! and of `lint_port` one port after another, against baselines measured
//! in the same run on the same files: reading them, parsing them as TOML
//! (`toml::de::DeTable::parse`), and the schema alone (`Portfile::check`).
//! Target: under 1 ms per Portfile-only port. The standard components'
//! imports are decoded once, before timing (component decoding is excluded
//! from the target; ports with their own component are not generated).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wport_lint::Linter;
use wport_manifest::{Portfile, StandardComponent};

const RUNS: usize = 10;

fn main() {
    let count: usize = std::env::var("WPORT_BENCH_PORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let tmp = tempfile::tempdir().expect("creating a temporary directory");
    let tree = tmp.path().join("ports");
    let bytes = generate(&tree, count);
    let ports = wport_lint::find_ports(&tree).expect("finding the generated ports");
    assert_eq!(ports.len(), count);
    let portfiles: Vec<PathBuf> = ports.iter().map(|p| p.join("Portfile.toml")).collect();
    let linter = linter();

    // Warm the page cache and check the tree is what it should be: clean
    // except the ports generated with findings.
    let diagnostics = linter.lint_tree(&tree).unwrap();
    let flagged: std::collections::BTreeSet<_> =
        diagnostics.iter().map(|d| d.file.clone()).collect();
    let mut by_rule = std::collections::BTreeMap::new();
    for d in &diagnostics {
        *by_rule.entry(d.rule).or_insert(0) += 1;
    }

    let read = best(|| {
        for p in &portfiles {
            std::hint::black_box(std::fs::read_to_string(p).unwrap());
        }
    });
    let texts: Vec<String> = portfiles
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let toml = best(|| {
        for t in &texts {
            std::hint::black_box(toml::de::DeTable::parse(t).unwrap());
        }
    });
    let schema = best(|| {
        for t in &texts {
            std::hint::black_box(Portfile::check(t, "Portfile.toml").unwrap());
        }
    });
    let in_memory = best(|| {
        for (dir, t) in ports.iter().zip(&texts) {
            std::hint::black_box(linter.lint_text(dir, "Portfile.toml", t));
        }
    });
    let sequential = best(|| {
        for p in &ports {
            std::hint::black_box(linter.lint_port(p));
        }
    });
    let tree_time = best(|| {
        std::hint::black_box(linter.lint_tree(&tree).unwrap());
    });

    let per = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "wport lint: {count} Portfile-only ports ({:.1} MB, {} with findings, {} diagnostics), best of {RUNS}, {threads} threads",
        bytes as f64 / 1e6,
        flagged.len(),
        diagnostics.len()
    );
    println!("  findings by rule (generated on purpose): {by_rule:?}");
    println!(
        "  {:<44} {:>10} {:>12} {:>8}",
        "", "total", "per port", "ratio"
    );
    let row = |name: &str, d: Duration| {
        println!(
            "  {name:<44} {:>8.1}ms {:>10.1}µs {:>7.2}x",
            d.as_secs_f64() * 1e3,
            per(d),
            d.as_secs_f64() / toml.as_secs_f64()
        )
    };
    row("baseline: read the files", read);
    row("baseline: TOML parse (DeTable::parse)", toml);
    row("baseline: schema only (Portfile::check)", schema);
    row("lint_text (text in memory, no file I/O)", in_memory);
    row("lint_port, one port after another", sequential);
    row("lint_tree (find ports + lint, parallel)", tree_time);
    let verdict = if per(tree_time) < 1000.0 && per(sequential) < 1000.0 {
        "met"
    } else {
        "NOT MET"
    };
    println!(
        "  target < 1 ms per Portfile-only port: {verdict} ({:.1} µs sequential, {:.1} µs in the tree)",
        per(sequential),
        per(tree_time)
    );
}

fn best(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// The linter `wport lint` uses, with the standard components built as
/// the `wport` binary embeds them.
fn linter() -> Linter {
    let root = wport_guest_build::workspace_root();
    let mut linter = Linter::new();
    for (which, pkg, dir) in [
        (
            StandardComponent::Make,
            "wport-std-make",
            "engine/components/make",
        ),
        (
            StandardComponent::Autotools,
            "wport-std-autotools",
            "engine/components/autotools",
        ),
    ] {
        let wasm = wport_guest_build::build_lib(pkg, &root.join(dir));
        linter = linter.standard_component(which, &std::fs::read(wasm).unwrap());
    }
    linter
}

/// A small deterministic generator (xorshift), so every run lints the same
/// tree.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn hex(&mut self) -> String {
        (0..4).map(|_| format!("{:016x}", self.next())).collect()
    }
}

const LICENSES: &[&str] = &[
    "MIT",
    "GPL-3.0-or-later",
    "Apache-2.0",
    "BSD-3-Clause",
    "LGPL-2.1-or-later",
    "Zlib",
];
const HOSTS: &[&str] = &[
    "ftp.gnu.org/gnu",
    "downloads.sourceforge.net/project",
    "github.com/releases",
    "www.example.org/dist",
];
const EXTS: &[&str] = &["tar.gz", "tar.xz", "tar.bz2", "tar.zst", "zip"];
const LIBS: &[&str] = &[
    "zlib", "openssl", "libiconv", "gettext", "ncurses", "readline", "pcre2", "libxml2",
];
/// Ports every generated tree has: the build tool and the libraries the
/// others name in `[dependencies]`.
const BASE: &[&str] = &[
    "pkgconf", "zlib", "openssl", "libiconv", "gettext", "ncurses", "readline", "pcre2", "libxml2",
];

/// Writes `count` ports under `tree` and returns the bytes written.
fn generate(tree: &Path, count: usize) -> usize {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total = 0;
    for i in 0..count {
        // The first ports are the ones the others depend on (pkgconf and
        // LIBS), so the tree's dependencies resolve as a real tree's do.
        let base = BASE.get(i).copied();
        let name = match base {
            Some(name) => name.to_owned(),
            None => format!("port{i:05}-{}", ["lib", "tool", "py3", "x"][i % 4]),
        };
        let version = format!("{}.{}.{}", rng.below(10), rng.below(30), rng.below(100));
        let mut t = String::new();
        let _ = writeln!(t, "# {name}: generated for the lint benchmark.\n");
        let _ = writeln!(
            t,
            "[port]\nname = \"{name}\"\nversion = \"{version}\"\nrevision = {}\n\
             description = \"Generated port number {i} for the lint benchmark\"\n\
             homepage = \"https://www.example.org/{name}/\"\nlicense = \"{}\"\n\
             maintainers = [\"Maintainer {i} <m{i}@example.org>\"]\nupstream-contact = \"bugs@{name}.example.org\"\n",
            rng.below(3),
            rng.pick(LICENSES)
        );
        for s in 0..1 + rng.below(3) {
            let host = rng.pick(HOSTS);
            let ext = rng.pick(EXTS);
            // One port in fifty has a plain-http mirror (a warning).
            let scheme = if i % 50 == 7 && s == 0 {
                "http"
            } else {
                "https"
            };
            let _ = writeln!(
                t,
                "[[source]]\nurl = \"https://{host}/{name}/{name}-{version}-{s}.{ext}\"\n\
                 mirrors = [\"{scheme}://mirror{}.example.net/{name}/{name}-{version}-{s}.{ext}\"]\n\
                 sha256 = \"{}\"\nsize = {}\n",
                rng.below(9),
                rng.hex(),
                1000 + rng.below(50_000_000)
            );
        }
        let deps: Vec<&str> = (0..if base.is_some() { 0 } else { rng.below(4) })
            .map(|_| rng.pick(LIBS))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let quoted = |v: &[&str]| {
            v.iter()
                .map(|d| format!("\"{d}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !deps.is_empty() {
            let _ = writeln!(
                t,
                "[dependencies]\nbuild = [\"pkgconf\"]\nlib = [{}]\n",
                quoted(&deps)
            );
        }
        let autotools = rng.below(3) > 0;
        let test = rng.below(4) == 0;
        let _ = writeln!(
            t,
            "[build]\nstandard = \"{}\"\ntest = {test}\n",
            if autotools { "autotools" } else { "make" }
        );
        let _ = writeln!(
            t,
            "[build.params]\nconfigure-args = [\"--disable-nls\", \"--enable-shared\"]\nmake-args = [\"PREFIX={{prefix}}\"]\n"
        );
        if autotools {
            let dep_grant = if deps.is_empty() {
                String::new()
            } else {
                format!("dependencies = [\"pkgconf\", {}]\n", quoted(&deps))
            };
            let _ = writeln!(
                t,
                "[capabilities.configure]\nprograms = [\"./configure\", \"sh\", \"pkg-config\"]\n{dep_grant}env = {{ CFLAGS = \"-O2\", CPPFLAGS = \"-DNDEBUG\" }}\ntimeout = {}\n",
                600 + rng.below(3000)
            );
        }
        let _ = writeln!(
            t,
            "[capabilities.build]\nprograms = [\"make\", \"cc\", \"ar\", \"ranlib\"]\n"
        );
        if test {
            let _ = writeln!(
                t,
                "[capabilities.test]\nprograms = [\"make\"]\nenv = {{ LD_LIBRARY_PATH = \"lib/.libs\" }}\nallow-loader-env = true\n"
            );
        }
        let _ = writeln!(
            t,
            "[capabilities.destroot]\nprograms = [\"make\", \"install\"]"
        );
        let dir = tree.join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Portfile.toml"), &t).unwrap();
        total += t.len();
    }
    total
}
