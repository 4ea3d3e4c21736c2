//! The waiter set of one phase: a slab of wakers behind a lock, keyed by the index each
//! waiter keeps, emptied and woken all at once when the phase is entered.
//!
//! An `event_listener::Event` would do the same, but each of its listeners is a heap
//! allocation made on the first poll (and linked, then unlinked on drop, under the event's
//! lock): every connection pays that for its `going_away()`. Here a wait costs a slot in a
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

#[cfg(test)]
mod tests {
    //! The waiter set as `Reached` uses it: a waiter dropped is gone and never woken; a
    //! re-poll with another waker replaces the one stored.
    use crate::{facade::handle::Reached, facade::shared::Shared, pure::phase::Phase};
    #[cfg(not(loom))]
    use crate::{pure::config::Config, pure::sync::Arc};
    use core::{
        future::Future,
        pin::Pin,
        task::{Context, Poll, Waker},
    };
    use std::task::Wake;

    #[cfg(not(loom))]
    use core::sync::atomic::{AtomicUsize, Ordering};
    #[cfg(loom)]
    use loom::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its wakes.
    #[derive(Default)]
    pub(super) struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn counter() -> (std::sync::Arc<Counter>, Waker) {
        let counter = std::sync::Arc::new(Counter::default());
        (counter.clone(), Waker::from(counter))
    }

    pub(super) fn wakes(counter: &Counter) -> usize {
        counter.0.load(Ordering::Relaxed)
    }

    pub(super) fn poll(reached: &mut Reached, waker: &Waker) -> Poll<()> {
        Pin::new(reached).poll(&mut Context::from_waker(waker))
    }

    pub(super) fn draining_waiters(shared: &Shared) -> usize {
        shared.reached[Phase::Draining.index()].len()
    }

    #[cfg(not(loom))]
    #[test]
    fn reached_stays_send_sync_and_unpin() {
        fn check<T: Send + Sync + Unpin>() {}
        check::<Reached>();
    }

    #[cfg(not(loom))]
    #[test]
    fn a_dropped_waiter_is_removed_and_never_woken() {
        let shared = Arc::new(Shared::new(Config::new()));
        let (dropped, waker) = counter();
        let mut reached = Reached::new(shared.clone(), Phase::Draining);
        assert!(poll(&mut reached, &waker).is_pending());
        let (kept, other) = counter();
        let mut waiting = Reached::new(shared.clone(), Phase::Draining);
        assert!(poll(&mut waiting, &other).is_pending());
        assert_eq!(draining_waiters(&shared), 2);
        drop(reached);
        assert_eq!(draining_waiters(&shared), 1);
        shared.set_phase(Phase::Draining);
        assert_eq!((wakes(&dropped), wakes(&kept)), (0, 1));
        assert!(poll(&mut waiting, &other).is_ready());
        assert_eq!(draining_waiters(&shared), 0);
    }

    #[cfg(not(loom))]
    #[test]
    fn a_re_poll_with_a_new_waker_replaces_the_old_and_the_same_waker_keeps_its_slot() {
        let shared = Arc::new(Shared::new(Config::new()));
        let (first, first_waker) = counter();
        let (second, second_waker) = counter();
        let mut reached = Reached::new(shared.clone(), Phase::Draining);
        assert!(poll(&mut reached, &first_waker).is_pending());
        assert!(poll(&mut reached, &first_waker).is_pending());
        assert!(poll(&mut reached, &second_waker).is_pending());
        assert_eq!(draining_waiters(&shared), 1, "replaced, not added");
        shared.set_phase(Phase::Draining);
        assert_eq!((wakes(&first), wakes(&second)), (0, 1));
        assert!(poll(&mut reached, &second_waker).is_ready());
    }

