//! How one connection is counted: a [`ConnectionGuard`], or a [`lameduck::Connection`] fed
//! [`ConnEvent`]s — and the per-connection state the wrapped service and the connection
//! task share (requests in flight, idle wake-ups).

use event_listener::Event;
use lameduck::{ConnEvent, ConnectionGuard, Handle};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Something that keeps one connection counted by a shutdown and hears when it turns idle
/// (no request in flight) or active. Implemented by [`ConnectionGuard`] and by [`Events`].
///
/// Dropping it must uncount the connection.
///
/// ```
/// use lameduck_hyper::Counted;
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let mut guard = shutdown.handle().track().unwrap();
/// Counted::set_idle(&mut guard, true);
/// assert_eq!(Counted::handle(&guard).snapshot().idle, 1);
/// ```
pub trait Counted: Send + 'static {
    /// Marks the connection idle (nothing in flight) or active.
    ///
    /// ```
    /// use lameduck_hyper::Counted;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let mut events = lameduck_hyper::Events::new(&shutdown.handle());
    /// events.set_idle(false);
    /// assert_eq!(shutdown.handle().snapshot().idle, 0);
    /// ```
    fn set_idle(&mut self, idle: bool);

    /// The shutdown the connection belongs to.
    ///
    /// ```
    /// use lameduck_hyper::Counted;
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let guard = shutdown.handle().track().unwrap();
    /// assert!(Counted::handle(&guard).is_ready());
    /// ```
    fn handle(&self) -> Handle;
}

impl Counted for ConnectionGuard {
    fn set_idle(&mut self, idle: bool) {
        ConnectionGuard::set_idle(self, idle);
    }

    fn handle(&self) -> Handle {
        ConnectionGuard::handle(self)
    }
}

/// A connection counted through lameduck's event API, as a server with a connection-state
/// hook (Go's `ConnState`) reports it: [`ConnEvent::New`] when made, `Active`/`Idle` as
/// requests come and go, [`ConnEvent::Closed`] when dropped.
///
/// ```
/// use lameduck_hyper::{Counted, Events};
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let mut events = Events::new(&shutdown.handle());
/// events.set_idle(true);
/// assert_eq!(shutdown.handle().snapshot().idle, 1);
/// drop(events);
/// assert_eq!(shutdown.handle().snapshot().open, 0);
/// ```
#[derive(Debug)]
pub struct Events {
    connection: lameduck::Connection,
    handle: Handle,
}

impl Events {
    /// Reports [`ConnEvent::New`] for a just-accepted connection.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let _events = lameduck_hyper::Events::new(&shutdown.handle());
    /// assert_eq!(shutdown.handle().snapshot().open, 1);
    /// ```
    pub fn new(handle: &Handle) -> Events {
        let mut connection = handle.connection();
        connection.event(ConnEvent::New);
        Events {
            connection,
            handle: handle.clone(),
        }
    }
}

impl Counted for Events {
    fn set_idle(&mut self, idle: bool) {
        let event = if idle {
            ConnEvent::Idle
        } else {
            ConnEvent::Active
        };
        self.connection.event(event);
    }

    fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if self.connection.is_open() {
            self.connection.event(ConnEvent::Closed);
        }
    }
}

/// What the wrapped service and the connection task share for one connection.
pub(crate) struct ConnState {
    inner: Mutex<Inner>,
    /// Notified each time the last request in flight finishes.
    idle: Event,
    /// Notified when the connection's first request starts.
    first: Event,
    handle: Handle,
}

struct Inner {
    counted: Box<dyn Counted>,
    in_flight: usize,
    /// Whether a request ever started on the connection.
    started: bool,
}

impl ConnState {
    pub(crate) fn new(counted: impl Counted) -> Arc<ConnState> {
        let handle = counted.handle();
        let mut counted: Box<dyn Counted> = Box::new(counted);
        // A connection that has not sent a request yet is idle: it holds nothing in flight.
        counted.set_idle(true);
        Arc::new(ConnState {
            inner: Mutex::new(Inner {
                counted,
                in_flight: 0,
                started: false,
            }),
            idle: Event::new(),
            first: Event::new(),
            handle,
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters behind: still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a request ever started on the connection.
    pub(crate) fn has_started(&self) -> bool {
        self.lock().started
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// Completes once a request has started on the connection.
    pub(crate) async fn wait_started(&self) {
        loop {
            if self.lock().started {
                return;
            }
            // Listen first, then re-check: a request starting in between is not missed.
            let listener = self.first.listen();
            if self.lock().started {
                return;
            }
            listener.await;
        }
    }

    /// Completes once no request is in flight.
    pub(crate) async fn wait_idle(&self) {
        loop {
            if self.in_flight() == 0 {
                return;
            }
            // Listen first, then re-check: a request finishing in between is not missed.
            let listener = self.idle.listen();
            if self.in_flight() == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// One request in flight; dropping it (when the response body ends or is dropped) ends it.
pub(crate) struct InFlight {
    conn: Arc<ConnState>,
}

impl InFlight {
    pub(crate) fn start(conn: &Arc<ConnState>) -> InFlight {
        let mut inner = conn.lock();
        inner.in_flight += 1;
        if inner.in_flight == 1 {
            inner.counted.set_idle(false);
        }
        let first = !core::mem::replace(&mut inner.started, true);
        drop(inner);
        if first {
            conn.first.notify(usize::MAX);
        }
        InFlight { conn: conn.clone() }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.conn.lock();
        inner.in_flight -= 1;
        let now_idle = inner.in_flight == 0;
        if now_idle {
            inner.counted.set_idle(true);
        }
        drop(inner);
        if now_idle {
            self.conn.idle.notify(usize::MAX);
        }
    }
}
