//! `wport new URL|FILE`: start a port from a source tarball, like Homebrew's
//! `brew create`. The tarball is downloaded with the ordinary fetcher (a
//! local FILE is read through a `file://` URL), pinned by its sha256 and
//! size, extracted with the same bounded, path-checked extractor a build
//! uses, and its build system detected:
//!
//! | found at the top of the source tree | `standard =` |
//! |-------------------------------------|--------------|
//! | `configure`                         | `autotools`  |
//! | `CMakeLists.txt`                    | `cmake`      |
//! | `meson.build`                       | `meson`      |
//! | `Makefile`, `makefile`, `GNUmakefile` | `make`     |
//!
//! It writes `<ports>/<name>/Portfile.toml` with the grants that component
//! needs, so a plain autotools, CMake, Meson or Makefile project lints clean
//! and builds as written, and prints what only the maintainer can fill in
//! (description, license, homepage, upstream contact, and the upstream URL
//! when the source was a local file). The name and version are guessed from
//! the top-level directory (`hello-2.10/`) or the file name
//! (`hello-2.10.tar.gz`, Debian's `hello_2.10.orig.tar.gz`); `--name` and
//! `--version` override the guess.
//!
//! Trust: the pin is whatever the URL served now (trust on first use, as
//! `wport checksum`). The tarball is downloaded once, hashed while it
//! streams into the distfile store and kept there under that sha256
//! (`Fetcher::checksum_and_store`); the tree that is inspected is extracted
//! from those stored bytes, so the pin written, the bytes looked at and the
//! bytes a first build finds in the store are the same.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use wport::exit;
use wport_fetch::{Expected, Limits, Request, Sha256};
use wport_manifest::{Portfile, StandardComponent};

#[derive(clap::Args)]
pub struct Args {
    /// The source tarball: an https:// or http:// URL, or a local file.
    source: String,
    /// Ports tree to write the port into (`<ports>/<name>/Portfile.toml`).
    #[arg(long, default_value = "ports")]
    ports: PathBuf,
    /// The port's name (default: guessed from the tarball).
    #[arg(long)]
    name: Option<String>,
    /// The port's version (default: guessed from the tarball).
    #[arg(long)]
    version: Option<String>,
    /// For a local FILE: the upstream URL to write in the Portfile (default:
    /// the file's `file://` URL, which only works on this machine).
    #[arg(long)]
    url: Option<String>,
    /// The maintainer, `Name <email>` (default: $WPORT_MAINTAINER).
    #[arg(long)]
    maintainer: Option<String>,
    /// Replace an existing Portfile.toml.
    #[arg(long)]
    force: bool,
    /// Largest download accepted, in bytes.
    #[arg(long, default_value_t = 4 << 30)]
    max_size: u64,
    #[command(flatten)]
    net: super::fetch::NetArgs,
}

pub fn run(args: Args) -> i32 {
    match new_port(&args) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            super::report(&e);
            exit::FAILURE
        }
    }
}

/// Where the tarball comes from.
struct Origin {
    /// What the fetcher downloads.
    fetch_url: String,
    /// What the Portfile's `url` says (differs for a local FILE with --url).
    portfile_url: String,
    /// The distfile name.
    file: String,
    /// The source was a local file and no --url was given.
    local_only: bool,
}

