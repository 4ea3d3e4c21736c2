//! The accept loop that stops at the drain, runtime-free (feature `std`): [`serve`], over
//! any [`Network`] (the runtime adapters `lameduck-tokio` and `lameduck-smol` are two),
//! which supplies the listener, the timer and the tasks.
//!
//! - [`AcceptError`] sorts accept errors: skip the connection, back off, or give up.
//! - [`Backoff`] is the pause after running out of resources.
//! - [`serve`] is the loop.

mod backoff;
mod error;

pub use backoff::Backoff;
pub use error::AcceptError;

use crate::{
    facade::connection::Connection, facade::handle::Handle, facade::reached::Reached,
    facade::shutdown::Trigger, os::net::Network,
};
use core::{
    future::{poll_fn, Future},
    pin::{pin, Pin},
    task::Poll,
};

/// The most connections [`serve`] takes from the backlog once draining started: one full
/// backlog of Linux's default maximum (`somaxconn`, 4096). Connections that keep arriving
/// while the backlog is taken are taken too (and served): this bounds how long a flood of
/// them keeps the listener open, and the work done without yielding.
pub const MAX_TAKEN_AT_DRAIN: usize = 4096;

/// Accepts connections from `acceptor` (registered with [`Network::listen`]) while the
/// phase allows it (running, lame duck), and returns as soon as draining starts, dropping
/// the acceptor so that new connection attempts are refused at once rather than left
/// waiting in a backlog no one reads.
///
/// Before it drops the acceptor, it takes the connections already waiting in its backlog
/// ([`Network::try_accept`], at most [`MAX_TAKEN_AT_DRAIN`]) and serves them like the
/// others: they are in-flight work of the drain (an HTTP server answers them with
/// `Connection: close`) instead of being reset with the listener. From the call on (not the
/// first poll), the drain cannot complete while this loop still holds its listener, so none
/// of them is refused for coming after the last connection closed.
/// On Linux and Android (where [`Network::fd`] gives the socket, as the runtime adapters'
/// does), a TCP listener first stops new handshakes, with a socket filter that drops only
/// the SYNs that would begin one; the handshakes already begun complete and are taken after
/// a short settle (20 ms, which an idle server's shutdown pays), so the close resets no
/// connection whose client saw its `connect` succeed: a client arriving then is refused when
/// its SYN is sent again. A socket that outlives this process gets no filter (the filter
/// belongs to the socket, and the close resets nothing then): one handed over to a
/// successor, or one from a service manager's socket activation, which keeps a copy.
/// Out of file descriptors (or memory) while taking them, it keeps the listener and backs
/// off until they can be taken (the connections being drained free descriptors as they
/// close) or the drain is cut: what is still queued then is counted as a connection cut,
/// so the report never calls a drain clean when its backlog was reset.
///
/// Each accepted connection is counted with [`Handle::connection`] and handed, with its
/// [`Connection`], to `connected`, whose future is spawned on `network`
/// ([`Runtime::spawn`](crate::facade::runtime::Runtime::spawn)): per-connection setup (a TLS handshake, say)
/// goes in that future, on the connection's own task, and holds neither the loop nor the
/// drain beyond the connection's own count. The future should select on
/// [`Connection::draining`] (finish what is in flight, then close) and
/// [`Connection::cut`] (close now), and drop the guard when it closes. A connection
/// accepted after the drain completed is dropped unserved.
///
/// Accept errors, sorted by [`AcceptError::classify`]:
/// - [`Connection`](AcceptError::Connection): skipped, the next accept follows at once;
/// - [`Resources`](AcceptError::Resources): a pause of [`Backoff::next`] on `network`'s
///   timer, reset by the next success, and serving goes on (no busy loop, no crash);
///   draining ends the pause;
/// - [`Fatal`](AcceptError::Fatal): the shutdown starts with [`Trigger::fail`] (the report's
///   reason carries `accept: <error>`) and this returns.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future stops accepting and drops the acceptor; connections
/// already spawned go on.
///
/// ```no_run
/// use lameduck::{accept, runtime::{Network, Runtime}, Config, Shutdown};
/// /// A server that greets each connection, on any runtime (`lameduck_tokio::Tokio`, ...).
/// async fn hello<N: Network>(network: N) -> lameduck::Report {
///     let shutdown = Shutdown::new(Config::new()).unwrap();
///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let acceptor = network.listen(listener.into()).unwrap();
///     let accepting = accept::serve(
///         network.clone(),
///         acceptor,
///         shutdown.handle(),
///         shutdown.trigger(),
///         |stream, connection| async move {
///             // A handshake, then the protocol; select on `connection.cut()` throughout.
///             drop(stream);
///             drop(connection);
///         },
///     );
///     network.spawn(accepting);
///     let signals = network.signals(shutdown.handle().config().listened_signals()).unwrap();
///     shutdown.run(network, signals).await
/// }
/// ```
pub fn serve<N, C, F>(
    network: N,
    acceptor: N::Acceptor,
    handle: Handle,
    trigger: Trigger,
    connected: C,
) -> impl Future<Output = ()>
where
    N: Network,
    C: FnMut(N::Stream, Connection) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    // Keeps the drain open until the backlog was taken; none once the drain completed.
    // Taken now, not at the first poll: a shutdown that starts before the spawned loop
    // first runs must still find the listener open and its backlog waiting to be taken.
    let hold = handle.hold();
    let listener = Accepting {
        network,
        acceptor,
        connected,
    };
    accepting(listener, handle, trigger, hold)
}

