//! Loom models (`RUSTFLAGS="--cfg loom" cargo test -p lameduck --release --lib loom`) of the
//! tracker's word and its wake-up: guard drops racing the drain start, late guards and
//! waiter registration. In every interleaving: no lost wake-up (the waiter finishes), no
//! double wake (the drained transition fires once), no underflow (the count ends at zero).

use super::Tracker;
use crate::sync::{Arc, Ordering};
use loom::{future::block_on, thread};

fn transitions(tracker: &Tracker) -> usize {
    tracker.transitions.load(Ordering::Relaxed)
}

#[test]
fn last_guard_drop_races_drain_start_and_waiter() {
    loom::model(|| {
        let tracker = Arc::new(Tracker::new());
        assert!(tracker.acquire());
        let dropper = {
            let tracker = tracker.clone();
            thread::spawn(move || tracker.release(false))
        };
        let drainer = {
            let tracker = tracker.clone();
            thread::spawn(move || tracker.start_drain())
        };
        // The waiter registers concurrently with both.
        block_on(tracker.drained());
        dropper.join().unwrap();
        drainer.join().unwrap();
        assert!(tracker.is_drained());
        assert_eq!(tracker.open(), 0);
        assert_eq!(transitions(&tracker), 1);
    });
}

#[test]
fn concurrent_last_drops_wake_once() {
    loom::model(|| {
        let tracker = Arc::new(Tracker::new());
        assert!(tracker.acquire());
        assert!(tracker.acquire());
        assert!(!tracker.start_drain());
        let drops: [_; 2] = core::array::from_fn(|_| {
            let tracker = tracker.clone();
            thread::spawn(move || tracker.release(false))
        });
        block_on(tracker.drained());
        for handle in drops {
            handle.join().unwrap();
        }
        assert_eq!(tracker.open(), 0);
        assert_eq!(transitions(&tracker), 1);
    });
}

#[test]
fn a_late_guard_races_the_last_drop() {
    loom::model(|| {
        let tracker = Arc::new(Tracker::new());
        assert!(tracker.acquire());
        assert!(!tracker.start_drain());
        let last = {
            let tracker = tracker.clone();
            thread::spawn(move || tracker.release(false))
        };
        let late = {
            let tracker = tracker.clone();
            thread::spawn(move || {
                // Either counted before the drain completed (and then released), or refused.
                if tracker.acquire() {
                    tracker.release(false);
                }
            })
        };
        block_on(tracker.drained());
        last.join().unwrap();
        late.join().unwrap();
        assert_eq!(tracker.open(), 0);
        assert_eq!(transitions(&tracker), 1);
        assert!(!tracker.acquire(), "nothing is counted once drained");
        assert_eq!(tracker.open(), 0);
    });
}

#[test]
fn phase_waiters_never_miss_a_change() {
    use crate::{shared::Shared, Config, Phase};
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            thread::spawn(move || {
                shared.set_phase(Phase::LameDuck);
                shared.set_phase(Phase::Draining);
            })
        };
        block_on(crate::handle::Reached::new(shared.clone(), Phase::Draining));
        driver.join().unwrap();
        assert_eq!(shared.phase(), Phase::Draining);
    });
}
