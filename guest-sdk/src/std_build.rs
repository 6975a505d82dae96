//! The standard build logic of wport's standard components (`make`,
//! `autotools`, `cmake`, `meson`), driven by the Portfile's
//! `[build.params]`. Placeholders (`{prefix}`, `{destroot}`, `{jobs}`,
//! `{worksrc}`, `{work}`, ...) in parameter values are expanded first (see
//! [`crate::expand`]); a list parameter gives several arguments.
//!
//! The keys each component reads are declared in the manifest crate
//! (`StandardComponent::params`): any other key is an error from
//! `wport lint` and `wport build`, never silently ignored.
//!
//! | parameter          | used by | meaning                                                    |
//! |--------------------|---------|------------------------------------------------------------|
//! | `reinplace`        | all     | edits after the patchfiles: `"s\|REGEX\|REPLACEMENT\| FILE..."`, see [`parse_reinplace`]; a file the pattern matches nothing in fails the build |
//! | `cc`, `cxx`        | all     | the compilers (`CC`, `CXX`); the program must be granted   |
//! | `cflags`, `cxxflags`, `cppflags`, `ldflags` | all | `CFLAGS`, `CXXFLAGS`, `CPPFLAGS`, `LDFLAGS` (a list is joined with spaces) |
//! | `use-parallel-build` | all   | `false`: build with one job whatever `-j` says              |
//! | `configure-script` | autotools | program run by `configure` (default `./configure`)     |
//! | `configure-args`   | autotools, cmake, meson | arguments after the component's own      |
//! | `make-args`        | make, autotools | arguments of the build's `make`                    |
//! | `build-target`     | make, autotools, cmake | target(s) of the build (default: all)       |
//! | `test-target`      | make, autotools | `test` runs `make <test-target>` only when set     |
//! | `destroot-args`    | make, autotools | arguments of the destroot's `make` (make's default: `DESTDIR={destroot} PREFIX={prefix}`) |
//! | `destroot-target`  | make, autotools | target(s) of the destroot's `make` (default `install`) |
//!
//! The compiler and flags reach every native command of the component as
//! environment variables (the executor always allows these names): configure
//! scripts, CMake and Meson record them at configure time, and `make` sees
//! them where a Makefile does not assign them itself (to override a
//! Makefile's own `CFLAGS`, pass `CFLAGS=...` in `make-args`).
//!
//! Every component applies the port's patchfiles and then the `reinplace`
//! edits in the default `patch` phase. A custom port can reuse them:
//! `fn build() -> Result<()> { Autotools::build() }`.

use crate::command::{Command, run};
use crate::env;
use crate::error::{Error, ErrorKind, Result};
use crate::fs::Reinplace;
use crate::port::{Port, apply_patchfiles};

/// Plain-Makefile ports (bzip2, tree, lua): no configure step;
/// `make -j{jobs} <make-args> <build-target>`, then
/// `make <destroot-args> <destroot-target>`.
pub struct Make;

/// GNU autotools ports: `./configure --prefix={prefix} <configure-args>`,
/// `make -j{jobs} <make-args> <build-target>`, then
/// `make <destroot-args> DESTDIR={destroot} <destroot-target>`.
pub struct Autotools;

/// CMake ports, built out of source in `{work}/build`:
/// `cmake -S {worksrc} -B {work}/build -DCMAKE_INSTALL_PREFIX={prefix}
/// -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE=Release <configure-args>`,
/// `cmake --build {work}/build --parallel {jobs} [--target <build-target>]`,
/// `ctest` in `test`, then `cmake --install {work}/build` with
/// `DESTDIR={destroot}`.
pub struct CMake;

/// Meson ports, built out of source in `{work}/build`:
/// `meson setup --prefix={prefix} --libdir=lib --buildtype=release
/// <configure-args> {work}/build {worksrc}`, `ninja -C {work}/build -j{jobs}`,
/// `meson test` in `test`, then
/// `meson install -C {work}/build --no-rebuild --destdir {destroot}`.
pub struct Meson;

