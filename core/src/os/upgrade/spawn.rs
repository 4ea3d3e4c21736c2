//! The predecessor's side: start the successor with the listening sockets, wait until it
//! serves.

use super::{
    successor::{self, Successor},
    Inherited,
};
use crate::{
    facade::{
        connection::Connection,
        handle::Handle,
        reached::Reached,
        runtime::{BoxError, Runtime},
        shutdown::{Shutdown, Trigger},
    },
    os::net::Listener,
    pure::{
        phase::Phase,
        signal::{Signal, SignalSet},
    },
};
use core::{
    fmt,
    future::{poll_fn, Future},
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use futures_core::Stream;
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};
use std::{
    boxed::Box,
    ffi::OsString,
    io,
    net::TcpListener,
    path::PathBuf,
    process::{Command, ExitStatus},
    string::String,
    sync::{Arc, Mutex},
    vec::Vec,
};

/// The default bound on the wait for the successor's readiness.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the upgrades of one server stand; shared by the clones of an [`Upgrader`].
#[derive(Clone, Copy, Debug)]
pub(super) enum State {
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
    /// The executable as invoked (`argv[0]` made absolute at start-up; the running
    /// executable's path when `argv[0]` is a bare name, without the ` (deleted)` Linux
    /// appends once the file was replaced), and its arguments (`argv[0]` first). The path
    /// is resolved through symlinks only when the successor starts.
    program: Result<PathBuf, String>,
    args: Vec<OsString>,
    command: Option<Arc<MakeCommand>>,
    #[cfg(unix)]
    pub(super) sockets: Arc<Mutex<Vec<(String, OwnedFd)>>>,
    pub(super) timeout: Duration,
    state: Arc<Mutex<State>>,
    pub(super) shutdown: Option<(Handle, Trigger)>,
    /// What [`from_env`](Self::from_env) found, for [`listen`](Self::listen).
    pub(super) inherited: Arc<Mutex<Inherited>>,
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
        let args: Vec<OsString> = std::env::args_os().collect();
        Upgrader::starting(successor::program(args.first()), args)
    }

    /// [`new`](Self::new), holding the listening sockets this process was started with
    /// ([`Inherited::from_env`]: by a predecessor, or by systemd's socket activation) for
    /// [`listen`](Self::listen). Call it early in `main`, before other threads read the
    /// environment.
    ///
    /// # Errors
    ///
    /// As [`Inherited::from_env`].
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let upgrader = lameduck::upgrade::Upgrader::from_env().unwrap();
    /// # drop(upgrader);
    /// # }
    /// ```
    pub fn from_env() -> io::Result<Upgrader> {
        let inherited = Inherited::from_env()?;
        let upgrader = Upgrader::new();
        *lock(&upgrader.inherited) = inherited;
        Ok(upgrader)
    }

    /// The listener named `name`, in one call: the inherited one (by that name, else the
    /// first inherited TCP listener, as a systemd socket unit names them `unknown`) if this
    /// process was started with one, else the one `bind` makes; registered under `name` for
    /// the successor either way ([`listener`](Self::listener)). tableflip's `Fds.Listen`.
    ///
    /// Under systemd (feature `systemd`), a socket it binds is also handed to the unit's
    /// file-descriptor store when it has one (`FileDescriptorStoreMax=`, which systemd
    /// passes on as `FDSTORE`): systemd keeps it open across a `systemctl restart` and
    /// passes it to the next start under `name`, so a restart refuses no connection (they
    /// wait in the kept socket's backlog for the next process).
    ///
    /// # Errors
    ///
    /// `bind` failed, `name` is not a valid name, the socket cannot be duplicated, or
    /// sockets were inherited and none is a TCP listener (a Unix listener, say): a passed
    /// socket that cannot be served is an error, never a silent bind of another.
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let upgrader = lameduck::upgrade::Upgrader::from_env().unwrap();
    /// let listener = upgrader
    ///     .listen("http", || std::net::TcpListener::bind("127.0.0.1:0"))
    ///     .unwrap();
    /// # drop(listener);
    /// # }
    /// ```
    pub fn listen(
        &self,
        name: &str,
        bind: impl FnOnce() -> io::Result<TcpListener>,
    ) -> io::Result<TcpListener> {
        let inherited = {
            let mut inherited = lock(&self.inherited);
            match inherited.take(name) {
                Some(Listener::Tcp(listener)) => Some(listener),
                // Unix listeners; none elsewhere.
                #[cfg_attr(not(unix), allow(unreachable_patterns))]
                Some(other) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        std::format!(
                            "the inherited socket {name:?} is not a TCP listener ({other:?})"
                        ),
                    ))
                }
                None => match inherited.take_tcp() {
                    Some(listener) => Some(listener),
                    None if !inherited.is_empty() => {
                        // Passed, and none of them fits: say so rather than bind.
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            std::format!(
                                "no inherited TCP listener among {:?}",
                                inherited.names().collect::<Vec<_>>()
                            ),
                        ));
                    }
                    None => None,
                },
            }
        };
        let listener = match inherited {
            Some(listener) => listener,
            None => {
                let listener = bind()?;
                // Kept by systemd across restarts, if the unit has a store: the sockets then
                // outlive this process, as activated ones do.
                #[cfg(all(unix, feature = "systemd"))]
                if crate::os::systemd::store(name, listener.as_fd()) {
                    super::inherit::manage();
                }
                listener
            }
        };
        self.clone().listener(name, &listener)?;
        Ok(listener)
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
            shutdown: None,
            inherited: Arc::default(),
        }
    }

    /// Adds a listening socket for the successor to inherit, under `name` (its
    /// `LISTEN_FDNAMES` entry; the successor finds it with
    /// [`Inherited::take`](super::Inherited::take)). The upgrader keeps a close-on-exec
    /// duplicate of it until [`close`](Self::close) (or the drain, see
    /// [`on_signal`](Self::on_signal)).
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

    /// Follows `shutdown`: upgrades are refused once it has begun
    /// ([`UpgradeError::ShuttingDown`]); an upgrade in flight when it begins is cancelled, its
    /// successor killed and reaped before the drain can end (the attempt holds the drain
    /// open as a connection would); and a successful upgrade starts it with
    /// [`Trigger::handover`] itself, in the same step as the last check that it had not begun,
    /// so that a successor is never left serving beside a shutdown.
    ///
    /// The upgrader's copies of the listeners close when the drain starts: by the first
    /// accept loop ([`accept::serve`](crate::accept::serve)) of the same shutdown to see it,
    /// before it takes its backlog (so that its own listener is the last copy and closes
    /// right after), or by [`on_signal`](Self::on_signal)'s task, whichever comes first
    /// (the copies would otherwise keep the sockets open, and new connects would wait in
    /// their queues, unserved, until this process exits).
    ///
    /// ```
    /// # #[cfg(not(miri))] { // no executable path, sockets or processes under miri
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let upgrader = lameduck::upgrade::Upgrader::new().shutdown(&shutdown);
    /// # drop(upgrader);
    /// # }
    /// ```
    #[must_use]
    pub fn shutdown(mut self, shutdown: &Shutdown) -> Upgrader {
        let handle = shutdown.handle();
        // Closed by the accept loops before they take their backlogs at the drain
        // (`accept::serve`), so that the last copy closes right after that sweep. The closer
        // holds the copies alone, not the upgrader (which holds the handle: a cycle).
        #[cfg(unix)]
        {
            let sockets = self.sockets.clone();
            handle
                .shared
                .copies
                .lock()
                .push(crate::facade::shared::Close(Box::new(move || {
                    lock(&sockets).clear();
                })));
        }
        self.shutdown = Some((handle, shutdown.trigger()));
        self
    }

    /// Drops the upgrader's copies of the listeners: later upgrades hand over no sockets.
    /// Call it when the listeners stop accepting, unless [`on_signal`](Self::on_signal) does.
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

    /// Starts the successor and waits, on `runtime`'s timer, until it serves: the future
    /// resolves to the successor's pid, or to why the upgrade failed (this process serves
    /// on, and may retry). The upgrade is claimed when this is called, not when the future is
    /// first polled, so that a second call made meanwhile fails with
    /// [`UpgradeError::AlreadyUpgrading`].
    ///
    /// No thread is started: the readiness channel is read without blocking and the successor
    /// checked for an exit ([`try_wait`](std::process::Child::try_wait)) every 20 ms, between
    /// sleeps on the runtime's timer (the [`Runtime`] trait has no way to wait on an
    /// arbitrary fd, and a thread per upgrade would be one more thing to stop at shutdown).
    ///
    /// With [`shutdown`](Self::shutdown), a success has already started the shutdown (by
    /// [`Trigger::handover`]); otherwise stop this process yourself, without a lame-duck
    /// period.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes cancels the upgrade: the successor is killed
    /// and reaped, and this process serves on.
    ///
    /// ```no_run
    /// async fn on_request(upgrader: &lameduck::upgrade::Upgrader, runtime: &impl lameduck::runtime::Runtime) {
    ///     match upgrader.upgrade(runtime).await {
    ///         Ok(handover) => println!("upgrade: handed over to pid {}", handover.pid()),
    ///         Err(e) => println!("upgrade: failed: {e}"),
    ///     }
    /// }
    /// ```
    pub fn upgrade<R: Runtime>(&self, runtime: &R) -> Upgrading {
        let claim = match self.claim() {
            Ok(claim) => claim,
            Err(e) => return Upgrading::done(Err(e)),
        };
        let this = self.clone();
        let runtime = runtime.clone();
        Upgrading {
            state: UpgradingState::Waiting(Box::pin(async move {
                let mut claim = claim;
                let result = this.attempt(&runtime, claim.stopping()).await;
                this.finish(claim, result)
            })),
        }
    }

    /// Upgrades on each `signal` (the demos use `SIGUSR2`) until the drain starts, on a task
    /// spawned on `runtime`; `outcome` hears how each upgrade ended. A signal during an
    /// upgrade fails with [`UpgradeError::AlreadyUpgrading`]. When the drain starts, the
    /// upgrader's copies of the listeners are closed ([`close`](Self::close)), so that new
    /// connects are refused as in any drain (the copies would otherwise keep the sockets
    /// open, and connects would wait in their queues, unserved, until this process exits).
    ///
    /// Use it with [`shutdown`](Self::shutdown): a successful upgrade then starts the
    /// shutdown; without it the task runs until `runtime` stops.
    ///
    /// # Errors
    ///
    /// `runtime` cannot listen for `signal`.
    ///
    /// ```no_run
    /// use lameduck::{runtime::Runtime, upgrade::Upgrader, Shutdown, Signal};
    /// fn upgrades(runtime: &impl Runtime, shutdown: &Shutdown, listener: &std::net::TcpListener) {
    ///     const SIGUSR2: Signal = Signal::new(12); // on Linux
    ///     Upgrader::new()
    ///         .listener("http", listener)
    ///         .unwrap()
    ///         .shutdown(shutdown)
    ///         .on_signal(runtime, SIGUSR2, |outcome| match outcome {
    ///             Ok(handover) => println!("upgrade: handed over to pid {}", handover.pid()),
    ///             Err(e) => println!("upgrade: failed: {e}"),
    ///         })
    ///         .expect("signals");
    /// }
    /// ```
    pub fn on_signal<R: Runtime>(
        self,
        runtime: &R,
        signal: Signal,
        mut outcome: impl FnMut(Result<Handover, UpgradeError>) + Send + 'static,
    ) -> Result<(), BoxError> {
        let mut requests = Some(runtime.signals(SignalSet::EMPTY.with(signal))?);
        let runtime_ = runtime.clone();
        runtime.spawn(async move {
            let mut draining = self.shutdown.as_ref().map(|(handle, _)| handle.draining());
            let mut current: Option<Upgrading> = None;
            enum Wake {
                Draining,
                Done(Outcome),
                Request,
                Ended,
            }
            loop {
                let wake = poll_fn(|cx| {
                    if let Some(draining) = &mut draining {
                        if Pin::new(draining).poll(cx).is_ready() {
                            return Poll::Ready(Wake::Draining);
                        }
                    }
                    if let Some(upgrading) = &mut current {
                        if let Poll::Ready(outcome) = upgrading.poll_holding(cx) {
                            return Poll::Ready(Wake::Done(outcome));
                        }
                    }
                    match requests.as_mut().map(|r| Pin::new(r).poll_next(cx)) {
                        Some(Poll::Ready(Some(_))) => Poll::Ready(Wake::Request),
                        Some(Poll::Ready(None)) => Poll::Ready(Wake::Ended),
                        Some(Poll::Pending) => Poll::Pending,
                        None if draining.is_none() && current.is_none() => Poll::Ready(Wake::Ended),
                        None => Poll::Pending,
                    }
                })
                .await;
                match wake {
                    Wake::Draining => break,
                    Wake::Done(done) => {
                        current = None;
                        deliver(done, &mut outcome);
                    }
                    Wake::Request => {
                        let upgrading = self.upgrade(&runtime_);
                        if current.is_some() {
                            // Claimed by the one in flight: this one fails at once.
                            if let UpgradingState::Done(Some(result)) = upgrading.state {
                                outcome(result);
                            }
                        } else {
                            current = Some(upgrading);
                        }
                    }
                    // Nothing more will come: wait for the drain (or the upgrade) alone.
                    Wake::Ended if requests.is_some() => requests = None,
                    Wake::Ended => break,
                }
            }
            // An upgrade in flight saw the shutdown begin and cancelled itself; finish it
            // so that its outcome is heard.
            if let Some(mut upgrading) = current.take() {
                deliver(poll_fn(|cx| upgrading.poll_holding(cx)).await, &mut outcome);
            }
            self.close();
        });
        Ok(())
    }

    pub(super) fn claim(&self) -> Result<Claim, UpgradeError> {
        if std::process::id() == 1 {
            return Err(UpgradeError::Init);
        }
        let stopping = match &self.shutdown {
            Some((handle, _)) => {
                // Held through the attempt: the drain cannot end before the successor is
                // killed and reaped (or handed over).
                match handle.connection() {
                    Some(holding) if handle.phase() == Phase::Running => {
                        Some((holding, handle.reached(Phase::LameDuck)))
                    }
                    _ => return Err(UpgradeError::ShuttingDown),
                }
            }
            None => None,
        };
        let mut state = lock(&self.state);
        match *state {
            State::Idle => {
                *state = State::Upgrading;
                // `Type=notify-reload`: systemd waits for the outcome (READY=1 from the
                // successor, or from this process when the upgrade fails).
                #[cfg(feature = "systemd")]
                crate::os::systemd::reloading();
                Ok(Claim {
                    state: self.state.clone(),
                    keep: false,
                    stopping,
                })
            }
            State::Upgrading => Err(UpgradeError::AlreadyUpgrading),
            State::HandedOver(pid) => Err(UpgradeError::HandedOver { pid }),
        }
    }

    /// Records how an upgrade ended. The state is settled first, so that whoever receives a
    /// failure can retry at once. A successor that said it was ready once the shutdown had
    /// begun is killed: the shutdown wins.
    /// Also hands back the claim's hold on the drain, for the caller to drop once the outcome
    /// is delivered (else the process could exit before it is heard).
    fn finish(
        &self,
        mut claim: Claim,
        result: Result<Successor, UpgradeError>,
    ) -> (Result<Handover, UpgradeError>, Option<Connection>) {
        let holding = claim.stopping.take().map(|(holding, _)| holding);
        (self.settle(claim, result), holding)
    }

    fn settle(
        &self,
        mut claim: Claim,
        result: Result<Successor, UpgradeError>,
    ) -> Result<Handover, UpgradeError> {
        // The successor, if one started and failed, was killed and reaped when `result` was
        // built; dropping the claim makes us idle.
        let mut successor = result?;
        // On an error, dropping `successor` kills and reaps it.
        let handover = self.hand_over(&mut claim, successor.pid())?;
        successor.release();
        Ok(handover)
    }

    /// The last step of every kind of upgrade, once the successor `pid` serves: the shutdown
    /// starts (by [`Trigger::handover`]) unless it had begun, in which case the successor
    /// must stop ([`UpgradeError::ShuttingDown`]).
    pub(super) fn hand_over(&self, claim: &mut Claim, pid: u32) -> Result<Handover, UpgradeError> {
        if let Some((handle, trigger)) = &self.shutdown {
            if handle.phase() != Phase::Running {
                return Err(UpgradeError::ShuttingDown);
            }
            trigger.handover();
        }
        claim.settle(State::HandedOver(pid));
        claim.keep = true;
        Ok(Handover { pid })
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
    async fn attempt<R: Runtime>(
        &self,
        _runtime: &R,
        _stopping: Option<&mut Reached>,
    ) -> Result<Successor, UpgradeError> {
        Err(UpgradeError::Unsupported)
    }

    #[cfg(unix)]
    async fn attempt<R: Runtime>(
        &self,
        runtime: &R,
        stopping: Option<&mut Reached>,
    ) -> Result<Successor, UpgradeError> {
        let command = self.command_to_start().map_err(UpgradeError::Spawn)?;
        let sockets = self.copies().map_err(UpgradeError::Spawn)?;
        successor::start(command, sockets, self.timeout, runtime, stopping).await
    }

    /// Copies of the listening sockets for a successor, with their names: its own to keep,
    /// while this process keeps its own until the hand-over.
    #[cfg(unix)]
    pub(super) fn copies(&self) -> io::Result<Vec<(String, OwnedFd)>> {
        lock(&self.sockets)
            .iter()
            .map(|(name, fd)| Ok((name.clone(), fd.try_clone()?)))
            .collect()
    }
}

