//! The waiter set of one phase: a slab of wakers behind a lock, keyed by the index each
//! waiter keeps, emptied and woken all at once when the phase is entered.
//!
//! An `event_listener::Event` would do the same, but each of its listeners is a heap
//! allocation made on the first poll (and linked, then unlinked on drop, under the event's
//! lock): every connection pays that for its `draining()`. Here a wait costs a slot in a
//! vector that is reused (the slab's free list), filled and emptied under the lock, with no
//! allocation once the vector has grown to the number of waiters. No crate offers a waiter
//! set keyed by slot without an intrusive (`unsafe`) list, hence these few lines over
//! `slab`.
//!
//! The protocol (see [`Waiters::register`]): whoever enters the phase publishes it first
//! (the phase word), then empties the set under the lock; a waiter re-checks the phase under
//! the same lock before it inserts itself. Either the waiter's insert comes first, and the
//! emptying takes and wakes it, or the emptying comes first, and the waiter, acquiring the
//! lock after it, sees the phase and does not wait. Once the phase is entered the set stays
//! empty for good (phases only move forward), so a key kept by a waiter that was taken is
//! never reused by another waiter: removing it later finds nothing.

use crate::pure::sync::{AtomicBool, Ordering};
use core::task::Waker;
use slab::Slab;

#[cfg(loom)]
use loom::sync::{Mutex, MutexGuard};
#[cfg(all(not(loom), not(feature = "std")))]
use spin::{Mutex, MutexGuard};
#[cfg(all(not(loom), feature = "std"))]
use std::sync::{Mutex, MutexGuard};

/// The wakers of the tasks waiting for one phase.
#[derive(Debug)]
pub(crate) struct Waiters {
    set: Mutex<Slab<Waker>>,
    /// Set (under the lock) once the set has been emptied for good: a waiter that sees it
    /// knows its waker is gone and needs no lock to forget its key.
    emptied: AtomicBool,
}

impl Waiters {
    pub(crate) fn new() -> Waiters {
        Waiters {
            set: Mutex::new(Slab::new()),
            emptied: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slab<Waker>> {
        // A panic under the lock (a waker's `clone`, a failed allocation) leaves the slab
        // whole: every operation on it below is a single slab call.
        #[cfg(any(loom, feature = "std"))]
        let guard = self
            .set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        #[cfg(not(any(loom, feature = "std")))]
        let guard = self.set.lock();
        guard
    }

    /// Registers `waker` under `key` (inserting it, or replacing the waker stored there)
    /// unless `entered()`, checked under the lock, says the phase has been entered: then
    /// nothing is stored, `key` is cleared and `false` returned (the caller is done).
    ///
    /// The waker replaced, if any, is dropped outside the lock.
    pub(crate) fn register(
        &self,
        key: &mut Option<usize>,
        waker: &Waker,
        entered: impl FnOnce() -> bool,
    ) -> bool {
        let waker = waker.clone();
        let mut set = self.lock();
        if entered() {
            // The set has been (or is being) emptied: `key`, if any, names nothing now.
            drop(set);
            *key = None;
            return false;
        }
        let replaced = match key.and_then(|k| set.get_mut(k)) {
            Some(slot) => Some(core::mem::replace(slot, waker)),
            None => {
                *key = Some(set.insert(waker));
                None
            }
        };
        drop(set);
        drop(replaced);
        true
    }

    /// Removes the waker under `key`, if it is still there; it is dropped outside the lock
    /// and never woken.
    pub(crate) fn remove(&self, key: usize) {
        let removed = self.lock().try_remove(key);
        drop(removed);
    }

    /// Empties the set and wakes every waker that was in it, outside the lock. The caller
    /// has published the phase before (see the module's protocol).
    pub(crate) fn wake_all(&self) {
        let taken = {
            let mut set = self.lock();
            let taken = core::mem::take(&mut *set);
            // Release, after the take: whoever sees the flag sees the set emptied (and its
            // key gone for good).
            self.emptied.store(true, Ordering::Release);
            taken
        };
        for (_, waker) in taken {
            waker.wake();
        }
    }

    /// Whether the set has been emptied for good (its phase entered): every key handed out
    /// names nothing now.
    pub(crate) fn emptied(&self) -> bool {
        self.emptied.load(Ordering::Acquire)
    }

    /// How many waiters are registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}
