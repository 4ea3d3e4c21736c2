//! The conformance suite against the manual clock, which is a `Runtime` itself.

use core::future::Future;
use lameduck::{
    conformance::{self, Harness},
    test_util::ManualClock,
    Signal,
};

struct Manual(ManualClock);

impl Harness for Manual {
    type Runtime = ManualClock;

    fn runtime(&self) -> ManualClock {
        self.0.clone()
    }

    fn raise(&self, signal: Signal) {
        self.0.send(signal);
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

#[test]
fn manual_clock_keeps_the_contract() {
    conformance::run(&Manual(ManualClock::new())).unwrap();
}
