//! The conformance suite (feature `test-util`): proves that a [`Runtime`] keeps its
//! contract (timer, signals, spawning), and that the whole shutdown runs end to end on it.
//! Every adapter runs it; so should anyone who writes their own.
//!
//! Implement [`Harness`] for your runtime and call [`run`] from a test:
//!
//! ```
//! use core::future::Future;
//! use lameduck::{conformance::{self, Harness}, test_util::ManualClock, Signal};
//!
//! struct Manual(ManualClock);
//! impl Harness for Manual {
//!     type Runtime = ManualClock;
//!     fn runtime(&self) -> ManualClock { self.0.clone() }
//!     fn raise(&self, signal: Signal) { self.0.send(signal) }
//!     fn block_on<F: Future>(&self, future: F) -> F::Output { self.0.block_on(future) }
//! }
//! conformance::run(&Manual(ManualClock::new())).unwrap();
//! ```

use crate::{facade::runtime::Runtime, pure::signal::Signal};
use alloc::{format, string::String};
use core::{fmt, future::Future};

mod checks;
mod shutdown;

/// What the suite needs: the [`Runtime`] under test, a way to raise a signal, and a way to
/// run a future to completion on that runtime.
///
/// ```
/// # use lameduck::conformance::Harness;
/// fn suite_for<H: Harness>(harness: &H) {
///     lameduck::conformance::run(harness).expect("the adapter keeps the contract");
/// }
/// ```
pub trait Harness {
    /// The runtime under test.
    type Runtime: Runtime;

    /// The runtime. Called inside [`block_on`](Self::block_on), so it may need to run there.
    fn runtime(&self) -> Self::Runtime;

    /// Sends `signal` to this process (or, for a scripted source, queues it).
    fn raise(&self, signal: Signal);

    /// Runs `future` to completion on the runtime.
    fn block_on<F: Future>(&self, future: F) -> F::Output;
}

/// A broken promise: which check failed, and how.
///
/// ```
/// use lameduck::conformance::Failure;
/// let failure = Failure { check: "timer", detail: "a 10 ms sleep ended after 3 s".into() };
/// assert_eq!(
///     failure.to_string(),
///     "conformance check `timer` failed: a 10 ms sleep ended after 3 s"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The check's name.
    pub check: &'static str,
    /// What went wrong.
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conformance check `{}` failed: {}",
            self.check, self.detail
        )
    }
}

impl core::error::Error for Failure {}

pub(crate) fn ensure(
    check: &'static str,
    ok: bool,
    detail: impl FnOnce() -> String,
) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure {
            check,
            detail: detail(),
        })
    }
}

pub(crate) fn fail(check: &'static str, detail: impl fmt::Display) -> Failure {
    Failure {
        check,
        detail: format!("{detail}"),
    }
}

/// Runs every check, stopping at the first failure. Uses `SIGTERM`, `SIGINT` and `SIGHUP`
/// (raised through [`Harness::raise`]); takes a few seconds on a real clock.
///
/// # Errors
///
/// The first [`Failure`].
///
/// The [module's example](self) runs it on the manual clock.
pub fn run<H: Harness>(harness: &H) -> Result<(), Failure> {
    checks::timer(harness)?;
    checks::signals(harness)?;
    checks::spawn(harness)?;
    shutdown::end_to_end(harness)?;
    shutdown::escalation(harness)?;
    Ok(())
}
