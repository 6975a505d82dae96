//! Checks on the ports in `ports/` that need no distfile: every Portfile is
//! valid and its patchfiles and component match their pins, and the
//! committed components of ports with custom logic are what their crates
//! build to (guest builds are reproducible), so a reviewer can trust the
//! crate instead of the binary.

mod common;

use common::{repo, sha256_hex};

#[test]
fn every_portfile_is_valid_and_its_files_match_their_pins() {
    let ports = repo().join("ports");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&ports).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("Portfile.toml");
        if !file.is_file() {
            continue;
        }
        let portfile = wport_manifest::Portfile::load(&file).unwrap_or_else(|e| panic!("{e}"));
        for patch in &portfile.patchfiles {
            let bytes = std::fs::read(dir.join("files").join(&patch.file)).unwrap();
            assert_eq!(
                sha256_hex(&bytes),
                patch.sha256.to_string(),
                "{}: {}",
                file.display(),
                patch.file
            );
        }
        if let wport_manifest::BuildKind::Component { path, sha256 } = &portfile.build.kind {
            let bytes = std::fs::read(dir.join(path)).unwrap();
            assert_eq!(
                sha256_hex(&bytes),
                sha256.to_string(),
                "{}: {}",
                file.display(),
                path
            );
        }
        seen.push(portfile.port.name.clone());
    }
    seen.sort();
    for name in [
        "bzip2", "demo", "gzip", "hello", "libpng", "lua", "ncurses", "readline", "tree", "xz",
        "zlib",
    ] {
        assert!(
            seen.iter().any(|s| s == name),
            "ports/{name} missing: {seen:?}"
        );
    }
}

#[test]
fn committed_lua_component_is_reproducible_from_source() {
    let dir = repo().join("ports/lua");
    let rebuilt = wport_guest_build::build_lib("wport-port-lua", &dir);
    let committed = std::fs::read(dir.join("port.wasm")).unwrap();
    assert_eq!(
        sha256_hex(&std::fs::read(&rebuilt).unwrap()),
        sha256_hex(&committed),
        "ports/lua/port.wasm is stale: run scripts/build-port-component ports/lua and re-pin"
    );
    let portfile = std::fs::read_to_string(dir.join("Portfile.toml")).unwrap();
    assert!(portfile.contains(&format!(
        "component-sha256 = \"{}\"",
        sha256_hex(&committed)
    )));
}

/// One line of the table in `scripts/fetch-real-sources`.
struct RealSource {
    port: String,
    /// `zlib=1:1.2.13.dfsg-1`: the source package and the exact version.
    spec: String,
    /// The `.orig` tarball the script stores.
    orig: String,
    sha256: String,
    size: u64,
    origin: Origin,
}

/// Whose bytes a real port's pinned tarball is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Upstream's own tarball, byte for byte: the Portfile's URLs are
    /// upstream's.
    Upstream,
    /// The distribution's repack, which upstream never served: the
    /// Portfile's URLs are the distribution's pool.
    Debian,
}

impl RealSource {
    /// `zlib` of `zlib=1:1.2.13.dfsg-1`.
    fn package(&self) -> &str {
        self.spec.split_once('=').map_or(&self.spec, |(p, _)| p)
    }
}

fn real_sources_table() -> Vec<RealSource> {
    let script = std::fs::read_to_string(repo().join("scripts/fetch-real-sources")).unwrap();
    let table = script
        .split_once("LIST=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(table, _)| table)
        .expect("scripts/fetch-real-sources has a LIST=\"...\" table");
    table
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [port, spec, orig, sha256, size, origin] = fields[..] else {
                panic!(
                    "malformed table line {line:?}: want PORT PKG=VERSION ORIG SHA256 SIZE ORIGIN"
                );
            };
            RealSource {
                port: port.into(),
                spec: spec.into(),
                orig: orig.into(),
                sha256: sha256.into(),
                size: size
                    .parse()
                    .unwrap_or_else(|e| panic!("{port}: size {size:?}: {e}")),
                origin: match origin {
                    "upstream" => Origin::Upstream,
                    "debian" => Origin::Debian,
                    other => panic!("{port}: origin {other:?} is neither `upstream` nor `debian`"),
                },
            }
        })
        .collect()
}

