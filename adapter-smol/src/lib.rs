#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod serve;
mod signals;

mod net;

pub use net::{Acceptor, Stream};
pub use serve::{serve, Listener};
pub use signals::SmolSignals;

use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use lameduck::{runtime::BoxError, SignalSet};
use std::time::Instant;

/// lameduck's [`Runtime`](lameduck::runtime::Runtime) on smol and async-io (so also async-std):
/// async-io's timers, signals ([`SmolSignals`]), tasks on smol's global executor, blocking
/// work on the `blocking` pool, and async-io's TCP and Unix sockets.
///
/// [`now`](lameduck::runtime::Timer::now) counts from the value's creation (copies share the origin).
/// A sleep of [`Duration::MAX`] never completes and never panics.
///
/// smol's global executor runs one thread unless `SMOL_THREADS` says more: set it (e.g.
/// `SMOL_THREADS=4`) for a server that should use more than one core.
///
/// ```
/// use lameduck::runtime::Timer;
/// use std::time::Duration;
/// let smol = lameduck_smol::Smol::new();
/// smol::block_on(smol.sleep(Duration::from_millis(5)));
/// assert!(smol.now() >= Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Smol {
    origin: Instant,
}

impl Smol {
    /// The runtime, with its clock's zero now.
    ///
    /// ```
    /// use lameduck::runtime::Timer;
    /// assert!(lameduck_smol::Smol::new().now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> Smol {
        Smol {
            origin: Instant::now(),
        }
    }
}

impl Default for Smol {
    fn default() -> Self {
        Smol::new()
    }
}

impl lameduck::runtime::Runtime for Smol {
    type Signals = SmolSignals;

    fn signals(&self, set: SignalSet) -> Result<SmolSignals, BoxError> {
        Ok(SmolSignals::new(set)?)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }

    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        smol::unblock(work).detach();
    }
}

impl lameduck::runtime::Timer for Smol {
    type Sleep = Sleep;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        // A deadline past what `Instant` can hold becomes a timer that never fires.
        Sleep {
            inner: async_io::Timer::after(duration),
        }
    }
}

/// The future of [`Smol`]'s sleep: an [`async_io::Timer`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it cancels only this sleep.
///
/// ```
/// use lameduck::runtime::Timer;
/// let sleep: lameduck_smol::Sleep = lameduck_smol::Smol::new().sleep(std::time::Duration::ZERO);
/// smol::block_on(sleep);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    inner: async_io::Timer,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().inner).poll(cx).map(drop)
    }
}
