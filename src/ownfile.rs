//! Files lifeboat writes for itself beside a log or in an output folder (`LOG.torn`,
//! the diagnostics file, an evidence pack): never through a symbolic link someone left
//! at the name. A link `run.jsonl.torn → ~/.ssh/authorized_keys` must not be appended
//! to, and `evidence.md → /etc/…` must not be overwritten.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn refuse_link(path: &Path) -> io::Result<()> {
    if path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is a symbolic link: lifeboat never writes through one (remove it and try again)",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Opens `path` to append, creating it; a link at the name is refused (also if one
/// appears between the look and the open: `O_NOFOLLOW`).
pub fn append(path: &Path) -> io::Result<File> {
    refuse_link(path)?;
    OpenOptions::new().create(true).append(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// Creates `path` new, to write: an existing name (a link at it included) is an error of
/// kind `AlreadyExists`, never opened.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// Writes `bytes` as the whole of `path`: into a new file beside it, synced, then renamed
/// over the name (a reader sees the old file or the new one, never half). A link at the
/// name is refused.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    refuse_link(path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".lifeboat-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_at_the_name_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("run.jsonl.torn");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(append(&link).unwrap_err().to_string().contains("symbolic link"));
        assert!(replace(&link, b"pwned").unwrap_err().to_string().contains("symbolic link"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let plain = dir.path().join("evidence.md");
        replace(&plain, b"one").unwrap();
        replace(&plain, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&plain).unwrap(), "two");
        append(&dir.path().join("d.log")).unwrap().write_all(b"x").unwrap();
    }
}
