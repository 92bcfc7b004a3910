//! The files Bridle writes outside its database (evidence packs and their sidecars, exports,
//! flow documents and Cedar files, the log): readable by their owner only (0600; a directory
//! Bridle creates is 0700), and written whole: a new temporary file with an unpredictable name
//! is created exclusively in the target directory (so nothing planted there, not even a
//! symlink, is followed), filled, flushed and renamed over the target. A failed write leaves
//! the previous file as it was.

use std::io::{self, Write};
use std::path::Path;

/// A file being written beside its target; [`Temporary::persist`] puts it in place, dropping it
/// removes it.
pub struct Temporary {
    file: tempfile::NamedTempFile,
}

impl Temporary {
    /// Creates the temporary file for `target` in `target`'s directory (owner-only).
    pub fn beside(target: &Path) -> io::Result<Temporary> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(target.file_name().unwrap_or_default());
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".partial");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
        let file = builder.tempfile_in(dir)?;
        Ok(Temporary { file })
    }

    /// The open file, to write into.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.file.as_file_mut()
    }

    /// Flushes the content to disk and renames the file over `target`.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        self.file.as_file_mut().flush()?;
        self.file.as_file().sync_all()?;
        self.file.persist(target).map(drop).map_err(|e| e.error)
    }
}

/// Writes `content` to `path` whole and owner-only.
pub fn write_private(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut temporary = Temporary::beside(path)?;
    temporary.file().write_all(content)?;
    temporary.persist(path)
}

/// Creates `dir` and its missing parents; the ones created here are owner-only (0700).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    bridle_store::create_private_dir(dir)
}

/// Opens `path` for appending, creating it owner-only (the log).
pub fn open_private_append(path: &Path) -> io::Result<std::fs::File> {
    bridle_store::owner_only()
        .create(true)
        .append(true)
        .open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn files_and_directories_are_owner_only_and_replace_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);

        let target = nested.join("pack.pdf");
        write_private(&target, b"one").unwrap();
        assert_eq!(mode(&target), 0o600);
        write_private(&target, b"two").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");

        // A symlink planted at the target is replaced, never written through.
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"keep").unwrap();
        let planted = nested.join("linked.csv");
        std::os::unix::fs::symlink(&elsewhere, &planted).unwrap();
        write_private(&planted, b"export").unwrap();
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&planted).unwrap().is_symlink());
        assert_eq!(mode(&planted), 0o600);

        // Nothing is left beside the targets.
        let names: Vec<String> = std::fs::read_dir(&nested)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");

        let log = nested.join("bridle.log");
        open_private_append(&log).unwrap();
        assert_eq!(mode(&log), 0o600);
    }
}
