//! Names that become file names or URLs: role names, target paths, and the
//! glob patterns of delegations.

use sha2::{Digest, Sha256};
use wport_types::PathRules;

use crate::error::{Result, TrustError};

const TOP_LEVEL: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

/// Percent-encodes every byte outside `[A-Za-z0-9._~-]` (the unreserved
/// characters of RFC 3986, as Python's `quote(name, safe="")` does), so a role or target
/// name becomes exactly one path segment of a URL or a file name: `/`
/// cannot traverse, `?` and `#` cannot start a query or fragment, `%`
/// cannot smuggle an encoding.
pub fn encode_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a delegated role name and returns its metadata file's base name
/// (`<encoded name>.json`). The top-level role names are refused (a
/// delegated role called `snapshot` would otherwise be stored over the
/// trusted snapshot), as are empty names and names with control
/// characters. Everything else is encoded with [`encode_segment`], so
/// `../root`, `a/b`, `x?y` and `x#y` stay one harmless file name.
pub fn delegated_role_file(name: &str) -> Result<String> {
    if name.is_empty() || TOP_LEVEL.contains(&name) || name.chars().any(char::is_control) {
        return Err(TrustError::UnsafeRoleName {
            name: name.to_string(),
        });
    }
    let encoded = encode_segment(name);
    if encoded == "." || encoded == ".." {
        // Not reachable for a ".json" suffix, but stay defensive.
        return Err(TrustError::UnsafeRoleName {
            name: name.to_string(),
        });
    }
    Ok(format!("{encoded}.json"))
}

/// Checks a target path before it is used as a relative path on disk or in
/// a URL: `/`-separated, no empty, `.` or `..` component, no leading `/`,
/// no backslash, NUL or control characters.
pub fn check_target_path(path: &str) -> Result<()> {
    if is_safe_target_path(path) {
        Ok(())
    } else {
        Err(TrustError::UnsafeTargetPath {
            path: path.to_string(),
        })
    }
}

/// [`check_target_path`] as one pass over the bytes, without allocating
/// (every listed target goes through it on each refresh: 60,000 in the
/// refresh benchmark): the shared relative-path rules for TUF targets,
/// [`PathRules::TARGET`]. Control characters are Unicode's `Cc`: C0, DEL
/// and C1 (U+0080..=U+009F, in UTF-8 `C2 80`..=`C2 9F`).
fn is_safe_target_path(path: &str) -> bool {
    PathRules::TARGET.check(path.as_bytes()).is_ok()
}

