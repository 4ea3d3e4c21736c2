//! The core's conformance suite on the custom executor's runtime (`ThreadTimer`),
//! run on `futures::executor::block_on`, with real signals.
//!
//! Alone in its test binary: the suite raises SIGTERM, SIGINT and SIGHUP to this process.
#![cfg(unix)]

use core::future::Future;
use lameduck::{conformance, Signal};
use lameduck_examples::custom_rt::ThreadTimer;

struct Custom;

impl conformance::Harness for Custom {
    type Runtime = ThreadTimer;

    fn runtime(&self) -> ThreadTimer {
        ThreadTimer::new()
    }

    fn raise(&self, signal: Signal) {
        let signal = rustix::process::Signal::from_named_raw(signal.number().into())
            .expect("a named signal");
        rustix::process::kill_process(rustix::process::getpid(), signal).expect("kill own process");
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }
}

#[test]
fn custom_timer_and_signals_keep_the_contract() {
    conformance::run(&Custom).unwrap_or_else(|failure| panic!("{failure}"));
}
