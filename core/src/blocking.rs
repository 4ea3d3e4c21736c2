//! Blocking work in flight (with `std`): sync hooks run on threads of their own, outside the
//! task that awaits them. An executor that moves time when "nothing can happen" — the manual
//! clock's `block_on` — must know such work is under way, or it would jump to the hook's
//! deadline while the hook is still working and report it timed out. (A paused tokio
//! runtime keeps the same rule for `spawn_blocking`.)
//!
//! The executor opens a [`scope`] around each poll; work started inside it takes a
//! [`Work`] token that counts it until the thread is done *or* the awaiting future drops
//! it (an abandoned hook no longer holds time still). Outside any scope nothing is counted.

use alloc::sync::Arc;
use core::{
    cell::RefCell,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};
use std::thread::Thread;

/// The count of blocking work one executor waits for, and the thread to wake when it drops.
#[derive(Debug)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    waiter: Thread,
}

impl InFlight {
    /// Counts work started under a scope of this, waking the current thread when it ends.
    #[cfg(feature = "test-util")]
    pub(crate) fn for_current_thread() -> Arc<InFlight> {
        Arc::new(InFlight {
            count: AtomicUsize::new(0),
            waiter: std::thread::current(),
        })
    }

    /// Whether some counted work is still under way.
    #[cfg(feature = "test-util")]
    pub(crate) fn busy(&self) -> bool {
        // SeqCst, as the release below: a waiter that reads zero here and then re-checks its
        // wake flag sees a wake sent before the release.
        self.count.load(Ordering::SeqCst) != 0
    }
}

std::thread_local! {
    static SCOPE: RefCell<Option<Arc<InFlight>>> = const { RefCell::new(None) };
}

/// Runs `f` with blocking work started inside it counted in `in_flight`.
#[cfg(feature = "test-util")]
pub(crate) fn scope<R>(in_flight: &Arc<InFlight>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<InFlight>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SCOPE.with(|scope| *scope.borrow_mut() = previous);
        }
    }
    let previous = SCOPE.with(|scope| scope.borrow_mut().replace(in_flight.clone()));
    let _restore = Restore(previous);
    f()
}

/// One piece of blocking work, counted from [`Work::begin`] until the first
/// [`release`](Work::release) (shared by the worker thread and the awaiting future).
#[derive(Debug)]
pub(crate) struct Work {
    in_flight: Arc<InFlight>,
    released: AtomicBool,
}

impl Work {
    /// Counts new work if an executor's scope is open on this thread.
    pub(crate) fn begin() -> Option<Arc<Work>> {
        let in_flight = SCOPE.with(|scope| scope.borrow().clone())?;
        in_flight.count.fetch_add(1, Ordering::SeqCst);
        Some(Arc::new(Work {
            in_flight,
            released: AtomicBool::new(false),
        }))
    }

    /// Uncounts the work (once, whoever calls first) and wakes the executor to look again.
    pub(crate) fn release(&self) {
        if !self.released.swap(true, Ordering::SeqCst) {
            self.in_flight.count.fetch_sub(1, Ordering::SeqCst);
            self.in_flight.waiter.unpark();
        }
    }
}

/// Releases the work when dropped: the awaiting future holds one, so dropping the future
/// (a hook abandoned at its timeout) stops the work from holding time still.
#[derive(Debug)]
pub(crate) struct ReleaseOnDrop(pub(crate) Option<Arc<Work>>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        if let Some(work) = &self.0 {
            work.release();
        }
    }
}
