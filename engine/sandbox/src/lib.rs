//! `wport-sandbox` runs a port's build phases as WebAssembly components.
//!
//! Code map:
//! - [`Sandbox`] (`runner.rs`): the wasmtime engine, the epoch ticker, the
//!   component cache, and `run_phase`, which builds a fresh store and WASI
//!   context per phase from the phase's grants.
//! - `grants.rs`: the one exhaustive map from a phase to the directories it
//!   sees. Everything else is denied by construction: no env, no args, no
//!   stdin, no sockets, no preopens beyond the grants.
//! - `host.rs`: the host side of the `wport:port` imports (`log`,
//!   `build-env`, `files`, `exec`), the only `bindgen!` in the engine.
//! - `files.rs`: bulk and symlink work through cap-std directory handles.
//! - `exec.rs`: the [`NativeExec`] seam to the process-spawning crate.
//! - `cache.rs`: precompiled components keyed by content and engine settings.
//! - `clock.rs`, `output.rs`, `log.rs`: determinism and output capture.
//!
//! **Architecture invariant:** this crate never spawns a process and never
//! touches the network; it never follows a path inside a build's directories
//! with ambient authority.

pub mod cache;
mod clock;
pub mod exec;
pub mod files;
pub mod grants;
mod host;
pub mod log;
mod output;
mod runner;

pub use exec::{ExecFailure, ExecOutcome, ExecRequest, ExitStatus, NativeExec};
pub use log::{BuildLog, MemorySink};
pub use runner::{
    BuildSpec, HostDirs, LimitKind, Limits, LoadError, LoadedComponent, PhaseError, PhaseReport,
    Sandbox, SandboxConfig,
};
pub use wport_manifest::Phase;

/// Generated bindings for the `wport:port` world.
mod bindings {
    wasmtime::component::bindgen!({
        world: "port",
        path: "../../wit",
        imports: { default: trappable },
    });
}
