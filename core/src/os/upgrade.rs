//! Restarts in place and socket activation (feature `std`; the fd passing is unix-only).
//!
//! An **upgrade** replaces a running server by a new process of itself without refusing a
//! connection: the old process (the *predecessor*) starts its *successor* with its listening
//! sockets inherited, waits until the successor says it serves, and only then stops
//! accepting and drains. Nothing re-binds the port and the sockets are never closed, so no
//! connect is refused and nothing queued in the kernel's accept queue is lost: the successor
//! accepts from the very same queue.
//!
//! - [`Upgrader`] is the predecessor's side, after tableflip's `Fds.Listen` / `Ready` /
//!   `Exit`: [`Upgrader::listen`] inherits a listener or binds it, in one call, and registers
//!   it for the hand-off; [`Upgrader::on_signal`] upgrades on a signal, as a task on the
//!   server's [`Runtime`](crate::runtime::Runtime) (no thread of its own). [`Upgrader::upgrade`]
//!   starts the successor and waits for it (bounded, 10 s by default); on success the
//!   shutdown starts with [`Trigger::handover`](crate::Trigger::handover), which skips the
//!   lame-duck period. A successor that cannot start, exits, or stays silent leaves this
//!   process serving, with an [`UpgradeError`] that says why; it is killed and reaped if
//!   still alive. So is one still starting when the shutdown begins: a stopped service
//!   stays stopped. One upgrade runs at a time; a failed one can be retried.
//! - [`Inherited`] is every process's side: the listening sockets it was started with, found
//!   through systemd's `LISTEN_FDS` / `LISTEN_PID` / `LISTEN_FDNAMES`. One path serves both a
//!   systemd socket unit and a hand-off, so a server that takes its listeners from
//!   [`Upgrader::listen`] gets both. Under systemd with a file-descriptor store (feature
//!   `systemd`), a listener `listen` binds is stored too, so a plain `systemctl restart`
//!   refuses nothing: the next start inherits it.
//! - [`ready`] is "I serve now", said once, to systemd and to the predecessor alike (which
//!   then stops). `lameduck-hyper`'s `serve` says it; it does nothing when the process was
//!   neither started by an upgrade nor by systemd.
//! - A successor **started separately** (by systemd's `ExecReload=`, a deploy tool, an
//!   operator; Linux): the server answers on a control socket, [`Upgrader::control`]; the new
//!   process takes the sockets with [`Upgrader::take_over`] instead of
//!   [`Upgrader::from_env`], serves, says [`ready`], and hears the outcome with
//!   [`TakeOver::confirmed`]. The socket is a Unix stream socket at a path, mode 0600; the
//!   caller's user is checked with `SO_PEERCRED` (the server's, or root); the listening
//!   sockets pass as `SCM_RIGHTS`. Otherwise it is an upgrade like any: one at a time with
//!   the spawned kind, the same readiness and bound, the same shutdown after it. pingora
//!   passes its listeners the same way but trusts a fixed 5 s and shuts down even when the
//!   send failed; shellflip returns the outcome to the process that asked, as this does.
//! - [`PidFile`] keeps a PID file true across upgrades (tableflip's `PIDFile`): written
//!   atomically once the server serves, by the successor after a hand-over, and removed at
//!   exit only by the process it names, never by one that handed over.
//!
//! ```no_run
//! use lameduck::{runtime::Runtime, upgrade::Upgrader, Shutdown, Signal};
//! # fn f(runtime: impl Runtime, shutdown: Shutdown) -> std::io::Result<()> {
//! let upgrader = Upgrader::from_env()?;
//! let listener = upgrader.listen("http", || std::net::TcpListener::bind("127.0.0.1:8080"))?;
//! upgrader
//!     .shutdown(&shutdown)
//!     .on_signal(&runtime, Signal::new(12), |outcome| match outcome {
//!         Ok(handover) => println!("upgrade: handed over to pid {}", handover.pid()),
//!         Err(e) => println!("upgrade: failed: {e}"),
//!     })
//!     .map_err(std::io::Error::other)?;
//! // ... serve `listener` with `lameduck_hyper::serve`, which says `ready` once it accepts.
//! # drop(listener);
//! # Ok(())
//! # }
//! ```
//!
//! # The hand-off
//!
//! The successor gets the listeners as fds `3..3+N` in the order they were added, then one
//! more: a Unix socket named `lameduck-ready`, the readiness channel. `LISTEN_FDS` counts
//! them all and `LISTEN_FDNAMES` names them, as systemd does, so a successor that reads them
//! some other way still finds its sockets by name. Every other fd of the predecessor stays
//! close-on-exec (the fds are placed in the child between `fork` and `exec` only, by
//! `command-fds`, never made inheritable in the parent where a concurrent spawn could take
//! them).
//!
//! systemd proves that the variables are meant for this process with `LISTEN_PID`, which
//! must equal its pid. A predecessor cannot know its successor's pid before the successor
//! runs, and writing the variable between `fork` and `exec` is not async-signal-safe (it
//! allocates). So the hand-off leaves `LISTEN_PID` out and sets `LAMEDUCK_PREDECESSOR` to
//! the predecessor's pid instead; the successor accepts the sockets only when that pid is its
//! parent's. An orphan (its predecessor died, or shut down and cancelled the upgrade, before
//! the successor read the variables) refuses them: nobody asked it to serve. tableflip (Go) marks the child with an
//! environment variable of its own and passes names over a second pipe; shellflip (Rust)
//! serializes its listeners over a pipe; neither is readable by a systemd-style successor.
//!
//! A server that is PID 1 (of a container started without an init: `docker run` without
//! `--init`, most Kubernetes pods) refuses to upgrade ([`UpgradeError::Init`]): when PID 1
//! exits, the kernel kills every process of its namespace, the successor with it. Run it
//! under an init (`docker run --init`, `tini`), which then is the successor's parent's
//! parent, not its executioner.
//!
//! The variables are removed from the environment once read, so processes the server starts
//! later do not take the sockets by mistake, and the sockets taken are made close-on-exec.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod control;
mod inherit;
mod pid_file;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod separate;
mod spawn;
mod successor;

