//! [`Connection`]: one counted connection and its requests in flight; [`Events`]: the same,
//! reported through connection-state events (Go's `ConnState`).

pub(crate) mod state;

use self::state::{State, MARKED_IDLE, ONE_REQUEST, WRITE_BLOCKED};
use crate::{
    facade::reached::Reached,
    facade::shared::Shared,
    pure::phase::Phase,
    pure::sync::{Arc, AtomicUsize, Ordering},
};
use core::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use event_listener::{Event, EventListener};

/// One counted connection, with its requests in flight. Made by [`Handle::connection`](crate::Handle::connection).
///
/// The connection is counted by the shutdown until the last clone of it (and the last
/// [`InFlight`] made from it) is dropped: give a clone to whatever owns the connection's
/// socket (so that a socket handed on, to an upgrade say, stays counted) and one to
/// whatever starts its requests. It is *idle* when no request is in flight and no write is
/// blocked on a peer that does not read; an idle connection may be closed at once when
/// draining starts, a busy one is waited for (up to the drain deadline).
///
/// The connection's task should close when [`draining`](Self::draining) completes (at
/// once if idle, after what is in flight otherwise) and drop everything at once when
/// [`cut`](Self::cut) completes.
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let handle = shutdown.handle();
/// let conn = handle.connection().expect("not drained yet");
/// assert!(conn.is_idle());
/// let request = conn.request();
/// assert_eq!((handle.snapshot().open, handle.snapshot().active), (1, 1));
/// drop(request);
/// assert!(conn.is_idle());
/// drop(conn);
/// assert_eq!(handle.snapshot().open, 0);
/// ```
#[derive(Clone)]
#[must_use = "the connection is uncounted as soon as it is dropped"]
pub struct Connection {
    state: Arc<State>,
}

impl Connection {
    pub(crate) fn new(shared: Arc<Shared>) -> Option<Connection> {
        if !shared.tracker.acquire() {
            return None;
        }
        // A connection that has sent nothing yet holds nothing in flight: idle, which the
        // tracker counts by not counting it busy (so opening one touches no other counter).
        Some(Connection {
            state: Arc::new(State {
                shared,
                word: AtomicUsize::new(MARKED_IDLE),
                idle: Event::new(),
            }),
        })
    }

    /// Starts a request: the connection is busy until the returned [`InFlight`] (and every
    /// other one) is dropped. Drop it when the response has been handed over in full.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// let (a, b) = (conn.request(), conn.request());
    /// drop(a);
    /// assert!(!conn.is_idle());
    /// drop(b);
    /// assert!(conn.is_idle());
    /// ```
    pub fn request(&self) -> InFlight {
        self.state.update(|word| word + ONE_REQUEST);
        InFlight {
            state: self.state.clone(),
        }
    }

    /// Marks writes to the peer as blocked (`true`: the peer is not reading what was
    /// written) or flowing again. A blocked connection is busy: its response has not
    /// reached its client yet. I/O wrappers call this when a write returns `Pending`, and
    /// again once a write completes.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// conn.write_blocked(true);
    /// assert!(!conn.is_idle());
    /// conn.write_blocked(false);
    /// assert!(conn.is_idle());
    /// ```
    pub fn write_blocked(&self, blocked: bool) {
        if blocked {
            self.state.update(|word| word | WRITE_BLOCKED);
        } else {
            self.state.update(|word| word & !WRITE_BLOCKED);
        }
    }

    /// Whether nothing is in flight and no write is blocked.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(shutdown.handle().connection().unwrap().is_idle());
    /// ```
    pub fn is_idle(&self) -> bool {
        !self.state.busy(self.state.word.load(Ordering::Acquire))
    }

    /// Completes when the connection is idle (at once if it is now).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// futures::executor::block_on(conn.idle());
    /// ```
    pub fn idle(&self) -> Idle {
        Idle {
            state: self.state.clone(),
            listener: None,
        }
    }

    /// Completes when draining starts: finish what is in flight, say goodbye, close.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// shutdown.trigger().shutdown();
    /// let _draining = conn.draining();
    /// ```
    pub fn draining(&self) -> Reached {
        Reached::of_connection(self.state.clone(), Phase::Draining)
    }

    /// Completes when the connection should tell its peer to leave ([`Config::goodbye`]:
    /// from the first signal by default, the lame duck included, or when draining starts):
    /// HTTP/1.1 responses carry `connection: close`, HTTP/2 sends GOAWAY; the connection
    /// goes on serving what it is sent until the drain.
    ///
    /// [`Config::goodbye`]: crate::Config::goodbye
    ///
    /// ```
    /// use lameduck::{Config, Shutdown};
    /// let shutdown = Shutdown::new(Config::new().lame_duck(core::time::Duration::from_secs(1))).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// let _goodbye = conn.goodbye();
    /// ```
    pub fn goodbye(&self) -> Reached {
        let phase = self.state.shared.config.goodbye.phase();
        Reached::of_connection(self.state.clone(), phase)
    }

