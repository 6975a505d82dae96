//! The value rules of the schema, as pure functions over strings.
//!
//! Each check returns a [`Rejection`]: what is wrong and what to write
//! instead. `validate` attaches the position. These functions are
//! public through the crate root so that other tools (a linter, the `new`
//! command) apply the same rules without parsing a whole Portfile.

use crate::text::short;

/// Why a value was refused, in words meant for the port maintainer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What is wrong, e.g. "`..` is not allowed in a path".
    pub reason: String,
    /// What to write instead.
    pub help: String,
    /// Whether the value is a path that could leave its directory (reported
    /// as [`crate::ErrorKind::UnsafePath`] rather than an invalid value).
    pub path_escape: bool,
}

impl Rejection {
    fn new(reason: impl Into<String>, help: impl Into<String>) -> Rejection {
        Rejection {
            reason: reason.into(),
            help: help.into(),
            path_escape: false,
        }
    }

    fn escape(reason: impl Into<String>, help: impl Into<String>) -> Rejection {
        Rejection {
            reason: reason.into(),
            help: help.into(),
            path_escape: true,
        }
    }
}

/// Longest port name or version, in bytes.
pub const MAX_COMPONENT_LEN: usize = 64;
/// Longest file name (one path component), in bytes.
pub const MAX_FILE_NAME_LEN: usize = 255;

/// A port name: `[a-z0-9][a-z0-9+._-]*`, at most 64 bytes. Port names become
/// directory names, so the rule keeps them to one safe path component.
pub fn check_port_name(name: &str) -> Result<(), Rejection> {
    const HELP: &str = "a port name is lowercase letters, digits and `+._-`, starting with a letter or digit, \
                        at most 64 characters, e.g. `hello` or `gtk+3`";
    check_component(
        name,
        "port name",
        HELP,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
        |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '.' | '_' | '-'),
    )
}

/// A version: `[A-Za-z0-9][A-Za-z0-9+._~-]*`, no `..`, at most 64 bytes.
pub fn check_version(version: &str) -> Result<(), Rejection> {
    const HELP: &str = "a version is letters, digits and `+._~-`, starting with a letter or digit, \
                        at most 64 characters, e.g. `2.10` or `1.0~rc1`";
    check_component(
        version,
        "version",
        HELP,
        |c| c.is_ascii_alphanumeric(),
        |c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '_' | '~' | '-'),
    )?;
    if version.contains("..") {
        return Err(Rejection::escape("a version must not contain `..`", HELP));
    }
    Ok(())
}

fn check_component(
    value: &str,
    what: &str,
    help: &str,
    first_ok: impl Fn(char) -> bool,
    rest_ok: impl Fn(char) -> bool,
) -> Result<(), Rejection> {
    let Some(first) = value.chars().next() else {
        return Err(Rejection::new(format!("the {what} is empty"), help));
    };
    if value.len() > MAX_COMPONENT_LEN {
        return Err(Rejection::new(
            format!(
                "the {what} is {} bytes long, the limit is {MAX_COMPONENT_LEN}",
                value.len()
            ),
            help,
        ));
    }
    if !first_ok(first) {
        return Err(Rejection::new(
            format!(
                "the {what} must start with a letter or digit, not {}",
                describe(first)
            ),
            help,
        ));
    }
    if let Some(bad) = value.chars().find(|&c| !rest_ok(c)) {
        return Err(Rejection::new(
            format!("{} is not allowed in a {what}", describe(bad)),
            help,
        ));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        '\0' => "a NUL byte".to_owned(),
        '/' => "`/`".to_owned(),
        c if c.is_control() || c.is_whitespace() => format!("{c:?}"),
        c => format!("`{c}`"),
    }
}

const FILE_NAME_HELP: &str = "a file name is letters, digits and `+._~@%=,-`, starting with a letter, digit or `_`, \
                              e.g. `hello-2.10.tar.gz`";

