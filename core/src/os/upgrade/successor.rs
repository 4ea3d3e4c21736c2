//! The successor process of an in-place upgrade: which executable it is, how it is started
//! with the listening sockets and the readiness channel, how it is waited for, and that it
//! is killed and reaped unless it serves.

use super::UpgradeError;
use crate::pure::traits::Timer;
use core::time::Duration;
use std::{
    io,
    path::PathBuf,
    process::ExitStatus,
    string::{String, ToString},
};
#[cfg(unix)]
use {
    super::Readiness,
    crate::facade::{reached::Reached, runtime::Runtime},
    std::{os::fd::OwnedFd, process::Command, vec::Vec},
};

/// The executable a successor runs: the path as invoked (`argv0`), not as resolved, so that
/// a `current -> releases/vN` symlink swapped before the upgrade starts the new release.
/// Relative to the directory this process started in; a bare name (found on `PATH`) or no
/// `argv[0]` falls back to the running executable. `Err` says why there is none.
pub(super) fn program(argv0: Option<&std::ffi::OsString>) -> Result<PathBuf, String> {
    match invoked(argv0.map(PathBuf::from), std::env::current_dir().ok()) {
        Some(path) => Ok(path),
        None => std::env::current_exe()
            .map(strip_deleted)
            .map_err(|e| e.to_string()),
    }
}

/// Starts `command` with `sockets` (as `LISTEN_FDS`, named in `LISTEN_FDNAMES`) and a
/// readiness channel, and waits until the successor says it serves: at most `timeout`, and
/// no longer than until `stopping` completes (the shutdown began). On any failure the
/// successor, if it started, is killed and reaped.
#[cfg(unix)]
pub(super) async fn start<R: Runtime>(
    mut command: Command,
    sockets: Vec<(String, OwnedFd)>,
    timeout: Duration,
    runtime: &R,
    mut stopping: Option<&mut Reached>,
) -> Result<Successor, UpgradeError> {
    use command_fds::{CommandFdExt, FdMapping};
    use std::os::unix::net::UnixStream;

    let (ours, theirs) = UnixStream::pair().map_err(UpgradeError::Spawn)?;
    ours.set_nonblocking(true).map_err(UpgradeError::Spawn)?;
    // The listeners as fds 3.., then the readiness channel, each named.
    let channel = (String::from(super::READY_NAME), OwnedFd::from(theirs));
    let mut names = Vec::with_capacity(sockets.len() + 1);
    let mut mappings = Vec::with_capacity(sockets.len() + 1);
    for ((name, parent_fd), child_fd) in sockets.into_iter().chain([channel]).zip(3..) {
        names.push(name);
        mappings.push(FdMapping {
            parent_fd,
            child_fd,
        });
    }
    let count = names.len();
    command
        .fd_mappings(mappings)
        .map_err(|e| UpgradeError::Spawn(io::Error::other(e)))?;
    command
        .env("LISTEN_FDS", count.to_string())
        .env("LISTEN_FDNAMES", names.join(":"))
        .env(super::PREDECESSOR_VAR, std::process::id().to_string())
        .env(
            super::MANAGED_VAR,
            if super::inherit::managed() { "1" } else { "0" },
        )
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS_FIRST_FD")
        // The watchdog is the successor's from its READY=1: systemd's WATCHDOG_PID names
        // this process, and a successor that kept it would never ping.
        .env_remove("WATCHDOG_PID");
    let child = command.spawn().map_err(UpgradeError::Spawn)?;
    // Our copies of the successor's fds live in the command: dropping it closes them, so
    // that the readiness channel reads end-of-file once the successor lets go of it.
    drop(command);
    let mut successor = Successor(Some(child));

    let io = UpgradeError::Io;
    let start = runtime.now();
    loop {
        match super::readiness(&ours) {
            Ok(Readiness::Ready) => return Ok(successor),
            Ok(Readiness::Closed) => return Err(successor.closed(runtime).await),
            Ok(Readiness::Waiting) => {}
            Err(e) => return Err(UpgradeError::Io(e)),
        }
        if let Some(status) = successor.exited().map_err(io)? {
            return Err(UpgradeError::Exited(status));
        }
        if runtime.now().saturating_sub(start) >= timeout {
            return Err(UpgradeError::Timeout(timeout));
        }
        if !super::tick(runtime, stopping.as_deref_mut()).await {
            return Err(UpgradeError::ShuttingDown);
        }
    }
}

/// A started successor: killed and reaped when dropped, unless released (it serves).
pub(super) struct Successor(Option<std::process::Child>);

impl Successor {
    pub(super) fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    pub(super) fn release(&mut self) {
        // Not waited for: the successor outlives this process, which exits soon.
        self.0 = None;
    }

    #[cfg_attr(not(unix), allow(dead_code))]
    fn exited(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.0 {
            Some(child) => child.try_wait(),
            None => Ok(None),
        }
    }

    /// The readiness channel closed without a word: an exit, most likely; give it a moment
    /// to show, for a clearer error.
    #[cfg_attr(not(unix), allow(dead_code))]
    async fn closed<T: Timer>(&mut self, timer: &T) -> UpgradeError {
        for _ in 0..50 {
            if let Ok(Some(status)) = self.exited() {
                return UpgradeError::Exited(status);
            }
            timer.sleep(Duration::from_millis(10)).await;
        }
        UpgradeError::Closed
    }
}

impl Drop for Successor {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The executable's path as `argv[0]` names it, made absolute against `cwd`; `None` for a
/// bare name (looked up on `PATH`, which may have changed) or an empty one.
fn invoked(arg0: Option<PathBuf>, cwd: Option<PathBuf>) -> Option<PathBuf> {
    let arg0 = arg0?;
    if arg0.is_absolute() {
        Some(arg0)
    } else if arg0.components().count() > 1 {
        cwd.map(|cwd| cwd.join(arg0))
    } else {
        None
    }
}

/// The running executable's path without the ` (deleted)` Linux appends once the file was
/// replaced (which an upgrade usually does first).
fn strip_deleted(path: PathBuf) -> PathBuf {
    match path.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(stripped) => PathBuf::from(stripped),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_as_invoked() {
        let cwd = Some(PathBuf::from("/srv"));
        let path = |p: &str| Some(PathBuf::from(p));
        assert_eq!(
            invoked(path("/srv/current/server"), cwd.clone()),
            path("/srv/current/server")
        );
        assert_eq!(
            invoked(path("current/server"), cwd.clone()),
            path("/srv/current/server")
        );
        assert_eq!(
            invoked(path("./server"), cwd.clone()),
            path("/srv/./server")
        );
        assert_eq!(invoked(path("server"), cwd.clone()), None);
        assert_eq!(invoked(path(""), cwd.clone()), None);
        assert_eq!(invoked(None, cwd), None);
        assert_eq!(invoked(path("bin/server"), None), None);
    }

    #[test]
    fn the_deleted_suffix_is_stripped() {
        assert_eq!(
            strip_deleted(PathBuf::from("/srv/bin/server (deleted)")),
            PathBuf::from("/srv/bin/server")
        );
        assert_eq!(
            strip_deleted(PathBuf::from("/srv/bin/server")),
            PathBuf::from("/srv/bin/server")
        );
    }
}
