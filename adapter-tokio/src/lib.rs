#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![warn(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod serve;
mod signals;

pub use serve::{serve, Listener};
pub use signals::TokioSignals;

use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use lameduck::{Report, Shutdown};
use tokio::time::Instant;

/// lameduck's [`Timer`](lameduck::Timer) on tokio's clock.
///
/// [`now`](lameduck::Timer::now) counts from the timer's creation (clones share the origin);
/// sleeps are tokio sleeps, so they need a runtime with the time driver enabled and follow
/// tokio's paused clock in tests. A sleep of [`Duration::MAX`] never completes and never
/// panics.
///
/// ```
/// use lameduck::Timer;
/// use std::time::Duration;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let timer = lameduck_tokio::TokioTimer::new();
/// timer.sleep(Duration::from_millis(5)).await;
/// assert!(timer.now() >= Duration::from_millis(5));
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TokioTimer {
    origin: Instant,
}

impl TokioTimer {
    /// A timer whose zero is now.
    ///
    /// ```
    /// use lameduck::Timer;
    /// assert!(lameduck_tokio::TokioTimer::new().now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> TokioTimer {
        TokioTimer {
            origin: Instant::now(),
        }
    }
}

impl Default for TokioTimer {
    fn default() -> Self {
        TokioTimer::new()
    }
}

impl lameduck::Timer for TokioTimer {
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

pin_project_lite::pin_project! {
    /// The future of [`TokioTimer`]'s sleep: a tokio sleep.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping it cancels only this sleep.
    ///
    /// ```
    /// use lameduck::Timer;
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let sleep: lameduck_tokio::Sleep = lameduck_tokio::TokioTimer::new().sleep(std::time::Duration::ZERO);
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

/// Runs `shutdown` on the current tokio runtime: listens for the config's shutdown and
/// reload signals with [`TokioSignals`], times it with [`TokioTimer`], and returns the
/// report once stopped.
///
/// Call it from within a runtime with the time and signal drivers enabled (as
/// `#[tokio::main]` makes), after spawning the servers.
///
/// The signal handlers are installed when `run` is called, not when the future is first
/// polled: call it before announcing that the server listens, so that a signal sent right
/// after the announcement is caught rather than killing the process.
///
/// # Errors
///
/// Installing a signal handler failed (see [`TokioSignals::new`]); nothing was run then.
///
/// # Cancel safety
///
/// Not cancel-safe, like [`Shutdown::run`]: dropping it abandons the shutdown where it stands.
/// Await it to its end, typically as the last thing `main` does.
///
/// ```
/// use lameduck::{Config, Shutdown};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let shutdown = Shutdown::new(Config::new()).unwrap();
/// shutdown.trigger().shutdown();
/// let report = lameduck_tokio::run(shutdown).await.unwrap();
/// assert_eq!(report.exit_code(), 0);
/// # });
/// ```
pub fn run(shutdown: Shutdown) -> impl Future<Output = std::io::Result<Report>> {
    // Installed now, not at the first poll: a signal sent after this call is never lost.
    let signals = TokioSignals::for_config(shutdown.handle().config());
    async move { Ok(shutdown.run(TokioTimer::new(), signals?).await) }
}
