//! `wport-plan`: the ports tree as a graph.
//!
//! A ports tree is a directory of port directories, `<root>/<name>/Portfile.toml`
//! (a local checkout's `ports/`, or the synced signed tree
//! `<trust_dir>/targets/ports/`). This crate loads ports from one, resolves
//! their `[dependencies]` (`build`, `lib`, `run`) against it, and orders a
//! set of roots so that every port comes after what it depends on.
//!
//! ```no_run
//! # fn main() -> Result<(), Vec<wport_plan::PlanError>> {
//! use wport_plan::{DepKind, Tree, plan};
//! // A synced tree: each port verified by the callback before it is parsed.
//! let mut tree = Tree::signed("/home/me/.local/share/wport/trust/targets/ports", |name, dir| {
//!     // wport_trust::verify_port(trust_dir, name, &files_of(dir))?;
//!     Ok(())
//! });
//! let plan = plan(&mut tree, &["lua"])?;
//! for node in plan.nodes() {
//!     let port = &node.port;
//!     println!("{} {} ({})", port.name, port.portfile.port.version, port.sha256);
//!     println!("  lib: {:?}, links: {:?}", port.deps(DepKind::Lib), plan.lib_closure(&port.name));
//! }
//! # Ok(()) }
//! ```
//!
//! # Code map
//!
//! - [`Tree`] (`tree`): loads ports: all of a local directory
//!   ([`Tree::scan`], for lint), or lazily by name ([`Tree::local`],
//!   [`Tree::signed`] with a verify callback called before parsing);
//!   tree-wide questions ([`Tree::check`], [`Tree::rdeps`],
//!   [`Tree::search`]); [`find_ports`], the walk `wport lint` uses too.
//! - [`Port`] (`port`): one loaded port: validated [`wport_manifest::Portfile`],
//!   sha256 of its bytes, the line of every dependency name;
//!   [`Port::check_grants`] and the phase -> kind table [`allowed_kinds`].
//! - [`plan()`] and [`Plan`] (`plan`): the closure of some roots, checked,
//!   in dependency order, with reverse edges, [`Plan::lib_closure`] and
//!   [`Plan::phase_view`] (what a phase's build view holds).
//! - `graph`: strongly connected components (cycles) and the
//!   dependencies-first order, both without recursion.
//! - [`PlanError`] (`error`): every refusal, with Portfile, line and column.
//!
//! **Architecture invariant:** like wport-manifest, this crate is data: no
//! wasmtime, no network, no processes. It reads Portfiles and lists
//! directories; trust is the caller's, passed in as the verify callback,
//! and a signed tree never parses a port the callback has not accepted.

#![forbid(unsafe_code)]

mod error;
mod graph;
mod plan;
mod port;
mod tree;

pub use error::{PlanError, VerifyError};
pub use plan::{Node, Plan, plan};
pub use port::{DepKind, Port, Position, allowed_kinds};
pub use tree::{Rdep, Tree, find_ports};

#[cfg(test)]
mod test_support {
    use std::path::Path;

    /// A valid Portfile for `name` with `extra` appended (tables after
    /// `[build]`; the description is "The NAME port").
    pub(crate) fn portfile(name: &str, extra: &str) -> String {
        format!(
            r#"[port]
name = "{name}"
version = "1.0"
description = "The {name} port"
homepage = "https://example.org/"
license = "MIT"
maintainers = ["A <a@example.org>"]
upstream-contact = "b@example.org"

[build]
standard = "make"

{extra}"#
        )
    }

    /// A `[dependencies]` table.
    pub(crate) fn deps(build: &[&str], lib: &[&str], run: &[&str]) -> String {
        let list = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::from("[dependencies]\n");
        for (key, names) in [("build", build), ("lib", lib), ("run", run)] {
            if !names.is_empty() {
                out.push_str(&format!("{key} = [{}]\n", list(names)));
            }
        }
        out
    }

    /// `root/name/Portfile.toml`.
    pub(crate) fn write_port(root: &Path, name: &str, extra: &str) {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Portfile.toml"), portfile(name, extra)).unwrap();
    }
}