#[cfg(unix)]
pub(crate) use inherit::managed;
pub use inherit::{ready, Inherited};
pub use pid_file::PidFile;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub use separate::{Confirmed, TakeOver, TakeOverError};
pub use spawn::{Handover, UpgradeError, Upgrader, Upgrading};

#[cfg_attr(not(unix), allow(dead_code))]
/// The name of the readiness channel in `LISTEN_FDNAMES`.
const READY_NAME: &str = "lameduck-ready";
#[cfg_attr(not(unix), allow(dead_code))]
/// The predecessor's pid, set for a successor instead of `LISTEN_PID` (see the module docs).
const PREDECESSOR_VAR: &str = "LAMEDUCK_PREDECESSOR";
/// Set (to `1`) in a successor's environment when the listening sockets came from a service
/// manager's socket activation, directly or through predecessors: the manager holds copies
/// of its own (see [`inherit::managed`]).
#[cfg_attr(not(unix), allow(dead_code))]
const MANAGED_VAR: &str = "LAMEDUCK_MANAGED";
#[cfg_attr(not(unix), allow(dead_code))]
/// What a successor writes on the readiness channel when it serves.
const READY_BYTE: u8 = b'1';

/// How often the upgrades' waits look again (a successor's readiness or exit, a control
/// path to bind, a take-over's confirmation): the `Runtime` has a timer but no readiness
/// for an arbitrary fd.
#[cfg(unix)]
const TICK: core::time::Duration = core::time::Duration::from_millis(20);

/// Waits one [`TICK`] on `timer`, or until `stopping` completes (the shutdown began):
/// `false` then.
#[cfg(unix)]
async fn tick<T: crate::pure::traits::Timer>(
    timer: &T,
    stopping: Option<&mut crate::facade::reached::Reached>,
) -> bool {
    use futures_util::future::{select, Either};
    let tick = core::pin::pin!(timer.sleep(TICK));
    match stopping {
        Some(stopping) => matches!(select(tick, stopping).await, Either::Left(_)),
        None => {
            tick.await;
            true
        }
    }
}

/// What a successor said on its readiness channel so far (see [`readiness`]).
#[cfg(unix)]
#[derive(Debug, PartialEq, Eq)]
enum Readiness {
    /// Nothing yet.
    Waiting,
    /// It serves.
    Ready,
    /// It closed the channel without a word: it died, most likely.
    Closed,
}

/// Reads, without blocking, whether the successor at the other end of `channel` said it
/// serves ([`READY_BYTE`]). The channel must be non-blocking.
#[cfg(unix)]
fn readiness(channel: &std::os::unix::net::UnixStream) -> std::io::Result<Readiness> {
    use std::io::{ErrorKind, Read};
    let mut byte = [0u8; 1];
    match (&*channel).read(&mut byte) {
        // Reset: it closed with something unread.
        Ok(0) => Ok(Readiness::Closed),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(Readiness::Closed),
        Ok(_) if byte[0] == READY_BYTE => Ok(Readiness::Ready),
        Ok(_) => Err(std::io::Error::new(
            ErrorKind::InvalidData,
            "the successor wrote something else than its readiness",
        )),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
            Ok(Readiness::Waiting)
        }
        Err(e) => Err(e),
    }
}

/// Whether `name` can stand in `LISTEN_FDNAMES`: what systemd accepts in `FileDescriptorName=`
/// (1 to 255 printable ASCII characters, no colon).
fn valid_name(name: &str) -> bool {
    (1..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_follow_systemd() {
        assert!(valid_name("http"));
        assert!(valid_name("lameduck-ready"));
        assert!(!valid_name(""));
        assert!(!valid_name("a:b"));
        assert!(!valid_name("with space"));
        assert!(!valid_name(&"x".repeat(256)));
        assert!(valid_name(&"x".repeat(255)));
    }
}
