//! What the socket, the service and the connection's task share for one connection.

use core::sync::atomic::{AtomicBool, Ordering};
use lameduck::Connection;

/// What the socket, the service and the connection's task share.
pub(crate) struct Conn {
    pub(crate) connection: Connection,
    /// Set at the first HTTP/2 request: from the goodbye on, such a connection is sent
    /// GOAWAY (an HTTP/1 one says `connection: close` on its responses instead).
    pub(crate) http2: AtomicBool,
    /// Set once the peer's first bytes were read; for an HTTP/2 connection, cleared when its
    /// GOAWAY is sent, so that it then says whether the peer wrote since.
    pub(crate) heard: AtomicBool,
}

impl Conn {
    pub(crate) fn heard(&self) {
        if !self.heard.load(Ordering::Relaxed) {
            self.heard.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn saw_http2(&self) {
        if !self.http2.load(Ordering::Relaxed) {
            self.http2.store(true, Ordering::Relaxed);
        }
    }
}