fn origin(args: &Args) -> anyhow::Result<Origin> {
    let src = &args.source;
    if src.starts_with("https://") || src.starts_with("http://") {
        if args.url.is_some() {
            bail!("--url is for a local FILE; the URL {src} is already upstream's");
        }
        let path = src.split(['?', '#']).next().unwrap_or_default();
        let file = path.rsplit('/').next().unwrap_or_default().to_owned();
        if file.is_empty() {
            bail!(
                "{src} does not end in a file name; download it and run `wport new FILE --url {src}`"
            );
        }
        return Ok(Origin {
            fetch_url: src.clone(),
            portfile_url: src.clone(),
            file,
            local_only: false,
        });
    }
    let path = src.strip_prefix("file://").unwrap_or(src);
    let path = std::fs::canonicalize(path)
        .with_context(|| format!("{src} is neither an http(s) URL nor a readable file"))?;
    if !path.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let fetch_url = format!("file://{}", path.display());
    // With --url the Portfile names upstream's file: the store is keyed by
    // sha256, so the local copy serves the build under that name.
    let file = match args.url.as_deref().map(last_segment) {
        Some("") => bail!("--url must end in a file name"),
        Some(upstream) => upstream.to_owned(),
        None => file,
    };
    Ok(Origin {
        portfile_url: args.url.clone().unwrap_or_else(|| fetch_url.clone()),
        local_only: args.url.is_none(),
        fetch_url,
        file,
    })
}

fn new_port(args: &Args) -> anyhow::Result<()> {
    let origin = origin(args)?;
    let fetcher = args.net.fetcher()?;
    let progress = wport::output::progress();
    let label = args.name.clone().unwrap_or_else(|| "wport new".into());
    let req = Request {
        port: label,
        file: origin.file.clone(),
        urls: vec![origin.fetch_url.clone()],
        // Unknown yet: `checksum` compares nothing while downloading.
        expected: Expected {
            sha256: Sha256::from_bytes([0; 32]),
            size: 0,
        },
        upstream_contact: String::new(),
    };
    // One download: hashed on the way into the store, kept there under its
    // sha256 (issue 14: it used to be downloaded a second time to store it).
    let (sum, stored) = fetcher
        .checksum_and_store(&req, args.max_size, &progress)
        .with_context(|| format!("downloading {}", origin.fetch_url))?;

    let scratch = Scratch::new()?;
    let dir = cap_std::fs::Dir::open_ambient_dir(&scratch.0, cap_std::ambient_authority())
        .with_context(|| format!("opening {}", scratch.0.display()))?;
    let report = wport_fetch::extract(&stored, &dir, &Limits::default())
        .with_context(|| format!("extracting {}", origin.file))?;
    let [top] = report.top_level.as_slice() else {
        bail!(
            "{} does not hold one top-level directory (it holds {}); write the Portfile by hand with `worksrcdir`",
            origin.file,
            report.top_level.len()
        );
    };
    let tree = scratch.0.join(top);
    if !tree.is_dir() {
        bail!(
            "{}: its top-level entry `{top}` is not a directory",
            origin.file
        );
    }
    let Some(standard) = detect(&tree) else {
        bail!(
            "{}: no configure, CMakeLists.txt, meson.build or Makefile in {top}/: \
             this port needs its own component (see docs/PORTING.md)",
            origin.file
        );
    };

    let guessed = guess(top).or_else(|| guess(&origin.file));
    let name = match (&args.name, &guessed) {
        (Some(n), _) => n.clone(),
        (None, Some((n, _))) => n.clone(),
        (None, None) => bail!(
            "cannot guess the port's name from {}: pass --name",
            origin.file
        ),
    };
    let version = match (&args.version, &guessed) {
        (Some(v), _) => v.clone(),
        (None, Some((_, v))) => v.clone(),
        (None, None) => bail!(
            "cannot guess the version from {}: pass --version",
            origin.file
        ),
    };

    let homepage = match origin.portfile_url.split_once("://") {
        Some(("https" | "http", rest)) if !origin.local_only => {
            let host = rest.split('/').next().unwrap_or_default();
            format!(
                "{}://{host}/",
                origin.portfile_url.split("://").next().unwrap_or("https")
            )
        }
        _ => "https://example.invalid/".into(),
    };
    let maintainer = args.maintainer.clone().or_else(|| {
        std::env::var("WPORT_MAINTAINER")
            .ok()
            .filter(|m| !m.is_empty())
    });

    let text = portfile_text(&PortfileFields {
        name: &name,
        version: &version,
        homepage: &homepage,
        maintainer: maintainer.as_deref(),
        url: &origin.portfile_url,
        file: (origin.file != last_segment(&origin.portfile_url)).then_some(origin.file.as_str()),
        sha256: &sum.sha256.to_string(),
        size: sum.size,
        standard,
        top,
        local_only: origin.local_only,
    });
    // What we write must be a valid Portfile; a guessed name or version
    // that breaks the rules is reported with the flag that fixes it.
    Portfile::parse(&text, "Portfile.toml").map_err(|e| {
        anyhow::anyhow!(
            "the Portfile for {name}@{version} would not be valid (pass --name or --version to fix a bad guess):\n{e}"
        )
    })?;

    let port_dir = args.ports.join(&name);
    let path = port_dir.join("Portfile.toml");
    if path.exists() && !args.force {
        bail!("{} exists; pass --force to replace it", path.display());
    }
    std::fs::create_dir_all(&port_dir)
        .with_context(|| format!("creating {}", port_dir.display()))?;
    std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;

    println!("wrote {} ({standard}, {name}@{version})", path.display());
    println!("  sha256 = \"{}\"", sum.sha256);
    println!("  size = {}", sum.size);
    println!("still to fill in by hand (marked FIXME):");
    println!("  description       one line saying what {name} does");
    println!("  license           the SPDX expression of the project's license");
    println!("  homepage          the project's home page");
    println!("  upstream-contact  who to ask when a tarball changes under its pin");
    if maintainer.is_none() {
        println!(
            "  maintainers       you, `Name <email>` (or pass --maintainer / set WPORT_MAINTAINER)"
        );
    }
    if origin.local_only {
        println!(
            "  url               the upstream URL of {} (this file:// URL only works here; or pass --url)",
            origin.file
        );
    }
    println!(
        "then: wport lint {dir} && wport build --unsigned {dir}",
        dir = port_dir.display()
    );
    Ok(())
}

