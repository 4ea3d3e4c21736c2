//! The predecessor's side: start the successor with the listening sockets, wait until it
//! serves.

use crate::{facade::handle::Handle, pure::phase::Phase};
use core::{
    fmt,
    future::Future,
    pin::{pin, Pin},
    task::{Context, Poll, Waker},
    time::Duration,
};
use futures_channel::oneshot;
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};
use std::{
    ffi::OsString,
    io,
    path::PathBuf,
    process::{Command, ExitStatus},
    string::{String, ToString},
    sync::{Arc, Mutex},
    task::Wake,
    thread::{self, Thread},
    vec::Vec,
};

/// The default bound on the wait for the successor's readiness.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the upgrades of one server stand; shared by the clones of an [`Upgrader`].
#[derive(Clone, Copy, Debug)]
enum State {
    Idle,
    Upgrading,
    HandedOver(u32),
}

type MakeCommand = dyn Fn() -> Command + Send + Sync;

/// Starts this server's successor with its listening sockets and waits until it serves (see
/// the [module docs](crate::os::upgrade)).
///
/// Configure it at start-up, with every listener the successor must inherit, then call
/// [`upgrade`](Self::upgrade) on request (the demos do on `SIGUSR2`). Clones share the
/// listeners and the one-at-a-time rule.
///
/// ```
/// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
/// use lameduck::upgrade::Upgrader;
/// use std::time::Duration;
/// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let upgrader = Upgrader::new()
///     .listener("http", &listener)
///     .unwrap()
///     .timeout(Duration::from_secs(5));
/// assert_eq!(upgrader.handed_over(), None);
/// # }
/// ```
#[derive(Clone)]
pub struct Upgrader {
    /// The executable and its arguments (`argv[0]` first), read at start-up, before an
    /// upgrade could replace the file: on Linux the running executable's path reads
    /// `<path> (deleted)` once the file was replaced.
    program: Result<PathBuf, String>,
    args: Vec<OsString>,
    command: Option<Arc<MakeCommand>>,
    #[cfg(unix)]
    sockets: Arc<Mutex<Vec<(String, OwnedFd)>>>,
    timeout: Duration,
    state: Arc<Mutex<State>>,
    handle: Option<Handle>,
}

impl fmt::Debug for Upgrader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Upgrader");
        d.field("program", &self.program)
            .field("args", &self.args)
            .field("command", &self.command.as_ref().map(|_| "custom"));
        #[cfg(unix)]
        d.field("sockets", &self.sockets);
        d.field("timeout", &self.timeout)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Default for Upgrader {
    fn default() -> Upgrader {
        Upgrader::new()
    }
}

impl Upgrader {
    /// An upgrader that starts the same executable with the same arguments, with no
    /// listeners yet and a 10 s bound on the wait for readiness.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let upgrader = lameduck::upgrade::Upgrader::new();
    /// # drop(upgrader);
    /// # }
    /// ```
    pub fn new() -> Upgrader {
        let program = std::env::current_exe()
            .map(strip_deleted)
            .map_err(|e| e.to_string());
        Upgrader::starting(program, std::env::args_os().collect())
    }

    /// An upgrader that starts `program` with `args` (`argv[0]` first).
    fn starting(program: Result<PathBuf, String>, args: Vec<OsString>) -> Upgrader {
        Upgrader {
            program,
            args,
            command: None,
            #[cfg(unix)]
            sockets: Arc::default(),
            timeout: DEFAULT_TIMEOUT,
            state: Arc::new(Mutex::new(State::Idle)),
            handle: None,
        }
    }

