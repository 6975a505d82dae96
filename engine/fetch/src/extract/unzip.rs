//! Zip archives: the entry loop over the central directory, with zip's own
//! bounds (declared sizes and ratios checked before inflating).

use super::*;

pub(super) fn extract_zip(
    file: fs::File,
    compressed_len: u64,
    x: &mut Extractor<'_>,
) -> Result<(), ExtractError> {
    let archive = x.archive.clone();
    let corrupt = |entry: Option<String>, e: zip::result::ZipError| ExtractError::Corrupt {
        archive: archive.clone(),
        entry,
        source: io::Error::other(e),
    };
    let mut za = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(None, e))?;
    if za.len() as u64 > x.limits.max_entries {
        return Err(ExtractError::LimitExceeded {
            what: Limit::Entries,
            limit: x.limits.max_entries,
            entry: None,
        });
    }
    let mut declared_total: u64 = 0;
    for i in 0..za.len() {
        let mut zf = za.by_index(i).map_err(|e| corrupt(None, e))?;
        let name_bytes = match zf.name() {
            Ok(n) => n.as_bytes().to_vec(),
            Err(_) => zf.name_raw().to_vec(),
        };
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let mtime = zf.last_modified().and_then(zip_time_to_unix);
        let unix_mode = zf.unix_mode();
        const S_IFMT: u32 = 0o170000;
        let kind = unix_mode.map(|m| m & S_IFMT).unwrap_or(0);
        let special = match kind {
            0o020000 => Some("character device"),
            0o060000 => Some("block device"),
            0o010000 => Some("fifo"),
            0o140000 => Some("socket"),
            _ => None,
        };
        if let Some(kind) = special {
            return Err(ExtractError::SpecialFile { entry: name, kind });
        }
        let mode = unix_mode.map(|m| m & 0o7777);
        if kind == 0o120000 || zf.is_symlink() {
            let path = x.begin(&name_bytes, &name, mtime)?;
            let mut target = Vec::new();
            (&mut zf)
                .take(MAX_ZIP_LINK_TARGET + 1)
                .read_to_end(&mut target)
                .map_err(|source| x.corrupt(&name, source))?;
            if target.len() as u64 > MAX_ZIP_LINK_TARGET {
                return Err(ExtractError::LinkEscape {
                    entry: name,
                    target: "(over 4096 bytes)".into(),
                });
            }
            x.symlink(&path, &target)?;
        } else if kind == 0o040000 || zf.is_dir() {
            let path = x.begin(&name_bytes, &name, mtime)?;
            x.dir(&path, mode.unwrap_or(0o755))?;
        } else {
            let path = x.begin(&name_bytes, &name, mtime)?;
            let size = zf.size();
            declared_total = declared_total.saturating_add(size);
            let ratio_bomb = |produced: u64, consumed: u64| {
                produced > RATIO_GRACE_BYTES
                    && produced > consumed.max(1).saturating_mul(x.limits.max_ratio)
            };
            if ratio_bomb(size, zf.compressed_size()) || ratio_bomb(declared_total, compressed_len)
            {
                return Err(ExtractError::LimitExceeded {
                    what: Limit::Ratio,
                    limit: x.limits.max_ratio,
                    entry: Some(name),
                });
            }
            x.file(&path, mode.unwrap_or(0o644), size, &mut zf, mtime)?;
        }
    }
    Ok(())
}

/// Zip times are local civil time without a zone; read them as UTC.
pub(super) fn zip_time_to_unix(t: zip::DateTime) -> Option<u64> {
    let secs = wport_types::date::unix_from_civil(
        i64::from(t.year()),
        i64::from(t.month()),
        i64::from(t.day()),
        i64::from(t.hour()),
        i64::from(t.minute()),
        i64::from(t.second()),
    );
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_epoch() {
        let t = zip::DateTime::from_date_and_time(1980, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(zip_time_to_unix(t), Some(315_532_800));
        let t = zip::DateTime::from_date_and_time(2024, 2, 29, 12, 34, 56).unwrap();
        assert_eq!(zip_time_to_unix(t), Some(1_709_210_096));
    }
}
