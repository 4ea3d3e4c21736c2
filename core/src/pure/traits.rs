//! The two traits through which time and signals reach the core.

use crate::pure::signal::Signal;
use core::{future::Future, time::Duration};
use futures_core::Stream;

/// A monotonic clock and sleeps, supplied by the runtime.
///
/// # Contract
///
/// Implementors must keep all of these; the conformance suite
/// (`lameduck::conformance::run`, feature `test-util`) checks them:
///
/// - [`now`](Self::now) is monotonic: it never goes backwards. Its zero is arbitrary (the
///   timer's creation, the boot) but fixed for the timer's life, and clones share it.
/// - `sleep(d)` completes no earlier than `now() + d` as seen by `now()` after it completes.
///   A zero duration completes promptly; a huge one (up to [`Duration::MAX`]) must not panic
///   or overflow (sleeping "forever" is fine).
/// - Sleeps are independent: dropping one, completed or not, affects no other, and shorter
///   sleeps started together complete first.
/// - Sleeps wake their task through the waker they were last polled with.
///
/// The core never reads a clock of its own; it only calls these two methods.
///
/// ```
/// use core::{future::Ready, time::Duration};
/// /// A timer for a world where every sleep is already over (for illustration only).
/// struct Instant(Duration);
/// impl lameduck::runtime::Timer for Instant {
///     type Sleep = Ready<()>;
///     fn now(&self) -> Duration { self.0 }
///     fn sleep(&self, _: Duration) -> Ready<()> { core::future::ready(()) }
/// }
/// assert_eq!(lameduck::runtime::Timer::now(&Instant(Duration::ZERO)), Duration::ZERO);
/// ```
pub trait Timer {
    /// The future [`sleep`](Self::sleep) returns.
    type Sleep: Future<Output = ()>;

    /// Time since the timer's arbitrary, fixed zero.
    fn now(&self) -> Duration;

    /// A future that completes once `duration` has passed.
    fn sleep(&self, duration: Duration) -> Self::Sleep;
}

/// A stream of process signals, supplied by the runtime: any
/// `Stream<Item = Signal> + Unpin` is one.
///
/// # Contract
///
/// - Every signal the source listens for is delivered, in the order received. Signals of the
///   same kind that arrive between two polls may be merged into one (POSIX does this too),
///   but a signal that arrives after its predecessor was delivered is delivered again: the
///   source keeps listening after the first one, so that a second and third signal reach the
///   driver.
/// - Ending the stream (`None`) means no more signals will come; the driver then runs on
///   without signals (programmatic triggers still work).
/// - Listening must be installed when the source is created, not when it is first polled, so
///   that a signal sent right after creation is not lost (or kills the process).
///
/// Any `Stream<Item = Signal> + Unpin` is one; here a scripted `SIGTERM` ends a shutdown:
///
/// ```
/// use lameduck::{test_util::ManualClock, Config, Reason, Shutdown, Signal};
/// let signals = futures::stream::iter([Signal::TERM]);
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// let clock = ManualClock::new();
/// let report = clock.block_on(shutdown.run(clock.clone(), signals));
/// assert_eq!(report.reason(), Reason::Signal(Signal::TERM));
/// ```
pub trait SignalSource: Stream<Item = Signal> + Unpin {}

impl<S: Stream<Item = Signal> + Unpin + ?Sized> SignalSource for S {}
