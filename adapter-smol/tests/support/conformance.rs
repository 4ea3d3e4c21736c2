//! The core's conformance harness on the `Smol` runtime, for every executor the
//! crate supports; each executor's test is alone in its own binary, since the suite raises
//! SIGTERM, SIGINT and SIGHUP to the process.

use core::future::Future;
use lameduck::{conformance, Signal};
use lameduck_smol::Smol;

/// The executor that runs the suite's futures.
#[allow(dead_code)]
pub(crate) enum Executor {
    /// `smol::block_on`.
    Smol,
    /// `async_std::task::block_on`.
    AsyncStd,
}

impl conformance::Harness for Executor {
    type Runtime = Smol;

    fn runtime(&self) -> Smol {
        Smol::new()
    }

    fn raise(&self, signal: Signal) {
        let signal = rustix::process::Signal::from_named_raw(signal.number().into())
            .expect("a named signal");
        rustix::process::kill_process(rustix::process::getpid(), signal).expect("kill own process");
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Executor::Smol => smol::block_on(future),
            Executor::AsyncStd => async_std::task::block_on(future),
        }
    }
}

/// Runs the suite on `executor`, panicking with the first broken rule.
pub(crate) fn check(executor: Executor) {
    conformance::run(&executor).unwrap_or_else(|failure| panic!("{failure}"));
}
