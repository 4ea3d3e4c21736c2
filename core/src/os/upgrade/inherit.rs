//! Every process's side: the listening sockets it was started with, and the readiness it
//! owes a predecessor.

use crate::os::net::Listener;
use std::{io, net::TcpListener, string::String, vec::Vec};
#[cfg(unix)]
use std::{
    io::Write,
    os::unix::net::{UnixListener, UnixStream},
    sync::Mutex,
};

/// The readiness channel to the predecessor, once [`Inherited::from_env`] found one; kept
/// process-wide so that [`ready`] can be called from wherever serving starts, and so that
/// dropping the [`Inherited`] does not close it (which the predecessor would take for a
/// successor that gave up).
#[cfg(unix)]
static READY: Mutex<Option<UnixStream>> = Mutex::new(None);

/// Whether this process was started to succeed another (by an upgrade, or a take-over):
/// it found a readiness channel. Stays true once the channel was used.
#[cfg(unix)]
static SUCCESSOR: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether this process's listening sockets came from a service manager's socket activation
/// (systemd's `LISTEN_PID`, here or in a predecessor): the manager keeps copies of its own,
/// which outlive this process: the accept loop puts no handshake filter on them (it would
/// outlive the process too, and the close resets nothing there).
#[cfg(unix)]
static MANAGED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether this process's listening sockets came from a service manager (see [`MANAGED`]).
#[cfg(unix)]
pub(crate) fn managed() -> bool {
    // Relaxed: set before serving starts, read at the drain; it orders nothing.
    MANAGED.load(core::sync::atomic::Ordering::Relaxed)
}

/// Records that a service manager holds copies of this process's listening sockets (it
/// stored one, see `Upgrader::listen`).
#[cfg(all(unix, feature = "systemd"))]
pub(super) fn manage() {
    MANAGED.store(true, core::sync::atomic::Ordering::Relaxed);
}

/// Keeps `channel` for [`ready`]: this process succeeds another.
#[cfg(unix)]
pub(super) fn expect_ready(channel: UnixStream) {
    *READY.lock().unwrap_or_else(|e| e.into_inner()) = Some(channel);
    SUCCESSOR.store(true, core::sync::atomic::Ordering::SeqCst);
}

/// Whether this process was started to succeed another (see [`SUCCESSOR`]).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn is_successor() -> bool {
    SUCCESSOR.load(core::sync::atomic::Ordering::SeqCst)
}

/// The listening sockets this process was started with: by systemd (socket activation) or
/// by a predecessor (an upgrade), through `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES`.
///
/// Empty when the variables are absent, when `LISTEN_PID` names another process, and on
/// systems other than unix. Inherited fds that are neither TCP nor Unix stream sockets (a
/// datagram socket of a socket unit, say) are left alone.
///
/// ```
/// let mut inherited = lameduck::upgrade::Inherited::default();
/// assert!(inherited.is_empty());
/// assert!(inherited.take_tcp().is_none());
/// ```
#[derive(Debug, Default)]
pub struct Inherited {
    listeners: Vec<(String, Option<Listener>)>,
}

impl Inherited {
    /// Takes the inherited sockets from the environment, once: the variables are removed,
    /// so that a later call, and any process this one starts, finds nothing; the sockets
    /// taken are made close-on-exec. A predecessor's readiness channel, if any, is kept for
    /// [`ready`].
    ///
    /// Call it early in `main`, before other threads read the environment (changing the
    /// environment while another thread reads it is not thread-safe on most unix systems).
    ///
    /// # Errors
    ///
    /// `LISTEN_FDS` is set for this process but is not a number, or one of its fds cannot be
    /// inspected.
    ///
    /// ```
    /// // No LISTEN_FDS in a test's environment: nothing inherited, nothing changed.
    /// let inherited = lameduck::upgrade::Inherited::from_env().unwrap();
    /// assert!(inherited.is_empty());
    /// ```
    pub fn from_env() -> io::Result<Inherited> {
        #[cfg(unix)]
        {
            unix::take()
        }
        #[cfg(not(unix))]
        {
            Ok(Inherited::default())
        }
    }

