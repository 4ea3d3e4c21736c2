//! An accept loop that stops at the drain, runtime-free (feature `std`): the adapters
//! (`lameduck-tokio`, `lameduck-smol`) supply the listener, the timer and the spawn.
//!
//! - [`AcceptError`] sorts accept errors: skip the connection, back off, or give up.
//! - [`Backoff`] is the pause after running out of resources.
//! - [`serve`] is the loop; [`Accept`] is what it accepts from.

mod backoff;
mod error;

pub use backoff::Backoff;
pub use error::AcceptError;

use crate::{
    facade::connection::Connection, facade::handle::Handle, facade::reached::Reached,
    facade::shutdown::Trigger, pure::traits::Timer,
};
use core::{
    future::{poll_fn, Future},
    pin::{pin, Pin},
    task::Poll,
};
use std::io;

/// A source of connections for [`serve`]: one accept at a time.
///
/// Runtime adapters implement it for their listeners (usually on a private wrapper, since
/// both the listener and this trait are foreign to them).
///
/// ```
/// use core::future::{ready, Future};
/// /// Accepts the same number forever (for illustration only).
/// struct Numbers(u32);
/// impl lameduck::accept::Accept for Numbers {
///     type Conn = u32;
///     fn accept(&mut self) -> impl Future<Output = std::io::Result<u32>> + '_ {
///         ready(Ok(self.0))
///     }
/// }
/// ```
pub trait Accept {
    /// An accepted connection, with whatever comes with it (a peer address).
    type Conn;

    /// Accepts the next connection.
    ///
    /// # Cancel safety
    ///
    /// [`serve`] drops a pending accept when draining starts, and then the listener: a
    /// connection the accept took but had not returned yet is lost, as it would be in the
    /// backlog of a closed listener.
    fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + '_;

    /// Takes a connection already waiting, without waiting: `None` when none is (or when
    /// the listener cannot tell without waiting, which the default says).
    ///
    /// [`serve`] calls it once draining has started, until it returns `None`, to take
    /// what the kernel already accepted into the listener's backlog before the listener
    /// is closed: closing it would reset every one of them, requests written and all. A
    /// listener that keeps the default loses them.
    ///
    /// On a non-blocking socket this is one `accept(2)`, `WouldBlock` meaning `None`. It
    /// should not go through a runtime's readiness cache, which may not have seen the
    /// connections queued since the last event.
    ///
    /// ```
    /// use core::future::{pending, Future};
    /// /// Connections queued up front, then nothing.
    /// struct Queued(Vec<u32>);
    /// impl lameduck::accept::Accept for Queued {
    ///     type Conn = u32;
    ///     fn accept(&mut self) -> impl Future<Output = std::io::Result<u32>> + '_ {
    ///         pending()
    ///     }
    ///     fn try_accept(&mut self) -> Option<std::io::Result<u32>> {
    ///         self.0.pop().map(Ok)
    ///     }
    /// }
    /// ```
    fn try_accept(&mut self) -> Option<io::Result<Self::Conn>> {
        None
    }
}

/// The most connections [`serve`] takes from the backlog once draining started: one full
/// backlog of Linux's default maximum (`somaxconn`, 4096). Connections that keep arriving
/// while the backlog is taken are taken too (and served): this bounds how long a flood of
/// them keeps the listener open, and the work done without yielding.
pub const MAX_TAKEN_AT_DRAIN: usize = 4096;

