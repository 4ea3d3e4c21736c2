//! Loom models (`RUSTFLAGS="--cfg loom" cargo test -p lameduck --release --lib loom`) of the
//! tracker's two users in the façade: the per-phase waiter sets of `Shared` (a waiter
//! registering while its phase is entered, or passed over, is always woken) and a
//! `Connection`'s idle marking (`State::update`: concurrent request starts and ends and blocked
//! writes leave the tracker's busy count right once they have all settled).

use crate::{
    facade::{connection::Connection, reached::Reached, shared::Shared},
    pure::{config::Config, phase::Phase, sync::Arc},
};
use loom::{future::block_on, thread};

#[test]
fn phase_waiters_never_miss_a_change() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            thread::spawn(move || {
                shared.set_phase(Phase::LameDuck);
                shared.set_phase(Phase::Draining);
            })
        };
        block_on(Reached::new(shared.clone(), Phase::Draining));
        driver.join().unwrap();
        assert_eq!(shared.phase(), Phase::Draining);
    });
}

#[test]
fn a_waiter_registering_while_its_phase_is_entered_is_woken() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            thread::spawn(move || shared.set_phase(Phase::LameDuck))
        };
        // Only the lame duck's set is notified; the waiter must still never miss it.
        block_on(Reached::new(shared.clone(), Phase::LameDuck));
        driver.join().unwrap();
        assert_eq!(shared.phase(), Phase::LameDuck);
    });
}

#[test]
fn a_draining_waiter_is_woken_when_the_lame_duck_is_skipped() {
    loom::model(|| {
        let shared = Arc::new(Shared::new(Config::new()));
        let driver = {
            let shared = shared.clone();
            // Running → Draining directly (no lame-duck period): the Draining set is among
            // the phases passed over, and is notified.
            thread::spawn(move || shared.set_phase(Phase::Draining))
        };
        block_on(Reached::new(shared.clone(), Phase::Draining));
        driver.join().unwrap();
        // A lame-duck waiter that comes late sees the phase passed over as reached.
        block_on(Reached::new(shared.clone(), Phase::LameDuck));
        assert_eq!(shared.phase(), Phase::Draining);
    });
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
        assert_eq!(shared.tracker.snapshot(Phase::Running).idle, 1);
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

fn connection() -> (Arc<Shared>, Connection) {
    let shared = Arc::new(Shared::new(Config::new()));
    let conn = Connection::new(shared.clone()).expect("not drained");
    (shared, conn)
}