    /// Adds a listening socket for the successor to inherit, under `name` (its
    /// `LISTEN_FDNAMES` entry; the successor finds it with
    /// [`Inherited::take`](super::Inherited::take)). The upgrader keeps a close-on-exec
    /// duplicate of it until [`close`](Self::close) (or the drain, see
    /// [`handle`](Self::handle)).
    ///
    /// On systems other than unix the socket is not kept and upgrades fail with
    /// [`UpgradeError::Unsupported`].
    ///
    /// # Errors
    ///
    /// `name` is not a valid `LISTEN_FDNAMES` entry (1 to 255 printable ASCII characters
    /// without `:`), or the socket cannot be duplicated (out of fds).
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let upgrader = lameduck::upgrade::Upgrader::new();
    /// assert!(upgrader.clone().listener("a:b", &listener).is_err());
    /// assert!(upgrader.listener("http", &listener).is_ok());
    /// # }
    /// ```
    #[cfg(unix)]
    pub fn listener(self, name: impl Into<String>, socket: &impl AsFd) -> io::Result<Upgrader> {
        let name = name.into();
        if !super::valid_name(&name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a listener's name must be 1 to 255 printable ascii characters without ':'",
            ));
        }
        let fd = socket.as_fd().try_clone_to_owned()?;
        lock(&self.sockets).push((name, fd));
        Ok(self)
    }

    /// Adds a listening socket for the successor to inherit (see the unix version); here, on
    /// a system without fd passing, it only checks the name.
    ///
    /// # Errors
    ///
    /// `name` is not a valid `LISTEN_FDNAMES` entry.
    #[cfg(not(unix))]
    pub fn listener<S>(self, name: impl Into<String>, _socket: &S) -> io::Result<Upgrader> {
        if super::valid_name(&name.into()) {
            Ok(self)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a listener's name must be 1 to 255 printable ascii characters without ':'",
            ))
        }
    }

    /// How long to wait for the successor to say it serves (default 10 s).
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let upgrader = lameduck::upgrade::Upgrader::new().timeout(std::time::Duration::from_secs(3));
    /// # drop(upgrader);
    /// # }
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Upgrader {
        self.timeout = timeout;
        self
    }

    /// How to start the successor, instead of the same executable with the same arguments:
    /// `make` is called for each attempt (a failed upgrade can be retried with a fresh
    /// command). The upgrader adds the inherited fds and `LISTEN_FDS`, `LISTEN_FDNAMES` and
    /// `LAMEDUCK_PREDECESSOR` to its environment. The successor must be the process that
    /// `make` starts (or one that process `exec`s): a wrapper that forks the server instead
    /// hands it a parent the server does not recognise as its predecessor.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// use std::process::Command;
    /// let upgrader = lameduck::upgrade::Upgrader::new().command(|| Command::new("/usr/local/bin/server"));
    /// # drop(upgrader);
    /// # }
    /// ```
    #[must_use]
    pub fn command(mut self, make: impl Fn() -> Command + Send + Sync + 'static) -> Upgrader {
        self.command = Some(Arc::new(make));
        self
    }

    /// Follows the shutdown that `handle` observes: upgrades are refused once it has begun
    /// ([`UpgradeError::ShuttingDown`]), and the upgrader closes its copies of the listeners
    /// when the drain starts, so that new connects are refused as in any drain (the copies
    /// would otherwise keep the sockets open, and new connects would wait in their queues,
    /// unserved, until this process exits). Without it, call [`close`](Self::close) when
    /// the listeners stop.
    ///
    /// An accept loop ([`accept::serve`](crate::accept::serve)) of the same shutdown closes
    /// them as it sees the drain, before it takes its backlog, so that its own listener is
    /// the last copy and closes right after; otherwise a thread of its own waits for the
    /// drain.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let upgrader = lameduck::upgrade::Upgrader::new().handle(&shutdown.handle());
    /// # drop(upgrader);
    /// # }
    /// ```
    #[must_use]
    pub fn handle(mut self, handle: &Handle) -> Upgrader {
        // Closed by the accept loops before they take their backlogs at the drain
        // (`accept::serve`), so that the last copy closes right after that sweep: closed
        // later (by the thread below alone), the sockets would go on queueing connections
        // that are then reset.
        let closer = self.clone();
        handle
            .shared
            .copies
            .lock()
            .push(crate::facade::shared::Close(alloc::boxed::Box::new(
                move || closer.close(),
            )));
        let closer = self.clone();
        let draining = handle.draining();
        let spawned = thread::Builder::new()
            .name("lameduck-upgrade-close".into())
            .spawn(move || {
                block_on(draining);
                closer.close();
            });
        if spawned.is_err() {
            // No thread: close at once rather than keep the sockets open through a drain.
            self.close();
        }
        self.handle = Some(handle.clone());
        self
    }

    /// Drops the upgrader's copies of the listeners: later upgrades hand over no sockets.
    /// Call it when the listeners stop accepting, unless [`handle`](Self::handle) does.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let upgrader = lameduck::upgrade::Upgrader::new().listener("http", &listener).unwrap();
    /// upgrader.close();
    /// # }
    /// ```
    pub fn close(&self) {
        #[cfg(unix)]
        lock(&self.sockets).clear();
    }

    /// The successor's pid, once an upgrade handed over.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// assert_eq!(lameduck::upgrade::Upgrader::new().handed_over(), None);
    /// # }
    /// ```
    pub fn handed_over(&self) -> Option<u32> {
        match *lock(&self.state) {
            State::HandedOver(pid) => Some(pid),
            State::Idle | State::Upgrading => None,
        }
    }

    /// Starts the successor and waits, on a thread of its own, until it serves: the future
    /// resolves to the successor's pid, or to why the upgrade failed (this process serves
    /// on, and may retry). The upgrade starts when this is called, not when the future is
    /// first polled, so that a second call made meanwhile fails with
    /// [`UpgradeError::AlreadyUpgrading`].
    ///
    /// On success, stop this process without a lame-duck period:
    /// [`Trigger::handover`](crate::Trigger::handover).
    ///
    /// ```no_run
    /// # async fn demo(upgrader: lameduck::upgrade::Upgrader, trigger: lameduck::Trigger) {
    /// match upgrader.upgrade().await {
    ///     Ok(handover) => {
    ///         println!("upgrade: handed over to pid {}", handover.pid());
    ///         trigger.handover();
    ///     }
    ///     Err(e) => println!("upgrade: failed: {e}"),
    /// }
    /// # }
    /// ```
    pub fn upgrade(&self) -> Upgrading {
        let claim = match self.claim() {
            Ok(claim) => claim,
            Err(e) => return Upgrading::done(Err(e)),
        };
        let (sender, receiver) = oneshot::channel();
        let this = self.clone();
        let spawned = thread::Builder::new()
            .name("lameduck-upgrade".into())
            .spawn(move || {
                let result = this.attempt(&|| sender.is_canceled());
                finish(claim, result, |result| sender.send(result).is_ok());
            });
        match spawned {
            Ok(_) => Upgrading {
                state: UpgradingState::Waiting(receiver),
            },
            Err(e) => Upgrading::done(Err(UpgradeError::Spawn(e))),
        }
    }

    /// [`upgrade`](Self::upgrade), waiting on the calling thread (up to the timeout; do not
    /// call it on an async executor's thread).
    ///
    /// # Errors
    ///
    /// Why the upgrade failed; this process serves on.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// use lameduck::upgrade::{Upgrader, UpgradeError};
    /// use std::process::Command;
    /// let upgrader = Upgrader::new().command(|| Command::new("/nonexistent/server"));
    /// # #[cfg(unix)]
    /// assert!(matches!(upgrader.upgrade_blocking(), Err(UpgradeError::Spawn(_))));
    /// # }
    /// ```
    pub fn upgrade_blocking(&self) -> Result<Handover, UpgradeError> {
        let claim = self.claim()?;
        let result = self.attempt(&|| false);
        let mut delivered = None;
        finish(claim, result, |result| {
            delivered = Some(result);
            true
        });
        delivered.unwrap_or(Err(UpgradeError::Cancelled))
    }

    fn claim(&self) -> Result<Claim, UpgradeError> {
        if let Some(handle) = &self.handle {
            if handle.phase() != Phase::Running {
                return Err(UpgradeError::ShuttingDown);
            }
        }
        let mut state = lock(&self.state);
        match *state {
            State::Idle => {
                *state = State::Upgrading;
                Ok(Claim {
                    state: self.state.clone(),
                    keep: false,
                })
            }
            State::Upgrading => Err(UpgradeError::AlreadyUpgrading),
            State::HandedOver(pid) => Err(UpgradeError::HandedOver { pid }),
        }
    }

    /// The command to start, before the fds and variables are added.
    #[cfg_attr(not(unix), allow(dead_code))]
    fn command_to_start(&self) -> io::Result<Command> {
        if let Some(make) = &self.command {
            return Ok(make());
        }
        let program = self
            .program
            .as_ref()
            .map_err(|e| io::Error::other(std::format!("cannot find this executable: {e}")))?;
        let mut command = Command::new(program);
        #[cfg(unix)]
        if let Some(arg0) = self.args.first() {
            std::os::unix::process::CommandExt::arg0(&mut command, arg0);
        }
        command.args(self.args.iter().skip(1));
        Ok(command)
    }

    #[cfg(not(unix))]
    fn attempt(&self, _cancelled: &dyn Fn() -> bool) -> Result<Successor, UpgradeError> {
        Err(UpgradeError::Unsupported)
    }

    #[cfg(unix)]
    fn attempt(&self, cancelled: &dyn Fn() -> bool) -> Result<Successor, UpgradeError> {
        use command_fds::{CommandFdExt, FdMapping};
        use std::{io::Read, os::unix::net::UnixStream, time::Instant};

        let (ours, theirs) = UnixStream::pair().map_err(UpgradeError::Spawn)?;
        let mut command = self.command_to_start().map_err(UpgradeError::Spawn)?;
        let mut mappings = Vec::new();
        let mut names = Vec::new();
        for (name, fd) in lock(&self.sockets).iter() {
            let parent_fd = fd.try_clone().map_err(UpgradeError::Spawn)?;
            mappings.push((parent_fd, name.clone()));
        }
        mappings.push((OwnedFd::from(theirs), String::from(super::READY_NAME)));
        let count = mappings.len();
        let mappings = mappings
            .into_iter()
            .zip(3..)
            .map(|((parent_fd, name), child_fd)| {
                names.push(name);
                FdMapping {
                    parent_fd,
                    child_fd,
                }
            })
            .collect();
        command
            .fd_mappings(mappings)
            .map_err(|e| UpgradeError::Spawn(io::Error::other(e)))?;
        command
            .env("LISTEN_FDS", count.to_string())
            .env("LISTEN_FDNAMES", names.join(":"))
            .env(super::PREDECESSOR_VAR, std::process::id().to_string())
            .env_remove("LISTEN_PID");
        let child = command.spawn().map_err(UpgradeError::Spawn)?;
        // Our copies of the successor's fds live in the command: dropping it closes them, so
        // that the readiness channel reads end-of-file once the successor lets go of it.
        drop(command);
        let mut successor = Successor(Some(child));

        // How often a silent successor is checked for an exit, and a cancellation noticed.
        const TICK: Duration = Duration::from_millis(20);
        let io = UpgradeError::Io;
        ours.set_read_timeout(Some(TICK)).map_err(io)?;
        let start = Instant::now();
        let mut byte = [0u8; 1];
        loop {
            if cancelled() {
                return Err(UpgradeError::Cancelled);
            }
            match (&ours).read(&mut byte) {
                Ok(0) => return Err(successor.closed()),
                Ok(_) => return Ok(successor),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(UpgradeError::Io(e)),
            }
            if let Some(status) = successor.exited().map_err(io)? {
                return Err(UpgradeError::Exited(status));
            }
            if start.elapsed() >= self.timeout {
                return Err(UpgradeError::Timeout(self.timeout));
            }
        }
    }
}

