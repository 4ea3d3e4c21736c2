//! What the clones of one connection share: the shutdown's state and the connection's own
//! word (requests in flight, blocked writes, idle marking).

use crate::{
    facade::shared::Shared,
    pure::sync::{Arc, AtomicUsize, Ordering},
};
use event_listener::Event;

/// The connection's own word: requests in flight (from [`ONE_REQUEST`] up), whether its
/// writes are blocked, and whether the tracker counts it idle (not busy) now.
pub(crate) const MARKED_IDLE: usize = 1;
pub(crate) const WRITE_BLOCKED: usize = 2;
pub(crate) const ONE_REQUEST: usize = 4;

/// What the clones of one connection share. Dropping it uncounts the connection.
pub(crate) struct State {
    pub(crate) shared: Arc<Shared>,
    pub(super) word: AtomicUsize,
    /// Notified each time the connection turns idle.
    pub(super) idle: Event,
}

impl Drop for State {
    fn drop(&mut self) {
        let busy = self.word.load(Ordering::Acquire) & MARKED_IDLE == 0;
        self.shared.tracker.release(busy);
    }
}

impl State {
    pub(super) fn busy(&self, word: usize) -> bool {
        word & !MARKED_IDLE != 0
    }

    /// Changes the word by `change` and, in the same compare-and-swap, brings its idle
    /// marking in line with the new count: one atomic read-modify-write per request start or
    /// end when nothing races it. Each flip of `MARKED_IDLE` is made by exactly one
    /// successful CAS and followed by exactly one tracker update, so the tracker's busy count
    /// sums right even when two updates land out of order.
    pub(super) fn update(&self, change: impl Fn(usize) -> usize) {
        // Relaxed to start from: the CAS below is what orders.
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let mut next = change(word);
            let idle = !self.busy(next);
            let flip = idle != (next & MARKED_IDLE != 0);
            if flip {
                next ^= MARKED_IDLE;
            }
            // AcqRel: the flip is ordered with the count changes it reflects.
            match self
                .word
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if flip {
                        self.shared.tracker.mark_busy(!idle);
                        if idle {
                            self.idle.notify(usize::MAX);
                        }
                    }
                    return;
                }
                Err(actual) => word = actual,
            }
        }
    }
}