/// One path component: `[A-Za-z0-9_][A-Za-z0-9+._~@%=,-]*`, at most 255
/// bytes. This excludes `.`, `..`, hidden files, option-like names (`-rf`),
/// separators, NUL and whitespace.
pub fn check_file_name(name: &str) -> Result<(), Rejection> {
    if name == ".." || name == "." {
        return Err(Rejection::escape(
            format!("`{name}` is not a file name"),
            FILE_NAME_HELP,
        ));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(Rejection::escape(
            "a file name must not contain `/` or `\\`",
            FILE_NAME_HELP,
        ));
    }
    if name.contains('\0') {
        return Err(Rejection::escape(
            "a file name must not contain a NUL byte",
            FILE_NAME_HELP,
        ));
    }
    let Some(first) = name.chars().next() else {
        return Err(Rejection::new("the file name is empty", FILE_NAME_HELP));
    };
    if name.len() > MAX_FILE_NAME_LEN {
        return Err(Rejection::new(
            format!(
                "the file name is {} bytes long, the limit is {MAX_FILE_NAME_LEN}",
                name.len()
            ),
            FILE_NAME_HELP,
        ));
    }
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(Rejection::new(
            format!(
                "a file name must start with a letter, digit or `_`, not {}",
                describe(first)
            ),
            FILE_NAME_HELP,
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "+._~@%=,-".contains(c)))
    {
        return Err(Rejection::new(
            format!("{} is not allowed in a file name", describe(bad)),
            FILE_NAME_HELP,
        ));
    }
    Ok(())
}

/// A relative path that stays inside its base directory: `/`-separated safe
/// file names ([`check_file_name`]); not absolute, no `..`, no `.`, no empty
/// component, no backslash, no NUL.
///
/// Rejecting these by spelling (rather than resolving them) is what keeps a
/// hostile Portfile from naming `../../.ssh/id_rsa` as a patchfile; the host
/// still opens them through directory handles, so a symlink cannot redirect
/// them either.
pub fn check_relative_path(path: &str) -> Result<(), Rejection> {
    const HELP: &str = "write a path relative to the port directory, made of plain names separated by `/`, \
                        e.g. `files/patch-Makefile.diff`";
    if path.contains('\0') {
        return Err(Rejection::escape(
            "a path must not contain a NUL byte",
            HELP,
        ));
    }
    if path.starts_with('/')
        || path.starts_with('\\')
        || path.get(1..3) == Some(":\\")
        || path.get(1..3) == Some(":/")
    {
        return Err(Rejection::escape(
            format!("`{}` is an absolute path", short(path)),
            HELP,
        ));
    }
    if path.contains('\\') {
        return Err(Rejection::escape(
            "a path must use `/` as its separator, not `\\`",
            HELP,
        ));
    }
    if path.is_empty() {
        return Err(Rejection::new("the path is empty", HELP));
    }
    for component in path.split('/') {
        match component {
            ".." => {
                return Err(Rejection::escape(
                    "`..` is not allowed in a path: it could leave the port directory",
                    HELP,
                ));
            }
            "." => {
                return Err(Rejection::new(
                    "`.` components are not allowed in a path; remove them",
                    HELP,
                ));
            }
            "" => {
                return Err(Rejection::new(
                    "a path must not contain an empty component (`//` or a trailing `/`)",
                    HELP,
                ));
            }
            _ => check_file_name(component).map_err(|r| Rejection {
                help: HELP.to_owned(),
                ..r
            })?,
        }
    }
    Ok(())
}

/// The URL schemes a source or mirror may use.
pub const URL_SCHEMES: [&str; 3] = ["https", "http", "file"];

/// Longest URL, in bytes: real distfile URLs are well under 300, and a URL
/// is echoed in fetch errors, records and logs (issue 11, item 14).
pub const MAX_URL_LEN: usize = 4096;

/// The scheme of `url` (`"https"`, ...), or `None` when it has none and is a
/// path. A scheme is `[A-Za-z][A-Za-z0-9+.-]*` followed by `:`.
pub fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
    .then_some(scheme)
}

