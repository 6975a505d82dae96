//! Components and the demo port compiled into the binary (see build.rs).

use std::path::Path;

use anyhow::Context;
use wport_manifest::StandardComponent;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The bytes of a standard component.
pub fn standard_component(which: StandardComponent) -> &'static [u8] {
    match which {
        StandardComponent::Make => STD_MAKE,
        StandardComponent::Autotools => STD_AUTOTOOLS,
        StandardComponent::CMake => STD_CMAKE,
        StandardComponent::Meson => STD_MESON,
    }
}

/// Write the embedded demo port into `dir` (created if needed) so it can be
/// built like any port directory.
pub fn materialize_demo(dir: &Path) -> anyhow::Result<()> {
    for (rel, bytes) in DEMO_PORT {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
