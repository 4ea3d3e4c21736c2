//! The hand-off to a successor started separately: [`Upgrader::control`] on the serving
//! side, [`Upgrader::take_over`] on the successor's (the protocol: `control.rs`).

use super::{
    control::{self, ControlSocket, Request},
    inherit,
    spawn::lock,
    Handover, Inherited, Readiness, UpgradeError, Upgrader,
};
use crate::facade::runtime::Runtime;
use core::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use futures_util::{
    future::{select, Either},
    StreamExt,
};
use std::{
    boxed::Box,
    io,
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    string::{String, ToString},
    sync::{Arc, Mutex},
    vec::Vec,
};

/// How long [`Upgrader::take_over`] waits for the server's offer.
const OFFER_BOUND: Duration = Duration::from_secs(10);

impl Upgrader {
    /// Takes the listening sockets of the server whose control socket is at `path` (a server
    /// that called [`control`](Self::control)), instead of [`from_env`](Self::from_env): the
    /// upgrader's [`listen`](Self::listen) then returns them, and [`ready`](super::ready)
    /// (which `lameduck-hyper`'s `serve` says) tells that server this process serves. Hear
    /// its answer with [`TakeOver::confirmed`]: a failure means this process must stop.
    ///
    /// Linux only (the server checks the caller's user with `SO_PEERCRED`).
    ///
    /// # Errors
    ///
    /// [`TakeOverError::Nothing`]: nothing answers at `path`; [`TakeOverError::Refused`]: the
    /// server refused (another upgrade is under way, it is shutting down, or this process
    /// runs as another user); [`TakeOverError::Failed`]: the exchange failed, or a socket
    /// passed is not a listening TCP or Unix stream socket.
    ///
    /// ```no_run
    /// use lameduck::upgrade::Upgrader;
    /// let (upgrader, take_over) = Upgrader::take_over("/run/server.sock").unwrap();
    /// let listener = upgrader
    ///     .listen("http", || std::net::TcpListener::bind("127.0.0.1:8080"))
    ///     .unwrap();
    /// println!("taking over from pid {}", take_over.predecessor());
    /// # drop(listener);
    /// ```
    pub fn take_over(path: impl AsRef<Path>) -> Result<(Upgrader, TakeOver), TakeOverError> {
        let taken = control::take_over(path.as_ref(), OFFER_BOUND).map_err(|e| match e {
            control::TakeOverError::Nothing(e) => TakeOverError::Nothing(e),
            control::TakeOverError::Refused(reason) => TakeOverError::Refused(reason),
            control::TakeOverError::Protocol(what) => TakeOverError::Failed(what),
        })?;
        let failed = |e: io::Error| TakeOverError::Failed(e.to_string());
        let inherited = Inherited::from_sockets(taken.sockets).map_err(failed)?;
        taken.stream.set_nonblocking(true).map_err(failed)?;
        inherit::expect_ready(taken.stream.try_clone().map_err(failed)?);
        let upgrader = Upgrader::new();
        *lock(&upgrader.inherited) = inherited;
        Ok((
            upgrader,
            TakeOver {
                predecessor: taken.pid,
                stream: taken.stream,
            },
        ))
    }

    /// Answers hand-off requests from successors started separately (with
    /// [`take_over`](Self::take_over)) on a Unix stream socket at `path`, created with mode
    /// 0600 and removed when the drain starts (with [`shutdown`](Self::shutdown)); `outcome`
    /// hears how each ended, as [`on_signal`](Self::on_signal)'s does.
    ///
    /// A request from a process of another user (root excepted) is refused
    /// ([`UpgradeError::Unauthorized`]). Otherwise the hand-off is an upgrade like any: one at
    /// a time with [`upgrade`](Self::upgrade) and [`on_signal`](Self::on_signal)'s (a second
    /// is refused with [`UpgradeError::AlreadyUpgrading`]), the same wait for the successor
    /// to say it serves (bounded by [`timeout`](Self::timeout)), the same shutdown after it.
    /// The successor hears the outcome. Before it, this server stops answering at `path`, so
    /// that the successor can bind it for the next hand-off.
    ///
    /// In a process started to succeed another (by an upgrade or a take-over), the socket is
    /// bound once the predecessor stopped answering at `path`; a failure to bind it then
    /// goes to `outcome` ([`UpgradeError::Control`]). Otherwise it is bound at once.
    ///
    /// A thread of its own waits for connections; requests are served on `runtime`.
    ///
    /// # Errors
    ///
    /// A live server answers at `path` (kind [`io::ErrorKind::AddrInUse`]: "another server
    /// is listening there"), something else than a socket is there, or binding failed. A
    /// stale socket file is replaced.
    ///
    /// ```no_run
    /// use lameduck::{runtime::Runtime, upgrade::Upgrader, Shutdown};
    /// fn control(runtime: &impl Runtime, shutdown: &Shutdown, upgrader: Upgrader) {
    ///     upgrader
    ///         .shutdown(shutdown)
    ///         .control(runtime, "/run/server.sock", |outcome| match outcome {
    ///             Ok(handover) => println!("upgrade: handed over to pid {}", handover.pid()),
    ///             Err(e) => println!("upgrade: failed: {e}"),
    ///         })
    ///         .expect("the control socket");
    /// }
    /// ```
    pub fn control<R: Runtime>(
        &self,
        runtime: &R,
        path: impl Into<PathBuf>,
        outcome: impl FnMut(Result<Handover, UpgradeError>) + Send + 'static,
    ) -> io::Result<()> {
        let path = path.into();
        let outcome: Outcome = Arc::new(Mutex::new(Box::new(outcome)));
        if !inherit::is_successor() {
            let socket = bind(&path)?;
            self.clone().answer(runtime, socket, outcome);
            return Ok(());
        }
        // The predecessor answers there until it hands over: bind once it stopped.
        let predecessors = file(&path);
        let this = self.clone();
        let runtime_ = runtime.clone();
        runtime.spawn(async move {
            let bound = this.timeout.saturating_mul(2);
            let start = runtime_.now();
            let mut draining = this.shutdown.as_ref().map(|(handle, _)| handle.draining());
            while predecessors.is_some() && file(&path) == predecessors {
                if runtime_.now().saturating_sub(start) >= bound {
                    let e = io::Error::new(
                        io::ErrorKind::TimedOut,
                        std::format!(
                            "{}: the predecessor still answers there after {bound:?}",
                            path.display()
                        ),
                    );
                    report(&outcome, Err(UpgradeError::Control(e)));
                    return;
                }
                if !super::tick(&runtime_, draining.as_mut()).await {
                    return;
                }
            }
            match bind(&path) {
                Ok(socket) => this.answer(&runtime_, socket, outcome),
                Err(e) => report(&outcome, Err(UpgradeError::Control(e))),
            }
        });
        Ok(())
    }

