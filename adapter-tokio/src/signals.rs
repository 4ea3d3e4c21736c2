//! [`TokioSignals`]: the config's shutdown and reload signals as a lameduck signal source.

use core::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};
use futures_core::Stream;
use lameduck::{Config, Signal, SignalSet};
use std::io;

/// lameduck's [`SignalSource`](lameduck::runtime::SignalSource) over tokio's signal handling.
///
/// Every signal in the set is listened for from [`new`](Self::new) on, and keeps being
/// listened for after it arrived: tokio leaves a handler installed for the life of the
/// process, so a second and third signal reach the driver (and are not lost, nor kill the
/// process, between two polls). The stream never ends.
///
/// On Unix each signal number is listened for with `tokio::signal::unix`. On Windows,
/// [`Signal::INT`] is Ctrl-C, [`Signal::TERM`] the console's close event and
/// [`Signal::QUIT`] Ctrl-Break; other numbers are ignored there.
///
/// # Cancel safety
///
/// Polling `next()` is cancel-safe: a signal not yet taken stays pending in tokio's
/// handler until the next poll.
///
/// ```no_run
/// use futures::StreamExt;
/// use lameduck::{Signal, SignalSet};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut signals = lameduck_tokio::TokioSignals::new(SignalSet::DEFAULT).unwrap();
/// while let Some(signal) = signals.next().await {
///     println!("got {signal}");
/// }
/// # });
/// ```
pub struct TokioSignals {
    listeners: Vec<(Signal, Listening)>,
    /// Where the next poll starts, so a signal that keeps arriving starves no other.
    next: usize,
}

impl TokioSignals {
    /// Starts listening for every signal the config acts on: its shutdown signals and its
    /// reload signals ([`Config::listened_signals`]), so that a `SIGHUP` sent at any time
    /// after this call is a reload request and never kills the process.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let _signals = lameduck_tokio::TokioSignals::for_config(&lameduck::Config::new()).unwrap();
    /// # });
    /// ```
    pub fn for_config(config: &Config) -> io::Result<TokioSignals> {
        TokioSignals::new(config.listened_signals())
    }

    /// Starts listening for every signal in `set`. Call it within a tokio runtime with
    /// the signal driver enabled (`enable_all`, or `#[tokio::main]`).
    ///
    /// The signals are unblocked for the calling thread once their handlers are installed
    /// ([`lameduck::runtime::unblock_signals`]): a mask inherited blocked does not make the server deaf.
    ///
    /// # Errors
    ///
    /// tokio could not install a handler: a signal that cannot be caught (`SIGKILL`,
    /// `SIGSTOP`), a number the platform does not have, or no runtime.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert!(lameduck_tokio::TokioSignals::new(SignalSet::DEFAULT).is_ok());
    /// # #[cfg(unix)]
    /// assert!(lameduck_tokio::TokioSignals::new(SignalSet::EMPTY.with(Signal::new(9))).is_err());
    /// # });
    /// ```
    pub fn new(set: SignalSet) -> io::Result<TokioSignals> {
        let mut listeners = Vec::new();
        for signal in set.iter() {
            if let Some(listening) = Listening::install(signal)? {
                listeners.push((signal, listening));
            }
        }
        // After the handlers are in place: a signal pending while blocked is then handled,
        // not acted on by default (see the function for which threads it reaches).
        lameduck::runtime::unblock_signals(set)?;
        Ok(TokioSignals { listeners, next: 0 })
    }
}

impl fmt::Debug for TokioSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.listeners.iter().map(|(signal, _)| signal))
            .finish()
    }
}

impl Stream for TokioSignals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let this = self.get_mut();
        let count = this.listeners.len();
        for offset in 0..count {
            let index = (this.next + offset) % count;
            let (signal, listening) = &mut this.listeners[index];
            // tokio's streams only end when the runtime shuts down; stay pending then.
            if let Poll::Ready(Some(())) = listening.poll_recv(cx) {
                this.next = (index + 1) % count;
                return Poll::Ready(Some(*signal));
            }
        }
        Poll::Pending
    }
}

#[cfg(unix)]
struct Listening(tokio::signal::unix::Signal);

#[cfg(unix)]
impl Listening {
    fn install(signal: Signal) -> io::Result<Option<Listening>> {
        let kind = tokio::signal::unix::SignalKind::from_raw(signal.number().into());
        tokio::signal::unix::signal(kind).map(|s| Some(Listening(s)))
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(windows)]
enum Listening {
    CtrlC(tokio::signal::windows::CtrlC),
    Close(tokio::signal::windows::CtrlClose),
    Break(tokio::signal::windows::CtrlBreak),
}

#[cfg(windows)]
impl Listening {
    fn install(signal: Signal) -> io::Result<Option<Listening>> {
        use tokio::signal::windows;
        Ok(Some(match signal {
            Signal::INT => Listening::CtrlC(windows::ctrl_c()?),
            Signal::TERM => Listening::Close(windows::ctrl_close()?),
            Signal::QUIT => Listening::Break(windows::ctrl_break()?),
            _ => return Ok(None),
        }))
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        match self {
            Listening::CtrlC(s) => s.poll_recv(cx),
            Listening::Close(s) => s.poll_recv(cx),
            Listening::Break(s) => s.poll_recv(cx),
        }
    }
}