/// A remote URL: `https://host/...`, `http://host/...` or `file:///path`,
/// without whitespace or control characters.
pub fn check_remote_url(url: &str) -> Result<(), Rejection> {
    const HELP: &str = "write an `https://` URL (or `http://`, `file://`), e.g. \
                        `https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz`";
    if url.len() > MAX_URL_LEN {
        return Err(Rejection::new(
            format!(
                "the URL is {} bytes long, the limit is {MAX_URL_LEN}",
                url.len()
            ),
            HELP,
        ));
    }
    let Some(scheme) = url_scheme(url) else {
        return Err(Rejection::new(
            format!("`{}` is not a URL", short(url)),
            HELP,
        ));
    };
    if !URL_SCHEMES.contains(&scheme) {
        return Err(Rejection::new(
            format!("the `{}:` scheme is not supported", short(scheme)),
            HELP,
        ));
    }
    let Some(rest) = url[scheme.len() + 1..].strip_prefix("//") else {
        return Err(Rejection::new(
            format!("`{scheme}:` must be followed by `//`"),
            HELP,
        ));
    };
    if let Some(bad) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(Rejection::new(
            format!(
                "{} is not allowed in a URL; percent-encode it",
                describe(bad)
            ),
            HELP,
        ));
    }
    if scheme != "file" && rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
        return Err(Rejection::new("the URL has no host", HELP));
    }
    Ok(())
}

/// A source URL: a remote URL ([`check_remote_url`]) or, without a scheme, a
/// safe relative path to a distfile shipped in the port directory.
pub fn check_source_url(url: &str) -> Result<(), Rejection> {
    if url_scheme(url).is_some() {
        check_remote_url(url)
    } else {
        check_relative_path(url)
    }
}

/// The last `/`-separated segment of a URL's path, without query or fragment:
/// the default distfile name.
pub fn last_url_segment(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..end];
    path.rsplit('/').next().unwrap_or(path)
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn check_env_name(name: &str) -> Result<(), Rejection> {
    const HELP: &str = "an environment variable name is letters, digits and `_`, not starting with a digit, e.g. `CFLAGS`";
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(Rejection::new("the variable name is empty", HELP));
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(Rejection::new(
            format!("a variable name must not start with {}", describe(first)),
            HELP,
        ));
    }
    if let Some(bad) = chars.find(|&c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(Rejection::new(
            format!("{} is not allowed in a variable name", describe(bad)),
            HELP,
        ));
    }
    Ok(())
}

/// Variables the engine owns; a Portfile may not set them even with
/// `allow-loader-env`. `PATH` decides which binary a granted program name
/// resolves to, so overriding it would turn a grant of `cc` into a grant of
/// whatever the build wrote into its work directory.
pub const RESERVED_ENV: [&str; 1] = ["PATH"];

/// Whether `name` is a dynamic-loader (or loader-like) variable: `LD_*`
/// (`LD_PRELOAD`, `LD_LIBRARY_PATH`, `LD_AUDIT`...), `DYLD_*`, and
/// `GCONV_PATH` (glibc loads `.so` modules from it). Setting one injects code
/// into every program the phase runs, which is why a Portfile must opt in
/// with `allow-loader-env = true`.
pub fn is_loader_env(name: &str) -> bool {
    name.starts_with("LD_") || name.starts_with("DYLD_") || name == "GCONV_PATH"
}

