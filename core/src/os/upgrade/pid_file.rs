//! The PID file of a server that upgrades in place: written once the server serves, by the
//! successor after an upgrade, and removed at exit only by the process it names.

use crate::facade::handle::Handle;
use std::{
    format, fs, io,
    path::{Path, PathBuf},
    string::ToString,
};

/// A PID file naming this process, for a service manager's `PIDFile=` or an operator's
/// `kill $(cat …)` across upgrades, as tableflip's `PIDFile` option: written atomically (a
/// temporary file beside it, then a rename), so a reader never sees it empty or half
/// written; and left alone at exit by a process that handed over, whose successor owns it.
///
/// Write it once the server serves: for a successor, once its predecessor confirmed the
/// hand-off (until then the predecessor's is the true one). Call [`remove`](Self::remove)
/// when the process exits.
///
/// ```
/// # #[cfg(not(miri))] { // no file system under miri
/// use lameduck::{upgrade::PidFile, Config, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let path = std::env::temp_dir().join(format!("lameduck-doc-{}.pid", std::process::id()));
/// let pid_file = PidFile::write(&path).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
/// // … serve until the shutdown …
/// pid_file.remove(&shutdown.handle());
/// assert!(!path.exists());
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a PID file is removed at exit by `remove`"]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes this process's pid to `path`, atomically: replaces what was there (a
    /// predecessor's pid, or a stale file).
    ///
    /// # Errors
    ///
    /// Writing the temporary file or renaming it failed; the temporary file is removed.
    pub fn write(path: impl AsRef<Path>) -> io::Result<PidFile> {
        let path = path.as_ref().to_path_buf();
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        let temporary = path.with_file_name(name);
        let written = fs::write(&temporary, format!("{}\n", std::process::id()))
            .and_then(|()| fs::rename(&temporary, &path));
        if let Err(error) = written {
            let _ = fs::remove_file(&temporary);
            return Err(error);
        }
        Ok(PidFile { path })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file at exit, if it still names this process and the shutdown of `handle`
    /// did not hand over to a successor ([`Handle::handed_over`]): a successor's file stays,
    /// as it may write it between this read and the removal.
    pub fn remove(self, handle: &Handle) {
        if handle.handed_over() {
            return;
        }
        let ours = fs::read_to_string(&self.path)
            .is_ok_and(|pid| pid.trim() == std::process::id().to_string());
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::PidFile;
    use crate::{facade::shutdown::Shutdown, pure::config::Config};
    use std::{format, fs, path::PathBuf};

    fn path(test: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lameduck-{test}-{}.pid", std::process::id()))
    }

    #[test]
    fn a_file_naming_another_process_is_left_alone() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let path = path("another");
        let pid_file = PidFile::write(&path).unwrap();
        // A successor wrote its own since.
        fs::write(&path, "4242\n").unwrap();
        pid_file.remove(&shutdown.handle());
        assert_eq!(fs::read_to_string(&path).unwrap(), "4242\n");
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_process_that_handed_over_leaves_the_file() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let path = path("handed-over");
        let pid_file = PidFile::write(&path).unwrap();
        shutdown.trigger().handover();
        pid_file.remove(&shutdown.handle());
        assert!(path.exists(), "the successor's file would be lost");
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("lameduck-pid-dir-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // The path is a directory: the rename fails.
        let target = dir.join("taken");
        fs::create_dir_all(&target).unwrap();
        assert!(PidFile::write(&target).is_err());
        let left: std::vec::Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(
            left.len(),
            1,
            "only the directory in the way is left: {left:?}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
