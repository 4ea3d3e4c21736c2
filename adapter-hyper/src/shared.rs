//! What the socket, the service and the connection's task share for one connection.

use core::sync::atomic::{AtomicBool, Ordering};
use lameduck::Connection;

/// What the socket, the service and the connection's task share.
pub(crate) struct Conn {
    pub(crate) connection: Connection,
    /// Set at the first HTTP/2 request: an HTTP/2 connection is never dropped as idle (its
    /// peer's flow control may still hold response bytes after the service is done).
    pub(crate) http2: AtomicBool,
}

impl Conn {
    pub(crate) fn saw_http2(&self) {
        if !self.http2.load(Ordering::Relaxed) {
            self.http2.store(true, Ordering::Relaxed);
        }
    }
}

