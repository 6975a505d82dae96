//! The rule catalogue: every diagnostic `wport lint` can emit, with its
//! stable id and severity. docs/LINT.md documents each one; a test checks
//! that the two lists agree.
//!
//! Ids are part of the interface (CI configurations and JSON consumers match
//! on them): never rename one, add a new rule instead.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something a reviewer should look at; fails lint only with
    /// `--deny-warnings`.
    Warning,
    /// The port is broken, unsafe, or would be refused by `wport build`.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable kebab-case id, e.g. `"weak-checksum"`.
    pub id: &'static str,
    /// The severity of every diagnostic this rule emits.
    pub severity: Severity,
    /// One line: what the rule catches.
    pub summary: &'static str,
}

const fn error(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        severity: Severity::Error,
        summary,
    }
}

const fn warning(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        severity: Severity::Warning,
        summary,
    }
}

// --- The Portfile could not be read or parsed ---------------------------------

pub const UNREADABLE_PORTFILE: Rule =
    error("unreadable-portfile", "the Portfile could not be read");
pub const SCHEMA_SYNTAX: Rule = error("schema-syntax", "the Portfile is not valid TOML");
pub const SCHEMA_UNKNOWN_FIELD: Rule = error(
    "schema-unknown-field",
    "a key, table or phase the schema does not know",
);
pub const SCHEMA_MISSING_FIELD: Rule =
    error("schema-missing-field", "a required key or table is absent");
pub const SCHEMA_WRONG_TYPE: Rule = error("schema-wrong-type", "a value of the wrong TOML type");
pub const SCHEMA_INVALID_VALUE: Rule =
    error("schema-invalid-value", "a value that breaks a schema rule");
pub const SCHEMA_UNSAFE_PATH: Rule = error(
    "schema-unsafe-path",
    "a path that could leave its directory",
);
pub const SCHEMA_CONFLICT: Rule = error("schema-conflict", "keys that do not go together");
pub const SCHEMA_UNDECLARED_DEPENDENCY: Rule = error(
    "schema-undeclared-dependency",
    "a phase sees a dependency [dependencies] does not declare",
);
pub const SCHEMA_LOADER_ENV_REFUSED: Rule = error(
    "schema-loader-env-refused",
    "a loader variable in env without allow-loader-env",
);
pub const SCHEMA_RESERVED_ENV: Rule = error("schema-reserved-env", "PATH in a phase's env");
pub const SCHEMA_DUPLICATE: Rule = error(
    "schema-duplicate",
    "a distfile name or dependency listed twice",
);
pub const SCHEMA_OTHER: Rule = error(
    "schema",
    "a schema error of a kind this linter does not know yet",
);
pub const MISSING_UPSTREAM_CONTACT: Rule = error(
    "missing-upstream-contact",
    "no one to ask when an upstream tarball changes",
);
pub const WEAK_CHECKSUM: Rule = error(
    "weak-checksum",
    "a source, patchfile or component without a well-formed sha256 (and, for sources, size)",
);
pub const UNSAFE_NAME: Rule = error(
    "unsafe-name",
    "a port or dependency name that is not one safe path component",
);
pub const UNSAFE_VERSION: Rule = error(
    "unsafe-version",
    "a version that is not one safe path component",
);

// --- Dependencies across the tree ----------------------------------------------

pub const DEPENDENCY_UNKNOWN: Rule = error(
    "dependency-unknown",
    "[dependencies] names a port the tree does not have",
);
pub const DEPENDENCY_CYCLE: Rule = error(
    "dependency-cycle",
    "ports that depend on each other in a circle",
);
pub const DEPENDENCY_WRONG_KIND: Rule = error(
    "dependency-wrong-kind",
    "a phase is granted a dependency of a kind it may not see",
);
pub const PORT_NAME: Rule = error(
    "port-name",
    "a port whose directory is not its name, or two ports of one name",
);

// --- Files next to the Portfile -----------------------------------------------

pub const COMPONENT_MISSING: Rule = error(
    "component-missing",
    "the [build] component file does not exist",
);
pub const COMPONENT_SHA256_MISMATCH: Rule = error(
    "component-sha256-mismatch",
    "the component file does not match component-sha256",
);
pub const COMPONENT_MALFORMED: Rule = error(
    "component-malformed",
    "the component file is not a WebAssembly component",
);
pub const PATCHFILE_MISSING: Rule = error("patchfile-missing", "a [[patchfile]] is not in files/");
pub const PATCHFILE_SHA256_MISMATCH: Rule = error(
    "patchfile-sha256-mismatch",
    "a patchfile does not match its sha256",
);
pub const DISTFILE_MISSING: Rule = error(
    "distfile-missing",
    "a local [[source]] is not in the port directory",
);
pub const PORT_FILE_REFUSED: Rule = error(
    "port-file-refused",
    "a file the Portfile names is a symbolic link, not a regular file, or too large to check",
);
pub const DISTFILE_MISMATCH: Rule = error(
    "distfile-mismatch",
    "a local distfile does not match its sha256 or size",
);

