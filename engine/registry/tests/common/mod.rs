//! Shared fixtures: keys, trees, packages, prefixes.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wport_registry::manifest::Provenance;
use wport_registry::{Manifest, PackageMeta, create_package};
use wport_trust::{PublicKey, SecretKey};

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub key: SecretKey,
    pub trusted: Vec<PublicKey>,
    pub prefix: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let key = SecretKey::from_seed(&[7; 32]).unwrap();
        let trusted = vec![key.public().clone()];
        let prefix = tmp.path().canonicalize().unwrap().join("prefix");
        Fixture {
            tmp,
            key,
            trusted,
            prefix,
        }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    /// A package of `files` (path, contents, executable) and `links`
    /// (path, target), built for this fixture's prefix.
    pub fn package(
        &self,
        name: &str,
        deps: &[&str],
        files: &[(&str, &str, bool)],
        links: &[(&str, &str)],
    ) -> (PathBuf, Manifest) {
        let tree = self.path(&format!("trees/{name}"));
        let _ = std::fs::remove_dir_all(&tree);
        std::fs::create_dir_all(&tree).unwrap();
        for (p, c, x) in files {
            let f = tree.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(&f, c).unwrap();
            std::fs::set_permissions(
                &f,
                std::fs::Permissions::from_mode(if *x { 0o775 } else { 0o664 }),
            )
            .unwrap();
        }
        for (p, t) in links {
            let f = tree.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(t, &f).unwrap();
        }
        let out_dir = self.path("packages");
        std::fs::create_dir_all(&out_dir).unwrap();
        let out = out_dir.join(format!("{name}-1.0_0.wpkg"));
        let meta = PackageMeta {
            name: name.into(),
            version: "1.0".into(),
            revision: 0,
            prefix: self.prefix.to_string_lossy().into_owned(),
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            source_date_epoch: 1_700_000_000,
            provenance: Provenance::default(),
        };
        let m = create_package(&tree, &meta, &self.key, &out).unwrap();
        (out, m)
    }
}

/// Every path below `root` (relative), excluding wport's own state.
pub fn tree_listing(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel == ".wport" || rel == "var" || rel.starts_with("var/") {
                continue;
            }
            out.push(rel);
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