/// What [`serve`] accepts from and spawns on.
struct Accepting<N: Network, C> {
    network: N,
    acceptor: N::Acceptor,
    connected: C,
}

impl<N, C, F> Accepting<N, C>
where
    N: Network,
    C: FnMut(N::Stream, Connection) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    fn spawn(&mut self, stream: N::Stream, guard: Connection) {
        self.network.spawn((self.connected)(stream, guard));
    }
}

async fn accepting<N, C, F>(
    mut listener: Accepting<N, C>,
    handle: Handle,
    trigger: Trigger,
    hold: Option<crate::facade::owned::Hold>,
) where
    N: Network,
    C: FnMut(N::Stream, Connection) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let Some(_hold) = hold else {
        return;
    };
    let mut draining = handle.draining();
    let mut backoff = Backoff::default();
    while handle.phase().accepts() {
        let accept = poll_fn(|cx| {
            let Accepting {
                network, acceptor, ..
            } = &mut listener;
            network.poll_accept(acceptor, cx)
        });
        let Some(accepted) = before_draining(accept, &mut draining).await else {
            break;
        };
        match accepted {
            Ok(stream) => {
                backoff.reset();
                // `None` once the drain completed: the connection is dropped unserved.
                if let Some(guard) = handle.connection() {
                    listener.spawn(stream, guard);
                }
            }
            Err(error) => match AcceptError::classify(&error) {
                AcceptError::Connection => {}
                AcceptError::Resources => {
                    let pause = listener.network.sleep(backoff.next());
                    if before_draining(pause, &mut draining).await.is_none() {
                        break;
                    }
                }
                AcceptError::Fatal => {
                    trigger.fail(format_args!("accept: {error}"));
                    drop(listener);
                    return;
                }
            },
        }
    }
    // Other copies of the listening sockets (an upgrader's) are closed first: then
    // dropping `listener` after the sweep closes the socket, and no connection queues
    // behind the sweep to be reset at the process's exit.
    handle.shared.close_copies();
    #[cfg(unix)]
    let filtered = stop_handshakes(&listener, &handle);
    take_queued(&mut listener, &handle).await;
    #[cfg(unix)]
    if filtered {
        settle(&mut listener, &handle).await;
    }
    drop(listener);
}

