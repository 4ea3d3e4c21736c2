//! [`SmolSignals`]: the config's shutdown and reload signals as a lameduck signal source.

use async_signal::Signal as Os;
use core::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};
use futures_core::Stream;
use lameduck::{Config, Signal, SignalSet};
use std::io;

/// The signals async-signal can listen for.
const KNOWN: [Os; 11] = [
    Os::Hup,
    Os::Int,
    Os::Quit,
    Os::Abort,
    Os::Usr1,
    Os::Usr2,
    Os::Pipe,
    Os::Alarm,
    Os::Term,
    Os::Child,
    Os::Winch,
];

/// lameduck's [`SignalSource`](lameduck::runtime::SignalSource) over async-signal.
///
/// Every signal in the set is listened for from [`new`](Self::new) on (async-signal
/// installs its handler at once and keeps it), and keeps being listened for after it
/// arrived, so a second and third signal reach the driver. The stream ends only if
/// async-signal's own does.
///
/// # Cancel safety
///
/// Polling `next()` is cancel-safe: a signal not yet taken stays queued in async-signal.
///
/// ```no_run
/// use futures::StreamExt;
/// use lameduck::SignalSet;
/// smol::block_on(async {
///     let mut signals = lameduck_smol::SmolSignals::new(SignalSet::DEFAULT).unwrap();
///     while let Some(signal) = signals.next().await {
///         println!("got {signal}");
///     }
/// });
/// ```
pub struct SmolSignals {
    inner: async_signal::Signals,
    set: SignalSet,
}

impl SmolSignals {
    /// Starts listening for every signal the config acts on: its shutdown signals and its
    /// reload signals ([`Config::listened_signals`]), so that a `SIGHUP` sent at any time
    /// after this call is a reload request and never kills the process.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    ///
    /// ```
    /// let _signals = lameduck_smol::SmolSignals::for_config(&lameduck::Config::new()).unwrap();
    /// ```
    pub fn for_config(config: &Config) -> io::Result<SmolSignals> {
        SmolSignals::new(config.listened_signals())
    }

    /// Starts listening for every signal in `set`.
    ///
    /// The signals are unblocked for the calling thread once their handlers are installed
    /// ([`lameduck::runtime::unblock_signals`]): a mask inherited blocked does not make the server deaf.
    ///
    /// # Errors
    ///
    /// On Unix, a signal async-signal cannot listen for (`SIGKILL`, `SIGSTOP`, the fault
    /// signals, numbers it does not know), or installing the handler failed. On Windows,
    /// where async-signal has only `SIGINT` (Ctrl-C), the other signals of the set are left
    /// out, as lameduck-tokio does there, so the default set works everywhere.
    ///
    /// ```
    /// use lameduck::{Signal, SignalSet};
    /// assert!(lameduck_smol::SmolSignals::new(SignalSet::DEFAULT).is_ok());
    /// assert!(lameduck_smol::SmolSignals::new(SignalSet::EMPTY.with(Signal::new(9))).is_err());
    /// ```
    pub fn new(set: SignalSet) -> io::Result<SmolSignals> {
        let mut os = Vec::new();
        for signal in set.iter() {
            let found = KNOWN
                .into_iter()
                .find(|known| *known as i32 == i32::from(signal.number()));
            match found {
                Some(known) => os.push(known),
                #[cfg(windows)]
                None => {}
                #[cfg(not(windows))]
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("cannot listen for {signal}"),
                    ))
                }
            }
        }
        let inner = async_signal::Signals::new(os)?;
        // After the handlers are in place: a signal pending while blocked is then handled,
        // not acted on by default (see the function for which threads it reaches).
        lameduck::runtime::unblock_signals(set)?;
        Ok(SmolSignals { inner, set })
    }
}

impl fmt::Debug for SmolSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.set.iter()).finish()
    }
}

impl Stream for SmolSignals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(os))) => {
                    // Every known number fits in a `u8`; an unknown one is skipped.
                    if let Ok(number) = u8::try_from(os as i32) {
                        return Poll::Ready(Some(Signal::new(number)));
                    }
                }
                // A failed read of the self-pipe: yield, then try again.
                Poll::Ready(Some(Err(_))) => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