    /// Serves requests at `socket` until the drain starts.
    fn answer<R: Runtime>(self, runtime: &R, socket: ControlSocket, outcome: Outcome) {
        let socket = Arc::new(socket);
        let (requests, mut received) = futures_channel::mpsc::unbounded::<Request>();
        let accepting = socket.clone();
        // A thread of its own, not the runtime's: `Runtime` has no readiness for an arbitrary
        // Unix socket (a `Network`'s streams are opaque, and a request is judged by its
        // peer's `SO_PEERCRED` and a bounded blocking read), and a blocking-pool task that
        // waits for ever would hold up the runtime's own end (tokio's drop waits for its
        // blocking tasks). The thread only accepts; the requests are served on the runtime,
        // and the thread ends with the process, or at the first request after the drain.
        let spawned = std::thread::Builder::new()
            .name("lameduck-control".into())
            .spawn(move || loop {
                match accepting.accept() {
                    Ok(Some(request)) => {
                        if requests.unbounded_send(request).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    // Out of fds, say: try again in a moment.
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            });
        if let Err(e) = spawned {
            report(&outcome, Err(UpgradeError::Control(e)));
            return;
        }
        let runtime_ = runtime.clone();
        runtime.spawn(async move {
            let mut draining = self.shutdown.as_ref().map(|(handle, _)| handle.draining());
            loop {
                let next = received.next();
                let request = match &mut draining {
                    Some(draining) => match select(next, draining).await {
                        Either::Left((request, _)) => request,
                        Either::Right(_) => None,
                    },
                    None => next.await,
                };
                let Some(request) = request else { break };
                let hand_off = self.clone().hand_off(
                    runtime_.clone(),
                    request,
                    socket.clone(),
                    outcome.clone(),
                );
                runtime_.spawn(hand_off);
            }
            // Nobody reaches this server at the path any more; the accepting thread ends
            // at its next connection, or with the process.
            socket.remove();
        });
    }

    /// One hand-off, from the request to the outcome.
    async fn hand_off<R: Runtime>(
        self,
        runtime: R,
        request: Request,
        socket: Arc<ControlSocket>,
        outcome: Outcome,
    ) {
        let peer = request.peer();
        if !peer.authorized(rustix::process::getuid().as_raw()) {
            let e = UpgradeError::Unauthorized {
                pid: peer.pid,
                uid: peer.uid,
            };
            request.refuse(&e.to_string());
            return report(&outcome, Err(e));
        }
        let mut claim = match self.claim() {
            Ok(claim) => claim,
            Err(e) => {
                request.refuse(&e.to_string());
                return report(&outcome, Err(e));
            }
        };
        let offered = match self
            .copies()
            .and_then(|sockets| request.offer(std::process::id(), &sockets))
        {
            Ok(offered) => offered,
            Err(e) => return report(&outcome, Err(UpgradeError::Io(e))),
        };
        // Our copies of the sockets are closed: the successor holds its own.
        let start = runtime.now();
        let result = loop {
            match offered.poll_ready() {
                Ok(Readiness::Ready) => break Ok(()),
                Ok(Readiness::Closed) => break Err(UpgradeError::Closed),
                Ok(Readiness::Waiting) => {}
                Err(e) => break Err(UpgradeError::Io(e)),
            }
            if runtime.now().saturating_sub(start) >= self.timeout {
                break Err(UpgradeError::Timeout(self.timeout));
            }
            if !super::tick(&runtime, claim.stopping()).await {
                break Err(UpgradeError::ShuttingDown);
            }
        };
        let result = result.and_then(|()| self.hand_over(&mut claim, peer.pid));
        match &result {
            Ok(_) => {
                // Stop answering at the path before the successor hears it may bind it.
                socket.remove();
                offered.conclude(Ok(()));
            }
            Err(e) => offered.conclude(Err(&e.to_string())),
        }
        drop(claim);
        report(&outcome, result);
    }
}

/// The caller's `outcome`, shared by the hand-offs in flight.
type Outcome = Arc<Mutex<Box<dyn FnMut(Result<Handover, UpgradeError>) + Send>>>;

fn report(outcome: &Outcome, result: Result<Handover, UpgradeError>) {
    (lock(outcome))(result);
}

/// The device and inode of the file at `path`, if any.
fn file(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|meta| (meta.dev(), meta.ino()))
}

fn bind(path: &Path) -> io::Result<ControlSocket> {
    ControlSocket::bind(path).map_err(|e| match e {
        control::BindError::Io(e) => e,
        control::BindError::Taken => io::Error::new(
            io::ErrorKind::AddrInUse,
            "another server is listening there",
        ),
        control::BindError::NotASocket => io::Error::new(
            io::ErrorKind::AlreadyExists,
            "something else than a socket is there",
        ),
    })
}

/// A take-over under way ([`Upgrader::take_over`]): the sockets are this process's; the
/// server that passed them waits for it to say it serves ([`ready`](super::ready)).
#[derive(Debug)]
pub struct TakeOver {
    predecessor: u32,
    stream: UnixStream,
}

impl TakeOver {
    /// The pid of the server that passed the sockets.
    ///
    /// ```no_run
    /// let (_, take_over) = lameduck::upgrade::Upgrader::take_over("/run/server.sock").unwrap();
    /// println!("taking over from pid {}", take_over.predecessor());
    /// ```
    pub fn predecessor(&self) -> u32 {
        self.predecessor
    }

