//! The core accept loop (`lameduck::accept::serve`) spawned on smol's executor, against a
//! scripted listener: draining stops a pending accept and drops the listener.
//!
//! The back-off's timing (pauses of 10, 20, 40 ms, reset by a success, ended at once by the
//! drain) and a broken listener failing the shutdown are the loop's, not smol's: they are
//! asserted on the manual clock in the core (`accept::tests::
//! resources_back_off_on_the_timer_and_a_broken_listener_fails_the_shutdown`,
//! `draining_ends_a_pause_at_once`), and smol's timer keeps the runtime contract in
//! `conformance_smol.rs`. (They were here on the real clock, bounding wall time.)
#![cfg(unix)]

#[path = "../../adapter-tokio/tests/support/scripted.rs"]
mod scripted;

use lameduck_smol::Smol;
use std::time::Instant;

#[test]
fn draining_stops_a_pending_accept_and_drops_the_listener() {
    let start = Instant::now();
    smol::block_on(scripted::draining_stops_a_pending_accept(
        Smol::new(),
        move || start.elapsed(),
    ));
}