/// The Portfile of a table row and its source with the row's pin.
fn pinned_source(row: &RealSource) -> wport_manifest::Source {
    let path = repo().join("ports").join(&row.port).join("Portfile.toml");
    let portfile =
        wport_manifest::Portfile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", row.port));
    portfile
        .sources
        .into_iter()
        .find(|s| s.sha256.to_string() == row.sha256 && s.size == row.size)
        .unwrap_or_else(|| {
            panic!(
                "{}: pins no source with sha256 {} and size {} (scripts/fetch-real-sources)",
                path.display(),
                row.sha256,
                row.size
            )
        })
}

/// `scripts/fetch-real-sources` asks for each real port's tarball by the
/// exact source-package version that carries it and checks it against a
/// sha256 and size of its own table: that table must say what the Portfiles
/// pin, or the tests would be fed a tarball no port accepts.
#[test]
fn fetch_real_sources_table_matches_the_portfiles() {
    let mut ports = Vec::new();
    for row in real_sources_table() {
        let version = row.spec.split_once('=').map_or("", |(_, v)| v);
        let upstream = version.split_once(':').map_or(version, |(_, v)| v);
        let upstream = upstream.rsplit_once('-').map_or(upstream, |(v, _)| v);
        assert_eq!(
            row.orig.split_once(".orig.").map(|(stem, _)| stem),
            Some(format!("{}_{upstream}", row.package()).as_str()),
            "{}: {} is not the .orig tarball of {}",
            row.port,
            row.orig,
            row.spec
        );
        pinned_source(&row);
        ports.push(row.port);
    }
    ports.sort();
    assert_eq!(
        ports,
        [
            "bzip2", "cjson", "gzip", "hello", "libpng", "lua", "ncurses", "readline", "serd",
            "tree", "xz", "zlib"
        ],
        "every real port has its tarball in the table"
    );
}

/// `(host, path)` of an `https://` or `http://` URL.
fn split_url(url: &str) -> (&str, &str) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("{url}: a real port's source is an https:// or http:// URL"));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    rest.split_once('/')
        .unwrap_or_else(|| panic!("{url}: no path"))
}

/// Hosts of the Debian archive and its snapshot service.
fn is_debian_host(host: &str) -> bool {
    host == "debian.org" || host.ends_with(".debian.org") || host.ends_with(".debian.net")
}

/// Every URL of a real port must serve the bytes it pins, or a user with
/// network gets a quarantine instead of a build (ports/zlib once named
/// upstream's zlib-1.2.13.tar.gz while pinning Debian's repack, renamed with
/// `file`). From its table row in `scripts/fetch-real-sources`:
/// - an `upstream` pin's URL and mirrors are not the distribution's, and
///   name the file the port stores (`file`, if any, does not rename what the
///   URL serves) with the port's version in it;
/// - a `debian` pin's URL and mirrors are Debian archive URLs in the source
///   package's pool directory, ending in the `.orig` file name.
#[test]
fn real_port_urls_serve_what_they_pin() {
    let mut problems = Vec::new();
    for row in real_sources_table() {
        let source = pinned_source(&row);
        let portfile = wport_manifest::Portfile::load(
            &repo().join("ports").join(&row.port).join("Portfile.toml"),
        )
        .unwrap();
        let version = &portfile.port.version;
        let package = row.package();
        let pool = format!(
            "pool/main/{}/{package}/",
            if package.starts_with("lib") {
                &package[..4]
            } else {
                &package[..1]
            }
        );
        for url in std::iter::once(&source.url).chain(&source.mirrors) {
            let (host, path) = split_url(url);
            let segment = path.rsplit('/').next().unwrap_or_default();
            let mut problem =
                |what: String| problems.push(format!("ports/{}: {url}: {what}", row.port));
            match row.origin {
                Origin::Upstream => {
                    if is_debian_host(host) || segment.contains(".orig.") {
                        problem(
                            "the pin is upstream's tarball, but this is the distribution's".into(),
                        );
                    }
                    if segment != source.distfile_name() {
                        problem(format!(
                            "serves {segment}, but the port stores {} (`file` must not rename another tarball)",
                            source.distfile_name()
                        ));
                    }
                    if !segment.contains(version.as_str()) {
                        problem(format!("{segment} does not name version {version}"));
                    }
                }
                Origin::Debian => {
                    if !is_debian_host(host) || !path.contains(&pool) {
                        problem(format!(
                            "the pin is the distribution's repack {}, which only its archive serves (…/{pool}{})",
                            row.orig, row.orig
                        ));
                    }
                    if segment != row.orig || source.distfile_name() != row.orig {
                        problem(format!(
                            "must name and store {} (it names {segment}, stores {})",
                            row.orig,
                            source.distfile_name()
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
