//! The core's conformance suite on the `Smol` runtime under `async_std::task::block_on`: async-std users need nothing else.
//!
//! Alone in its test binary: the suite raises SIGTERM, SIGINT and SIGHUP to this process.
#![cfg(unix)]

#[path = "support/conformance.rs"]
mod harness;

#[test]
fn smol_timer_and_signals_keep_the_contract_on_async_std() {
    harness::check(harness::Executor::AsyncStd);
}