/// A program grant: a bare name resolved on the toolchain PATH (`cc`,
/// `x86_64-linux-gnu-gcc`, `c++`), or `./` followed by a safe relative path
/// to a script in the work directory (`./configure`, `./build-aux/gen.sh`).
pub fn check_program(program: &str) -> Result<(), Rejection> {
    const HELP: &str = "grant a program by name (`cc`, `make`), resolved on the toolchain PATH, \
                        or a script in the work directory as `./name` (`./configure`)";
    if let Some(script) = program.strip_prefix("./") {
        return check_relative_path(script).map_err(|r| Rejection {
            help: HELP.to_owned(),
            ..r
        });
    }
    if program.starts_with('/') {
        return Err(Rejection::escape(
            format!("`{}` is an absolute path", short(program)),
            HELP,
        ));
    }
    if program.contains('/') {
        let escape = program.split('/').any(|c| c == "..");
        let reason = format!(
            "`{}` contains `/`: only `./` scripts may be paths",
            short(program)
        );
        return Err(if escape {
            Rejection::escape(reason, HELP)
        } else {
            Rejection::new(reason, HELP)
        });
    }
    check_file_name(program).map_err(|r| Rejection {
        help: HELP.to_owned(),
        ..r
    })
}

/// The placeholders a `[runtime]` path may start with, each expanded by the
/// launcher when the program starts (docs/CAPABILITIES.md).
pub const RUNTIME_PLACEHOLDERS: [&str; 9] = [
    "prefix",
    "home",
    "cwd",
    "tmp",
    "xdg-config",
    "xdg-data",
    "xdg-cache",
    "xdg-state",
    "xdg-runtime",
];