/// Records how an upgrade ended and delivers its result with `deliver`, which says whether
/// someone took it. The state is settled first, so that whoever receives a failure can retry
/// at once. A hand-over nobody took is undone: the successor is killed, this process goes on.
fn finish(
    mut claim: Claim,
    result: Result<Successor, UpgradeError>,
    deliver: impl FnOnce(Result<Handover, UpgradeError>) -> bool,
) {
    match result {
        Err(e) => {
            // The successor, if one started, was killed and reaped when `result` was built.
            drop(claim);
            deliver(Err(e));
        }
        Ok(mut successor) => {
            let pid = successor.pid();
            claim.settle(State::HandedOver(pid));
            if deliver(Ok(Handover { pid })) {
                successor.release();
                claim.keep = true;
            }
            // Otherwise dropping `successor` kills it and dropping `claim` makes us idle.
        }
    }
}

/// One upgrade's claim on the shared state: back to idle when dropped, unless kept.
struct Claim {
    state: Arc<Mutex<State>>,
    keep: bool,
}

impl Claim {
    fn settle(&self, state: State) {
        *lock(&self.state) = state;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.keep {
            self.settle(State::Idle);
        }
    }
}

/// A started successor: killed and reaped when dropped, unless released (it serves).
struct Successor(Option<std::process::Child>);