// --- Code matches manifest ------------------------------------------------------

pub const IMPORT_EXEC_UNGRANTED: Rule = error(
    "import-exec-ungranted",
    "the component imports exec but no phase grants a program",
);
pub const IMPORT_FORBIDDEN: Rule = error(
    "import-forbidden",
    "the component imports something wport never provides",
);
pub const GRANT_NEVER_USED: Rule = warning(
    "grant-never-used",
    "a phase grants programs the component cannot run (it does not import exec)",
);
pub const TEST_GRANTS_UNUSED: Rule = warning(
    "test-grants-unused",
    "[capabilities.test] grants something but [build] test is not true",
);

// --- Sources --------------------------------------------------------------------

pub const PLAIN_HTTP: Rule = warning("plain-http", "a source URL or mirror over plain http:");
pub const QUARANTINED_CHECKSUM: Rule = error(
    "quarantined-checksum",
    "a source pins the sha256 of a download still in quarantine (re-pinned to bytes nobody released)",
);

// --- Dangerous grants -------------------------------------------------------------

pub const NETWORK_TOOL: Rule = error(
    "network-tool",
    "a phase may run a network client (curl, wget, ssh, git...)",
);
pub const PRIVILEGE_TOOL: Rule = error(
    "privilege-tool",
    "a phase may run a privilege or ownership tool (sudo, su, chown, mount...)",
);
pub const INTERPRETER_IN_POST_DESTROOT: Rule = warning(
    "interpreter-in-post-destroot",
    "post-destroot may run a shell or interpreter (sh, bash, python3, perl...)",
);
pub const LOADER_ENV_ALLOWED: Rule =
    warning("loader-env-allowed", "a phase sets allow-loader-env = true");

// --- Installed programs at run time ([runtime]) -----------------------------------

pub const RUNTIME_UNCONFINED: Rule = warning(
    "runtime-unconfined",
    "[runtime] sets confine = false: installed programs run with the user's whole authority",
);
pub const RUNTIME_BROAD_GRANT: Rule = warning(
    "runtime-broad-grant",
    "[runtime] grants a whole tree that holds the user's secrets or the system ({home}, {xdg-config}, /etc...)",
);

// --- The capability diff (`wport lint --diff`) ----------------------------------

pub const CAPABILITY_GAINED: Rule = error(
    "capability-gained",
    "the new version of a port may do something the old one could not (GitHub output of --diff)",
);

/// Every rule, in the order docs/LINT.md lists them.
pub const ALL: &[Rule] = &[
    UNREADABLE_PORTFILE,
    SCHEMA_SYNTAX,
    SCHEMA_UNKNOWN_FIELD,
    SCHEMA_MISSING_FIELD,
    SCHEMA_WRONG_TYPE,
    SCHEMA_INVALID_VALUE,
    SCHEMA_UNSAFE_PATH,
    SCHEMA_CONFLICT,
    SCHEMA_UNDECLARED_DEPENDENCY,
    SCHEMA_LOADER_ENV_REFUSED,
    SCHEMA_RESERVED_ENV,
    SCHEMA_DUPLICATE,
    SCHEMA_OTHER,
    MISSING_UPSTREAM_CONTACT,
    WEAK_CHECKSUM,
    UNSAFE_NAME,
    UNSAFE_VERSION,
    DEPENDENCY_UNKNOWN,
    DEPENDENCY_CYCLE,
    DEPENDENCY_WRONG_KIND,
    PORT_NAME,
    COMPONENT_MISSING,
    COMPONENT_SHA256_MISMATCH,
    COMPONENT_MALFORMED,
    PATCHFILE_MISSING,
    PATCHFILE_SHA256_MISMATCH,
    DISTFILE_MISSING,
    DISTFILE_MISMATCH,
    PORT_FILE_REFUSED,
    IMPORT_EXEC_UNGRANTED,
    IMPORT_FORBIDDEN,
    GRANT_NEVER_USED,
    TEST_GRANTS_UNUSED,
    PLAIN_HTTP,
    QUARANTINED_CHECKSUM,
    NETWORK_TOOL,
    PRIVILEGE_TOOL,
    INTERPRETER_IN_POST_DESTROOT,
    LOADER_ENV_ALLOWED,
    RUNTIME_UNCONFINED,
    RUNTIME_BROAD_GRANT,
    CAPABILITY_GAINED,
];

/// The rule with this id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|rule| rule.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        for (i, rule) in ALL.iter().enumerate() {
            assert!(
                rule.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.id
            );
            assert!(
                !ALL[..i].iter().any(|r| r.id == rule.id),
                "duplicate id {}",
                rule.id
            );
        }
    }
}
