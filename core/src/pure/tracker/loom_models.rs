//! Loom models (`RUSTFLAGS="--cfg loom" cargo test -p lameduck --release --lib loom`) of the
//! tracker's word and its wake-up: guard drops racing the drain start, late guards and
//! waiter registration. In every interleaving: no lost wake-up (the waiter finishes), no
//! double wake (the drained transition fires once), no underflow (the count ends at zero).
//!
//! Also the two users of the tracker above it: the per-phase waiter sets of `Shared` (a
//! waiter registering while its phase is entered, or passed over, is always woken) and a
//! `Connection`'s idle marking (`State::update`: concurrent request starts and ends and blocked
//! writes leave the tracker's busy count right once they have all settled).

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

#[test]
fn phase_waiters_never_miss_a_change() {
    use crate::{facade::shared::Shared, pure::config::Config, pure::phase::Phase};
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            thread::spawn(move || {
                shared.set_phase(Phase::LameDuck);
                shared.set_phase(Phase::Draining);
            })
        };
        block_on(crate::facade::reached::Reached::new(
            shared.clone(),
            Phase::Draining,
        ));
        driver.join().unwrap();
        assert_eq!(shared.phase(), Phase::Draining);
    });
}

#[test]
fn a_waiter_registering_while_its_phase_is_entered_is_woken() {
    use crate::{facade::shared::Shared, pure::config::Config, pure::phase::Phase};
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            thread::spawn(move || shared.set_phase(Phase::LameDuck))
        };
        // Only the lame duck's set is notified; the waiter must still never miss it.
        block_on(crate::facade::reached::Reached::new(
            shared.clone(),
            Phase::LameDuck,
        ));
        driver.join().unwrap();
        assert_eq!(shared.phase(), Phase::LameDuck);
    });
}

#[test]
fn a_draining_waiter_is_woken_when_the_lame_duck_is_skipped() {
    use crate::{facade::shared::Shared, pure::config::Config, pure::phase::Phase};
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            // Running → Draining directly (no lame-duck period): the Draining set is among
            // the phases passed over, and is notified.
            thread::spawn(move || shared.set_phase(Phase::Draining))
        };
        block_on(crate::facade::reached::Reached::new(
            shared.clone(),
            Phase::Draining,
        ));
        driver.join().unwrap();
        // A lame-duck waiter that comes late sees the phase passed over as reached.
        block_on(crate::facade::reached::Reached::new(
            shared.clone(),
            Phase::LameDuck,
        ));
        assert_eq!(shared.phase(), Phase::Draining);
    });
}

fn connection() -> (
    Arc<crate::facade::shared::Shared>,
    crate::facade::connection::Connection,
) {
    let shared = Arc::new(crate::facade::shared::Shared::new(
        crate::pure::config::Config::new(),
    ));
    let conn = crate::facade::connection::Connection::new(shared.clone()).expect("not drained");
    (shared, conn)
}

#[test]
fn concurrent_requests_and_blocked_writes_settle_the_busy_count() {
    loom::model(|| {
        let (shared, conn) = connection();
        let requests = {
            let conn = conn.clone();
            thread::spawn(move || drop(conn.request()))
        };
        let writes = {
            let conn = conn.clone();
            thread::spawn(move || {
                conn.write_blocked(true);
                conn.write_blocked(false);
            })
        };
        requests.join().unwrap();
        writes.join().unwrap();
        assert!(conn.is_idle());
        assert_eq!(shared.tracker.busy_raw(), 0);
        assert_eq!(
            shared
                .tracker
                .snapshot(crate::pure::phase::Phase::Running)
                .idle,
            1
        );
        drop(conn);
        assert_eq!(shared.tracker.open(), 0);
        assert_eq!(shared.tracker.busy_raw(), 0);
    });
}

#[test]
fn a_request_ending_while_another_starts_leaves_the_connection_busy() {
    loom::model(|| {
        let (shared, conn) = connection();
        let first = conn.request();
        let ender = thread::spawn(move || drop(first));
        let starter = {
            let conn = conn.clone();
            thread::spawn(move || conn.request())
        };
        ender.join().unwrap();
        let second = starter.join().unwrap();
        // One request still in flight: busy, counted once.
        assert!(!conn.is_idle());
        assert_eq!(shared.tracker.busy_raw(), 1);
        drop(second);
        assert_eq!(shared.tracker.busy_raw(), 0);
        drop(conn);
        assert_eq!(shared.tracker.open(), 0);
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