impl Successor {
    fn pid(&self) -> u32 {
        self.0.as_ref().map_or(0, std::process::Child::id)
    }

    fn release(&mut self) {
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
    fn closed(&mut self) -> UpgradeError {
        for _ in 0..50 {
            if let Ok(Some(status)) = self.exited() {
                return UpgradeError::Exited(status);
            }
            thread::sleep(Duration::from_millis(10));
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

/// A successful upgrade: the successor serves from the same sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handover {
    pid: u32,
}

impl Handover {
    /// The successor's pid.
    ///
    /// ```no_run
    /// let handover = lameduck::upgrade::Upgrader::new().upgrade_blocking().unwrap();
    /// println!("upgrade: handed over to pid {}", handover.pid());
    /// ```
    pub fn pid(&self) -> u32 {
        self.pid
    }
}

/// Why an upgrade failed. This process serves on; the successor, if one started, was killed
/// and reaped.
///
/// ```
/// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
/// use lameduck::upgrade::UpgradeError;
/// assert_eq!(UpgradeError::AlreadyUpgrading.to_string(), "already upgrading");
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradeError {
    /// Another upgrade is under way.
    AlreadyUpgrading,
    /// An upgrade already handed over to this successor.
    HandedOver {
        /// The successor's pid.
        pid: u32,
    },
    /// The shutdown has begun (see [`Upgrader::handle`]).
    ShuttingDown,
    /// The successor could not be started.
    Spawn(io::Error),
    /// The successor exited before it was ready.
    Exited(ExitStatus),
    /// The successor closed its readiness channel without saying it was ready, and lives on.
    Closed,
    /// The successor was not ready within this bound.
    Timeout(Duration),
    /// The [`Upgrading`] future was dropped before the successor was ready.
    Cancelled,
    /// Waiting for the successor failed.
    Io(io::Error),
    /// This system cannot pass sockets to a child process.
    Unsupported,
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpgradeError::AlreadyUpgrading => f.write_str("already upgrading"),
            UpgradeError::HandedOver { pid } => write!(f, "already handed over to pid {pid}"),
            UpgradeError::ShuttingDown => f.write_str("shutting down"),
            UpgradeError::Spawn(e) => write!(f, "cannot start the successor: {e}"),
            UpgradeError::Exited(status) => {
                write!(f, "the successor exited before it was ready ({status})")
            }
            UpgradeError::Closed => {
                f.write_str("the successor closed its readiness channel without being ready")
            }
            UpgradeError::Timeout(bound) => {
                write!(f, "the successor was not ready within {bound:?}")
            }
            UpgradeError::Cancelled => f.write_str("the upgrade was cancelled"),
            UpgradeError::Io(e) => write!(f, "waiting for the successor: {e}"),
            UpgradeError::Unsupported => {
                f.write_str("in-place upgrades need a unix system (fd passing)")
            }
        }
    }
}

impl core::error::Error for UpgradeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            UpgradeError::Spawn(e) | UpgradeError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The future of [`Upgrader::upgrade`]: the successor's pid once it serves, or why the
/// upgrade failed.
///
/// # Cancel safety
///
/// Dropping it before it completes cancels the upgrade: the successor is killed (within
/// about 20 ms) and this process serves on. A successor that said it was ready at the very
/// moment of the drop may have been handed over unseen: [`Upgrader::handed_over`] tells.
#[derive(Debug)]
#[must_use = "the upgrade is cancelled when this is dropped"]
pub struct Upgrading {
    state: UpgradingState,
}

#[derive(Debug)]
enum UpgradingState {
    Done(Option<Result<Handover, UpgradeError>>),
    Waiting(oneshot::Receiver<Result<Handover, UpgradeError>>),
}

impl Upgrading {
    fn done(result: Result<Handover, UpgradeError>) -> Upgrading {
        Upgrading {
            state: UpgradingState::Done(Some(result)),
        }
    }
}

impl Future for Upgrading {
    type Output = Result<Handover, UpgradeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            UpgradingState::Done(result) => match result.take() {
                Some(result) => Poll::Ready(result),
                None => Poll::Pending,
            },
            UpgradingState::Waiting(receiver) => match Pin::new(receiver).poll(cx) {
                Poll::Ready(Ok(result)) => Poll::Ready(result),
                Poll::Ready(Err(oneshot::Canceled)) => Poll::Ready(Err(UpgradeError::Io(
                    io::Error::other("the upgrade thread ended without an answer"),
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `future` to completion on this thread (the drain watcher of [`Upgrader::handle`]; a
/// whole executor for one wait would be out of place in the core).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn errors_read_lowercase() {
        for e in [
            UpgradeError::AlreadyUpgrading,
            UpgradeError::HandedOver { pid: 7 },
            UpgradeError::ShuttingDown,
            UpgradeError::Closed,
            UpgradeError::Timeout(Duration::from_millis(1500)),
            UpgradeError::Cancelled,
            UpgradeError::Unsupported,
        ] {
            let text = e.to_string();
            assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        }
        assert_eq!(
            UpgradeError::Timeout(Duration::from_secs(10)).to_string(),
            "the successor was not ready within 10s"
        );
    }

    #[test]
    fn one_upgrade_at_a_time_and_none_after_a_handover() {
        let upgrader = Upgrader::starting(Err("no executable in this test".into()), Vec::new());
        let claim = upgrader.claim().unwrap();
        assert!(matches!(
            upgrader.clone().claim(),
            Err(UpgradeError::AlreadyUpgrading)
        ));
        drop(claim);
        let mut claim = upgrader.claim().expect("a failed upgrade can be retried");
        claim.settle(State::HandedOver(42));
        claim.keep = true;
        drop(claim);
        assert_eq!(upgrader.handed_over(), Some(42));
        assert!(matches!(
            upgrader.claim(),
            Err(UpgradeError::HandedOver { pid: 42 })
        ));
    }
}