    /// The server's answer once this process said it serves: its pid once it handed over
    /// (it then stops), or why it did not ([`TakeOverError::Failed`]: it began a shutdown
    /// meanwhile, this process was too slow, or it is gone without an answer). After a
    /// failure this process must stop serving: nobody asked it to any more. Polls the
    /// connection on `runtime`'s timer every 20 ms until the answer comes (the server
    /// answers within its upgrade bound, 10 s by default).
    ///
    /// ```no_run
    /// # async fn f(runtime: impl lameduck::runtime::Runtime) {
    /// let (_, take_over) = lameduck::upgrade::Upgrader::take_over("/run/server.sock").unwrap();
    /// // ... serve, say ready, then:
    /// match take_over.confirmed(&runtime).await {
    ///     Ok(pid) => println!("upgrade: took over from pid {pid}"),
    ///     Err(e) => println!("upgrade: failed: {e}"),
    /// }
    /// # }
    /// ```
    pub fn confirmed<R: Runtime>(self, runtime: &R) -> Confirmed {
        let runtime = runtime.clone();
        Confirmed(Box::pin(async move {
            let mut line = Vec::new();
            loop {
                if let Some(answer) = control::poll_outcome(&self.stream, &mut line) {
                    return answer
                        .map(|()| self.predecessor)
                        .map_err(TakeOverError::Failed);
                }
                runtime.sleep(super::TICK).await;
            }
        }))
    }
}

/// The future of [`TakeOver::confirmed`].
///
/// # Cancel safety
///
/// Dropping it drops the connection to the server: a server still waiting for this process
/// to say it serves takes it for gone, and goes on serving.
#[must_use = "the server's answer is read only when this is polled"]
pub struct Confirmed(Pin<Box<dyn Future<Output = Result<u32, TakeOverError>> + Send>>);

impl fmt::Debug for Confirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmed").finish_non_exhaustive()
    }
}

impl Future for Confirmed {
    type Output = Result<u32, TakeOverError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.as_mut().poll(cx)
    }
}

/// Why a take-over ([`Upgrader::take_over`]) failed.
///
/// ```
/// use lameduck::upgrade::TakeOverError;
/// let e = TakeOverError::Refused("already upgrading".into());
/// assert_eq!(e.to_string(), "already upgrading");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TakeOverError {
    /// Nothing answers at the path: no file, a stale socket, no server.
    Nothing(io::Error),
    /// The server refused, saying why.
    Refused(String),
    /// The exchange failed, a socket passed cannot be served, or the server did not hand
    /// over after this process said it serves.
    Failed(String),
}

impl fmt::Display for TakeOverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TakeOverError::Nothing(e) => write!(f, "{e}"),
            TakeOverError::Refused(reason) | TakeOverError::Failed(reason) => f.write_str(reason),
        }
    }
}

impl core::error::Error for TakeOverError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            TakeOverError::Nothing(e) => Some(e),
            _ => None,
        }
    }
}