    /// Whether the connection should now tell its peer to leave (see
    /// [`goodbye`](Self::goodbye)): one relaxed atomic load, cheap enough for every
    /// response.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// assert!(!conn.says_goodbye());
    /// ```
    pub fn says_goodbye(&self) -> bool {
        self.state.shared.says_goodbye()
    }

    /// Completes when waiting for connections is over (the drain deadline passed, a second
    /// signal forced, or the hooks began): a connection still open then is cut; drop it.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// let _cut = conn.cut();
    /// ```
    pub fn cut(&self) -> Reached {
        Reached::of_connection(self.state.clone(), Phase::Hooks)
    }

    /// Whether the drain was cut (see [`cut`](Self::cut)).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// assert!(!shutdown.handle().connection().unwrap().is_cut());
    /// ```
    pub fn is_cut(&self) -> bool {
        self.state.shared.phase() >= Phase::Hooks
    }

    /// Whether this process handed its listeners to a successor
    /// ([`Trigger::handover`](crate::Trigger::handover), an in-place upgrade): the successor
    /// serves the same port, so a kept connection's client can be told to leave with its
    /// next response instead of being closed under a request it may be sending.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let conn = shutdown.handle().connection().unwrap();
    /// shutdown.trigger().handover();
    /// assert!(conn.handed_over());
    /// ```
    pub fn handed_over(&self) -> bool {
        self.state.shared.handed_over()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.state.shared
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.state.word.load(Ordering::Relaxed);
        f.debug_struct("Connection")
            .field("in_flight", &(word / ONE_REQUEST))
            .field("write_blocked", &(word & WRITE_BLOCKED != 0))
            .finish()
    }
}

/// One request in flight on a [`Connection`]; dropping it ends the request. Made by
/// [`Connection::request`].
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let conn = shutdown.handle().connection().unwrap();
/// let in_flight: lameduck::InFlight = conn.request();
/// # drop(in_flight);
/// ```
#[must_use = "the request ends as soon as this is dropped"]
pub struct InFlight {
    state: Arc<State>,
}

impl InFlight {
    /// Whether its response should tell the client to leave: as
    /// [`Connection::says_goodbye`], one relaxed atomic load, for the service wrappers that
    /// hold the request and not the connection.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let request = shutdown.handle().connection().unwrap().request();
    /// assert!(!request.says_goodbye());
    /// ```
    pub fn says_goodbye(&self) -> bool {
        self.state.shared.says_goodbye()
    }

    /// Completes when draining starts: as [`Connection::draining`], for the service
    /// wrappers that hold the request and not the connection (a response body ended by the
    /// drain, say).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let request = shutdown.handle().connection().unwrap().request();
    /// shutdown.trigger().shutdown();
    /// let _draining = request.draining();
    /// ```
    pub fn draining(&self) -> Reached {
        Reached::of_connection(self.state.clone(), Phase::Draining)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.state.update(|word| word - ONE_REQUEST);
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}

/// Completes when its connection is idle. Made by [`Connection::idle`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it unregisters its listener and loses nothing.
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let conn = shutdown.handle().connection().unwrap();
/// futures::executor::block_on(conn.idle());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Idle {
    state: Arc<State>,
    listener: Option<EventListener>,
}

impl fmt::Debug for Idle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idle").finish_non_exhaustive()
    }
}

impl Future for Idle {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let state = &this.state;
        crate::pure::listen::poll_until(&mut this.listener, &state.idle, cx, || {
            !state.busy(state.word.load(Ordering::Acquire))
        })
    }
}

/// A connection-state event, as servers with a state hook report them (Go's `ConnState`).
///
/// ```
/// use lameduck::events::ConnEvent;
/// assert_ne!(ConnEvent::New, ConnEvent::Closed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnEvent {
    /// Accepted: count it.
    New,
    /// A request is in flight.
    Active,
    /// Waiting for the next request.
    Idle,
    /// The server handed the connection to someone else (an upgrade): the [`Connection`]
    /// returned by [`Events::event`] keeps it counted until that owner drops it.
    Hijacked,
    /// Closed: uncount it.
    Closed,
}

#[derive(Debug)]
enum EventState {
    Unseen,
    Open(Connection, Option<InFlight>),
    /// Refused because the drain had completed; later events are expected and ignored.
    Refused,
    Done,
}