    #[cfg(not(loom))]
    #[test]
    fn slots_are_reused_and_the_lame_duck_wakes_no_drain_waiter() {
        let shared = Arc::new(Shared::new(Config::new()));
        let (count, waker) = counter();
        for _ in 0..3 {
            let mut reached = Reached::new(shared.clone(), Phase::Draining);
            assert!(poll(&mut reached, &waker).is_pending());
            assert_eq!(reached.key, Some(0), "the freed slot is taken again");
        }
        let mut reached = Reached::new(shared.clone(), Phase::Draining);
        assert!(poll(&mut reached, &waker).is_pending());
        shared.set_phase(Phase::LameDuck);
        assert_eq!(wakes(&count), 0);
        assert!(poll(&mut reached, &waker).is_pending());
        shared.set_phase(Phase::Draining);
        assert_eq!(wakes(&count), 1);
        // Emptied: a waiter made now is ready at once and stores nothing.
        let mut late = Reached::new(shared.clone(), Phase::Draining);
        assert!(poll(&mut late, &waker).is_ready());
        assert_eq!(draining_waiters(&shared), 0);
        assert!(shared.reached[Phase::Draining.index()].emptied());
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    //! Loom models of the waiter set (`RUSTFLAGS="--cfg loom" cargo test -p lameduck
    //! --release --lib loom`): no lost wake-up when the phase is entered while a waiter
    //! registers; a waiter dropped before the phase is entered is removed and never woken; a
    //! re-registration with a new waker replaces the old one.
    use super::tests::{counter, draining_waiters, poll, wakes};
    use crate::{
        facade::handle::Reached, facade::shared::Shared, pure::config::Config, pure::phase::Phase,
        pure::sync::Arc,
    };
    use loom::{
        sync::atomic::{AtomicBool, Ordering},
        thread,
    };

    #[test]
    fn two_waiters_registering_while_the_phase_is_entered_are_both_woken() {
        loom::model(|| {
            let shared = Arc::new(Shared::new(Config::new()));
            let waiters: [_; 2] = core::array::from_fn(|_| {
                let shared = shared.clone();
                thread::spawn(move || {
                    loom::future::block_on(Reached::new(shared, Phase::Draining));
                })
            });
            shared.set_phase(Phase::Draining);
            for waiter in waiters {
                waiter.join().unwrap();
            }
            assert_eq!(draining_waiters(&shared), 0);
        });
    }

    #[test]
    fn a_waiter_dropped_before_the_phase_is_entered_is_never_woken() {
        loom::model(|| {
            let shared = Arc::new(Shared::new(Config::new()));
            let dropped = Arc::new(AtomicBool::new(false));
            let (count, waker) = counter();
            let waiter = {
                let (shared, dropped) = (shared.clone(), dropped.clone());
                thread::spawn(move || {
                    let mut reached = Reached::new(shared, Phase::Draining);
                    let _ = poll(&mut reached, &waker);
                    drop(reached);
                    dropped.store(true, Ordering::Release);
                })
            };
            let dropped_before = dropped.load(Ordering::Acquire);
            shared.set_phase(Phase::Draining);
            waiter.join().unwrap();
            if dropped_before {
                assert_eq!(wakes(&count), 0, "woken after it was dropped");
            }
            assert!(wakes(&count) <= 1);
            assert_eq!(
                draining_waiters(&shared),
                0,
                "the dropped waiter left its slot"
            );
        });
    }

    #[test]
    fn a_new_waker_replaces_the_old_while_the_phase_is_entered() {
        loom::model(|| {
            let shared = Arc::new(Shared::new(Config::new()));
            let (first, first_waker) = counter();
            let (second, second_waker) = counter();
            let waiter = {
                let (shared, second_waker) = (shared.clone(), second_waker.clone());
                thread::spawn(move || {
                    let mut reached = Reached::new(shared, Phase::Draining);
                    let polls = (
                        poll(&mut reached, &first_waker).is_pending(),
                        poll(&mut reached, &second_waker).is_pending(),
                    );
                    (reached, polls)
                })
            };
            shared.set_phase(Phase::Draining);
            let (mut reached, (_, second_pending)) = waiter.join().unwrap();
            if second_pending {
                // Registered under the new waker before the set was emptied: only the new
                // one is woken, once.
                assert_eq!((wakes(&first), wakes(&second)), (0, 1));
            } else {
                assert_eq!(wakes(&second), 0);
                assert!(wakes(&first) <= 1);
            }
            assert!(poll(&mut reached, &second_waker).is_ready());
            drop(reached);
            assert_eq!(draining_waiters(&shared), 0);
        });
    }
}