    /// The listening sockets a predecessor passed over its control socket, checked as
    /// inherited ones are: each must be a listening TCP or Unix stream socket.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn from_sockets(
        sockets: Vec<(String, std::os::fd::OwnedFd)>,
    ) -> io::Result<Inherited> {
        use rustix::net::{sockopt, AddressFamily, SocketType};
        let mut listeners = Vec::with_capacity(sockets.len());
        for (name, socket) in sockets {
            let family = sockopt::socket_domain(&socket)?;
            let stream = sockopt::socket_type(&socket)? == SocketType::STREAM;
            if !stream || !sockopt::socket_acceptconn(&socket)? {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    std::format!("the socket passed as {name:?} is not a listening stream socket"),
                ));
            }
            crate::os::handshakes::unfilter(&socket);
            let listener = if family == AddressFamily::INET || family == AddressFamily::INET6 {
                Listener::Tcp(TcpListener::from(socket))
            } else if family == AddressFamily::UNIX {
                Listener::Unix(UnixListener::from(socket))
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    std::format!("the socket passed as {name:?} is neither TCP nor Unix"),
                ));
            };
            listeners.push((name, Some(listener)));
        }
        Ok(Inherited { listeners })
    }

    /// How many listeners are left to take.
    ///
    /// ```
    /// assert_eq!(lameduck::upgrade::Inherited::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.listeners.iter().filter(|(_, l)| l.is_some()).count()
    }

    /// Whether every listener was taken, or there were none.
    ///
    /// ```
    /// assert!(lameduck::upgrade::Inherited::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names of the listeners left, in fd order (`LISTEN_FDNAMES`; `"unknown"` for each
    /// when it was not set, as systemd names them).
    ///
    /// ```
    /// assert_eq!(lameduck::upgrade::Inherited::default().names().count(), 0);
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.listeners
            .iter()
            .filter(|(_, l)| l.is_some())
            .map(|(name, _)| name.as_str())
    }

    /// Takes the first listener left with this name (serve it with `lameduck-hyper`'s
    /// `serve`, or turn it back into the standard library's listener by matching).
    ///
    /// ```
    /// assert!(lameduck::upgrade::Inherited::default().take("http").is_none());
    /// ```
    pub fn take(&mut self, name: &str) -> Option<Listener> {
        self.listeners
            .iter_mut()
            .find(|(n, l)| n == name && l.is_some())
            .and_then(|(_, l)| l.take())
    }

    /// Takes the first TCP listener left, whatever its name.
    ///
    /// ```
    /// assert!(lameduck::upgrade::Inherited::default().take_tcp().is_none());
    /// ```
    pub fn take_tcp(&mut self) -> Option<TcpListener> {
        let slot = self
            .listeners
            .iter_mut()
            .find(|(_, l)| matches!(l, Some(Listener::Tcp(_))))?;
        match slot.1.take() {
            Some(Listener::Tcp(listener)) => Some(listener),
            _ => None,
        }
    }

    /// Takes the first Unix stream listener left, whatever its name.
    ///
    /// ```
    /// assert!(lameduck::upgrade::Inherited::default().take_unix().is_none());
    /// ```
    #[cfg(unix)]
    pub fn take_unix(&mut self) -> Option<UnixListener> {
        let slot = self
            .listeners
            .iter_mut()
            .find(|(_, l)| matches!(l, Some(Listener::Unix(_))))?;
        match slot.1.take() {
            Some(Listener::Unix(listener)) => Some(listener),
            _ => None,
        }
    }
}