/// A target path as a URL path: each component percent-encoded.
pub fn url_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// TUF `paths` matching: a shell glob per `/`-separated component (`*` any
/// run of characters, `?` one character, neither matching `/`), and the
/// pattern and path must have the same number of components (spec 1.0.20+:
/// "glob-like").
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let mut pc = pattern.split('/');
    let mut tc = path.split('/');
    loop {
        match (pc.next(), tc.next()) {
            (None, None) => return true,
            (Some(p), Some(t)) => {
                if !component_match(p.as_bytes(), t.as_bytes()) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn component_match(p: &[u8], t: &[u8]) -> bool {
    // Iterative wildcard matching with single backtrack point: linear in
    // practice, no recursion to exhaust.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) && p[pi] != b'*' {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether a delegation (its `paths` or `path_hash_prefixes`) covers `path`.
pub fn delegation_matches(
    paths: Option<&[String]>,
    prefixes: Option<&[String]>,
    path: &str,
) -> bool {
    if let Some(paths) = paths {
        return paths.iter().any(|p| glob_match(p, path));
    }
    if let Some(prefixes) = prefixes {
        let digest = hex::encode(Sha256::digest(path.as_bytes()));
        return prefixes.iter().any(|p| digest.starts_with(p.as_str()));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_do_not_cross_slashes() {
        assert!(glob_match("ports/zlib/*", "ports/zlib/Portfile.toml"));
        assert!(!glob_match("ports/zlib/*", "ports/zlib/files/patch-a.diff"));
        assert!(glob_match(
            "ports/zlib/*/*",
            "ports/zlib/files/patch-a.diff"
        ));
        assert!(!glob_match("ports/*", "ports/zlib/Portfile.toml"));
        assert!(!glob_match("*.tgz", "targets/foo.tgz"));
        assert!(glob_match("targets/*.tgz", "targets/foo.tgz"));
        assert!(glob_match("foo-version-?.tgz", "foo-version-2.tgz"));
        assert!(!glob_match("foo-version-?.tgz", "foo-version-alpha.tgz"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn role_names_become_one_harmless_file_name() {
        assert_eq!(delegated_role_file("alice").unwrap(), "alice.json");
        assert_eq!(delegated_role_file("../root").unwrap(), "..%2Froot.json");
        assert_eq!(delegated_role_file("a/b").unwrap(), "a%2Fb.json");
        assert_eq!(delegated_role_file("x?y#z").unwrap(), "x%3Fy%23z.json");
        for bad in ["", "targets", "snapshot", "root", "timestamp", "a\nb"] {
            assert!(
                matches!(
                    delegated_role_file(bad),
                    Err(TrustError::UnsafeRoleName { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn target_path_check_agrees_with_its_definition() {
        // The definition the one-pass check implements.
        fn reference(path: &str) -> bool {
            !(path.is_empty()
                || path.starts_with('/')
                || path.contains('\\')
                || path.chars().any(char::is_control)
                || path
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == ".."))
        }
        let parts = [
            "a", "b.c", ".", "..", "...", "", "/", "\\", "\u{0}", "\u{1f}", "\u{7f}", "\u{80}",
            "\u{9f}", "\u{a0}", "\u{c2}", "é", "\u{2028}", " ", ".a", "a.",
        ];
        let mut checked = 0;
        for x in parts {
            for y in parts {
                for z in ["", "/", "//", "a/", "/a"] {
                    for path in [
                        format!("{x}{z}{y}"),
                        format!("{x}/{y}{z}"),
                        format!("{z}{x}/{y}"),
                    ] {
                        assert_eq!(is_safe_target_path(&path), reference(&path), "{path:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 20 * 20 * 5 * 3);
    }

    #[test]
    fn target_paths_cannot_escape() {
        check_target_path("ports/zlib/Portfile.toml").unwrap();
        for bad in [
            "",
            "/etc/passwd",
            "ports/../../x",
            "ports//x",
            "./x",
            "ports/x/",
            "a\\b",
            "a\0b",
        ] {
            assert!(
                matches!(
                    check_target_path(bad),
                    Err(TrustError::UnsafeTargetPath { .. })
                ),
                "{bad:?}"
            );
        }
    }
}

/// A role's delegations compiled for fast lookup: patterns made of literal
/// components followed only by `*` components (`ports/zlib/*`,
/// `ports/zlib/*/*`: what wport writes) are indexed by (depth, literal
/// prefix); any other pattern, and hash-prefix delegations, are matched one
/// by one. [`DelegationIndex::matching`] returns exactly the delegations
/// [`delegation_matches`] accepts, in their order.
#[derive(Debug, Default)]
pub struct DelegationIndex {
    simple: std::collections::HashMap<usize, std::collections::HashMap<String, Vec<usize>>>,
    complex: Vec<usize>,
}

fn has_wildcard(c: &str) -> bool {
    c.contains(['*', '?'])
}

impl DelegationIndex {
    /// Compiles `roles` (a `delegations.roles` list).
    pub fn new(roles: &[crate::metadata::DelegatedRole]) -> Self {
        let mut index = DelegationIndex::default();
        for (i, role) in roles.iter().enumerate() {
            let mut complex = role.paths.is_none();
            for pattern in role.paths.iter().flatten() {
                let comps: Vec<&str> = pattern.split('/').collect();
                let k = comps
                    .iter()
                    .position(|c| has_wildcard(c))
                    .unwrap_or(comps.len());
                if k < comps.len() && comps[k..].iter().all(|c| *c == "*") {
                    let prefix = comps[..k].join("/");
                    let list = index
                        .simple
                        .entry(comps.len())
                        .or_default()
                        .entry(prefix)
                        .or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                } else {
                    complex = true;
                }
            }
            if complex {
                index.complex.push(i);
            }
        }
        index
    }

    /// Indices of the delegations in `roles` whose paths cover `path`, in
    /// order. `path` must have passed [`check_target_path`] (no empty
    /// components, which a `*` would match).
    pub fn matching(&self, roles: &[crate::metadata::DelegatedRole], path: &str) -> Vec<usize> {
        let mut out = Vec::new();
        let depth = path.split('/').count();
        if let Some(by_prefix) = self.simple.get(&depth) {
            // Prefixes of 0..depth-1 leading components.
            let mut ends = vec![0usize];
            ends.extend(path.match_indices('/').map(|(i, _)| i));
            for (k, end) in ends.into_iter().enumerate() {
                if k >= depth {
                    break;
                }
                if let Some(list) = by_prefix.get(&path[..end]) {
                    out.extend_from_slice(list);
                }
            }
        }
        for &i in &self.complex {
            let r = &roles[i];
            if delegation_matches(r.paths.as_deref(), r.path_hash_prefixes.as_deref(), path) {
                out.push(i);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;
    use crate::metadata::DelegatedRole;

    fn role(paths: &[&str]) -> DelegatedRole {
        DelegatedRole {
            name: "r".into(),
            keyids: vec![],
            threshold: 1,
            terminating: false,
            paths: Some(paths.iter().map(|s| s.to_string()).collect()),
            path_hash_prefixes: None,
        }
    }

    #[test]
    fn index_agrees_with_glob_matching() {
        let roles = vec![
            role(&["ports/zlib/*", "ports/zlib/*/*"]),
            role(&["ports/*/*"]),
            role(&["ports/z*/Portfile.toml"]),
            role(&["*"]),
            role(&["ports/zlib/files/fix.diff"]),
            role(&["*/*/*"]),
        ];
        let index = DelegationIndex::new(&roles);
        for path in [
            "ports/zlib/Portfile.toml",
            "ports/zlib/files/fix.diff",
            "ports/zlibx/Portfile.toml",
            "top",
            "ports/lua/src/lib.rs",
            "a/b",
            "ports/zlib",
        ] {
            let expected: Vec<usize> = (0..roles.len())
                .filter(|&i| delegation_matches(roles[i].paths.as_deref(), None, path))
                .collect();
            assert_eq!(index.matching(&roles, path), expected, "{path}");
        }
    }
}
