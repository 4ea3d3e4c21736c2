//! `Shutdown` (the builder the driver consumes), `Trigger` (asks for shutdown) and
//! `Handle` (observes it), with their futures.

use crate::{
    connection::State,
    shared::{Shared, REQUEST_FAILED, REQUEST_FORCE, REQUEST_HANDOVER, REQUEST_SHUTDOWN},
    sync::Arc,
    Config, ConfigError, Connection, Events, HookRegistry, Phase, Snapshot, Summary,
};
use alloc::string::ToString;
use core::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

/// A shutdown to be run: make it, hand out its [`Handle`], [`Trigger`] and
/// [`HookRegistry`], then await [`Shutdown::run`](crate::Shutdown::run) with a timer and a
/// signal source.
///
/// ```
/// use lameduck::{Config, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let handle = shutdown.handle();
/// assert!(handle.is_ready());
/// ```
#[derive(Debug)]
pub struct Shutdown {
    pub(crate) shared: Arc<Shared>,
}

impl Shutdown {
    /// A shutdown in [`Phase::Running`], with no hooks yet.
    ///
    /// # Errors
    ///
    /// The configuration's [`Config::validate`] error.
    ///
    /// ```
    /// use lameduck::{Config, Shutdown};
    /// assert!(Shutdown::new(Config::new().hook_timeout(core::time::Duration::ZERO)).is_err());
    /// ```
    pub fn new(config: Config) -> Result<Shutdown, ConfigError> {
        let config = config.validate()?;
        Ok(Shutdown {
            shared: Arc::new(Shared::new(config)),
        })
    }

    /// The observer side, for accept loops, connections and readiness endpoints.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(shutdown.handle().phase(), lameduck::Phase::Running);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// The trigger side, to ask for shutdown from the program.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().shutdown();
    /// ```
    pub fn trigger(&self) -> Trigger {
        Trigger {
            shared: self.shared.clone(),
        }
    }

    /// The hook registry; hooks may be added until the shutdown stops.
    ///
    /// ```
    /// use lameduck::{Hook, Shutdown, Config};
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// shutdown.hooks().register(Hook::new("flush", || Ok::<(), &str>(()))).unwrap();
    /// ```
    pub fn hooks(&self) -> HookRegistry {
        HookRegistry {
            shared: self.shared.clone(),
        }
    }
}

/// Asks for a shutdown from the program. Cheap to clone; every method is idempotent.
///
/// ```
/// use lameduck::{Config, Phase, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let trigger = shutdown.trigger();
/// trigger.shutdown();
/// trigger.shutdown(); // no escalation: programmatic requests are idempotent
/// ```
#[derive(Clone, Debug)]
pub struct Trigger {
    shared: Arc<Shared>,
}

impl Trigger {
    /// Starts the shutdown, with [`Reason::Requested`](crate::Reason::Requested).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().shutdown();
    /// ```
    pub fn shutdown(&self) {
        self.shared.request(REQUEST_SHUTDOWN);
    }

    /// Starts the shutdown because a successor now serves from the same listening sockets
    /// (an in-place upgrade), with [`Reason::Upgrade`](crate::Reason::Upgrade): as
    /// [`shutdown`](Self::shutdown), without the lame-duck period.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().handover();
    /// ```
    pub fn handover(&self) {
        self.shared.request(REQUEST_HANDOVER);
    }

    /// Stops waiting for connections: cuts those left and goes to the hooks (starting the
    /// shutdown first if needed).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().force();
    /// ```
    pub fn force(&self) {
        self.shared.request(REQUEST_FORCE);
    }

    /// Starts the shutdown because serving failed for good, with
    /// [`Reason::Failed`](crate::Reason::Failed); the report carries `detail`. Only the
    /// first failure's detail is kept.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// shutdown.trigger().fail("accept: too many open files");
    /// ```
    pub fn fail(&self, detail: impl fmt::Display) {
        self.shared
            .failure
            .lock()
            .get_or_insert_with(|| detail.to_string());
        self.shared.request(REQUEST_FAILED);
    }
}

