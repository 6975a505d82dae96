//! The Lua 5.4 port: upstream's Makefile builds, WebAssembly installs.
//!
//! | phase    | what it does                                                   |
//! |----------|----------------------------------------------------------------|
//! | configure | points `LUA_ROOT` in `src/luaconf.h` at the install prefix (upstream hard-codes `/usr/local/`, so an installed `lua` would look for modules there), with `reinplace` |
//! | build    | `make -j{jobs} linux-readline MYCFLAGS=-I{prefix}/include MYLDFLAGS="-L{prefix}/lib -Wl,-rpath,{prefix}/lib"` in the source tree (native `make`/`cc`) |
//! | destroot | `xinstall`s what upstream's `make install` would, in WASM: `lua` and `luac` (0755), the five public headers, `liblua.a`, the two man pages (under `share/man`, where MacPorts and Debian keep them), and the empty module directories `lib/lua/5.4` and `share/lua/5.4` |
//!
//! Installing from WASM rather than running `make install` means the
//! destroot phase runs no native program at all: the Portfile grants it none.
//!
//! The interactive `lua` edits its input lines with GNU readline, the
//! `readline` port (a `lib` dependency the Portfile grants to the build):
//! upstream's `linux-readline` target links `-lreadline`, and the flags put
//! the prefix first so the compiler takes `<readline/readline.h>` and the
//! linker `libreadline.so` from the prefix, where the build sees exactly its
//! granted dependencies, rather than the machine's copies under /usr. The
//! RUNPATH `{prefix}/lib` makes the installed `lua` load the prefix's
//! libreadline (which carries the same RUNPATH to find ncurses' libtinfo).
//! `posix` would lose `dlopen` for C modules.

use wport_guest_sdk::prelude::*;

/// The Lua port.
pub struct Lua;

/// Programs built in `src/`, installed 0755 to `bin/`.
const BINARIES: &[&str] = &["lua", "luac"];
/// Headers installed to `include/` (upstream's TO_INC).
const HEADERS: &[&str] = &["lua.h", "luaconf.h", "lualib.h", "lauxlib.h", "lua.hpp"];
/// Libraries installed to `lib/` (upstream's TO_LIB).
const LIBRARIES: &[&str] = &["liblua.a"];
/// Man pages in `doc/`, installed to `share/man/man1/`.
const MAN_PAGES: &[&str] = &["lua.1", "luac.1"];

impl Port for Lua {
    // patch: the SDK default (the Portfile has no patchfiles).

    fn configure() -> Result<()> {
        let luaconf = env::worksrc()?.join("src/luaconf.h");
        let root = format!(
            "#define LUA_ROOT\t\"{}/\"",
            env::prefix().trim_end_matches('/')
        );
        // require_match: if upstream moves the line, fail instead of
        // shipping a lua that searches /usr/local.
        Reinplace::literal("#define LUA_ROOT\t\"/usr/local/\"", &root)
            .require_match(true)
            .in_file(&luaconf)?;
        info!("LUA_ROOT set to {}/", env::prefix().trim_end_matches('/'));
        Ok(())
    }

    fn build() -> Result<()> {
        make(build_args(&env::prefix(), env::jobs()))
    }

    fn destroot() -> Result<()> {
        let src = env::worksrc()?.join("src");
        let doc = env::worksrc()?.join("doc");
        let dest = env::dest_prefix()?;
        let abi = abi_version(&env::version())?;

        for b in BINARIES {
            xinstall(src.join(b), dest.join("bin").join(b), 0o755)?;
        }
        for h in HEADERS {
            xinstall(src.join(h), dest.join("include").join(h), 0o644)?;
        }
        for l in LIBRARIES {
            xinstall(src.join(l), dest.join("lib").join(l), 0o644)?;
        }
        for m in MAN_PAGES {
            xinstall(doc.join(m), dest.join("share/man/man1").join(m), 0o644)?;
        }
        // Where Lua looks for modules by default (LUA_ROOT in luaconf.h).
        xinstall_dir(dest.join("share/lua").join(&abi), 0o755)?;
        xinstall_dir(dest.join("lib/lua").join(&abi), 0o755)?;
        info!(
            "installed {} programs, {} headers, {} libraries, {} man pages",
            BINARIES.len(),
            HEADERS.len(),
            LIBRARIES.len(),
            MAN_PAGES.len()
        );
        Ok(())
    }
}

/// `make` arguments of the build: upstream's readline target, with the
/// prefix's headers and libraries searched first and its library directory
/// recorded as the programs' RUNPATH.
fn build_args(prefix: &str, jobs: u32) -> Vec<String> {
    let prefix = prefix.trim_end_matches('/');
    vec![
        format!("-j{jobs}"),
        "linux-readline".to_string(),
        format!("MYCFLAGS=-I{prefix}/include"),
        format!("MYLDFLAGS=-L{prefix}/lib -Wl,-rpath,{prefix}/lib"),
    ]
}

/// `5.4.4` -> `5.4`: the directory name Lua uses for its modules.
fn abi_version(version: &str) -> Result<String> {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(major), Some(minor)) if !major.is_empty() && !minor.is_empty() => {
            Ok(format!("{major}.{minor}"))
        }
        _ => bail!("version {version:?} is not MAJOR.MINOR[.PATCH]"),
    }
}

