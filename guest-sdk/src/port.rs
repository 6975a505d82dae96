//! The [`Port`] trait (a port's phases) and the glue that exports it.
//!
//! Every phase runs in a fresh component instance, so a phase cannot keep
//! state for a later one: phases are associated functions, not methods, and
//! anything a later phase needs must be written to the work directory.

use std::marker::PhantomData;
use std::sync::Once;

use crate::bindings;
use crate::error::Result;
use crate::{env, fs, log};

/// A port's build logic: one function per phase, MacPorts' phase order.
///
/// Every phase has a default, so a port overrides only what it needs. The
/// host calls only the phases the Portfile declares capabilities for.
pub trait Port {
    /// Patch the extracted sources. Default: [`apply_patchfiles`], which
    /// applies the Portfile's patchfiles, in order, to the worksrc directory.
    fn patch() -> Result<()> {
        apply_patchfiles()
    }

    /// Configure the sources (e.g. `./configure`). Default: nothing.
    fn configure() -> Result<()> {
        Ok(())
    }

    /// Build. Default: nothing.
    fn build() -> Result<()> {
        Ok(())
    }

    /// Run the port's tests. Default: nothing.
    fn test() -> Result<()> {
        Ok(())
    }

    /// Install into the destroot (`DESTDIR`). Default: nothing.
    fn destroot() -> Result<()> {
        Ok(())
    }

    /// Adjust the destroot after installation (only the destroot is
    /// visible). Default: nothing.
    fn post_destroot() -> Result<()> {
        Ok(())
    }
}

/// Apply every patchfile of the port ([`env::patchfiles`], in Portfile order)
/// to the worksrc directory with [`fs::apply_patch`]. This is the default
/// `patch` phase; a port that overrides `patch` can call it first.
pub fn apply_patchfiles() -> Result<()> {
    let patchfiles = env::patchfiles();
    if patchfiles.is_empty() {
        return Ok(());
    }
    let worksrc = env::worksrc()?;
    for p in &patchfiles {
        let name = p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        log::info(format!("applying {name}"));
        fs::apply_patch(p, &worksrc)?; // its errors name the patchfile
    }
    Ok(())
}

/// Adapts a [`Port`] to the raw exports of the `port` world.
#[doc(hidden)]
pub struct Adapter<T>(PhantomData<T>);

/// Log a panic's message before the guest traps: without this the host sees
/// only "wasm trap: unreachable" and the port's author has nothing to go on.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            log::error(format!("the port's build logic panicked: {info}"));
        }));
    });
}

fn run_phase(phase: fn() -> Result<()>) -> std::result::Result<(), String> {
    install_panic_hook();
    phase().map_err(|e| e.to_string())
}

impl<T: Port> bindings::Guest for Adapter<T> {
    fn patch() -> std::result::Result<(), String> {
        run_phase(T::patch)
    }
    fn configure() -> std::result::Result<(), String> {
        run_phase(T::configure)
    }
    fn build() -> std::result::Result<(), String> {
        run_phase(T::build)
    }
    fn test() -> std::result::Result<(), String> {
        run_phase(T::test)
    }
    fn destroot() -> std::result::Result<(), String> {
        run_phase(T::destroot)
    }
    fn post_destroot() -> std::result::Result<(), String> {
        run_phase(T::post_destroot)
    }
}
