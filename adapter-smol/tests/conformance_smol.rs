//! The core's conformance suite on the `Smol` runtime under `smol::block_on`.
//!
//! Alone in its test binary: the suite raises SIGTERM, SIGINT and SIGHUP to this process.
#![cfg(unix)]

#[path = "support/conformance.rs"]
mod harness;

#[test]
fn smol_timer_and_signals_keep_the_contract_on_smol() {
    harness::check(harness::Executor::Smol);
}