/// Accepts connections while the phase allows it (running, lame duck), and returns as soon
/// as draining starts, dropping `listener` so that new connection attempts are refused at
/// once rather than left waiting in a backlog no one reads.
///
/// Before it drops the listener, it takes the connections already waiting in its backlog
/// ([`Accept::try_accept`], at most [`MAX_TAKEN_AT_DRAIN`]) and spawns them like the others:
/// they are served as in-flight work of the drain (an HTTP server answers them with
/// `Connection: close`) instead of being reset with the listener. The drain cannot
/// complete while this loop still holds its listener, so none of them is refused for
/// coming after the last connection closed.
/// Out of file descriptors (or memory) while taking them, it keeps the listener and backs
/// off until they can be taken (the connections being drained free descriptors as they
/// close) or the drain is cut: what is still queued then is counted as a connection cut,
/// so the report never calls a drain clean when its backlog was reset.
///
/// Each accepted connection is counted with [`Handle::connection`] and handed, with its
/// [`Connection`], to `spawn`, which should start serving it on its own task and
/// return. A connection accepted after the drain completed is dropped unserved.
///
/// Accept errors, sorted by [`AcceptError::classify`]:
/// - [`Connection`](AcceptError::Connection): skipped, the next accept follows at once;
/// - [`Resources`](AcceptError::Resources): a pause of [`Backoff::next`] on `timer`, reset by
///   the next success, and serving goes on (no busy loop, no crash); draining ends the pause;
/// - [`Fatal`](AcceptError::Fatal): the shutdown starts with [`Trigger::fail`] (the report's
///   reason carries `accept: <error>`) and this returns.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future stops accepting and drops the listener; connections
/// already spawned go on.
///
/// ```
/// use core::future::{pending, ready, Future};
/// use lameduck::{accept, test_util::ManualClock, Config, Shutdown};
/// use std::{collections::VecDeque, io};
///
/// /// One connection, then a broken listener.
/// struct Script(VecDeque<io::Result<u32>>);
/// impl accept::Accept for Script {
///     type Conn = u32;
///     fn accept(&mut self) -> impl Future<Output = io::Result<u32>> + '_ {
///         ready(self.0.pop_front().unwrap_or(Err(io::ErrorKind::InvalidInput.into())))
///     }
/// }
///
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let listener = Script(VecDeque::from([Ok(1)]));
/// let mut served = Vec::new();
/// let clock = ManualClock::new();
/// clock.block_on(accept::serve(
///     listener,
///     shutdown.handle(),
///     shutdown.trigger(),
///     clock.clone(),
///     |conn, guard| {
///         served.push(conn); // A runtime would spawn the connection's task here.
///         drop(guard);
///     },
/// ));
/// assert_eq!(served, [1]);
/// let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
/// assert!(report.detail().unwrap().starts_with("accept: "));
/// ```
pub fn serve<A, T, S>(
    listener: A,
    handle: Handle,
    trigger: Trigger,
    timer: T,
    spawn: S,
) -> impl Future<Output = ()>
where
    A: Accept,
    T: Timer,
    S: FnMut(A::Conn, Connection),
{
    // Keeps the drain open until the backlog was taken; none once the drain completed.
    // Taken now, not at the first poll: a shutdown that starts before the spawned loop
    // first runs must still find the listener open and its backlog waiting to be taken.
    let hold = Hold::new(&handle);
    accepting(listener, handle, trigger, timer, spawn, hold)
}

