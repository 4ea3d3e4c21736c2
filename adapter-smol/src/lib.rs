#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![warn(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod serve;
mod signals;

pub use serve::{serve, Listener};
pub use signals::SmolSignals;

use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use lameduck::{Report, Shutdown};
use std::time::Instant;

/// lameduck's [`Timer`](lameduck::Timer) on async-io's timers.
///
/// [`now`](lameduck::Timer::now) counts from the timer's creation (clones share the origin);
/// sleeps are [`async_io::Timer`]s, driven by async-io's reactor on any executor. A sleep of
/// [`Duration::MAX`] never completes and never panics.
///
/// ```
/// use lameduck::Timer;
/// use std::time::Duration;
/// smol::block_on(async {
///     let timer = lameduck_smol::SmolTimer::new();
///     timer.sleep(Duration::from_millis(5)).await;
///     assert!(timer.now() >= Duration::from_millis(5));
/// });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SmolTimer {
    origin: Instant,
}

impl SmolTimer {
    /// A timer whose zero is now.
    ///
    /// ```
    /// use lameduck::Timer;
    /// assert!(lameduck_smol::SmolTimer::new().now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> SmolTimer {
        SmolTimer {
            origin: Instant::now(),
        }
    }
}

impl Default for SmolTimer {
    fn default() -> Self {
        SmolTimer::new()
    }
}

impl lameduck::Timer for SmolTimer {
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

/// The future of [`SmolTimer`]'s sleep: an [`async_io::Timer`].
///
/// # Cancel safety
///
/// Cancel-safe: dropping it cancels only this sleep.
///
/// ```
/// use lameduck::Timer;
/// let sleep: lameduck_smol::Sleep = lameduck_smol::SmolTimer::new().sleep(std::time::Duration::ZERO);
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

/// Runs `shutdown` on async-io: listens for the config's shutdown and reload signals with
/// [`SmolSignals`], times it with [`SmolTimer`], and returns the report once stopped.
///
/// Works from `smol::block_on`, `async_io::block_on` or `async_std::task::block_on`.
///
/// The signal handlers are installed when `run` is called, not when the future is first
/// polled: call it before announcing that the server listens, so that a signal sent right
/// after the announcement is caught rather than killing the process.
///
/// # Errors
///
/// Installing a signal handler failed (see [`SmolSignals::new`]); nothing was run then.
///
/// # Cancel safety
///
/// Not cancel-safe, like [`Shutdown::run`]: dropping it abandons the shutdown where it stands.
/// Await it to its end, typically as the last thing `main` does.
///
/// ```
/// use lameduck::{Config, Shutdown};
/// smol::block_on(async {
///     let shutdown = Shutdown::new(Config::new()).unwrap();
///     shutdown.trigger().shutdown();
///     let report = lameduck_smol::run(shutdown).await.unwrap();
///     assert_eq!(report.exit_code(), 0);
/// });
/// ```
pub fn run(shutdown: Shutdown) -> impl Future<Output = std::io::Result<Report>> {
    // Installed now, not at the first poll: a signal sent after this call is never lost.
    let signals = SmolSignals::for_config(shutdown.handle().config());
    async move { Ok(shutdown.run(SmolTimer::new(), signals?).await) }
}
