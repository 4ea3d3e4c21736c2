//! The core's conformance suite on `SmolTimer` and `SmolSignals` under `smol::block_on`.
//!
//! Alone in its test binary: the suite raises SIGTERM, SIGINT and SIGHUP to this process.

use core::future::Future;
use lameduck::{conformance, Signal, SignalSet};
use lameduck_smol::{SmolSignals, SmolTimer};

struct Smol;

impl conformance::Harness for Smol {
    type Timer = SmolTimer;
    type Signals = SmolSignals;

    fn timer(&self) -> SmolTimer {
        SmolTimer::new()
    }

    fn signals(&self, set: SignalSet) -> SmolSignals {
        SmolSignals::new(set).expect("install signal handlers")
    }

    fn raise(&self, signal: Signal) {
        let signal = rustix::process::Signal::from_named_raw(signal.number().into())
            .expect("a named signal");
        rustix::process::kill_process(rustix::process::getpid(), signal).expect("kill own process");
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        smol::block_on(future)
    }
}

#[test]
fn smol_timer_and_signals_keep_the_contract_on_smol() {
    conformance::run(&Smol).unwrap_or_else(|failure| panic!("{failure}"));
}