fn list_or(name: &str, default: &[&str]) -> Result<Vec<String>> {
    if env::param(name).is_some() {
        env::param_list(name)
    } else {
        default.iter().map(|d| env::expand(d)).collect()
    }
}

/// Jobs for the native build: [`env::jobs`], or 1 with
/// `use-parallel-build = false` (MacPorts' `use_parallel_build no`, for
/// Makefiles with missing dependencies between targets).
pub fn build_jobs() -> Result<u32> {
    match env::param_one("use-parallel-build")?.as_deref() {
        None | Some("true") => Ok(env::jobs()),
        Some("false") => Ok(1),
        Some(other) => Err(Error::new(
            ErrorKind::Invalid,
            format!("parameter `use-parallel-build` must be true or false, not `{other}`"),
        )),
    }
}

/// A flags parameter as one variable value: list elements joined by spaces.
fn joined(name: &str) -> Result<Option<String>> {
    Ok(env::param(name)
        .is_some()
        .then(|| env::param_list(name))
        .transpose()?
        .map(|v| v.join(" ")))
}

/// `cmd` with the compiler and flags parameters as environment variables.
/// `cppflags_into_cflags` is for CMake, which does not read `CPPFLAGS`.
fn with_toolchain(mut cmd: Command, cppflags_into_cflags: bool) -> Result<Command> {
    let cppflags = joined("cppflags")?;
    for (param, var) in [
        ("cc", "CC"),
        ("cxx", "CXX"),
        ("cflags", "CFLAGS"),
        ("cxxflags", "CXXFLAGS"),
        ("ldflags", "LDFLAGS"),
    ] {
        let mut value = match param {
            "cc" | "cxx" => env::param_one(param)?,
            _ => joined(param)?,
        };
        if cppflags_into_cflags
            && matches!(param, "cflags" | "cxxflags")
            && let Some(cpp) = &cppflags
        {
            value = Some(match value {
                Some(v) => format!("{cpp} {v}"),
                None => cpp.clone(),
            });
        }
        if let Some(value) = value {
            cmd = cmd.env(var, value);
        }
    }
    if !cppflags_into_cflags && let Some(cpp) = cppflags {
        cmd = cmd.env("CPPFLAGS", cpp);
    }
    Ok(cmd)
}

/// One `reinplace` edit parsed from its parameter form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReinplaceSpec {
    /// The regular expression ([`Reinplace`] syntax).
    pub pattern: String,
    /// The replacement (`$1` inserts a group).
    pub replacement: String,
    /// The files, relative to worksrc.
    pub files: Vec<String>,
}

/// Parse one `reinplace` element: `s<d>REGEX<d>REPLACEMENT<d>[g] FILE...`,
/// MacPorts' `reinplace "s|a|b|g" file` in one string. `<d>` is any
/// punctuation character; `\<d>` stands for it inside the regex and the
/// replacement, every other backslash is kept for the regex. The only flag
/// is `g` (optional: every match is replaced anyway). At least one file,
/// relative to worksrc, separated by whitespace.
pub fn parse_reinplace(spec: &str) -> std::result::Result<ReinplaceSpec, String> {
    let mut chars = spec.chars();
    if chars.next() != Some('s') {
        return Err("it must start with `s`, as in `s|REGEX|REPLACEMENT| FILE`".into());
    }
    let delim = match chars.next() {
        Some(d) if d.is_ascii_punctuation() && d != '\\' => d,
        _ => return Err("the character after `s` must be a delimiter such as `|`".into()),
    };
    let mut parts = [String::new(), String::new()];
    for part in &mut parts {
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(n) if n == delim => part.push(n),
                    Some(n) => {
                        part.push('\\');
                        part.push(n);
                    }
                    None => part.push('\\'),
                }
            } else if c == delim {
                closed = true;
                break;
            } else {
                part.push(c);
            }
        }
        if !closed {
            return Err(format!("missing the closing `{delim}`"));
        }
    }
    let rest: String = chars.collect();
    let (flags, files) = rest.split_once(char::is_whitespace).unwrap_or((&rest, ""));
    if !flags.is_empty() && flags != "g" {
        return Err(format!("unknown flag `{flags}` (only `g` is known)"));
    }
    let files: Vec<String> = files.split_whitespace().map(str::to_owned).collect();
    if files.is_empty() {
        return Err("it names no file to edit".into());
    }
    if parts[0].is_empty() {
        return Err("the pattern is empty".into());
    }
    let [pattern, replacement] = parts;
    Ok(ReinplaceSpec {
        pattern,
        replacement,
        files,
    })
}

