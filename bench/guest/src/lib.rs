//! The benchmark guest. `patch` does nothing (it measures start-up);
//! `configure` copies `/work/tree` with the host's bulk copy; `build` copies
//! it file by file through WASI, as a port would with plain `std::fs`.

use std::path::Path;

use wport_guest_sdk::prelude::*;

struct Bench;

fn wasi_copy(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            wasi_copy(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

impl Port for Bench {
    fn patch() -> Result<()> {
        Ok(())
    }

    fn configure() -> Result<()> {
        let work = env::work()?;
        copy(work.join("tree"), work.join("host-copy"))?;
        Ok(())
    }

    fn build() -> Result<()> {
        let work = env::work()?;
        wasi_copy(&work.join("tree"), &work.join("wasi-copy"))?;
        Ok(())
    }
}

wport_guest_sdk::export_port!(Bench);