/// One upgrade's claim on the shared state: back to idle when dropped, unless kept. With a
/// shutdown to follow, it holds the drain open (as a connection) and watches for its start.
pub(super) struct Claim {
    state: Arc<Mutex<State>>,
    keep: bool,
    stopping: Option<(Connection, Reached)>,
}

impl Claim {
    fn settle(&self, state: State) {
        *lock(&self.state) = state;
    }

    pub(super) fn stopping(&mut self) -> Option<&mut Reached> {
        self.stopping.as_mut().map(|(_, reached)| reached)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.keep {
            self.settle(State::Idle);
            // The upgrade failed: this process serves on.
            #[cfg(feature = "systemd")]
            crate::os::systemd::reloaded();
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
    /// # async fn f() {
    /// let upgrader = lameduck::upgrade::Upgrader::new();
    /// # let runtime = lameduck::test_util::ManualClock::new();
    /// let handover = upgrader.upgrade(&runtime).await.unwrap();
    /// println!("upgrade: handed over to pid {}", handover.pid());
    /// # }
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
    /// The shutdown has begun (see [`Upgrader::shutdown`]).
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
    /// This process is PID 1 (of a container, most likely): when it exits after the
    /// hand-over, the kernel kills every process of its namespace, the successor with it.
    /// Run the server under an init (`docker run --init`, `tini`, or Kubernetes'
    /// `shareProcessNamespace`).
    Init,
    /// A process of another user asked for a hand-off on the control socket
    /// ([`Upgrader::control`]); only this server's user, or root, may.
    Unauthorized {
        /// The asking process's pid.
        pid: u32,
        /// Its user.
        uid: u32,
    },
    /// The control socket ([`Upgrader::control`]) could not be bound.
    Control(io::Error),
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
            UpgradeError::Init => f.write_str(
                "this process is pid 1: its successor would be killed when it exits \
                 (run it under an init, e.g. docker run --init)",
            ),
            UpgradeError::Unauthorized { pid, uid } => write!(
                f,
                "refused pid {pid}: its user {uid} is neither this server's nor root"
            ),
            UpgradeError::Control(e) => write!(f, "control socket: {e}"),
        }
    }
}