/// Says once that this process serves, to whoever waits for it: systemd (feature
/// `systemd`: `READY=1` with `MAINPID=`, and a watchdog ping when systemd keeps one for this
/// process, as `systemd::ready` sends them) and then the predecessor of an
/// upgrade, which then stops. `lameduck-hyper`'s `serve` calls it once its signals and
/// listener are set up; call it yourself only when serving some other way. Returns whether
/// a predecessor was told: `false` when this process was not started by an upgrade, when it
/// already said so, or when the predecessor is gone. systemd hears first, so that the new
/// main pid is known before the old one stops.
///
/// # Errors
///
/// Writing to the readiness channel failed for another reason than a departed predecessor.
///
/// ```
/// // Not started by an upgrade: nothing to tell.
/// assert!(!lameduck::upgrade::ready().unwrap());
/// ```
pub fn ready() -> io::Result<bool> {
    #[cfg(unix)]
    {
        let channel = READY.lock().unwrap_or_else(|e| e.into_inner()).take();
        #[cfg(feature = "systemd")]
        crate::os::systemd::ready();
        let Some(mut channel) = channel else {
            return Ok(false);
        };
        match channel.write_all(&[super::READY_BYTE]) {
            Ok(()) => Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        #[cfg(feature = "systemd")]
        crate::os::systemd::ready();
        Ok(false)
    }
}

#[cfg_attr(not(unix), allow(dead_code))]
/// Whether the inherited fds are meant for this process.
///
/// systemd's rule: `LISTEN_PID` is this pid. A hand-off's rule (it cannot know the pid in
/// advance, see the module docs): `LISTEN_PID` is absent and the predecessor named in
/// `LAMEDUCK_PREDECESSOR` is the parent. A successor whose predecessor is gone (it was
/// orphaned mid-upgrade: the predecessor died, or shut down and cancelled it) refuses the
/// sockets: a process that did not ask for it must not be left serving them.
fn ours(listen_pid: Option<&str>, predecessor: Option<&str>, pid: u32, parent: u32) -> bool {
    match (listen_pid, predecessor) {
        (Some(listen_pid), _) => listen_pid.trim().parse() == Ok(pid),
        (None, Some(predecessor)) => parent > 1 && predecessor.trim().parse::<u32>() == Ok(parent),
        (None, None) => false,
    }
}

#[cfg_attr(not(unix), allow(dead_code))]
/// The most fds `LISTEN_FDS` may pass: far more than any server listens on, few enough to
/// walk.
const MAX_FDS: usize = 4096;

#[cfg_attr(not(unix), allow(dead_code))]
/// `LISTEN_FDS` as a count, bounded, with `LISTEN_FDS_FIRST_FD` (a listenfd extension:
/// where the fds start, 3 by default) such that every fd number is valid.
fn bounded(count: Option<&str>, first_fd: Option<String>) -> Result<usize, String> {
    let count: u64 = count
        .and_then(|c| c.trim().parse().ok())
        .ok_or("LISTEN_FDS is not a number")?;
    let first: u64 = match first_fd {
        Some(first) => first
            .trim()
            .parse()
            .map_err(|_| "LISTEN_FDS_FIRST_FD is not a number")?,
        None => 3,
    };
    if count > MAX_FDS as u64 {
        return Err(std::format!(
            "LISTEN_FDS={count} passes more than {MAX_FDS} fds"
        ));
    }
    if first < 3 || first + count > i32::MAX as u64 {
        return Err(std::format!(
            "LISTEN_FDS_FIRST_FD={first} with LISTEN_FDS={count} names no valid fds"
        ));
    }
    Ok(count as usize)
}

#[cfg_attr(not(unix), allow(dead_code))]
/// `LISTEN_FDNAMES` split per fd, or `"unknown"` for each (systemd's default) when it is
/// absent or does not match the count.
fn names(value: Option<&str>, count: usize) -> Vec<String> {
    match value.map(|v| v.split(':').collect::<Vec<_>>()) {
        Some(names) if names.len() == count => names.into_iter().map(String::from).collect(),
        _ => (0..count).map(|_| String::from("unknown")).collect(),
    }
}

#[cfg(unix)]
mod unix {
    use super::*;
    use crate::os::upgrade::{MANAGED_VAR, PREDECESSOR_VAR, READY_NAME};
    use std::{
        env,
        os::fd::{IntoRawFd, OwnedFd},
    };

    const VARS: [&str; 6] = [
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        "LISTEN_FDS_FIRST_FD",
        PREDECESSOR_VAR,
        MANAGED_VAR,
    ];

    /// Whether the readiness channel was made by the predecessor: on Linux its peer is
    /// the predecessor's process (`SO_PEERCRED` of a socket pair names its creator); else
    /// at least an unnamed socket (a pair's), not a connection to some service's path.
    fn from_predecessor(channel: &UnixStream, predecessor: Option<&str>) -> bool {
        let Some(predecessor) = predecessor.and_then(|p| p.trim().parse::<i32>().ok()) else {
            return false;
        };
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            rustix::net::sockopt::socket_peercred(channel)
                .is_ok_and(|cred| cred.pid.as_raw_nonzero().get() == predecessor)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = predecessor;
            channel
                .peer_addr()
                .is_ok_and(|peer| peer.as_pathname().is_none())
        }
    }

    /// Whether `socket` listens: `SO_ACCEPTCONN`; on Apple's systems, which declare it but
    /// do not implement it, a stream socket without a peer (a connection has one).
    fn listening(socket: &OwnedFd) -> bool {
        #[cfg(not(target_vendor = "apple"))]
        {
            rustix::net::sockopt::socket_acceptconn(socket) == Ok(true)
        }
        #[cfg(target_vendor = "apple")]
        {
            rustix::net::getpeername(socket).is_err()
        }
    }

    fn remove_vars() {
        for var in VARS {
            env::remove_var(var);
        }
    }

    pub(super) fn take() -> io::Result<Inherited> {
        let Some(count) = env::var_os("LISTEN_FDS") else {
            remove_vars();
            return Ok(Inherited::default());
        };
        let listen_pid = env::var("LISTEN_PID").ok();
        let predecessor = env::var(PREDECESSOR_VAR).ok();
        let parent = std::os::unix::process::parent_id();
        if !ours(
            listen_pid.as_deref(),
            predecessor.as_deref(),
            std::process::id(),
            parent,
        ) {
            remove_vars();
            return Ok(Inherited::default());
        }
        let count = match bounded(count.to_str(), env::var("LISTEN_FDS_FIRST_FD").ok()) {
            Ok(count) => count,
            Err(e) => {
                remove_vars();
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        };
        let names = names(env::var("LISTEN_FDNAMES").ok().as_deref(), count);
        if listen_pid.is_some() || env::var_os(MANAGED_VAR).is_some_and(|v| v == "1") {
            MANAGED.store(true, core::sync::atomic::Ordering::Relaxed);
        }
        // listenfd reads LISTEN_FDS and LISTEN_PID again (the pid check above is stricter
        // than its own, which accepts an absent LISTEN_PID; the count is bounded above),
        // removes both, and takes each fd after checking its socket family and type,
        // making it close-on-exec: the only way to own an fd by number without `unsafe`
        // here. An fd it refuses stays where it is, open.
        let mut fds = listenfd::ListenFd::from_env();
        remove_vars();
        let mut listeners = Vec::with_capacity(count);
        let mut unusable = Vec::new();
        for (index, name) in names.into_iter().enumerate() {
            if name == READY_NAME && predecessor.is_some() {
                let channel: Option<UnixStream> = fds
                    .take_custom(index, libc::AF_UNIX, libc::SOCK_STREAM, "unix stream")
                    .ok()
                    .flatten();
                if let Some(channel) =
                    channel.filter(|c| from_predecessor(c, predecessor.as_deref()))
                {
                    expect_ready(channel);
                }
                continue;
            }
            let (tcp, socket) = match fds.take_custom::<OwnedFd>(
                index,
                libc::AF_INET,
                libc::SOCK_STREAM,
                "tcp socket",
            ) {
                Ok(socket) => (true, socket),
                Err(_) => (
                    false,
                    fds.take_custom::<OwnedFd>(
                        index,
                        libc::AF_UNIX,
                        libc::SOCK_STREAM,
                        "unix stream socket",
                    )
                    .ok()
                    .flatten(),
                ),
            };
            let Some(socket) = socket else {
                unusable.push(std::format!("#{index} ({name}) is not a stream socket"));
                continue;
            };
            if !listening(&socket) {
                // A connection (a socket unit with `Accept=yes`), or a socket of this
                // process's own: left open, not ours to close.
                let fd = socket.into_raw_fd();
                unusable.push(std::format!("#{index} ({name}, fd {fd}) is not listening"));
                continue;
            }
            // A filter left by a process that held it before (see `accept::serve`).
            crate::os::handshakes::unfilter(&socket);
            let listener = if tcp {
                Listener::Tcp(TcpListener::from(socket))
            } else {
                Listener::Unix(UnixListener::from(socket))
            };
            listeners.push((name, Some(listener)));
        }
        if !unusable.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                std::format!(
                    "unusable inherited socket(s) (LISTEN_FDS): {}",
                    unusable.join(", ")
                ),
            ));
        }
        Ok(Inherited { listeners })
    }
}

