//! The standard build logic of wport's two standard components, driven by
//! the Portfile's `[build.params]`. Placeholders (`{prefix}`, `{destroot}`,
//! `{jobs}`, `{worksrc}`, `{work}`, ...) in parameter values are expanded
//! first (see [`crate::expand`]); a list parameter gives several arguments.
//!
//! | parameter          | used by | meaning                                                    |
//! |--------------------|---------|------------------------------------------------------------|
//! | `configure-script` | autotools | program run by `configure` (default `./configure`)     |
//! | `configure-args`   | autotools | arguments after `--prefix={prefix}`                    |
//! | `make-args`        | both    | arguments of the build's `make`                            |
//! | `build-target`     | both    | target(s) of the build's `make` (default: none)            |
//! | `test-target`      | both    | `test` runs `make <test-target>` only when this is set     |
//! | `destroot-args`    | both    | arguments of the destroot's `make` (make's default: `DESTDIR={destroot} PREFIX={prefix}`) |
//! | `destroot-target`  | both    | target(s) of the destroot's `make` (default `install`)     |
//!
//! Both apply the port's patchfiles in the default `patch` phase. A custom
//! port can reuse them: `fn build() -> Result<()> { Autotools::build() }`.

use crate::command::run;
use crate::env;
use crate::error::Result;
use crate::port::Port;

/// Plain-Makefile ports (bzip2, tree, lua): no configure step;
/// `make -j{jobs} <make-args> <build-target>`, then
/// `make <destroot-args> <destroot-target>`.
pub struct Make;

/// GNU autotools ports: `./configure --prefix={prefix} <configure-args>`,
/// `make -j{jobs} <make-args> <build-target>`, then
/// `make <destroot-args> DESTDIR={destroot} <destroot-target>`.
pub struct Autotools;

fn list_or(name: &str, default: &[&str]) -> Result<Vec<String>> {
    if env::param(name).is_some() {
        env::param_list(name)
    } else {
        default.iter().map(|d| env::expand(d)).collect()
    }
}

fn build_with_make() -> Result<()> {
    run("make")
        .arg(format!("-j{}", env::jobs()))
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
    run("make").args(targets).status()
}

impl Port for Make {
    fn build() -> Result<()> {
        build_with_make()
    }

    fn test() -> Result<()> {
        test_with_make()
    }

    fn destroot() -> Result<()> {
        run("make")
            .args(list_or(
                "destroot-args",
                &["DESTDIR={destroot}", "PREFIX={prefix}"],
            )?)
            .args(list_or("destroot-target", &["install"])?)
            .status()
    }
}

impl Port for Autotools {
    fn configure() -> Result<()> {
        let script = env::param_one("configure-script")?.unwrap_or_else(|| "./configure".into());
        run(script)
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
        run("make")
            .args(env::param_list("destroot-args")?)
            .arg(env::expand("DESTDIR={destroot}")?)
            .args(list_or("destroot-target", &["install"])?)
            .status()
    }
}
