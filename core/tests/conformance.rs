//! The conformance suite against the manual clock and the scripted signal source.

use core::future::Future;
use lameduck::{
    conformance::{self, Harness},
    test_util::{ManualClock, ScriptedSignals},
    Signal, SignalSet,
};

struct Manual {
    clock: ManualClock,
    signals: ScriptedSignals,
}

impl Harness for Manual {
    type Timer = ManualClock;
    type Signals = ScriptedSignals;

    fn timer(&self) -> ManualClock {
        self.clock.clone()
    }

    fn signals(&self, _: SignalSet) -> ScriptedSignals {
        self.signals.clone()
    }

    fn raise(&self, signal: Signal) {
        self.signals.send(signal);
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.clock.block_on(future)
    }
}

#[test]
fn manual_clock_keeps_the_contract() {
    let harness = Manual {
        clock: ManualClock::new(),
        signals: ScriptedSignals::new(),
    };
    conformance::run(&harness).unwrap();
}