impl core::error::Error for UpgradeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            UpgradeError::Spawn(e) | UpgradeError::Io(e) | UpgradeError::Control(e) => Some(e),
            _ => None,
        }
    }
}

/// The future of [`Upgrader::upgrade`]: the successor's pid once it serves, or why the
/// upgrade failed.
///
/// # Cancel safety
///
/// Dropping it before it completes cancels the upgrade: the successor is killed and reaped,
/// and this process serves on.
#[must_use = "the upgrade is cancelled when this is dropped"]
pub struct Upgrading {
    state: UpgradingState,
}

/// Delivers an attempt's outcome, dropping its hold on the drain: after a hand-over once the
/// outcome is heard (the drain, and the exit, could otherwise come first and lose it); after
/// a failure first, so that a force a watcher sends on hearing it does not find the hold
/// open and count it as a connection cut.
fn deliver((result, holding): Outcome, outcome: &mut impl FnMut(Result<Handover, UpgradeError>)) {
    if result.is_ok() {
        outcome(result);
        drop(holding);
    } else {
        drop(holding);
        outcome(result);
    }
}

/// An attempt's outcome, with its hold on the drain (see [`Upgrader::shutdown`]).
type Outcome = (Result<Handover, UpgradeError>, Option<Connection>);
type Attempt = Pin<Box<dyn Future<Output = Outcome> + Send>>;

enum UpgradingState {
    Done(Option<Result<Handover, UpgradeError>>),
    Waiting(Attempt),
}

impl fmt::Debug for Upgrading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            UpgradingState::Done(_) => "done",
            UpgradingState::Waiting(_) => "waiting",
        };
        f.debug_struct("Upgrading").field("state", &state).finish()
    }
}

impl Upgrading {
    fn done(result: Result<Handover, UpgradeError>) -> Upgrading {
        Upgrading {
            state: UpgradingState::Done(Some(result)),
        }
    }
}

impl Upgrading {
    /// The outcome, still holding the drain open until the caller drops the hold.
    fn poll_holding(&mut self, cx: &mut Context<'_>) -> Poll<Outcome> {
        match &mut self.state {
            UpgradingState::Done(result) => match result.take() {
                Some(result) => Poll::Ready((result, None)),
                None => Poll::Pending,
            },
            UpgradingState::Waiting(attempt) => attempt.as_mut().poll(cx),
        }
    }
}

impl Future for Upgrading {
    type Output = Result<Handover, UpgradeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_holding(cx).map(|(result, _)| result)
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

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
            UpgradeError::Init,
            UpgradeError::Unauthorized { pid: 7, uid: 1000 },
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