/// One connection reported through [`ConnEvent`]s, a thin layer over [`Connection`]. Made
/// by [`Handle::events`](crate::Handle::events).
///
/// Malformed sequences (close before new, double close, anything after close, events after
/// the drain completed) never underflow and never panic: each is counted in
/// [`Snapshot::anomalies`](crate::Snapshot::anomalies) and otherwise ignored. Dropping an
/// `Events` that is still open uncounts it.
///
/// ```
/// use lameduck::events::ConnEvent;
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let handle = shutdown.handle();
/// let mut conn = handle.events();
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
pub struct Events {
    shared: Arc<Shared>,
    state: EventState,
}

impl Events {
    pub(crate) fn new(shared: Arc<Shared>) -> Events {
        Events {
            shared,
            state: EventState::Unseen,
        }
    }

    /// Applies one event. `Hijacked` returns the [`Connection`] that keeps the connection
    /// counted; every other event returns `None`.
    ///
    /// ```
    /// use lameduck::events::ConnEvent;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut conn = shutdown.handle().events();
    /// conn.event(ConnEvent::New);
    /// let upgraded = conn.event(ConnEvent::Hijacked).expect("hijacked");
    /// assert_eq!(shutdown.handle().snapshot().open, 1);
    /// drop(upgraded);
    /// assert_eq!(shutdown.handle().snapshot().open, 0);
    /// ```
    pub fn event(&mut self, event: ConnEvent) -> Option<Connection> {
        let state = core::mem::replace(&mut self.state, EventState::Done);
        let (next, out) = match (state, event) {
            (EventState::Unseen, ConnEvent::New) => match Connection::new(self.shared.clone()) {
                // A new connection is busy until it says it is idle (Go's `StateNew`).
                Some(conn) => {
                    let request = conn.request();
                    (EventState::Open(conn, Some(request)), None)
                }
                None => {
                    self.anomaly();
                    (EventState::Refused, None)
                }
            },
            (EventState::Open(conn, request), ConnEvent::Active) => {
                let request = request.or_else(|| Some(conn.request()));
                (EventState::Open(conn, request), None)
            }
            (EventState::Open(conn, _), ConnEvent::Idle) => (EventState::Open(conn, None), None),
            (EventState::Open(conn, request), ConnEvent::Hijacked) => {
                // The new owner's connection is busy until it is dropped.
                conn.state.update(|word| word + ONE_REQUEST);
                drop(request);
                (EventState::Done, Some(conn))
            }
            (EventState::Open(..), ConnEvent::Closed) => (EventState::Done, None),
            (EventState::Refused, _) => (EventState::Refused, None),
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
    /// let mut conn = shutdown.handle().events();
    /// conn.event(lameduck::events::ConnEvent::New);
    /// assert!(conn.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self.state, EventState::Open(..))
    }

    fn anomaly(&self) {
        self.shared.tracker.record_anomaly();
        #[cfg(feature = "tracing")]
        tracing::warn!(
            anomalies = self.shared.tracker.anomalies(),
            "malformed connection event sequence ignored"
        );
    }
}

#[cfg(all(test, not(loom)))]
mod goodbye_tests {
    use crate::{facade::shared::Shared, pure::sync::Arc, Config, Goodbye, Handle, Phase};
    use core::{future::Future, pin::pin, task::Context};

    fn goodbye_at(goodbye: Goodbye, phase: Phase) -> (bool, bool) {
        let shared = Arc::new(Shared::new(Config::new().goodbye(goodbye)));
        let handle = Handle {
            shared: shared.clone(),
        };
        let conn = handle.connection().expect("running");
        let mut future = pin!(conn.goodbye());
        let waker = futures::task::noop_waker();
        assert!(future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        assert!(!conn.says_goodbye() && !handle.says_goodbye());
        shared.set_phase(phase);
        assert_eq!(conn.says_goodbye(), handle.says_goodbye());
        let ready = future.poll(&mut Context::from_waker(&waker)).is_ready();
        (conn.says_goodbye(), ready)
    }

    #[test]
    fn the_goodbye_comes_with_the_lame_duck_by_default() {
        assert_eq!(
            goodbye_at(Goodbye::FirstSignal, Phase::LameDuck),
            (true, true)
        );
        assert_eq!(
            goodbye_at(Goodbye::FirstSignal, Phase::Draining),
            (true, true)
        );
    }

    #[test]
    fn a_goodbye_at_the_drain_waits_through_the_lame_duck() {
        assert_eq!(goodbye_at(Goodbye::Drain, Phase::LameDuck), (false, false));
        assert_eq!(goodbye_at(Goodbye::Drain, Phase::Draining), (true, true));
    }
}