/// A `[runtime]` `read`/`write` path: absolute, or a placeholder from
/// [`RUNTIME_PLACEHOLDERS`] alone or followed by `/` and a relative path;
/// no `.`, `..` or empty components, no other braces, no control
/// characters, and not `/` itself (that is `confine = false`).
pub fn check_runtime_path(path: &str) -> Result<(), Rejection> {
    const HELP: &str = "write an absolute path or a placeholder, e.g. `\"{xdg-config}/figlet\"` or `\"/var/lib/figlet\"`";
    if path.is_empty() {
        return Err(Rejection::new("the path is empty", HELP));
    }
    if let Some(c) = path.chars().find(|c| c.is_control()) {
        return Err(Rejection::new(
            format!("the path contains {}", describe(c)),
            HELP,
        ));
    }
    let rest = if let Some(after) = path.strip_prefix('{') {
        let Some((name, rest)) = after.split_once('}') else {
            return Err(Rejection::new(
                "the placeholder is not closed with `}`",
                HELP,
            ));
        };
        if !RUNTIME_PLACEHOLDERS.contains(&name) {
            let help = match crate::did_you_mean(name, RUNTIME_PLACEHOLDERS) {
                Some(near) => format!("did you mean `{{{near}}}`?"),
                None => format!(
                    "known placeholders: {}",
                    RUNTIME_PLACEHOLDERS
                        .map(|p| format!("`{{{p}}}`"))
                        .join(", ")
                ),
            };
            return Err(Rejection::new(
                format!("unknown placeholder `{{{name}}}`"),
                help,
            ));
        }
        if rest.is_empty() {
            return Ok(());
        }
        match rest.strip_prefix('/') {
            Some(rest) => rest,
            None => {
                return Err(Rejection::new(
                    format!("`{{{name}}}` must be followed by `/` or nothing"),
                    HELP,
                ));
            }
        }
    } else if let Some(rest) = path.strip_prefix('/') {
        if rest.is_empty() {
            return Err(Rejection::new(
                "`/` grants the whole file system",
                "name the trees the program needs; a port that cannot run confined says `confine = false`",
            ));
        }
        rest
    } else {
        return Err(Rejection::new(
            "the path is neither absolute nor starts with a placeholder",
            HELP,
        ));
    };
    for component in rest.split('/') {
        match component {
            ".." => {
                return Err(Rejection::escape(
                    "`..` is not allowed in a path",
                    "name the directory itself",
                ));
            }
            "" | "." => {
                return Err(Rejection::new(
                    "empty and `.` components are not allowed in a path",
                    "write each directory once, without `//`, `/./` or a trailing `/`",
                ));
            }
            c if c.contains(['{', '}']) => {
                return Err(Rejection::new(
                    "a placeholder may only start the path",
                    HELP,
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_names() {
        for ok in ["hello", "gtk+3", "py3.12-foo", "0ad", "a_b"] {
            assert_eq!(check_port_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "Hello", "-x", ".x", "a/b", "a b", "é", &"a".repeat(65)] {
            assert!(check_port_name(bad).is_err(), "{bad}");
        }
        assert_eq!(check_port_name(&"a".repeat(64)), Ok(()));
    }

    #[test]
    fn versions() {
        for ok in ["2.10", "1.0~rc1", "20240101", "1.2.3-beta+b4"] {
            assert_eq!(check_version(ok), Ok(()), "{ok}");
        }
        for bad in ["", "..", "1..2", "/1", "1/2", ".1", "1 2"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        assert!(check_version("1..2").unwrap_err().path_escape);
    }

    #[test]
    fn relative_paths() {
        for ok in [
            "port.wasm",
            "files/patch-a.diff",
            "dist/hello-2.10.tar.gz",
            "_x",
        ] {
            assert_eq!(check_relative_path(ok), Ok(()), "{ok}");
        }
        for escape in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\0b",
            "a\\b",
            "C:\\x",
            "\\\\server\\x",
        ] {
            let err = check_relative_path(escape).unwrap_err();
            assert!(err.path_escape, "{escape:?}: {err:?}");
        }
        for bad in ["", "a//b", "a/", "./a", ".hidden", "-rf", "a b"] {
            let err = check_relative_path(bad).unwrap_err();
            assert!(!err.path_escape, "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(url_scheme("https://x/y"), Some("https"));
        assert_eq!(url_scheme("hello-1.0.tar.gz"), None);
        assert_eq!(url_scheme("dist/a:b.tar"), None);
        assert_eq!(
            check_source_url("https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz"),
            Ok(())
        );
        assert_eq!(check_source_url("file:///srv/dist/x.tar.gz"), Ok(()));
        assert_eq!(check_source_url("dist/x.tar.gz"), Ok(()));
        assert!(check_source_url("ftp://x/y").is_err());
        assert!(check_source_url("https:/x/y").is_err());
        assert!(check_source_url("https:///y").is_err());
        assert!(check_source_url("https://x/a b").is_err());
        assert!(check_source_url("../x.tar.gz").unwrap_err().path_escape);
    }

    #[test]
    fn url_segments() {
        assert_eq!(last_url_segment("https://x/a/b.tar.gz"), "b.tar.gz");
        assert_eq!(
            last_url_segment("https://x/a/b.tar.gz?raw=1#frag"),
            "b.tar.gz"
        );
        assert_eq!(last_url_segment("https://x/a/"), "");
        assert_eq!(last_url_segment("local.tar"), "local.tar");
    }

    #[test]
    fn env_names_and_loader_variables() {
        assert_eq!(check_env_name("CFLAGS"), Ok(()));
        assert_eq!(check_env_name("_X1"), Ok(()));
        for bad in ["", "1X", "A-B", "A=B", "A B"] {
            assert!(check_env_name(bad).is_err(), "{bad}");
        }
        for loader in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "LD_AUDIT",
            "DYLD_INSERT_LIBRARIES",
            "GCONV_PATH",
        ] {
            assert!(is_loader_env(loader), "{loader}");
        }
        assert!(!is_loader_env("LDFLAGS"));
    }

    #[test]
    fn programs() {
        for ok in [
            "sh",
            "cc",
            "make",
            "c++",
            "x86_64-linux-gnu-gcc",
            "./configure",
            "./build-aux/gen.sh",
        ] {
            assert_eq!(check_program(ok), Ok(()), "{ok}");
        }
        assert!(check_program("/bin/sh").unwrap_err().path_escape);
        assert!(check_program("./../x").unwrap_err().path_escape);
        assert!(check_program("../x").unwrap_err().path_escape);
        assert!(check_program("bin/sh").is_err());
        assert!(check_program("-c").is_err());
        assert!(check_program("").is_err());
    }
}
