//! The registry: a SQLite database (WAL) of installed packages, their files,
//! links and directories, and their dependencies. Every operation is one
//! transaction.
//!
//! A registry carries an id (table `meta`) that the prefix records in
//! `.wport/registry.id`, so a registry that was lost, emptied or swapped is
//! told apart from a new prefix (see `prefix.rs`). Opening for a mutation
//! runs SQLite's `quick_check` first; read-only commands open the database
//! with `SQLITE_OPEN_READ_ONLY` (and `immutable=1` when its directory cannot
//! be written, so a read-only prefix can still be queried).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::manifest::Manifest;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS packages(
  name TEXT PRIMARY KEY, version TEXT NOT NULL, revision INTEGER NOT NULL,
  txn TEXT NOT NULL, manifest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deps(package TEXT NOT NULL, dep TEXT NOT NULL, PRIMARY KEY(package, dep));
CREATE INDEX IF NOT EXISTS deps_dep ON deps(dep);
-- kind: 'f' file, 'l' symlink
CREATE TABLE IF NOT EXISTS files(
  path TEXT PRIMARY KEY, package TEXT NOT NULL, kind TEXT NOT NULL,
  sha256 TEXT, mode INTEGER, size INTEGER, target TEXT);
CREATE INDEX IF NOT EXISTS files_package ON files(package);
-- a directory is recorded for every package that created it or shares it
-- with a package that did; it is removed when its last package goes.
CREATE TABLE IF NOT EXISTS dirs(path TEXT NOT NULL, package TEXT NOT NULL, PRIMARY KEY(path, package));
CREATE INDEX IF NOT EXISTS dirs_package ON dirs(package);
-- key 'id': the registry's id, also recorded in the prefix's .wport/registry.id
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- the provenance attestation (DSSE envelope) a package was installed with,
-- when it carried one
CREATE TABLE IF NOT EXISTS attestations(package TEXT PRIMARY KEY, envelope BLOB NOT NULL);
";

/// How many `quick_check` messages are kept in an error.
const CHECK_ROWS: usize = 5;

/// Maps a SQLite error: a corrupt file or one that is not a database is
/// [`RegistryError::RegistryCorrupt`], everything else [`RegistryError::Db`].
pub(crate) fn db_error(path: &Path, source: rusqlite::Error) -> RegistryError {
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
            RegistryError::RegistryCorrupt {
                path: path.to_path_buf(),
                detail: source.to_string(),
            }
        }
        _ => RegistryError::Db {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// A `file:` URI for `path` (percent-encoding all but unreserved bytes).
fn file_uri(path: &Path, query: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut s = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.push('?');
    s.push_str(query);
    s
}

/// One recorded file or link. (Serialisable: an upgrade's journal carries
/// the record of each old entry it removes after the commit, which the
/// registry no longer holds then.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Recorded {
    File {
        sha256: String,
        mode: u32,
        size: u64,
    },
    Link {
        target: String,
    },
}

/// An installed package as the registry records it. The signed manifest it
/// was installed from is kept whole: `manifest.provenance` holds the
/// Portfile's and the component's sha256 and every source's digest (what
/// `wport outdated` compares with the synced tree), `manifest.dependencies`
/// what it needs.
#[derive(Clone, Debug)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    pub revision: u32,
    /// The transaction that installed (or last upgraded) it.
    pub txn: String,
    pub manifest: Manifest,
}

impl InstalledPackage {
    /// `name-version_revision`.
    pub fn label(&self) -> String {
        format!("{}-{}_{}", self.name, self.version, self.revision)
    }

    /// Where the installed build came from: Portfile and component sha256,
    /// the sources' digests, the mediated calls' digest.
    pub fn provenance(&self) -> &crate::manifest::Provenance {
        &self.manifest.provenance
    }
}

pub struct Registry {
    conn: Connection,
    path: PathBuf,
}

