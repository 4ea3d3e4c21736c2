//! What the socket, the service and the connection's task share for one connection.

use core::sync::atomic::{AtomicBool, Ordering};
use lameduck::{Connection, InFlight};
use std::sync::Mutex;

/// What the socket, the service and the connection's task share.
pub(crate) struct Conn {
    pub(crate) connection: Connection,
    /// Set at the first HTTP/2 request: from the goodbye on, such a connection is sent
    /// GOAWAY (an HTTP/1 one says `connection: close` on its responses instead).
    pub(crate) http2: AtomicBool,
    /// Set once the peer's first bytes were read; for an HTTP/2 connection, cleared when its
    /// GOAWAY is sent, so that it then says whether the peer wrote since.
    pub(crate) heard: AtomicBool,
    /// Whether the peer wrote since the goodbye (set at every read, as `heard`; cleared when
    /// the connection's task sees the goodbye).
    pub(crate) spoke: AtomicBool,
    /// Set when the drain closes the connection idle after its peer was silent through a
    /// linger's length of the lame duck: its close need not linger (see `io::Counted`).
    pub(crate) closed_idle: AtomicBool,
    /// The request that upgraded the connection (`101`, or a `CONNECT` answered `2xx`):
    /// kept in flight for as long as the upgraded socket lives (it holds this), so an
    /// upgraded connection in use counts as active, not idle.
    pub(crate) upgraded: Mutex<Option<InFlight>>,
}

impl Conn {
    /// The shared state of a connection just accepted: nothing heard yet, and not yet
    /// silent since a goodbye (the goodbye has not come).
    pub(crate) fn new(connection: Connection) -> Conn {
        Conn {
            connection,
            http2: AtomicBool::new(false),
            heard: AtomicBool::new(false),
            spoke: AtomicBool::new(true),
            closed_idle: AtomicBool::new(false),
            upgraded: Mutex::new(None),
        }
    }

    pub(crate) fn heard(&self) {
        if !self.heard.load(Ordering::Relaxed) {
            self.heard.store(true, Ordering::Relaxed);
        }
        if !self.spoke.load(Ordering::Relaxed) {
            self.spoke.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the close may end without lingering: closed idle after a quiet lame duck
    /// (`closed_idle`), and the peer has not written since.
    pub(crate) fn closed_quietly(&self) -> bool {
        self.closed_idle.load(Ordering::Relaxed) && !self.spoke.load(Ordering::Relaxed)
    }

    /// The connection was upgraded by the request `in_flight`.
    pub(crate) fn upgraded(&self, in_flight: InFlight) {
        if let Ok(mut upgraded) = self.upgraded.lock() {
            *upgraded = Some(in_flight);
        }
    }

    pub(crate) fn saw_http2(&self) {
        if !self.http2.load(Ordering::Relaxed) {
            self.http2.store(true, Ordering::Relaxed);
        }
    }
}