/// Stops new handshakes on the listener (see `handshakes`), unless the socket outlives this
/// process (a successor or a service manager holds it too: the filter would outlive the
/// process with it, and the close resets nothing then): `true` if they are stopped.
#[cfg(unix)]
fn stop_handshakes<N: Network, C>(listener: &Accepting<N, C>, handle: &Handle) -> bool {
    if handle.shared.handed_over() || crate::os::upgrade::managed() {
        return false;
    }
    listener
        .network
        .fd(&listener.acceptor)
        .is_some_and(crate::os::handshakes::stop)
}

/// With new handshakes stopped: waits for those already begun to complete, and takes them.
#[cfg(unix)]
async fn settle<N, C, F>(listener: &mut Accepting<N, C>, handle: &Handle)
where
    N: Network,
    C: FnMut(N::Stream, Connection) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let mut cut = handle.reached(crate::pure::phase::Phase::Hooks);
    let pause = listener.network.sleep(crate::os::handshakes::SETTLE);
    if before(pause, &mut cut).await.is_some() {
        take_queued(listener, handle).await;
    }
}

/// Takes and spawns what waits in `listener`'s backlog now (the drain has started).
///
/// Out of resources (file descriptors, most often: the connections being drained hold
/// them), it keeps the listener and backs off ([`Backoff`] on the network's timer) until the
/// backlog can be taken, as connections closing free descriptors, or the drain is cut.
/// Meanwhile the backlog is counted as one busy connection: the drain waits for it, and if
/// the deadline passes first, the backlog — reset with the listener — is reported as a cut
/// (`drained=false`, exit code 2), never as a clean drain.
async fn take_queued<N, C, F>(listener: &mut Accepting<N, C>, handle: &Handle)
where
    N: Network,
    C: FnMut(N::Stream, Connection) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    // The backlog not taken yet, counted while out of resources, and its request in flight.
    let mut waiting: Option<(Connection, crate::facade::connection::InFlight)> = None;
    let mut backoff = Backoff::default();
    let mut taken = 0;
    while taken < MAX_TAKEN_AT_DRAIN {
        match listener.network.try_accept(&mut listener.acceptor) {
            None => return,
            Some(Ok(stream)) => {
                taken += 1;
                backoff.reset();
                // Counted while the hold keeps the tracker from being drained.
                if let Some(guard) = handle.connection() {
                    listener.spawn(stream, guard);
                }
            }
            Some(Err(error)) => match AcceptError::classify(&error) {
                AcceptError::Connection => taken += 1,
                AcceptError::Fatal => return,
                AcceptError::Resources => {
                    if waiting.is_none() {
                        // `None` only once the drain completed, which the hold prevents.
                        let Some(backlog) = handle.connection() else {
                            return;
                        };
                        let in_flight = backlog.request();
                        waiting = Some((backlog, in_flight));
                    }
                    let Some((backlog, _)) = &waiting else {
                        return;
                    };
                    let mut cut = backlog.cut();
                    let pause = listener.network.sleep(backoff.next());
                    if before(pause, &mut cut).await.is_none() {
                        // Cut while it was still counted: reported as a cut.
                        return;
                    }
                }
            },
        }
    }
}

/// `future`'s output, or `None` if `stop` is reached first (checked before each poll).
async fn before<F: Future>(future: F, stop: &mut Reached) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if Pin::new(&mut *stop).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

/// `future`'s output, or `None` if draining starts first.
///
/// Draining is checked before each poll of `future`: once it started, nothing more is
/// accepted. The other order would accept a connection that arrived after the drain began
/// (the driver may have completed the drain in between, and the connection would then be
/// dropped unserved), and in an in-place upgrade that connection belongs to the successor,
/// which serves the same accept queue.
async fn before_draining<F: Future>(future: F, draining: &mut Reached) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if Pin::new(&mut *draining).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        future.as_mut().poll(cx).map(Some)
    })
    .await
}

