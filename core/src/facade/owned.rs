//! Counts on the shutdown's tracker that need no [`Connection`](crate::Connection) object:
//! [`OwnedGuard`] (one counted connection, busy until dropped) and [`Hold`] (keeps the
//! drain open without counting a connection). For servers lameduck does not run, whose
//! accept loop gives no per-connection hook: a tower layer counts each request as one
//! connection with an `OwnedGuard`, and the server's own graceful shutdown holds the drain
//! open with a `Hold` until it has closed its connections.

use crate::{
    facade::{handle::Handle, shared::Shared},
    pure::sync::Arc,
};
use core::fmt;

impl Handle {
    /// Counts one busy connection on the shutdown's tracker until the guard is dropped;
    /// `None` once the drain has completed. No allocation: the guard is the shutdown's
    /// shared state, as the tracker's own [`Guard`](crate::machine::Guard) is the borrowed
    /// tracker.
    /// A server that cannot see its connections counts each request in flight with one
    /// (its snapshot then reports requests as busy connections, and never an idle one).
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let handle = shutdown.handle();
    /// let guard = handle.guard().expect("not drained");
    /// assert_eq!((handle.snapshot().open, handle.snapshot().active), (1, 1));
    /// drop(guard);
    /// assert_eq!(handle.snapshot().open, 0);
    /// ```
    pub fn guard(&self) -> Option<OwnedGuard> {
        // `then`, not `then_some`: a guard built eagerly and dropped on refusal would
        // release a count it never acquired.
        self.shared.tracker.acquire().then(|| {
            self.shared.tracker.mark_busy(true);
            OwnedGuard {
                handle: self.clone(),
            }
        })
    }

    /// Keeps the drain from completing until the hold is dropped, without counting a
    /// connection (the snapshot and the report do not show it); `None` once the drain has
    /// completed. A server that closes its own connections gracefully holds one until it
    /// has (axum's `with_graceful_shutdown` future, say), so the drain waits for what the
    /// counted requests cannot show: a response written after its body ended, a
    /// connection's close.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let handle = shutdown.handle();
    /// let hold = handle.hold().expect("not drained");
    /// assert_eq!(handle.snapshot().open, 0);
    /// drop(hold);
    /// ```
    pub fn hold(&self) -> Option<Hold> {
        self.shared.tracker.hold().then(|| Hold {
            shared: self.shared.clone(),
        })
    }
}

/// One busy connection counted on a shutdown's tracker, owned; dropping it uncounts the
/// connection. Made by [`Handle::guard`].
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let guard: lameduck::events::OwnedGuard = shutdown.handle().guard().unwrap();
/// assert!(guard.handle().is_ready());
/// ```
#[must_use = "the connection is uncounted as soon as the guard is dropped"]
pub struct OwnedGuard {
    handle: Handle,
}

impl OwnedGuard {
    /// The shutdown this guard counts on.
    ///
    /// ```
    /// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
    /// let guard = shutdown.handle().guard().unwrap();
    /// assert_eq!(guard.handle().phase(), lameduck::Phase::Running);
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for OwnedGuard {
    fn drop(&mut self) {
        self.handle.shared.tracker.release(true);
    }
}

impl fmt::Debug for OwnedGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedGuard").finish_non_exhaustive()
    }
}

/// Keeps a shutdown's drain from completing, without counting a connection; released when
/// dropped. Made by [`Handle::hold`].
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let hold: lameduck::events::Hold = shutdown.handle().hold().unwrap();
/// # drop(hold);
/// ```
#[must_use = "the hold is released as soon as it is dropped"]
pub struct Hold {
    shared: Arc<Shared>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.shared.tracker.unhold();
    }
}

impl fmt::Debug for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hold").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{facade::shutdown::Shutdown, pure::config::Config};

    #[test]
    fn a_guard_keeps_the_drain_open_and_counts_as_a_busy_connection() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let handle = shutdown.handle();
        let guard = handle.guard().unwrap();
        assert!(!handle.shared.tracker.start_drain());
        let s = handle.snapshot();
        assert_eq!((s.open, s.active, s.idle), (1, 1, 0));
        drop(guard);
        assert!(handle.shared.tracker.is_drained());
        assert!(handle.guard().is_none(), "none once drained");
    }

    #[test]
    fn a_hold_keeps_the_drain_open_without_counting_a_connection() {
        let shutdown = Shutdown::new(Config::new()).unwrap();
        let handle = shutdown.handle();
        let hold = handle.hold().unwrap();
        assert!(!handle.shared.tracker.start_drain());
        assert_eq!(handle.snapshot().open, 0);
        drop(hold);
        assert!(handle.shared.tracker.is_drained());
        assert!(handle.hold().is_none(), "none once drained");
    }
}