/// The read side: phase, readiness, counts, and futures for phase changes. Cheap to clone.
///
/// ```
/// use lameduck::{Config, Phase, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let handle = shutdown.handle();
/// let conn = handle.connection().unwrap();
/// assert_eq!(handle.snapshot().open, 1);
/// # drop(conn);
/// ```
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The current phase.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(shutdown.handle().phase(), lameduck::Phase::Running);
    /// ```
    pub fn phase(&self) -> Phase {
        self.shared.phase()
    }

    /// Whether to report ready to a load balancer: only while running.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(shutdown.handle().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        self.phase().is_ready()
    }

    /// Whether connections should now tell their peers to leave
    /// ([`Config::goodbye`](crate::Config::goodbye)): HTTP/1.1 responses carry
    /// `connection: close`, HTTP/2 connections are sent GOAWAY. One relaxed atomic load.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(!shutdown.handle().says_goodbye());
    /// ```
    pub fn says_goodbye(&self) -> bool {
        self.shared.says_goodbye()
    }

    /// Phase and connection counts, read now.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let snapshot = shutdown.handle().snapshot();
    /// assert_eq!((snapshot.open, snapshot.anomalies), (0, 0));
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        self.shared.tracker.snapshot(self.phase())
    }

    /// The configuration the shutdown runs with.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert_eq!(*shutdown.handle().config(), lameduck::Config::new());
    /// ```
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Counts a new connection; `None` once the drain has completed (the connection should
    /// then be closed unserved).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().expect("still running");
    /// # drop(conn);
    /// ```
    pub fn connection(&self) -> Option<Connection> {
        Connection::new(self.shared.clone())
    }

    /// A connection reported through events ([`ConnEvent`](crate::ConnEvent)), as servers
    /// with a connection-state hook do.
    ///
    /// ```
    /// use lameduck::ConnEvent;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut conn = shutdown.handle().events();
    /// conn.event(ConnEvent::New);
    /// conn.event(ConnEvent::Closed);
    /// ```
    pub fn events(&self) -> Events {
        Events::new(self.clone())
    }

    /// Completes once `phase` (or a later one) is reached.
    ///
    /// ```
    /// use lameduck::{Config, Phase, Shutdown};
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// let reached = shutdown.handle().reached(Phase::Running);
    /// futures::executor::block_on(reached);
    /// ```
    pub fn reached(&self, phase: Phase) -> Reached {
        Reached::new(self.shared.clone(), phase)
    }

    /// Completes when draining starts: stop accepting, close idle connections.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _draining = shutdown.handle().draining();
    /// ```
    pub fn draining(&self) -> Reached {
        self.reached(Phase::Draining)
    }

    /// Completes when the shutdown has stopped, with its summary; every caller gets the same.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _stopped = shutdown.handle().stopped();
    /// ```
    pub fn stopped(&self) -> Stopped {
        Stopped {
            reached: self.reached(Phase::Stopped),
        }
    }

    /// The summary, once stopped.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(shutdown.handle().summary().is_none());
    /// ```
    pub fn summary(&self) -> Option<Summary> {
        self.shared.summary.get().copied()
    }
}

/// Completes once a phase is reached. Made by [`Handle::reached`], [`Handle::draining`] and
/// [`Connection::going_away`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it unregisters its waker and loses nothing.
///
/// ```
/// use lameduck::{Config, Phase, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let reached = shutdown.handle().reached(Phase::Running);
/// futures::executor::block_on(reached);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Reached {
    owner: Owner,
    phase: Phase,
    /// The waker's slot in the phase's waiter set, once registered.
    pub(crate) key: Option<usize>,
    /// The waker registered under `key`: a re-poll with the same one needs only the phase
    /// check, not the set's lock (a phase, once reached, stays reached, so a wake-up is
    /// never spent on a phase not yet reached).
    registered: Option<Waker>,
}

/// What keeps the shutdown alive for a [`Reached`]: a connection's notice holds the
/// connection's own state (whose reference count only that connection's clones move)
/// rather than the `Arc` every handle and connection of the shutdown shares.
enum Owner {
    Shutdown(Arc<Shared>),
    Connection(Arc<State>),
}

impl Owner {
    fn shared(&self) -> &Shared {
        match self {
            Owner::Shutdown(shared) => shared,
            Owner::Connection(state) => &state.shared,
        }
    }
}

impl Reached {
    pub(crate) fn new(shared: Arc<Shared>, phase: Phase) -> Reached {
        Reached::with_owner(Owner::Shutdown(shared), phase)
    }

    pub(crate) fn of_connection(state: Arc<State>, phase: Phase) -> Reached {
        Reached::with_owner(Owner::Connection(state), phase)
    }

    fn with_owner(owner: Owner, phase: Phase) -> Reached {
        Reached {
            owner,
            phase,
            key: None,
            registered: None,
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        self.owner.shared()
    }

    /// Takes the waker out of the phase's set, unless the set has been emptied (then it is
    /// gone already).
    fn unregister(&mut self) {
        self.registered = None;
        if let Some(key) = self.key.take() {
            let waiters = &self.owner.shared().reached[self.phase.index()];
            if !waiters.emptied() {
                waiters.remove(key);
            }
        }
    }
}

impl Drop for Reached {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Reached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reached")
            .field("phase", &self.phase)
            .finish()
    }
}

impl Future for Reached {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let phase = this.phase;
        if this.owner.shared().phase() >= phase {
            this.unregister();
            return Poll::Ready(());
        }
        if this.key.is_some()
            && this
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        let shared = this.owner.shared();
        let waiters = &shared.reached[phase.index()];
        if waiters.register(&mut this.key, cx.waker(), || shared.phase() >= phase) {
            match &mut this.registered {
                Some(waker) => waker.clone_from(cx.waker()),
                None => this.registered = Some(cx.waker().clone()),
            }
            Poll::Pending
        } else {
            this.registered = None;
            Poll::Ready(())
        }
    }
}

/// Completes with the final [`Summary`] once stopped. Made by [`Handle::stopped`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it loses nothing; the summary stays readable through
/// [`Handle::summary`].
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let _stopped = shutdown.handle().stopped();
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Stopped {
    reached: Reached,
}

impl Future for Stopped {
    type Output = Summary;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Summary> {
        let this = self.get_mut();
        core::task::ready!(Pin::new(&mut this.reached).poll(cx));
        // The driver publishes the summary before it enters Stopped.
        let summary = this.reached.shared().summary.get();
        Poll::Ready(*summary.expect("the summary is published before Stopped"))
    }
}
