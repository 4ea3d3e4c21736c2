//! Owned connection guards and the event API for servers that report connection states.

use crate::{handle::Reached, shared::Shared, sync::Arc, Handle, Phase};

/// One counted connection; dropping it uncounts the connection (and, if it was the last
/// one while draining, wakes the drain). Made by [`Handle::track`].
///
/// The connection task should select on [`going_away`](Self::going_away) to close when
/// draining starts (at once if idle; after the response in flight otherwise) and on
/// [`cut`](Self::cut) to abort when the drain is cut short.
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let mut guard = shutdown.handle().track().unwrap();
/// guard.set_idle(true);
/// assert_eq!(shutdown.handle().snapshot().idle, 1);
/// drop(guard);
/// assert_eq!(shutdown.handle().snapshot().open, 0);
/// ```
#[derive(Debug)]
#[must_use = "the connection is uncounted as soon as the guard is dropped"]
pub struct ConnectionGuard {
    shared: Arc<Shared>,
    idle: bool,
}

impl ConnectionGuard {
    pub(crate) fn new(shared: Arc<Shared>) -> Option<ConnectionGuard> {
        // `then`, not `then_some`: a guard built eagerly and dropped on refusal would
        // release a count it never acquired.
        shared.tracker.acquire().then(|| ConnectionGuard {
            shared,
            idle: false,
        })
    }

    /// Marks the connection idle (nothing in flight) or active.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut guard = shutdown.handle().track().unwrap();
    /// guard.set_idle(true);
    /// assert!(guard.is_idle());
    /// ```
    pub fn set_idle(&mut self, idle: bool) {
        self.shared.tracker.set_idle(&mut self.idle, idle);
    }

    /// Whether the connection is marked idle.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(!shutdown.handle().track().unwrap().is_idle());
    /// ```
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Completes when draining starts: the connection should finish what is in flight and close.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let guard = shutdown.handle().track().unwrap();
    /// let _going_away = guard.going_away();
    /// ```
    pub fn going_away(&self) -> Reached {
        Reached::new(self.shared.clone(), Phase::Draining)
    }

    /// Completes when waiting for connections is over (deadline, force, or the hooks began):
    /// a connection still open then should be dropped at once.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let guard = shutdown.handle().track().unwrap();
    /// let _cut = guard.cut();
    /// ```
    pub fn cut(&self) -> Reached {
        Reached::new(self.shared.clone(), Phase::Hooks)
    }

    /// A handle to the shutdown this guard belongs to.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let guard = shutdown.handle().track().unwrap();
    /// assert!(guard.handle().is_ready());
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.tracker.release(self.idle);
    }
}

/// A connection-state event, as servers with a state hook report them (Go's `ConnState`).
///
/// ```
/// use lameduck::ConnEvent;
/// assert_ne!(ConnEvent::New, ConnEvent::Closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnEvent {
    /// Accepted: count it.
    New,
    /// A request is in flight.
    Active,
    /// Waiting for the next request.
    Idle,
    /// The server handed the connection to someone else (an upgrade): the guard returned
    /// by [`Connection::event`] keeps it counted until that owner drops it.
    Hijacked,
    /// Closed: uncount it.
    Closed,
}

#[derive(Debug)]
enum State {
    Unseen,
    Open(ConnectionGuard),
    /// Refused because the drain had completed; later events are expected and ignored.
    Refused,
    Done,
}

/// One connection reported through [`ConnEvent`]s. Made by [`Handle::connection`].
///
/// Malformed sequences (close before new, double close, anything after close, events after
/// the drain completed) never underflow and never panic: each is counted in
/// [`Snapshot::anomalies`](crate::Snapshot::anomalies) and otherwise ignored. Dropping a
/// `Connection` that is still open uncounts it.
///
/// ```
/// use lameduck::ConnEvent;
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let handle = shutdown.handle();
/// let mut conn = handle.connection();
/// conn.event(ConnEvent::Closed); // before New: an anomaly, nothing else
/// conn.event(ConnEvent::New);
/// conn.event(ConnEvent::Idle);
/// assert_eq!(handle.snapshot().idle, 1);
/// conn.event(ConnEvent::Closed);
/// conn.event(ConnEvent::Closed); // twice: an anomaly
/// let s = handle.snapshot();
/// assert_eq!((s.open, s.anomalies), (0, 2));
/// ```
#[derive(Debug)]
pub struct Connection {
    handle: Handle,
    state: State,
}

impl Connection {
    pub(crate) fn new(handle: Handle) -> Connection {
        Connection {
            handle,
            state: State::Unseen,
        }
    }

    /// Applies one event. `Hijacked` returns the guard that keeps the connection counted;
    /// every other event returns `None`.
    ///
    /// ```
    /// use lameduck::ConnEvent;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut conn = shutdown.handle().connection();
    /// conn.event(ConnEvent::New);
    /// let upgraded = conn.event(ConnEvent::Hijacked).expect("hijacked");
    /// assert_eq!(shutdown.handle().snapshot().open, 1);
    /// drop(upgraded);
    /// assert_eq!(shutdown.handle().snapshot().open, 0);
    /// ```
    pub fn event(&mut self, event: ConnEvent) -> Option<ConnectionGuard> {
        let state = core::mem::replace(&mut self.state, State::Done);
        let (next, out) = match (state, event) {
            (State::Unseen, ConnEvent::New) => match self.handle.track() {
                Some(guard) => (State::Open(guard), None),
                None => {
                    self.anomaly();
                    (State::Refused, None)
                }
            },
            (State::Open(mut guard), ConnEvent::Active | ConnEvent::Idle) => {
                guard.set_idle(event == ConnEvent::Idle);
                (State::Open(guard), None)
            }
            (State::Open(mut guard), ConnEvent::Hijacked) => {
                guard.set_idle(false);
                (State::Done, Some(guard))
            }
            (State::Open(_), ConnEvent::Closed) => (State::Done, None),
            (State::Refused, _) => (State::Refused, None),
            (state, _) => {
                self.anomaly();
                (state, None)
            }
        };
        self.state = next;
        out
    }

    /// Whether the connection is counted now.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut conn = shutdown.handle().connection();
    /// conn.event(lameduck::ConnEvent::New);
    /// assert!(conn.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    fn anomaly(&self) {
        self.handle.shared.tracker.record_anomaly();
        #[cfg(feature = "tracing")]
        tracing::warn!(
            anomalies = self.handle.shared.tracker.anomalies(),
            "malformed connection event sequence ignored"
        );
    }
}