async fn accepting<A, T, S>(
    mut listener: A,
    handle: Handle,
    trigger: Trigger,
    timer: T,
    mut spawn: S,
    hold: Option<Hold>,
) where
    A: Accept,
    T: Timer,
    S: FnMut(A::Conn, Connection),
{
    let Some(_hold) = hold else {
        return;
    };
    let mut draining = handle.draining();
    let mut backoff = Backoff::default();
    while handle.phase().accepts() {
        let Some(accepted) = before_draining(listener.accept(), &mut draining).await else {
            break;
        };
        match accepted {
            Ok(conn) => {
                backoff.reset();
                // `None` once the drain completed: the connection is dropped unserved.
                if let Some(guard) = handle.connection() {
                    spawn(conn, guard);
                }
            }
            Err(error) => match AcceptError::classify(&error) {
                AcceptError::Connection => {}
                AcceptError::Resources => {
                    let pause = timer.sleep(backoff.next());
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
    take_queued(&mut listener, &handle, &timer, &mut spawn).await;
    drop(listener);
}

/// Takes and spawns what waits in `listener`'s backlog now (the drain has started).
///
/// Out of resources (file descriptors, most often: the connections being drained hold
/// them), it keeps the listener and backs off ([`Backoff`] on `timer`) until the backlog can
/// be taken, as connections closing free descriptors, or the drain is cut. Meanwhile the
/// backlog is counted as one busy connection: the drain waits for it, and if the deadline
/// passes first, the backlog — reset with the listener — is reported as a cut
/// (`drained=false`, exit code 2), never as a clean drain.
async fn take_queued<A, T, S>(listener: &mut A, handle: &Handle, timer: &T, spawn: &mut S)
where
    A: Accept,
    T: Timer,
    S: FnMut(A::Conn, Connection),
{
    // The backlog not taken yet, counted while out of resources, and its request in flight.
    let mut waiting: Option<(Connection, crate::InFlight)> = None;
    let mut backoff = Backoff::default();
    let mut taken = 0;
    while taken < MAX_TAKEN_AT_DRAIN {
        match listener.try_accept() {
            None => return,
            Some(Ok(conn)) => {
                taken += 1;
                backoff.reset();
                // Counted while the hold keeps the tracker from being drained.
                if let Some(guard) = handle.connection() {
                    spawn(conn, guard);
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
                    if before(timer.sleep(backoff.next()), &mut cut)
                        .await
                        .is_none()
                    {
                        // Cut while it was still counted: reported as a cut.
                        return;
                    }
                }
            },
        }
    }
}

/// The accept loop's hold on the drain (see [`serve`]); released when dropped.
struct Hold(Handle);

impl Hold {
    fn new(handle: &Handle) -> Option<Hold> {
        // `then`, not `then_some`: a hold built eagerly and dropped on refusal would
        // release what it never took.
        handle.shared.tracker.hold().then(|| Hold(handle.clone()))
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.shared.tracker.unhold();
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
    before(future, draining).await
}

#[cfg(all(test, unix, feature = "test-util"))]
mod tests {
    use super::{serve, Accept};
    use crate::{
        facade::shutdown::Shutdown, pure::config::Config, pure::phase::Reason, pure::traits::Timer,
        testkit::test_util::ManualClock,
    };
    use core::{future::Future, time::Duration};
    use std::{collections::VecDeque, io, vec::Vec};

    /// Answers from a script (`Ok(id)` or `Err(errno)`), then never; records when it is called.
    /// `queued` is the backlog `try_accept` takes from (empty: the default's `None`).
    struct Script {
        answers: VecDeque<Result<u32, i32>>,
        queued: VecDeque<Result<u32, i32>>,
        clock: ManualClock,
        calls: Vec<u128>,
        /// When `try_accept` was called, and whether the scripted listener was dropped then.
        tried: Vec<u128>,
    }

    impl Script {
        fn new(answers: &[Result<u32, i32>], clock: &ManualClock) -> Script {
            let answers = answers.iter().copied().collect();
            let clock = clock.clone();
            Script {
                answers,
                queued: VecDeque::new(),
                clock,
                calls: Vec::new(),
                tried: Vec::new(),
            }
        }

        fn queue(mut self, queued: &[Result<u32, i32>]) -> Script {
            self.queued = queued.iter().copied().collect();
            self
        }
    }

    impl Accept for &mut Script {
        type Conn = u32;

        fn accept(&mut self) -> impl Future<Output = io::Result<u32>> + '_ {
            self.calls.push(self.clock.now().as_millis());
            let next = self.answers.pop_front();
            async move {
                match next {
                    Some(Ok(id)) => Ok(id),
                    Some(Err(errno)) => Err(io::Error::from_raw_os_error(errno)),
                    None => core::future::pending().await,
                }
            }
        }

        fn try_accept(&mut self) -> Option<io::Result<u32>> {
            self.tried.push(self.clock.now().as_millis());
            match self.queued.pop_front()? {
                Ok(id) => Some(Ok(id)),
                Err(errno) => Some(Err(io::Error::from_raw_os_error(errno))),
            }
        }
    }

    /// Serves `script` until the drain, with a shutdown asked for at `at`; each connection
    /// spawned is held open for `hold` from then. Returns the ids served and the report.
    fn drain_with_backlog(
        script: &mut Script,
        clock: &ManualClock,
        at: Duration,
        hold: Duration,
    ) -> (Vec<u32>, crate::facade::report::Report) {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let guards = core::cell::RefCell::new(Vec::new());
        let served = core::cell::RefCell::new(Vec::new());
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let serving = serve(
            script,
            handle,
            trigger.clone(),
            clock.clone(),
            |id, guard| {
                served.borrow_mut().push(id);
                guards.borrow_mut().push(guard);
            },
        );
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
        let mut script =
            Script::new(&[Ok(1)], &clock).queue(&[Ok(2), Err(libc::ECONNABORTED), Ok(3)]);
        let (served, report) = drain_with_backlog(
            &mut script,
            &clock,
            Duration::from_millis(50),
            Duration::from_millis(100),
        );
        assert_eq!(served, [1, 2, 3], "the queued connections were served");
        // Taken once the drain began, until the backlog was empty (an aborted one skipped).
        assert_eq!(script.tried, [50, 50, 50, 50]);
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
        let mut script = Script::new(&[], &clock).queue(&[Ok(7)]);
        let (served, report) = drain_with_backlog(
            &mut script,
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
        let mut script = Script::new(&[], &clock).queue(&[
            Ok(1),
            Err(libc::EMFILE),
            Err(libc::EMFILE),
            Ok(2),
            Err(libc::ENFILE),
            Ok(3),
        ]);
        let (served, report) = drain_with_backlog(
            &mut script,
            &clock,
            Duration::ZERO,
            Duration::from_millis(100),
        );
        assert_eq!(
            served,
            [1, 2, 3],
            "the listener was kept until they were taken"
        );
        // 10 ms, 20 ms; a success resets to 10 ms; then the empty backlog.
        assert_eq!(script.tried, [0, 0, 10, 30, 30, 40, 40]);
        assert!(report.drained(), "nothing was lost");
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn a_backlog_never_taken_by_the_deadline_is_reported_cut() {
        let clock = ManualClock::new();
        let config = Config::new().drain_timeout(Duration::from_millis(200));
        let shutdown = Shutdown::new(config).unwrap();
        let mut script = Script::new(&[], &clock).queue(&[Err(libc::EMFILE); 50]);
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        trigger.shutdown();
        let serving = serve(&mut script, handle, trigger, clock.clone(), |_, _| {});
        let running = shutdown.run(clock.clone(), futures::stream::pending());
        let ((), report) = clock.block_on(futures::future::join(serving, running));
        // Backing off until the deadline: 10, 20, 40, 80 ms, then cut within the next pause.
        assert_eq!(script.tried, [0, 10, 30, 70, 150]);
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
    fn the_hold_is_not_a_connection() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let handle = shutdown.handle();
        let hold = super::Hold::new(&handle).unwrap();
        assert_eq!(handle.snapshot().open, 0);
        assert!(!shutdown.shared.tracker.start_drain(), "held open");
        drop(hold);
        assert!(shutdown.shared.tracker.is_drained());
        assert!(super::Hold::new(&handle).is_none(), "none after the drain");
    }

    #[test]
    fn resources_back_off_on_the_timer_and_a_broken_listener_fails_the_shutdown() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let mut script = Script::new(
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
        let mut served = Vec::new();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        clock.block_on(serve(
            &mut script,
            handle,
            trigger,
            clock.clone(),
            |id, _| {
                served.push(id);
            },
        ));
        assert_eq!(served, [1, 2]);
        // 10 ms, 20 ms; a success resets to 10 ms; an aborted connection waits not.
        assert_eq!(script.calls, [0, 10, 30, 30, 40, 40, 40]);
        let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
        assert_eq!(report.reason(), Reason::Failed);
        assert!(report.detail().unwrap().starts_with("accept: "));
    }

    #[test]
    fn draining_ends_a_pause_at_once() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let mut script = Script::new(&[Err(libc::EMFILE); 20], &clock);
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let serving = serve(
            &mut script,
            handle,
            trigger.clone(),
            clock.clone(),
            |_, _| {},
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
        assert_eq!(script.calls.len(), 10);
    }

    /// A non-blocking std listener: `accept` never waits (a test of the drain only).
    struct Std(std::net::TcpListener);

    impl Accept for Std {
        type Conn = std::net::TcpStream;

        fn accept(&mut self) -> impl Future<Output = io::Result<Self::Conn>> + '_ {
            core::future::pending()
        }

        fn try_accept(&mut self) -> Option<io::Result<Self::Conn>> {
            match self.0.accept() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
                other => Some(other.map(|(stream, _)| stream)),
            }
        }
    }

    #[test]
    fn an_upgraders_copy_of_the_listener_is_closed_before_the_backlog_is_taken() {
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let upgrader = crate::upgrade::Upgrader::new()
            .listener("http", &listener)
            .unwrap()
            .handle(&shutdown.handle());
        let queued = std::net::TcpStream::connect(addr).unwrap();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        trigger.shutdown();
        let served = core::cell::RefCell::new(Vec::new());
        let serving = serve(
            Std(listener),
            handle,
            trigger,
            clock.clone(),
            |stream, guard| served.borrow_mut().push((stream, guard)),
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

    /// A source whose one connection arrives only when `arrived` is set: it arrives after
    /// the drain began (and completed), so it stays queued for whoever serves the socket
    /// next (an upgrade's successor) instead of being taken and dropped unserved.
    struct Late<'a> {
        arrived: &'a core::cell::Cell<bool>,
        taken: &'a core::cell::Cell<u32>,
    }

    impl Accept for Late<'_> {
        type Conn = u32;

        fn accept(&mut self) -> impl Future<Output = io::Result<u32>> + '_ {
            core::future::poll_fn(|_| {
                if self.arrived.get() {
                    self.taken.set(self.taken.get() + 1);
                    core::task::Poll::Ready(Ok(1))
                } else {
                    core::task::Poll::Pending
                }
            })
        }
    }

    #[test]
    fn nothing_is_accepted_once_draining_started() {
        use core::{pin::pin, task::Context};
        let (arrived, taken) = (core::cell::Cell::new(false), core::cell::Cell::new(0));
        let clock = ManualClock::new();
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let served = core::cell::Cell::new(0);
        let mut serving = pin!(serve(
            Late {
                arrived: &arrived,
                taken: &taken,
            },
            handle.clone(),
            trigger.clone(),
            clock.clone(),
            |_, _| served.set(served.get() + 1),
        ));
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(serving.as_mut().poll(&mut cx).is_pending());
        trigger.shutdown();
        let report = clock.block_on(shutdown.run(clock.clone(), futures::stream::pending()));
        assert!(report.drained());
        arrived.set(true);
        assert!(serving.as_mut().poll(&mut cx).is_ready());
        assert_eq!(taken.get(), 0, "the late connection stays in the queue");
        assert_eq!(served.get(), 0);
    }
}
