//! The core's conformance suite on `SmolTimer` and `SmolSignals` under `async_std::task::block_on`: async-std users need nothing else.
//!
//! Alone in its test binary: the suite raises SIGTERM, SIGINT and SIGHUP to this process.

use core::future::Future;
use lameduck::{conformance, Signal, SignalSet};
use lameduck_smol::{SmolSignals, SmolTimer};

struct AsyncStd;

impl conformance::Harness for AsyncStd {
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
        async_std::task::block_on(future)
    }
}

#[test]
fn smol_timer_and_signals_keep_the_contract_on_async_std() {
    conformance::run(&AsyncStd).unwrap_or_else(|failure| panic!("{failure}"));
}