fn last_segment(url: &str) -> &str {
    url.split(['?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The standard component a source tree's top level asks for, in MacPorts'
/// order of preference (a shipped `configure` wins over the files it was
/// generated from).
pub fn detect(tree: &Path) -> Option<StandardComponent> {
    let has = |f: &str| tree.join(f).is_file();
    if has("configure") {
        Some(StandardComponent::Autotools)
    } else if has("CMakeLists.txt") {
        Some(StandardComponent::CMake)
    } else if has("meson.build") {
        Some(StandardComponent::Meson)
    } else if ["Makefile", "makefile", "GNUmakefile"]
        .iter()
        .any(|f| has(f))
    {
        Some(StandardComponent::Make)
    } else {
        None
    }
}

/// `(name, version)` from a directory or file name: `hello-2.10`,
/// `hello-2.10.tar.gz`, `hello_2.10.orig.tar.gz`, `cJSON-1.7.15` (the name is
/// lowercased and kept to the characters a port name allows).
pub fn guess(file: &str) -> Option<(String, String)> {
    let mut stem = file;
    for ext in [
        ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".tar", ".zip",
    ] {
        if let Some(s) = stem.strip_suffix(ext) {
            stem = s;
            break;
        }
    }
    let (name, version) = if let Some(s) = stem.strip_suffix(".orig") {
        s.split_once('_')?
    } else {
        // The last `-` followed by a digit (or `v` and a digit).
        let at = stem.char_indices().rev().find_map(|(i, c)| {
            let rest = &stem[i + 1..];
            let rest = rest.strip_prefix('v').unwrap_or(rest);
            (c == '-' && rest.starts_with(|d: char| d.is_ascii_digit())).then_some(i)
        })?;
        (&stem[..at], &stem[at + 1..])
    };
    let version = version.strip_prefix('v').unwrap_or(version);
    let name: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if name.is_empty()
        || version.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((name, version.to_owned()))
}

struct PortfileFields<'a> {
    name: &'a str,
    version: &'a str,
    homepage: &'a str,
    maintainer: Option<&'a str>,
    url: &'a str,
    file: Option<&'a str>,
    sha256: &'a str,
    size: u64,
    standard: StandardComponent,
    top: &'a str,
    local_only: bool,
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn portfile_text(f: &PortfileFields<'_>) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Written by `wport new` from {}/, built with the standard `{}` component.\n\
         # Fill in every FIXME, then `wport lint` and `wport build` this directory.\n",
        f.top, f.standard
    );
    t.push_str("[port]\n");
    let _ = writeln!(t, "name = {}", quoted(f.name));
    let _ = writeln!(t, "version = {}", quoted(f.version));
    let _ = writeln!(
        t,
        "description = {}",
        quoted(&format!("FIXME: one line saying what {} does", f.name))
    );
    let _ = writeln!(
        t,
        "homepage = {}  # FIXME: the project's home page",
        quoted(f.homepage)
    );
    t.push_str("license = \"FIXME\"  # an SPDX expression, e.g. \"GPL-3.0-or-later\"\n");
    match f.maintainer {
        Some(m) => {
            let _ = writeln!(t, "maintainers = [{}]", quoted(m));
        }
        None => t.push_str("maintainers = [\"FIXME <fixme@example.invalid>\"]\n"),
    }
    t.push_str(
        "upstream-contact = \"FIXME\"  # who to ask when a tarball changes under its pin\n\n",
    );
    t.push_str("[[source]]\n");
    let _ = write!(t, "url = {}", quoted(f.url));
    if f.local_only {
        t.push_str("  # FIXME: the upstream URL (this one only works on this machine)");
    }
    t.push('\n');
    if let Some(file) = f.file {
        let _ = writeln!(t, "file = {}", quoted(file));
    }
    let _ = writeln!(t, "sha256 = {}", quoted(f.sha256));
    let _ = writeln!(t, "size = {}\n", f.size);
    t.push_str("[build]\n");
    let _ = writeln!(t, "standard = {}\n", quoted(f.standard.as_str()));
    let (configure, build, destroot): (&[&str], &[&str], &[&str]) = match f.standard {
        StandardComponent::Autotools => (&["./configure"], &["make"], &["make"]),
        StandardComponent::Make => (&[], &["make"], &["make"]),
        StandardComponent::CMake => (&["cmake"], &["cmake"], &["cmake"]),
        StandardComponent::Meson => (&["meson"], &["ninja"], &["meson"]),
    };
    for (phase, programs) in [
        ("configure", configure),
        ("build", build),
        ("destroot", destroot),
    ] {
        if programs.is_empty() {
            continue;
        }
        let list = programs
            .iter()
            .map(|p| quoted(p))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(t, "[capabilities.{phase}]\nprograms = [{list}]\n");
    }
    while t.ends_with("\n\n") {
        t.pop();
    }
    t
}

/// A private directory to extract into, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("wport-new-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir)
            .with_context(|| format!("creating the scratch directory {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_name_and_version() {
        let g = |s: &str| guess(s).map(|(n, v)| format!("{n} {v}"));
        assert_eq!(g("hello-2.10.tar.gz").as_deref(), Some("hello 2.10"));
        assert_eq!(g("hello_2.10.orig.tar.gz").as_deref(), Some("hello 2.10"));
        assert_eq!(g("cJSON-1.7.15").as_deref(), Some("cjson 1.7.15"));
        assert_eq!(
            g("xz-utils-5.4.1.tar.xz").as_deref(),
            Some("xz-utils 5.4.1")
        );
        assert_eq!(g("foo-v1.2.zip").as_deref(), Some("foo 1.2"));
        assert_eq!(
            g("libpng1.6_1.6.39.orig.tar.gz").as_deref(),
            Some("libpng1.6 1.6.39")
        );
        assert_eq!(g("v1.7.15.tar.gz"), None);
        assert_eq!(g("README"), None);
    }

    #[test]
    fn quoted_escapes() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("x\ny"), r#""x\u000Ay""#);
    }
}