wport_guest_sdk::export_port!(Lua);

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use super::{BINARIES, HEADERS, LIBRARIES, Lua, MAN_PAGES, abi_version, build_args};
    use wport_guest_sdk::env::Phase;
    use wport_guest_sdk::host::HostBuild;

    /// The lines of upstream's `src/luaconf.h` that the configure phase edits
    /// (5.4.4's, including the tab).
    const LUACONF: &str = "#define LUA_PATH_SEP            \";\"\n\
                           #define LUA_ROOT\t\"/usr/local/\"\n\
                           #define LUA_LDIR\tLUA_ROOT \"share/lua/\" LUA_VDIR \"/\"\n";

    fn lua_build() -> HostBuild {
        HostBuild::new("lua", "5.4.4")
            .unwrap()
            .prefix("/opt/wport")
            .jobs(3)
            .grant(Phase::Build, ["make"])
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Every phase on the host (the SDK's host implementation of the
    /// imports): configure's edit, build's one `make`, and what destroot
    /// installs, with no native program run outside the build phase.
    #[test]
    fn phases_run_on_the_host() {
        let mut build = lua_build();
        let src = build.worksrc().join("src");
        let doc = build.worksrc().join("doc");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&doc).unwrap();
        std::fs::write(src.join("luaconf.h"), LUACONF).unwrap();

        build.run::<Lua>(Phase::Configure).unwrap();
        let luaconf = std::fs::read_to_string(src.join("luaconf.h")).unwrap();
        assert!(
            luaconf.contains("#define LUA_ROOT\t\"/opt/wport/\"\n")
                && !luaconf.contains("/usr/local/"),
            "{luaconf}"
        );
        assert!(build.commands().is_empty());

        build.run::<Lua>(Phase::Build).unwrap();
        let [make] = build.commands() else {
            panic!("{:?}", build.commands().len());
        };
        assert_eq!(make.program, "make");
        assert_eq!(make.args, build_args("/opt/wport", 3));

        // What upstream's `make` leaves in the source tree.
        for f in BINARIES.iter().chain(HEADERS).chain(LIBRARIES) {
            std::fs::write(src.join(f), f.as_bytes()).unwrap();
        }
        for m in MAN_PAGES {
            std::fs::write(doc.join(m), m.as_bytes()).unwrap();
        }
        build.run::<Lua>(Phase::Destroot).unwrap();
        let dest = build.dest_prefix();
        for b in BINARIES {
            assert_eq!(mode(&dest.join("bin").join(b)), 0o755, "{b}");
        }
        for (dir, files) in [("include", HEADERS), ("lib", LIBRARIES)] {
            for f in files {
                let installed = dest.join(dir).join(f);
                assert_eq!(std::fs::read(&installed).unwrap(), f.as_bytes());
                assert_eq!(mode(&installed), 0o644, "{f}");
            }
        }
        for m in MAN_PAGES {
            assert_eq!(mode(&dest.join("share/man/man1").join(m)), 0o644);
        }
        assert!(dest.join("share/lua/5.4").is_dir() && dest.join("lib/lua/5.4").is_dir());
        // Still the build's one make: destroot ran nothing native.
        assert_eq!(build.commands().len(), 1);
    }

    /// If upstream moves the LUA_ROOT line, configure fails instead of
    /// shipping a lua that searches /usr/local for modules.
    #[test]
    fn configure_fails_when_lua_root_is_not_found() {
        let mut build = lua_build();
        let src = build.worksrc().join("src");
        std::fs::create_dir_all(&src).unwrap();
        let moved = LUACONF.replace("#define LUA_ROOT\t", "#define LUA_ROOT  ");
        std::fs::write(src.join("luaconf.h"), &moved).unwrap();
        let err = build.run::<Lua>(Phase::Configure).unwrap_err();
        assert!(err.contains("LUA_ROOT"), "{err}");
        assert_eq!(
            std::fs::read_to_string(src.join("luaconf.h")).unwrap(),
            moved
        );
    }

    /// The build phase may run only what the Portfile grants it.
    #[test]
    fn build_without_the_make_grant_is_refused() {
        let mut build = HostBuild::new("lua", "5.4.4").unwrap();
        std::fs::create_dir_all(build.worksrc().join("src")).unwrap();
        let err = build.run::<Lua>(Phase::Build).unwrap_err();
        assert!(err.contains("`make` is not granted"), "{err}");
    }

    #[test]
    fn build_links_the_prefix_readline_first() {
        assert_eq!(
            build_args("/opt/wport/", 2),
            [
                "-j2",
                "linux-readline",
                "MYCFLAGS=-I/opt/wport/include",
                "MYLDFLAGS=-L/opt/wport/lib -Wl,-rpath,/opt/wport/lib",
            ]
        );
    }

    #[test]
    fn abi_version_is_major_minor() {
        assert_eq!(abi_version("5.4.4").unwrap(), "5.4");
        assert_eq!(abi_version("5.4").unwrap(), "5.4");
        assert!(abi_version("5").is_err());
    }
}