/// Apply the `reinplace` parameter's edits, in order, to files of worksrc.
/// A file in which a pattern matches nothing is an error (the edit is stale
/// after an update, as Homebrew's `inreplace` reports). Each edit is logged
/// with its count.
pub fn apply_reinplace_param() -> Result<()> {
    let edits = env::param_list("reinplace")?;
    if edits.is_empty() {
        return Ok(());
    }
    let worksrc = env::worksrc()?;
    for edit in &edits {
        let spec = parse_reinplace(edit).map_err(|why| {
            Error::new(
                ErrorKind::Invalid,
                format!("parameter `reinplace`: `{edit}`: {why}"),
            )
        })?;
        let re = Reinplace::new(&spec.pattern, &spec.replacement)?.require_match(true);
        for file in &spec.files {
            let path = env::under(&worksrc, std::path::Path::new(file))?;
            let n = re.edit_file(&path)?;
            crate::log::info(format!(
                "reinplace `{edit}`: {n} replacement{} in {file}",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(())
}

/// The default `patch` phase of the standard components: the patchfiles,
/// then the `reinplace` edits.
fn patch_then_reinplace() -> Result<()> {
    apply_patchfiles()?;
    apply_reinplace_param()
}

fn build_with_make() -> Result<()> {
    with_toolchain(run("make"), false)?
        .arg(format!("-j{}", build_jobs()?))
        .args(env::param_list("make-args")?)
        .args(env::param_list("build-target")?)
        .status()
}

fn test_with_make() -> Result<()> {
    let targets = env::param_list("test-target")?;
    if targets.is_empty() {
        crate::log::info("no test-target parameter: nothing to test");
        return Ok(());
    }
    with_toolchain(run("make"), false)?.args(targets).status()
}

impl Port for Make {
    fn patch() -> Result<()> {
        patch_then_reinplace()
    }

    fn build() -> Result<()> {
        build_with_make()
    }

    fn test() -> Result<()> {
        test_with_make()
    }

    fn destroot() -> Result<()> {
        with_toolchain(run("make"), false)?
            .args(list_or(
                "destroot-args",
                &["DESTDIR={destroot}", "PREFIX={prefix}"],
            )?)
            .args(list_or("destroot-target", &["install"])?)
            .status()
    }
}

impl Port for Autotools {
    fn patch() -> Result<()> {
        patch_then_reinplace()
    }

    fn configure() -> Result<()> {
        let script = env::param_one("configure-script")?.unwrap_or_else(|| "./configure".into());
        with_toolchain(run(script), false)?
            .arg(format!("--prefix={}", env::prefix()))
            .args(env::param_list("configure-args")?)
            .status()
    }

    fn build() -> Result<()> {
        build_with_make()
    }

    fn test() -> Result<()> {
        test_with_make()
    }

    fn destroot() -> Result<()> {
        with_toolchain(run("make"), false)?
            .args(env::param_list("destroot-args")?)
            .arg(env::expand("DESTDIR={destroot}")?)
            .args(list_or("destroot-target", &["install"])?)
            .status()
    }
}

/// The out-of-source build directory of CMake and Meson: `{work}/build`.
fn build_dir() -> Result<String> {
    Ok(env::work()?.join("build").to_string_lossy().into_owned())
}

fn worksrc_str() -> Result<String> {
    Ok(env::worksrc()?.to_string_lossy().into_owned())
}

impl Port for CMake {
    fn patch() -> Result<()> {
        patch_then_reinplace()
    }

    fn configure() -> Result<()> {
        with_toolchain(run("cmake"), true)?
            .arg("-S")
            .arg(worksrc_str()?)
            .arg("-B")
            .arg(build_dir()?)
            .arg(format!("-DCMAKE_INSTALL_PREFIX={}", env::prefix()))
            .arg("-DCMAKE_INSTALL_LIBDIR=lib")
            .arg("-DCMAKE_BUILD_TYPE=Release")
            .args(env::param_list("configure-args")?)
            .status()
    }

    fn build() -> Result<()> {
        let targets = env::param_list("build-target")?;
        let mut cmd = with_toolchain(run("cmake"), true)?
            .arg("--build")
            .arg(build_dir()?)
            .arg("--parallel")
            .arg(build_jobs()?.to_string());
        if !targets.is_empty() {
            cmd = cmd.arg("--target").args(targets);
        }
        cmd.status()
    }

    fn test() -> Result<()> {
        run("ctest")
            .arg("--test-dir")
            .arg(build_dir()?)
            .arg("--output-on-failure")
            .arg(format!("-j{}", build_jobs()?))
            .status()
    }

    fn destroot() -> Result<()> {
        run("cmake")
            .env("DESTDIR", env::expand("{destroot}")?)
            .arg("--install")
            .arg(build_dir()?)
            .status()
    }
}

impl Port for Meson {
    fn patch() -> Result<()> {
        patch_then_reinplace()
    }

    fn configure() -> Result<()> {
        with_toolchain(run("meson"), false)?
            .arg("setup")
            .arg(format!("--prefix={}", env::prefix()))
            .arg("--libdir=lib")
            .arg("--buildtype=release")
            .args(env::param_list("configure-args")?)
            .arg(build_dir()?)
            .arg(worksrc_str()?)
            .status()
    }

    fn build() -> Result<()> {
        run("ninja")
            .arg("-C")
            .arg(build_dir()?)
            .arg(format!("-j{}", build_jobs()?))
            .status()
    }

    fn test() -> Result<()> {
        run("meson")
            .arg("test")
            .arg("-C")
            .arg(build_dir()?)
            .arg("--no-rebuild")
            .arg("--print-errorlogs")
            .arg(format!("--num-processes={}", build_jobs()?))
            .status()
    }

    fn destroot() -> Result<()> {
        run("meson")
            .arg("install")
            .arg("-C")
            .arg(build_dir()?)
            .arg("--no-rebuild")
            .arg("--destdir")
            .arg(env::expand("{destroot}")?)
            .status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reinplace_spec_parses_macports_form() {
        let s = parse_reinplace(r"s|/usr/local|/opt/wport|g Makefile src/config.h").unwrap();
        assert_eq!(s.pattern, "/usr/local");
        assert_eq!(s.replacement, "/opt/wport");
        assert_eq!(s.files, ["Makefile", "src/config.h"]);
        let s = parse_reinplace(r"s#a\#b\d+#x# f").unwrap();
        assert_eq!(s.pattern, r"a#b\d+");
        assert_eq!(s.replacement, "x");
    }

    #[test]
    fn reinplace_spec_rejects_malformed() {
        assert!(
            parse_reinplace("x|a|b| f")
                .unwrap_err()
                .contains("start with `s`")
        );
        assert!(parse_reinplace("s|a|b f").unwrap_err().contains("closing"));
        assert!(parse_reinplace("s|a|b|").unwrap_err().contains("no file"));
        assert!(
            parse_reinplace("s|a|b|i f")
                .unwrap_err()
                .contains("unknown flag")
        );
        assert!(parse_reinplace("s||b| f").unwrap_err().contains("empty"));
        assert!(parse_reinplace("sab").unwrap_err().contains("delimiter"));
    }
}
