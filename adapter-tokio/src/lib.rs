#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod serve;
mod signals;

mod net;

pub use net::{Acceptor, Stream};
pub use serve::{serve, Listener};
pub use signals::TokioSignals;

use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use lameduck::{runtime::BoxError, SignalSet};
use tokio::time::Instant;

/// lameduck's [`Runtime`](lameduck::runtime::Runtime) on tokio: tokio's clock and sleeps, signals
/// ([`TokioSignals`]), `tokio::spawn`, `spawn_blocking`, and its TCP and Unix sockets.
///
/// [`now`](lameduck::runtime::Timer::now) counts from the value's creation (copies share the
/// origin); sleeps are tokio sleeps, so they need a runtime with the time driver enabled
/// and follow tokio's paused clock in tests. A sleep of [`Duration::MAX`] never completes
/// and never panics. Every method but `now` must be called within a tokio runtime.
///
/// ```
/// use lameduck::runtime::Timer;
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let tokio = lameduck_tokio::Tokio::new();
/// tokio.sleep(Duration::from_millis(5)).await;
/// assert!(tokio.now() >= Duration::from_millis(5));
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Tokio {
    origin: Instant,
}

impl Tokio {
    /// The runtime, with its clock's zero now.
    ///
    /// ```
    /// use lameduck::runtime::Timer;
    /// assert!(lameduck_tokio::Tokio::new().now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> Tokio {
        Tokio {
            origin: Instant::now(),
        }
    }
}

impl Default for Tokio {
    fn default() -> Self {
        Tokio::new()
    }
}

impl lameduck::runtime::Timer for Tokio {
    type Sleep = Sleep;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        // tokio clamps a deadline past its far future instead of overflowing.
        Sleep {
            inner: tokio::time::sleep(duration),
        }
    }
}

impl lameduck::runtime::Runtime for Tokio {
    type Signals = TokioSignals;

    fn signals(&self, set: SignalSet) -> Result<TokioSignals, BoxError> {
        Ok(TokioSignals::new(set)?)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }

    /// A thread of its own, not tokio's blocking pool: the pool's shutdown (dropping the
    /// runtime, which `#[tokio::main]` does after `main`'s body) waits for every blocking
    /// task, so a sync hook abandoned at its timeout would hang the process after its report.
    /// If no thread can be started the work is dropped, which the shutdown reports as the
    /// hook failing ("the runtime dropped the hook without running it").
    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        let _ = std::thread::Builder::new()
            .name("lameduck-blocking".into())
            .spawn(work);
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Tokio`]'s sleep: a tokio sleep.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it cancels only this sleep.
    ///
    /// ```
    /// use lameduck::runtime::Timer;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let sleep: lameduck_tokio::Sleep = lameduck_tokio::Tokio::new().sleep(std::time::Duration::ZERO);
    /// sleep.await;
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Sleep {
        #[pin]
        inner: tokio::time::Sleep,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}
