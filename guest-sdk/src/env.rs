//! Typed accessors for the host's `build-env` interface: facts about the
//! build the current phase belongs to.
//!
//! Paths come from here, never from literals in a port: the host decides
//! where `/work` or `/destroot` live in the guest, and a directory a phase is
//! not granted does not exist for it at all ([`destroot`] in `build` is an
//! error, not a path that happens to be unwritable).

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::expand::Placeholders;
use crate::imports::build_env;

pub use crate::bindings::wport::port::build_env::{Phase, PortInfo};

impl Phase {
    /// The phase's name as the Portfile spells it (`post-destroot`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Patch => "patch",
            Phase::Configure => "configure",
            Phase::Build => "build",
            Phase::Test => "test",
            Phase::Destroot => "destroot",
            Phase::PostDestroot => "post-destroot",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The port's name, version and revision.
pub fn port() -> PortInfo {
    build_env::port()
}

/// The port's name.
pub fn name() -> String {
    port().name
}

/// The port's version.
pub fn version() -> String {
    port().version
}

/// The port's revision.
pub fn revision() -> u32 {
    port().revision
}

/// The phase being run.
pub fn phase() -> Phase {
    build_env::current_phase()
}

/// The install prefix, e.g. `/opt/wport`. Files are staged under
/// [`dest_prefix`], i.e. destroot + prefix.
pub fn prefix() -> String {
    build_env::prefix()
}

/// Parallel jobs the user allows for native build tools (at least 1).
pub fn jobs() -> u32 {
    build_env::jobs().max(1)
}

/// `SOURCE_DATE_EPOCH` of this build: the only time a build may record.
pub fn source_date_epoch() -> u64 {
    build_env::source_date_epoch()
}

fn dir(value: Option<String>, what: &str) -> Result<PathBuf> {
    value.map(PathBuf::from).ok_or_else(|| {
        Error::new(
            ErrorKind::Denied,
            format!("phase {} has no access to the {what}", phase()),
        )
    })
}

/// The read-only sources directory (distfiles, patchfiles, the port's
/// `files/`). Error if the current phase is not granted it.
pub fn sources() -> Result<PathBuf> {
    dir(build_env::dirs().sources, "sources directory")
}

/// The work directory. Error if the current phase is not granted it.
pub fn work() -> Result<PathBuf> {
    dir(build_env::dirs().work, "work directory")
}

/// The extracted source tree (MacPorts' `worksrcpath`), inside [`work`].
/// Error if the current phase is not granted it.
pub fn worksrc() -> Result<PathBuf> {
    dir(build_env::dirs().worksrc, "worksrc directory")
}

/// The staging root the port installs into (`DESTDIR`). Error if the
/// current phase is not granted it (every phase before `destroot`).
pub fn destroot() -> Result<PathBuf> {
    dir(build_env::dirs().destroot, "destroot")
}

/// The port's `files/` directory (read-only), inside [`sources`].
pub fn files_dir() -> Result<PathBuf> {
    Ok(sources()?.join("files"))
}

/// Where [`prefix`] is staged: destroot + prefix, e.g.
/// `/destroot/opt/wport`.
pub fn dest_prefix() -> Result<PathBuf> {
    destroot_path(prefix())
}

/// Where the absolute install path `path` is staged in the destroot:
/// `destroot_path("/opt/wport/bin")` is `/destroot/opt/wport/bin`.
///
/// Unlike `destroot.join(path)`, which silently *replaces* the destroot
/// with an absolute `path`, this keeps the result inside the destroot and
/// refuses `..`.
pub fn destroot_path(path: impl AsRef<Path>) -> Result<PathBuf> {
    under(&destroot()?, path.as_ref())
}

/// `root` + `path` treating `path` as relative to `root` even if absolute;
/// `..` is refused.
pub(crate) fn under(root: &Path, path: &Path) -> Result<PathBuf> {
    let mut out = root.to_path_buf();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!("`{}` must not contain `..`", path.display()),
                ));
            }
        }
    }
    Ok(out)
}

/// Guest paths of the verified distfiles, in Portfile order (empty when the
/// phase cannot see the sources).
pub fn distfiles() -> Vec<PathBuf> {
    build_env::distfiles()
        .into_iter()
        .map(PathBuf::from)
        .collect()
}

/// Guest paths of the verified patchfiles, in the order they apply (empty
/// when the phase cannot see the sources).
pub fn patchfiles() -> Vec<PathBuf> {
    build_env::patchfiles()
        .into_iter()
        .map(PathBuf::from)
        .collect()
}

/// The raw value of `[build.params]` entry `name`, placeholders unexpanded.
/// A string value is a one-element list; an absent key is `None`.
pub fn param(name: &str) -> Option<Vec<String>> {
    build_env::param(name)
}

/// Parameter `name` with its `{placeholders}` expanded (see [`expand`]);
/// an absent key is an empty list.
pub fn param_list(name: &str) -> Result<Vec<String>> {
    let Some(values) = param(name) else {
        return Ok(Vec::new());
    };
    let ph = placeholders();
    ph.expand_all(&values)
        .map_err(|e| Error::new(ErrorKind::Invalid, e.to_string()))
        .map_err(|e| e.context(format!("parameter `{name}`")))
}

/// Parameter `name` as a single expanded string: `None` if absent, an error
/// if it is a list of other than one element.
pub fn param_one(name: &str) -> Result<Option<String>> {
    let Some(values) = param(name) else {
        return Ok(None);
    };
    let n = values.len();
    let expanded = placeholders().expand_all(&values).map_err(|e| {
        Error::new(ErrorKind::Invalid, e.to_string()).context(format!("parameter `{name}`"))
    })?;
    match <[String; 1]>::try_from(expanded) {
        Ok([v]) => Ok(Some(v)),
        Err(_) => Err(Error::new(
            ErrorKind::Invalid,
            format!("parameter `{name}` must be one string, not a list of {n}"),
        )),
    }
}

/// The placeholder values of the current phase: `{prefix}`, `{jobs}`,
/// `{name}` and `{version}` always, directories when the phase is granted them.
pub fn placeholders() -> Placeholders {
    let dirs = build_env::dirs();
    let port = port();
    Placeholders {
        prefix: Some(prefix()),
        destroot: dirs.destroot,
        jobs: Some(jobs().to_string()),
        worksrc: dirs.worksrc,
        work: dirs.work,
        sources: dirs.sources,
        name: Some(port.name),
        version: Some(port.version),
    }
}

/// Expand `{placeholders}` in `value` with the current phase's values (see
/// [`crate::expand`] for the syntax).
pub fn expand(value: &str) -> Result<String> {
    placeholders()
        .expand(value)
        .map_err(|e| Error::new(ErrorKind::Invalid, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_keeps_absolute_paths_inside() {
        let root = Path::new("/destroot");
        assert_eq!(
            under(root, Path::new("/opt/wport/bin")).unwrap(),
            Path::new("/destroot/opt/wport/bin")
        );
        assert_eq!(
            under(root, Path::new("opt/./x")).unwrap(),
            Path::new("/destroot/opt/x")
        );
        let e = under(root, Path::new("/opt/../../etc")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid);
    }
}
