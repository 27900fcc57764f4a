//! Files written atomically: a reader sees the complete new file or the
//! old one, never a partial one. The bytes go to a temporary file in the
//! same directory ([`tempfile`]), which is synced and then renamed over
//! the target. Errors carry the system's reason as it said it (tempfile
//! appends the temporary file's path to the errors of the files it opens
//! and writes itself, so this module opens and writes the file).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::WriteError;

/// Writes `path` through `fill`, replacing any old file only when `fill`
/// has written it all. On an error the old file stays and the temporary
/// one is removed.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let failed = |error| WriteError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut tmp = temporary_beside(path).map_err(failed)?;
    let mut w = BufWriter::new(tmp.as_file_mut());
    fill(&mut w).map_err(failed)?;
    w.into_inner().map_err(|e| failed(e.into_error()))?;
    tmp.as_file().sync_all().map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

/// A new temporary file in the directory of `path`, named after it, with
/// the permissions [`File::create_new`] gives (0666 less the umask, not
/// tempfile's owner-only ones).
fn temporary_beside(path: &Path) -> io::Result<NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.");
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .make_in(dir, |p| File::create_new(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_replaced_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("a.txt");
        write_atomically(&path, |w| w.write_all(b"first")).expect("writes");
        assert_eq!(std::fs::read(&path).expect("there"), b"first");
        let e = write_atomically(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .expect_err("fails");
        assert_eq!(
            e.to_string(),
            format!("{}: cannot write: disk full", path.display())
        );
        assert_eq!(std::fs::read(&path).expect("kept"), b"first");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }

    /// The system's reason alone, as `std::fs::write` says it (tempfile
    /// would add ` at path "…/.x.log.XXXXXX.tmp"`).
    #[test]
    fn a_file_that_cannot_be_made_says_why_as_the_system_does() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent").join("x.log");
        let e = write_atomically(&path, |w| w.write_all(b"x")).expect_err("no directory");
        let why = std::fs::write(&path, b"x").expect_err("no directory");
        assert_eq!(
            e.to_string(),
            format!("{}: cannot write: {why}", path.display())
        );
        assert!(std::error::Error::source(&e).is_none(), "said once");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_has_the_permissions_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = dir.path().join("ours");
        write_atomically(&ours, |w| w.write_all(b"x")).expect("writes");
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).expect("creates");
        let mode = |p: &Path| std::fs::metadata(p).expect("there").permissions().mode();
        assert_eq!(mode(&ours), mode(&plain));
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_directory() {
        let tmp = temporary_beside(Path::new("x.log")).expect("creates");
        let here = std::env::current_dir().expect("a current directory");
        assert_eq!(tmp.path().parent(), Some(here.as_path()));
        let name = tmp.path().file_name().expect("a name").to_string_lossy();
        assert!(
            name.starts_with(".x.log.") && name.ends_with(".tmp"),
            "{name}"
        );
    }
}