impl Registry {
    /// Opens (creating it if absent) the registry read-write. With `check`,
    /// SQLite's `quick_check` runs before anything is written, and any
    /// finding is [`RegistryError::RegistryCorrupt`].
    pub fn open(path: &Path, check: bool) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(crate::error::io("creating the registry directory", parent))?;
        }
        let db = |source| db_error(path, source);
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        let r = Registry {
            conn,
            path: path.to_path_buf(),
        };
        if check {
            r.quick_check()?;
        }
        r.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        r.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        r.conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(r)
    }

    /// Opens an existing registry read-only (`SQLITE_OPEN_READ_ONLY`).
    /// `immutable` (for a registry whose directory cannot be written, where
    /// SQLite could not create the WAL index) tells SQLite the file cannot
    /// change while it is open: the caller holds the prefix's lock shared,
    /// or the file system is read-only.
    pub fn open_read_only(path: &Path, immutable: bool, check: bool) -> Result<Self> {
        let db = |source| db_error(path, source);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let uri = file_uri(path, if immutable { "immutable=1" } else { "mode=ro" });
        let conn = Connection::open_with_flags(&uri, flags).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        let r = Registry {
            conn,
            path: path.to_path_buf(),
        };
        if check {
            r.quick_check()?;
        }
        let has_schema: bool = r
            .conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'packages')",
                [],
                |row| row.get(0),
            )
            .map_err(db)?;
        if !has_schema {
            return Err(RegistryError::RegistryCorrupt {
                path: path.to_path_buf(),
                detail: "it holds no wport registry tables".into(),
            });
        }
        Ok(r)
    }

    /// An empty registry in memory: what a prefix nothing was ever
    /// installed in holds, for read-only commands (which create nothing).
    pub fn empty(path: &Path) -> Result<Self> {
        let db = |source| db_error(path, source);
        let conn = Connection::open_in_memory().map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Registry {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's `PRAGMA quick_check` (every page and index entry is
    /// well-formed; O(size), no full index cross-check).
    pub fn quick_check(&self) -> Result<()> {
        let db = |source| db_error(&self.path, source);
        let mut st = self.conn.prepare("PRAGMA quick_check").map_err(db)?;
        let mut rows = st.query([]).map_err(db)?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let msg: String = row.get(0).map_err(db)?;
            if msg != "ok" && found.len() < CHECK_ROWS {
                found.push(msg);
            }
        }
        if found.is_empty() {
            Ok(())
        } else {
            Err(RegistryError::RegistryCorrupt {
                path: self.path.clone(),
                detail: format!("quick_check: {}", found.join("; ")),
            })
        }
    }

    /// The registry's id, if it has one (registries created before ids
    /// existed have none until opened for a mutation).
    pub fn id(&self) -> Result<Option<String>> {
        let db = |source| db_error(&self.path, source);
        let has_meta: bool = self
            .conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
                [],
                |row| row.get(0),
            )
            .map_err(db)?;
        if !has_meta {
            return Ok(None);
        }
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'id'", [], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    pub fn set_id(&self, id: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('id', ?1)",
                [id],
            )
            .map(|_| ())
            .map_err(|source| db_error(&self.path, source))
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> RegistryError + '_ {
        move |source| db_error(&self.path, source)
    }

    /// The provenance attestation an installed package carried (`None`:
    /// it carried none, or the registry predates them).
    pub fn attestation(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let has_table: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'attestations'",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        if !has_table {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT envelope FROM attestations WHERE package = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    pub fn package(&self, name: &str) -> Result<Option<InstalledPackage>> {
        let row = self
            .conn
            .query_row(
                "SELECT name, version, revision, txn, manifest FROM packages WHERE name = ?1",
                [name],
                package_row,
            )
            .optional()
            .map_err(self.err())?;
        row.map(installed_package).transpose()
    }

    /// Every installed package with its manifest (version, revision,
    /// provenance, dependencies), by name.
    pub fn installed(&self) -> Result<Vec<InstalledPackage>> {
        let mut st = self
            .conn
            .prepare("SELECT name, version, revision, txn, manifest FROM packages ORDER BY name")
            .map_err(self.err())?;
        let rows = st.query_map([], package_row).map_err(self.err())?;
        let rows: Vec<_> = rows
            .collect::<std::result::Result<_, _>>()
            .map_err(self.err())?;
        rows.into_iter().map(installed_package).collect()
    }

    pub fn packages(&self) -> Result<Vec<(String, String, u32)>> {
        let mut st = self
            .conn
            .prepare("SELECT name, version, revision FROM packages ORDER BY name")
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// The package owning a file or link path.
    pub fn owner(&self, path: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT package FROM files WHERE path = ?1", [path], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err())
    }

    /// Packages that recorded a directory.
    pub fn dir_owners(&self, path: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT package FROM dirs WHERE path = ?1 ORDER BY package")
            .map_err(self.err())?;
        let rows = st.query_map([path], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    pub fn files_of(&self, package: &str) -> Result<Vec<(String, Recorded)>> {
        let mut st = self.conn.prepare("SELECT path, kind, sha256, mode, size, target FROM files WHERE package = ?1 ORDER BY path").map_err(self.err())?;
        let rows = st
            .query_map([package], |r| {
                let path: String = r.get(0)?;
                let kind: String = r.get(1)?;
                Ok((
                    path,
                    if kind == "l" {
                        Recorded::Link { target: r.get(5)? }
                    } else {
                        Recorded::File {
                            sha256: r.get(2)?,
                            mode: r.get(3)?,
                            size: r.get(4)?,
                        }
                    },
                ))
            })
            .map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    pub fn dirs_of(&self, package: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT path FROM dirs WHERE package = ?1 ORDER BY path")
            .map_err(self.err())?;
        let rows = st.query_map([package], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// Directories recorded by `package` and by no other package.
    pub fn sole_dirs_of(&self, package: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT path FROM dirs d WHERE package = ?1 AND NOT EXISTS (SELECT 1 FROM dirs o WHERE o.path = d.path AND o.package <> ?1) ORDER BY path")
            .map_err(self.err())?;
        let rows = st.query_map([package], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// Whether any package recorded `path` as a file, link or directory.
    pub fn is_recorded(&self, path: &str) -> Result<bool> {
        let mut st = self
            .conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM files WHERE path = ?1) OR EXISTS(SELECT 1 FROM dirs WHERE path = ?1)")
            .map_err(self.err())?;
        st.query_row([path], |r| r.get(0)).map_err(self.err())
    }

    /// The packages that depend on `package` (table `deps`).
    pub fn dependents(&self, package: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT package FROM deps WHERE dep = ?1 ORDER BY package")
            .map_err(self.err())?;
        let rows = st.query_map([package], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// The transaction that installed `package` (`None`: not installed).
    /// Cheap: no manifest is parsed (the build view asks per dependency).
    pub fn txn_of(&self, package: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT txn FROM packages WHERE name = ?1")
            .and_then(|mut st| st.query_row([package], |r| r.get(0)).optional())
            .map_err(self.err())
    }

    /// The recorded dependencies of `package` (its lib and run
    /// dependencies, as its manifest lists them), sorted.
    pub fn deps_of(&self, package: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT dep FROM deps WHERE package = ?1 ORDER BY dep")
            .map_err(self.err())?;
        let rows = st.query_map([package], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// Every installed package with the transaction that installed it.
    pub fn installed_txns(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT name, txn FROM packages ORDER BY name")
            .map_err(self.err())?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(self.err())
    }

    /// Records an installed package and everything it owns: one transaction,
    /// the install's commit point.
    /// `attestation`: the provenance attestation the package carried.
    pub fn record_install(
        &mut self,
        m: &Manifest,
        attestation: Option<&[u8]>,
        txn: &str,
        dirs: &[String],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |source| db_error(&path, source);
        let tx = self.conn.transaction().map_err(e)?;
        insert_package(&tx, m, attestation, txn, dirs).map_err(e)?;
        tx.commit().map_err(e)
    }

    /// Replaces the record of an installed package by a new version's: one
    /// transaction, the upgrade's commit point. The old version's files,
    /// links, directories and own dependencies are forgotten and the new
    /// one's recorded; the rows of packages that depend on it (`deps` where
    /// it is the dependency) are kept.
    pub fn record_upgrade(
        &mut self,
        m: &Manifest,
        attestation: Option<&[u8]>,
        txn: &str,
        dirs: &[String],
    ) -> Result<()> {
        let path = self.path.clone();
        let e = |source| db_error(&path, source);
        let tx = self.conn.transaction().map_err(e)?;
        forget_package(&tx, &m.name).map_err(e)?;
        insert_package(&tx, m, attestation, txn, dirs).map_err(e)?;
        tx.commit().map_err(e)
    }

    /// Forgets a package: one transaction, the uninstall's commit point.
    pub fn record_uninstall(&mut self, name: &str) -> Result<()> {
        let path = self.path.clone();
        let e = |source| db_error(&path, source);
        let tx = self.conn.transaction().map_err(e)?;
        forget_package(&tx, name).map_err(e)?;
        tx.commit().map_err(e)
    }
}

type PackageRow = (String, String, u32, String, String);

fn package_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PackageRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn installed_package((name, version, revision, txn, m): PackageRow) -> Result<InstalledPackage> {
    let manifest = serde_json::from_str(&m)
        .map_err(|e| RegistryError::Other(format!("registry manifest of {name}: {e}")))?;
    Ok(InstalledPackage {
        name,
        version,
        revision,
        txn,
        manifest,
    })
}

/// Deletes a package's own rows (not the rows of packages depending on it).
fn forget_package(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<()> {
    for sql in [
        "DELETE FROM files WHERE package = ?1",
        "DELETE FROM dirs WHERE package = ?1",
        "DELETE FROM deps WHERE package = ?1",
        "DELETE FROM packages WHERE name = ?1",
        "DELETE FROM attestations WHERE package = ?1",
    ] {
        tx.execute(sql, [name])?;
    }
    Ok(())
}

/// Inserts a package, its dependencies, files, links and directories.
fn insert_package(
    tx: &Transaction<'_>,
    m: &Manifest,
    attestation: Option<&[u8]>,
    txn: &str,
    dirs: &[String],
) -> rusqlite::Result<()> {
    if let Some(a) = attestation {
        tx.execute(
            "INSERT INTO attestations(package, envelope) VALUES (?1, ?2)",
            params![m.name, a],
        )?;
    }
    tx.execute(
        "INSERT INTO packages(name, version, revision, txn, manifest) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            m.name,
            m.version,
            m.revision,
            txn,
            serde_json::to_string(m).expect("serialisable")
        ],
    )?;
    let mut st = tx.prepare("INSERT INTO deps(package, dep) VALUES (?1, ?2)")?;
    for d in &m.dependencies {
        st.execute(params![m.name, d])?;
    }
    let mut st = tx.prepare("INSERT INTO files(path, package, kind, sha256, mode, size, target) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    for f in &m.files {
        st.execute(params![
            f.path,
            m.name,
            "f",
            f.sha256,
            f.mode,
            f.size,
            None::<String>
        ])?;
    }
    for l in &m.symlinks {
        st.execute(params![
            l.path,
            m.name,
            "l",
            None::<String>,
            None::<u32>,
            None::<u64>,
            l.target
        ])?;
    }
    let mut st = tx.prepare("INSERT INTO dirs(path, package) VALUES (?1, ?2)")?;
    for d in dirs {
        st.execute(params![d, m.name])?;
    }
    Ok(())
}
