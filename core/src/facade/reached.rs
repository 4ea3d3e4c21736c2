//! [`Reached`] and [`Stopped`]: the futures that wait for a phase, on the per-phase waiter
//! sets of the shared state.

use crate::{
    facade::connection::state::State, facade::shared::Shared, pure::machine::Summary,
    pure::phase::Phase, pure::sync::Arc,
};
use core::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

/// Completes once a phase is reached. Made by [`Handle::reached`](crate::Handle::reached), [`Handle::draining`](crate::Handle::draining) and
/// [`Connection::draining`](crate::Connection::draining).
///
/// # Cancel safety
///
/// Cancel-safe: dropping it unregisters its waker and loses nothing.
///
/// ```
/// use lameduck::{Config, Phase, Shutdown};
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let reached = shutdown.handle().reached(Phase::Running);
/// futures::executor::block_on(reached);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Reached {
    owner: Owner,
    phase: Phase,
    /// The waker's slot in the phase's waiter set, once registered.
    pub(crate) key: Option<usize>,
    /// The waker registered under `key`: a re-poll with the same one needs only the phase
    /// check, not the set's lock (a phase, once reached, stays reached, so a wake-up is
    /// never spent on a phase not yet reached).
    registered: Option<Waker>,
}

/// What keeps the shutdown alive for a [`Reached`]: a connection's notice holds the
/// connection's own state (whose reference count only that connection's clones move)
/// rather than the `Arc` every handle and connection of the shutdown shares.
enum Owner {
    Shutdown(Arc<Shared>),
    Connection(Arc<State>),
}

impl Owner {
    fn shared(&self) -> &Shared {
        match self {
            Owner::Shutdown(shared) => shared,
            Owner::Connection(state) => &state.shared,
        }
    }
}

impl Reached {
    pub(crate) fn new(shared: Arc<Shared>, phase: Phase) -> Reached {
        Reached::with_owner(Owner::Shutdown(shared), phase)
    }

    pub(crate) fn of_connection(state: Arc<State>, phase: Phase) -> Reached {
        Reached::with_owner(Owner::Connection(state), phase)
    }

    fn with_owner(owner: Owner, phase: Phase) -> Reached {
        Reached {
            owner,
            phase,
            key: None,
            registered: None,
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        self.owner.shared()
    }

    /// Takes the waker out of the phase's set, unless the set has been emptied (then it is
    /// gone already).
    fn unregister(&mut self) {
        self.registered = None;
        if let Some(key) = self.key.take() {
            let waiters = &self.owner.shared().reached[self.phase.index()];
            if !waiters.emptied() {
                waiters.remove(key);
            }
        }
    }
}

impl Drop for Reached {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl fmt::Debug for Reached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reached")
            .field("phase", &self.phase)
            .finish()
    }
}

impl Future for Reached {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let phase = this.phase;
        if this.owner.shared().phase() >= phase {
            this.unregister();
            return Poll::Ready(());
        }
        if this.key.is_some()
            && this
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        let shared = this.owner.shared();
        let waiters = &shared.reached[phase.index()];
        if waiters.register(&mut this.key, cx.waker(), || shared.phase() >= phase) {
            match &mut this.registered {
                Some(waker) => waker.clone_from(cx.waker()),
                None => this.registered = Some(cx.waker().clone()),
            }
            Poll::Pending
        } else {
            this.registered = None;
            Poll::Ready(())
        }
    }
}

/// Completes with the final [`Summary`] once stopped. Made by [`Handle::stopped`](crate::Handle::stopped).
///
/// # Cancel safety
///
/// Cancel-safe: dropping it loses nothing; the summary stays readable through
/// [`Handle::summary`](crate::Handle::summary).
///
/// ```
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let _stopped = shutdown.handle().stopped();
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Stopped {
    pub(crate) reached: Reached,
}

impl Future for Stopped {
    type Output = Summary;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Summary> {
        let this = self.get_mut();
        core::task::ready!(Pin::new(&mut this.reached).poll(cx));
        // The driver publishes the summary before it enters Stopped.
        let summary = this.reached.shared().summary.get();
        Poll::Ready(*summary.expect("the summary is published before Stopped"))
    }
}

#[cfg(test)]
mod tests {
    //! The waiter set as `Reached` uses it: a waiter dropped is gone and never woken; a
    //! re-poll with another waker replaces the one stored.
    use crate::{facade::reached::Reached, facade::shared::Shared, pure::phase::Phase};
    #[cfg(not(loom))]
    use crate::{pure::config::Config, pure::sync::Arc};
    use core::{
        future::Future,
        pin::Pin,
        task::{Context, Poll, Waker},
    };
    #[cfg(loom)]
    use std::sync::Arc;
    use std::task::Wake;

    #[cfg(not(loom))]
    use core::sync::atomic::{AtomicUsize, Ordering};
    #[cfg(loom)]
    use loom::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its wakes.
    #[derive(Default)]
    pub(super) struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
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
        facade::reached::Reached, facade::shared::Shared, pure::config::Config, pure::phase::Phase,
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
