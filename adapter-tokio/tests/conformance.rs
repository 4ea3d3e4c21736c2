//! The core's conformance suite on the `Tokio` runtime, with real signals.
//!
//! Alone in its test binary: the suite raises SIGTERM, SIGINT and SIGHUP to this process.
#![cfg(unix)]

use core::future::Future;
use lameduck::{conformance, Signal};

struct Tokio {
    runtime: tokio::runtime::Runtime,
}

impl conformance::Harness for Tokio {
    type Runtime = lameduck_tokio::Tokio;

    fn runtime(&self) -> lameduck_tokio::Tokio {
        lameduck_tokio::Tokio::new()
    }

    fn raise(&self, signal: Signal) {
        let signal = rustix::process::Signal::from_named_raw(signal.number().into())
            .expect("a named signal");
        rustix::process::kill_process(rustix::process::getpid(), signal).expect("kill own process");
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

#[test]
fn tokio_runtime_keeps_the_contract() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    conformance::run(&Tokio { runtime }).unwrap_or_else(|failure| panic!("{failure}"));
}
