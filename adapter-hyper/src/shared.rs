//! What the socket, the service and the connection's task share for one connection.

use core::sync::atomic::{AtomicBool, Ordering};
use lameduck::Connection;

/// What the socket, the service and the connection's task share.
pub(crate) struct Conn {
    pub(crate) connection: Connection,
    /// Set at the first HTTP/2 request: an HTTP/2 connection is never dropped as idle (its
    /// peer's flow control may still hold response bytes after the service is done).
    pub(crate) http2: AtomicBool,
    /// Set when the first request starts, and `first` notified.
    pub(crate) started: AtomicBool,
    pub(crate) first: event_listener::Event,
}

impl Conn {
    /// A request started (called for each).
    pub(crate) fn saw_request(&self) {
        // Relaxed: the event carries the wake-up; the flag is only re-checked after
        // listening, and a stale `false` there costs one more turn of the loop.
        if !self.started.load(Ordering::Relaxed) {
            self.started.store(true, Ordering::Relaxed);
            self.first.notify(usize::MAX);
        }
    }

    /// Completes once a request has started on the connection.
    pub(crate) async fn first_request(&self) {
        loop {
            if self.started.load(Ordering::Relaxed) {
                return;
            }
            // Listen first, then re-check: a request starting in between is not missed.
            let listener = self.first.listen();
            if self.started.load(Ordering::Relaxed) {
                return;
            }
            listener.await;
        }
    }

    pub(crate) fn saw_http2(&self) {
        if !self.http2.load(Ordering::Relaxed) {
            self.http2.store(true, Ordering::Relaxed);
        }
    }
}
