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

/// Tells the predecessor that this process serves now, so it can stop: the last step of an
/// upgrade on the successor's side. Returns whether a predecessor was told: `false` when this
/// process was not started by an upgrade, when it already said so, or when the predecessor is
/// gone. Call it once the inherited listeners are served (after [`Inherited::from_env`]), and
/// after telling systemd (`READY=1` with `MAINPID=`) if it runs under systemd, so that the
/// new main pid is known before the old one stops.
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
        let Some(mut channel) = channel else {
            return Ok(false);
        };
        match channel.write_all(b"1") {
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
        Ok(false)
    }
}

#[cfg_attr(not(unix), allow(dead_code))]
/// Whether the inherited fds are meant for this process.
///
/// systemd's rule: `LISTEN_PID` is this pid. A hand-off's rule (it cannot know the pid in
/// advance, see the module docs): `LISTEN_PID` is absent and the predecessor named in
/// `LAMEDUCK_PREDECESSOR` is the parent, or is gone (this process was orphaned mid-upgrade
/// and is the only one left to serve the sockets).
fn ours(
    listen_pid: Option<&str>,
    predecessor: Option<&str>,
    pid: u32,
    parent: u32,
    alive: impl FnOnce(u32) -> bool,
) -> bool {
    match (listen_pid, predecessor) {
        (Some(listen_pid), _) => listen_pid.trim().parse() == Ok(pid),
        (None, Some(predecessor)) => match predecessor.trim().parse() {
            Ok(predecessor) => predecessor == parent || !alive(predecessor),
            Err(_) => false,
        },
        (None, None) => false,
    }
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
    use crate::os::upgrade::{PREDECESSOR_VAR, READY_NAME};
    use std::env;

    const VARS: [&str; 4] = [
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        PREDECESSOR_VAR,
    ];

    fn remove_vars() {
        for var in VARS {
            env::remove_var(var);
        }
    }

    /// Whether `pid` is a live process (one we may not signal is alive too).
    fn alive(pid: u32) -> bool {
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
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
            alive,
        ) {
            remove_vars();
            return Ok(Inherited::default());
        }
        let count: usize = match count.to_str().and_then(|c| c.trim().parse().ok()) {
            Some(count) => count,
            None => {
                remove_vars();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "LISTEN_FDS is not a number",
                ));
            }
        };
        let names = names(env::var("LISTEN_FDNAMES").ok().as_deref(), count);
        // listenfd reads LISTEN_FDS and LISTEN_PID again (the pid check above is stricter
        // than its own, which accepts an absent LISTEN_PID), removes both, and takes each
        // fd after checking its socket type, making it close-on-exec: the only way to own
        // an fd by number without `unsafe` here.
        let mut fds = listenfd::ListenFd::from_env();
        remove_vars();
        let mut listeners = Vec::with_capacity(count);
        for (index, name) in names.into_iter().enumerate() {
            if name == READY_NAME && predecessor.is_some() {
                let channel: Option<UnixStream> =
                    fds.take_custom(index, libc::AF_UNIX, libc::SOCK_STREAM, "unix stream")?;
                *READY.lock().unwrap_or_else(|e| e.into_inner()) = channel;
                continue;
            }
            let listener = match fds.take_tcp_listener(index) {
                Ok(listener) => listener.map(Listener::Tcp),
                Err(_) => fds
                    .take_unix_listener(index)
                    .ok()
                    .flatten()
                    .map(Listener::Unix),
            };
            if listener.is_some() {
                listeners.push((name, listener));
            }
        }
        Ok(Inherited { listeners })
    }
}

#[cfg(test)]
mod tests {
    use super::{names, ours};

    const NEVER: fn(u32) -> bool = |_| panic!("liveness must not be asked");

    #[test]
    fn listen_pid_must_be_ours() {
        assert!(ours(Some("42"), None, 42, 1, NEVER));
        assert!(
            ours(Some("42"), Some("7"), 42, 1, NEVER),
            "LISTEN_PID decides"
        );
        assert!(!ours(Some("43"), None, 42, 1, NEVER));
        assert!(!ours(Some("x"), None, 42, 1, NEVER));
    }

    #[test]
    fn a_predecessor_must_be_the_parent_or_gone() {
        assert!(ours(None, Some("7"), 42, 7, NEVER));
        assert!(!ours(None, Some("8"), 42, 7, |pid| pid == 8));
        assert!(
            ours(None, Some("8"), 42, 1, |_| false),
            "orphaned mid-upgrade"
        );
        assert!(!ours(None, Some("x"), 42, 7, NEVER));
    }

    #[test]
    fn nothing_without_a_pid_or_predecessor() {
        assert!(!ours(None, None, 42, 7, NEVER));
    }

    #[test]
    fn names_match_the_count_or_are_unknown() {
        assert_eq!(names(Some("http:admin"), 2), ["http", "admin"]);
        assert_eq!(names(Some("http"), 2), ["unknown", "unknown"]);
        assert_eq!(names(None, 1), ["unknown"]);
        assert!(names(None, 0).is_empty());
    }
}
