//! Tar archives (plain or compressed): the entry loop, from the tar crate's
//! headers to [`Extractor`] calls, with the checks only tar needs (GNU and
//! PAX sparse files, header metadata bounds).

use super::*;

pub(super) fn extract_tar(
    file: fs::File,
    format: Format,
    x: &mut Extractor<'_>,
) -> Result<(), ExtractError> {
    let archive = x.archive.clone();
    let archive = archive.as_path();
    let meter = Rc::new(Meter::default());
    let (stream, worker) =
        open_stream(file, format, x.limits.max_ratio, &meter).map_err(|source| {
            ExtractError::Open {
                archive: archive.into(),
                source,
            }
        })?;

    let mut tar = tar::Archive::new(stream);
    let result = tar_loop(&mut tar, x, &meter);
    // Dropping the reader hangs up the channel, which stops the thread.
    drop(tar);
    if let Some(worker) = worker
        && worker.join().is_err()
        && result.is_ok()
    {
        return Err(ExtractError::Corrupt {
            archive: archive.into(),
            entry: None,
            source: io::Error::other("decompressor thread panicked"),
        });
    }
    result
}

pub(super) fn tar_loop(
    tar: &mut tar::Archive<Box<dyn Read>>,
    x: &mut Extractor<'_>,
    meter: &Meter,
) -> Result<(), ExtractError> {
    let archive = x.archive.clone();
    // A failure of the stream itself (ratio, metadata bound, decoder) is the
    // precise cause; the tar crate's error wrapping it is only the symptom.
    let precise = |e: ExtractError, entry: Option<&str>| match meter.failure.take() {
        Some(StreamFailure::Limit { what, limit }) => ExtractError::LimitExceeded {
            what,
            limit,
            entry: entry.map(Into::into),
        },
        Some(StreamFailure::Decode(source)) => ExtractError::Corrupt {
            archive: archive.clone(),
            entry: entry.map(Into::into),
            source,
        },
        None => e,
    };
    let corrupt = |source| ExtractError::Corrupt {
        archive: archive.clone(),
        entry: None,
        source,
    };
    let mut entries = tar.entries().map_err(|e| precise(corrupt(e), None))?;
    loop {
        meter.arm();
        let next = entries.next();
        meter.disarm();
        let mut entry = match next {
            None => return Ok(()),
            Some(Ok(entry)) => entry,
            Some(Err(e)) => return Err(precise(corrupt(e), None)),
        };
        let name_bytes = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            // Archive-wide defaults (often just a commit id from `git archive`); the
            // fields we use come from each entry's own headers.
            x.drain(&mut entry, &name)
                .map_err(|e| precise(e, Some(&name)))?;
            continue;
        }
        // Before anything of the entry is written: see ExtractError::Sparse.
        let sparse = if kind.is_gnu_sparse() {
            Some("GNU")
        } else if pax_sparse(&mut entry) {
            Some("PAX")
        } else {
            None
        };
        if let Some(format) = sparse {
            return Err(ExtractError::Sparse {
                archive: archive.clone(),
                entry: name,
                format,
            });
        }
        let mtime = tar_mtime(&mut entry);
        let mode = entry.header().mode().unwrap_or(0o644);
        let step = (|| {
            use tar::EntryType as T;
            match kind {
                // Pre-POSIX archives mark directories with a trailing slash only.
                T::Regular | T::Continuous if name_bytes.ends_with(b"/") => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    x.dir(&path, mode)?;
                    x.drain(&mut entry, &name)
                }
                T::Regular | T::Continuous => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    // PAX-aware: a PAX `size` record overrides the ustar field
                    // (RUSTSEC-2026-0068, RUSTSEC-2025-0111).
                    let size = entry.size();
                    x.file(&path, mode, size, &mut entry, mtime)
                }
                T::Directory => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    x.dir(&path, mode)?;
                    x.drain(&mut entry, &name)
                }
                T::Symlink | T::Link => {
                    let path = x.begin(&name_bytes, &name, mtime)?;
                    let target = entry
                        .link_name_bytes()
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    if kind == T::Symlink {
                        x.symlink(&path, &target)?;
                    } else {
                        x.hard_link(&path, &target)?;
                    }
                    x.drain(&mut entry, &name)
                }
                T::Char => Err(ExtractError::SpecialFile {
                    entry: name.clone(),
                    kind: "character device",
                }),
                T::Block => Err(ExtractError::SpecialFile {
                    entry: name.clone(),
                    kind: "block device",
                }),
                T::Fifo => Err(ExtractError::SpecialFile {
                    entry: name.clone(),
                    kind: "fifo",
                }),
                other => Err(ExtractError::Unsupported {
                    entry: name.clone(),
                    kind: other.as_byte(),
                }),
            }
        })();
        step.map_err(|e| precise(e, Some(&name)))?;
    }
}

/// Whether the entry's PAX header carries GNU sparse records (formats 0.0,
/// 0.1 and 1.0 all use `GNU.sparse.*` keys; 1.0 also renames the entry
/// `GNUSparseFile.N/...` and puts the map in the data).
pub(super) fn pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> bool {
    match entry.pax_extensions() {
        Ok(Some(pax)) => pax
            .flatten()
            .any(|ext| ext.key_bytes().starts_with(b"GNU.sparse.")),
        _ => false,
    }
}

/// The entry's mtime: PAX `mtime` (which may be fractional) over the ustar field.
pub(super) fn tar_mtime<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<u64> {
    if let Ok(Some(pax)) = entry.pax_extensions() {
        for ext in pax.flatten() {
            if ext.key_bytes() == b"mtime" {
                let v = ext.value().ok()?;
                let whole = v.split('.').next().unwrap_or("");
                return whole.parse::<u64>().ok();
            }
        }
    }
    entry.header().mtime().ok()
}