#[cfg(all(test, unix, feature = "test-util"))]
mod tests {
    use super::serve;
    use crate::{
        facade::runtime::{BoxError, Runtime},
        facade::shutdown::Shutdown,
        os::net::{Listener, Network},
        pure::config::Config,
        pure::phase::Reason,
        pure::signal::SignalSet,
        pure::traits::Timer,
        testkit::test_util::ManualClock,
    };
    use core::{
        future::Future,
        sync::atomic::{AtomicBool, AtomicU32, Ordering},
        task::{Context, Poll},
        time::Duration,
    };
    use std::{
        collections::VecDeque,
        io,
        sync::{Arc, Mutex},
        vec::Vec,
    };

    /// The manual clock as a network whose acceptor is a [`Script`].
    #[derive(Clone)]
    struct Scripted(ManualClock);

    impl Timer for Scripted {
        type Sleep = <ManualClock as Timer>::Sleep;

        fn now(&self) -> Duration {
            self.0.now()
        }

        fn sleep(&self, duration: Duration) -> Self::Sleep {
            self.0.sleep(duration)
        }
    }

    impl Runtime for Scripted {
        type Signals = <ManualClock as Runtime>::Signals;

        fn signals(&self, set: SignalSet) -> Result<Self::Signals, BoxError> {
            self.0.signals(set)
        }

        fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
            self.0.spawn(task);
        }

        fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
            self.0.spawn_blocking(work);
        }
    }

    /// When the script was asked for an accept (`calls`) and for a queued one (`tried`).
    #[derive(Default)]
    struct Log {
        calls: Vec<u128>,
        tried: Vec<u128>,
    }

    /// Answers from a script (`Ok(id)` or `Err(errno)`), then never, or once `late` is set,
    /// one connection (counted in `taken`); records when it is called. `queued` is the
    /// backlog `try_accept` takes from.
    struct Script {
        answers: VecDeque<Result<u32, i32>>,
        queued: VecDeque<Result<u32, i32>>,
        clock: ManualClock,
        log: Arc<Mutex<Log>>,
        waiting: bool,
        late: Arc<AtomicBool>,
        taken: Arc<AtomicU32>,
        /// A real listener `try_accept` takes from instead of `queued` (id 0 each).
        listener: Option<std::net::TcpListener>,
    }

    impl Script {
        fn new(answers: &[Result<u32, i32>], clock: &ManualClock) -> Script {
            Script {
                answers: answers.iter().copied().collect(),
                queued: VecDeque::new(),
                clock: clock.clone(),
                log: Arc::default(),
                waiting: false,
                late: Arc::default(),
                taken: Arc::default(),
                listener: None,
            }
        }

        fn queue(mut self, queued: &[Result<u32, i32>]) -> Script {
            self.queued = queued.iter().copied().collect();
            self
        }
    }

    fn answer(answer: Result<u32, i32>) -> io::Result<u32> {
        answer.map_err(io::Error::from_raw_os_error)
    }

    impl Network for Scripted {
        type Acceptor = Script;
        type Stream = u32;

        fn listen(&self, _: Listener) -> io::Result<Script> {
            Err(io::ErrorKind::Unsupported.into())
        }

        fn poll_accept(&self, script: &mut Script, _: &mut Context<'_>) -> Poll<io::Result<u32>> {
            if !script.waiting {
                let now = script.clock.now().as_millis();
                script.log.lock().unwrap().calls.push(now);
                match script.answers.pop_front() {
                    Some(next) => return Poll::Ready(answer(next)),
                    None => script.waiting = true,
                }
            }
            if script.late.load(Ordering::SeqCst) {
                script.taken.fetch_add(1, Ordering::SeqCst);
                return Poll::Ready(Ok(1));
            }
            Poll::Pending
        }

        fn try_accept(&self, script: &mut Script) -> Option<io::Result<u32>> {
            let now = script.clock.now().as_millis();
            script.log.lock().unwrap().tried.push(now);
            if let Some(listener) = &script.listener {
                return match listener.accept() {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
                    other => Some(other.map(|_| 0)),
                };
            }
            script.queued.pop_front().map(answer)
        }
    }

    /// Serves `script` until the drain, with a shutdown asked for at `at`; each connection
    /// spawned is held open for `hold` from then. Returns the ids served and the report.
    fn drain_with_backlog(
        script: Script,
        clock: &ManualClock,
        at: Duration,
        hold: Duration,
    ) -> (Vec<u32>, crate::facade::report::Report) {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let guards = core::cell::RefCell::new(Vec::new());
        let served = core::cell::RefCell::new(Vec::new());
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let network = Scripted(clock.clone());
        let serving = serve(network, script, handle, trigger.clone(), |id, guard| {
            served.borrow_mut().push(id);
            guards.borrow_mut().push(guard);
            async {}
        });
        let closing = async {
            clock.sleep(at).await;
            trigger.shutdown();
            // The accept loop takes its backlog as soon as it sees the drain; the
            // connections it took close `hold` later.
            clock.sleep(hold).await;
            guards.borrow_mut().clear();
        };
        let running = shutdown.run(clock.clone(), futures::stream::pending());
        let ((), (), report) = clock.block_on(futures::future::join3(serving, closing, running));
        (served.into_inner(), report)
    }

    #[test]
    fn the_backlog_is_taken_and_served_before_the_listener_closes() {
        let clock = ManualClock::new();
        let script = Script::new(&[Ok(1)], &clock).queue(&[Ok(2), Err(libc::ECONNABORTED), Ok(3)]);
        let log = Arc::clone(&script.log);
        let (served, report) = drain_with_backlog(
            script,
            &clock,
            Duration::from_millis(50),
            Duration::from_millis(100),
        );
        assert_eq!(served, [1, 2, 3], "the queued connections were served");
        // Taken once the drain began, until the backlog was empty (an aborted one skipped).
        assert_eq!(log.lock().unwrap().tried, [50, 50, 50, 50]);
        // The drain waited for them: they were counted, not dropped.
        assert_eq!(clock.now(), Duration::from_millis(150));
        assert_eq!(report.exit_code(), 0);
        assert!(report.drained());
    }

    #[test]
    fn an_empty_server_does_not_finish_its_drain_before_the_backlog_was_taken() {
        // No connection open when draining starts: without the accept loop's hold the
        // tracker would be drained at once and the queued connection dropped unserved.
        let clock = ManualClock::new();
        let script = Script::new(&[], &clock).queue(&[Ok(7)]);
        let (served, report) = drain_with_backlog(
            script,
            &clock,
            Duration::from_millis(10),
            Duration::from_millis(30),
        );
        assert_eq!(served, [7]);
        assert_eq!(
            clock.now(),
            Duration::from_millis(40),
            "the drain waited for it"
        );
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn out_of_descriptors_the_backlog_is_taken_after_a_back_off() {
        let clock = ManualClock::new();
        let script = Script::new(&[], &clock).queue(&[
            Ok(1),
            Err(libc::EMFILE),
            Err(libc::EMFILE),
            Ok(2),
            Err(libc::ENFILE),
            Ok(3),
        ]);
        let log = Arc::clone(&script.log);
        let (served, report) =
            drain_with_backlog(script, &clock, Duration::ZERO, Duration::from_millis(100));
        assert_eq!(
            served,
            [1, 2, 3],
            "the listener was kept until they were taken"
        );
        // 10 ms, 20 ms; a success resets to 10 ms; then the empty backlog.
        assert_eq!(log.lock().unwrap().tried, [0, 0, 10, 30, 30, 40, 40]);
        assert!(report.drained(), "nothing was lost");
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn a_backlog_never_taken_by_the_deadline_is_reported_cut() {
        let clock = ManualClock::new();
        let config = Config::new().drain_timeout(Duration::from_millis(200));
        let shutdown = Shutdown::new(config).unwrap();
        let script = Script::new(&[], &clock).queue(&[Err(libc::EMFILE); 50]);
        let log = Arc::clone(&script.log);
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        trigger.shutdown();
        let serving = serve(
            Scripted(clock.clone()),
            script,
            handle,
            trigger,
            |_, _| async {},
        );
        let running = shutdown.run(clock.clone(), futures::stream::pending());
        let ((), report) = clock.block_on(futures::future::join(serving, running));
        // Backing off until the deadline: 10, 20, 40, 80 ms, then cut within the next pause.
        assert_eq!(log.lock().unwrap().tried, [0, 10, 30, 70, 150]);
        assert_eq!(
            clock.now(),
            Duration::from_millis(200),
            "cut at the deadline"
        );
        assert!(!report.drained(), "the backlog was lost");
        assert_eq!(report.connections_left(), 1);
        assert_eq!(report.exit_code(), 2);
    }

    #[test]
    fn an_upgraders_copy_of_the_listener_is_closed_before_the_backlog_is_taken() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let upgrader = crate::os::upgrade::Upgrader::new()
            .listener("http", &listener)
            .unwrap()
            .shutdown(&shutdown);
        let queued = std::net::TcpStream::connect(addr).unwrap();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        trigger.shutdown();
        let mut script = Script::new(&[], &clock);
        script.listener = Some(listener);
        let served = core::cell::RefCell::new(Vec::new());
        let serving = serve(
            Scripted(clock.clone()),
            script,
            handle,
            trigger,
            |id, guard| {
                served.borrow_mut().push((id, guard));
                async {}
            },
        );
        let checked = async {
            serving.await;
            // The listener is closed once the loop returns, not when the upgrader's
            // thread gets to it: a connection now is refused, never queued to be reset.
            let late = std::net::TcpStream::connect(addr);
            assert_eq!(
                late.map(drop).map_err(|e| e.kind()),
                Err(io::ErrorKind::ConnectionRefused)
            );
            assert_eq!(served.borrow().len(), 1, "the queued one was taken");
            served.borrow_mut().clear();
        };
        let running = shutdown.run(clock.clone(), futures::stream::pending());
        let ((), report) = clock.block_on(futures::future::join(checked, running));
        assert!(report.drained());
        drop((queued, upgrader));
    }

    #[test]
    fn the_hold_is_not_a_connection() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let handle = shutdown.handle();
        let hold = handle.hold().unwrap();
        assert_eq!(handle.snapshot().open, 0);
        assert!(!shutdown.shared.tracker.start_drain(), "held open");
        drop(hold);
        assert!(shutdown.shared.tracker.is_drained());
        assert!(handle.hold().is_none(), "none after the drain");
    }

    #[test]
    fn resources_back_off_on_the_timer_and_a_broken_listener_fails_the_shutdown() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let script = Script::new(
            &[
                Err(libc::EMFILE),
                Err(libc::ENFILE),
                Ok(1),
                Err(libc::ENOBUFS),
                Err(libc::ECONNABORTED),
                Ok(2),
                Err(libc::EBADF),
            ],
            &clock,
        );
        let log = Arc::clone(&script.log);
        let mut served = Vec::new();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        clock.block_on(serve(
            Scripted(clock.clone()),
            script,
            handle,
            trigger,
            |id, _| {
                served.push(id);
                async {}
            },
        ));
        assert_eq!(served, [1, 2]);
        // 10 ms, 20 ms; a success resets to 10 ms; an aborted connection waits not.
        assert_eq!(log.lock().unwrap().calls, [0, 10, 30, 30, 40, 40, 40]);
        let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
        assert_eq!(report.reason(), Reason::Failed);
        assert!(report.detail().unwrap().starts_with("accept: "));
    }

    #[test]
    fn draining_ends_a_pause_at_once() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let script = Script::new(&[Err(libc::EMFILE); 20], &clock);
        let log = Arc::clone(&script.log);
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let serving = serve(
            Scripted(clock.clone()),
            script,
            handle,
            trigger.clone(),
            |_, _| async {},
        );
        let stopping = async {
            // Pauses end at 10, 30, .., 2270, 3270, 4270 ms: this is within one.
            clock.sleep(Duration::from_millis(3500)).await;
            trigger.shutdown();
            shutdown
                .run(clock.clone(), futures::stream::pending())
                .await
        };
        let ((), report) = clock.block_on(futures::future::join(serving, stopping));
        assert_eq!(
            clock.now(),
            Duration::from_millis(3500),
            "no waiting out the pause"
        );
        assert_eq!(report.exit_code(), 0);
        assert_eq!(log.lock().unwrap().calls.len(), 10);
    }

    /// The one connection arrives only after the drain began (and completed), so it stays
    /// queued for whoever serves the socket next (an upgrade's successor) instead of being
    /// taken and dropped unserved.
    #[test]
    fn nothing_is_accepted_once_draining_started() {
        use core::pin::pin;
        let clock = ManualClock::new();
        let script = Script::new(&[], &clock);
        let (late, taken) = (Arc::clone(&script.late), Arc::clone(&script.taken));
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let served = core::cell::Cell::new(0);
        let mut serving = pin!(serve(
            Scripted(clock.clone()),
            script,
            handle.clone(),
            trigger.clone(),
            |_, _| {
                served.set(served.get() + 1);
                async {}
            },
        ));
        let mut cx = Context::from_waker(core::task::Waker::noop());
        assert!(serving.as_mut().poll(&mut cx).is_pending());
        trigger.shutdown();
        let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
        assert!(report.drained());
        late.store(true, Ordering::SeqCst);
        assert!(serving.as_mut().poll(&mut cx).is_ready());
        assert_eq!(
            taken.load(Ordering::SeqCst),
            0,
            "the late connection stays in the queue"
        );
        assert_eq!(served.get(), 0);
    }

    /// Per-connection setup (a handshake) runs on the connection's own task: the loop goes
    /// on accepting meanwhile, and returns at the drain while a handshake still waits.
    #[test]
    fn a_slow_handshake_holds_neither_the_loop_nor_the_drain() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let script = Script::new(&[Ok(1), Ok(2)], &clock);
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let handshaken = Arc::new(Mutex::new(Vec::new()));
        let timer = clock.clone();
        let serving = serve(Scripted(clock.clone()), script, handle, trigger.clone(), {
            let handshaken = Arc::clone(&handshaken);
            move |id, connection| {
                let (handshaken, timer) = (Arc::clone(&handshaken), timer.clone());
                async move {
                    // Connection 1's handshake takes 100 ms, connection 2's 10 ms.
                    let handshake =
                        timer.sleep(Duration::from_millis(if id == 1 { 100 } else { 10 }));
                    futures::future::select(
                        core::pin::pin!(handshake),
                        core::pin::pin!(connection.cut()),
                    )
                    .await;
                    handshaken
                        .lock()
                        .unwrap()
                        .push((id, timer.now().as_millis()));
                    drop(connection);
                }
            }
        });
        let stopping = async {
            clock.sleep(Duration::from_millis(50)).await;
            trigger.shutdown();
            shutdown
                .run(clock.clone(), futures::stream::pending())
                .await
        };
        let ((), report) = clock.block_on(futures::future::join(serving, stopping));
        // Both accepted at once; 2 finished while 1 still shook hands; the drain waited for
        // 1 (counted from its accept), not for the loop.
        assert_eq!(*handshaken.lock().unwrap(), [(2, 10), (1, 100)]);
        assert!(report.drained());
        assert_eq!(clock.now(), Duration::from_millis(100));
    }
}
