//! Loom models (`RUSTFLAGS="--cfg loom" cargo test -p lameduck --release --lib loom`) of the
//! tracker's word and its wake-up: guard drops racing the drain start, late guards and
//! waiter registration. In every interleaving: no lost wake-up (the waiter finishes), no
//! double wake (the drained transition fires once), no underflow (the count ends at zero).
//!
//! The models of the tracker's users in the façade live there (`facade/loom_models.rs`).

use super::Tracker;
use crate::pure::sync::{Arc, Ordering};
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

/// A snapshot taken while a connection opens reads the open count once: its idle and active
/// counts add up to its open count (reading it twice once made `active` wrap below zero).
#[test]
fn a_snapshot_taken_while_a_connection_opens_adds_up() {
    loom::model(|| {
        let tracker = Arc::new(Tracker::new());
        let opener = {
            let tracker = tracker.clone();
            thread::spawn(move || assert!(tracker.acquire()))
        };
        let s = tracker.snapshot(crate::pure::phase::Phase::Running);
        assert!(s.idle <= s.open, "{s:?}");
        assert_eq!(s.idle + s.active, s.open, "{s:?}");
        opener.join().unwrap();
    });
}