#[cfg(test)]
mod tests {
    use super::{bounded, names, ours};

    #[test]
    fn counts_are_bounded() {
        assert_eq!(bounded(Some("2"), None), Ok(2));
        assert_eq!(bounded(Some("0"), None), Ok(0));
        assert!(bounded(Some("1000000000000"), None).is_err());
        assert!(bounded(Some("18446744073709551615"), None).is_err());
        assert!(bounded(Some("99999999999999999999999"), None).is_err());
        assert!(bounded(Some("x"), None).is_err());
        assert_eq!(bounded(Some("1"), Some("5".into())), Ok(1));
        assert!(bounded(Some("1"), Some("2147483647".into())).is_err());
        assert!(bounded(Some("1"), Some("0".into())).is_err());
    }

    #[test]
    fn listen_pid_must_be_ours() {
        assert!(ours(Some("42"), None, 42, 1));
        assert!(ours(Some("42"), Some("7"), 42, 1), "LISTEN_PID decides");
        assert!(!ours(Some("43"), None, 42, 1));
        assert!(!ours(Some("x"), None, 42, 1));
    }

    #[test]
    fn a_predecessor_must_be_the_parent() {
        assert!(ours(None, Some("7"), 42, 7));
        assert!(!ours(None, Some("8"), 42, 7), "another process");
        assert!(!ours(None, Some("8"), 42, 1), "orphaned mid-upgrade");
        assert!(!ours(None, Some("0"), 42, 0));
        assert!(!ours(None, Some("1"), 42, 1), "init is no predecessor");
        assert!(!ours(None, Some("x"), 42, 7));
    }

    #[test]
    fn nothing_without_a_pid_or_predecessor() {
        assert!(!ours(None, None, 42, 7));
    }

    #[test]
    fn names_match_the_count_or_are_unknown() {
        assert_eq!(names(Some("http:admin"), 2), ["http", "admin"]);
        assert_eq!(names(Some("http"), 2), ["unknown", "unknown"]);
        assert_eq!(names(None, 1), ["unknown"]);
        assert!(names(None, 0).is_empty());
    }
}
