//! [`Runtime`]: what an async runtime gives a shutdown — time, signals, tasks.

use crate::{
    pure::signal::SignalSet,
    pure::traits::{SignalSource, Timer},
};
use alloc::boxed::Box;
use core::future::Future;

/// An async runtime as a shutdown and its server need it: a [`Timer`], signal handling,
/// and spawning tasks and blocking work.
///
/// `lameduck-tokio` and `lameduck-smol` implement it (`Tokio`, `Smol`); the manual test
/// clock implements it (feature `test-util`); implement it for your own executor and check
/// it with `lameduck::conformance` (feature `test-util`). It is modelled on quinn's
/// runtime abstraction: a small trait the rest of the crate is generic over, so nothing
/// else names a runtime.
///
/// # Contract
///
/// - The [`Timer`] contract.
/// - [`signals`](Self::signals) installs the handlers **before it returns**: a signal sent
///   after the call is delivered by the stream (never lost, never the default action), and
///   so are a second and third one (see [`SignalSource`]).
/// - [`spawn`](Self::spawn) runs the future to completion concurrently with the caller,
///   even if the caller drops everything it holds.
/// - [`spawn_blocking`](Self::spawn_blocking) runs the closure where blocking is allowed
///   (a thread pool or a thread of its own), never on a thread that drives async tasks.
///
/// ```
/// use core::future::Future;
/// use lameduck::{runtime::{Runtime, Timer}, SignalSet};
/// use std::time::{Duration, Instant};
///
/// /// A runtime for a thread-per-task program (for illustration only: its sleeps block).
/// #[derive(Clone)]
/// struct Threads(Instant);
///
/// impl Timer for Threads {
///     type Sleep = core::future::Ready<()>;
///     fn now(&self) -> Duration { self.0.elapsed() }
///     fn sleep(&self, duration: Duration) -> Self::Sleep {
///         std::thread::sleep(duration.min(Duration::from_secs(1)));
///         core::future::ready(())
///     }
/// }
///
/// impl Runtime for Threads {
///     type Signals = futures::stream::Pending<lameduck::Signal>;
///     fn signals(&self, _: SignalSet) -> Result<Self::Signals, lameduck::runtime::BoxError> {
///         Ok(futures::stream::pending()) // this program takes no signals
///     }
///     fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
///         std::thread::spawn(move || futures::executor::block_on(task));
///     }
///     fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
///         std::thread::spawn(work);
///     }
/// }
///
/// let runtime = Threads(Instant::now());
/// let (tx, rx) = std::sync::mpsc::channel();
/// runtime.spawn_blocking(move || tx.send(42).unwrap());
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
pub trait Runtime: Timer<Sleep: Send> + Clone + Send + Sync + 'static {
    /// The stream [`signals`](Self::signals) returns.
    type Signals: SignalSource + Send + 'static;

    /// Starts listening for every signal in `set`, now. A shutdown passes its config's
    /// [`listened_signals`](crate::Config::listened_signals) (shutdown and reload), so that a
    /// reload signal is never left to its default action.
    ///
    /// # Errors
    ///
    /// A handler could not be installed (a signal that cannot be caught, a number the
    /// platform does not have, no runtime running).
    fn signals(&self, set: SignalSet) -> Result<Self::Signals, BoxError>;

    /// Runs `task` on the runtime, detached.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);

    /// Runs `work` where blocking is allowed, detached.
    ///
    /// `work` may never return (a sync [`Hook`](crate::Hook) that hangs is abandoned at its
    /// timeout), so nothing may wait for it: not the runtime's shutdown, not the process's
    /// exit. A pool whose shutdown joins its threads (tokio's `spawn_blocking`) does not
    /// qualify; a thread of its own does.
    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static);
}

/// The error type of [`Runtime::signals`]: whatever the runtime failed with.
pub type BoxError = Box<dyn core::error::Error + Send + Sync>;
