//! Reload requests: a signal in the config's reload set (default `SIGHUP`) never shuts
//! down; the driver hands it to whoever subscribed through [`Handle::reloads`], and drops it
//! when nobody did.

use crate::{
    facade::handle::Handle, facade::shared::Shared, pure::listen::poll_until, pure::signal::Signal,
    pure::sync::Arc,
};
use core::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};
use event_listener::{Event, EventListener};
use futures_core::Stream;

/// The reload requests so far, shared by the driver and the subscribers.
#[derive(Debug, Default)]
pub(crate) struct ReloadState {
    /// Reloads are rare: a lock keeps the count, the last signal and the end together
    /// without an argument about orderings.
    state: spin::Mutex<Seen>,
    /// Notified on every reload and at the end.
    event: Event,
}

#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    count: u64,
    last: Option<Signal>,
    closed: bool,
}

impl ReloadState {
    /// A reload signal arrived: every subscriber sees it once.
    pub(crate) fn notify(&self, signal: Signal) {
        {
            let mut state = self.state.lock();
            state.count += 1;
            state.last = Some(signal);
        }
        self.event.notify(usize::MAX);
    }

    /// The shutdown stopped: the subscribers' streams end after what they have not seen.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.event.notify(usize::MAX);
    }

    fn seen(&self) -> Seen {
        *self.state.lock()
    }
}

impl Handle {
    /// The reload requests from now on: each signal of the config's reload set
    /// ([`Config::reload`](crate::pure::config::Config::reload), default `SIGHUP`) that the driver
    /// takes after this call, as a stream of that signal. It ends once the shutdown has
    /// stopped. A reload signal never shuts down; with no subscriber it is dropped.
    ///
    /// The subscription starts here, not at the first poll: subscribe before running the
    /// shutdown (a spawned task may first run after the driver took a signal).
    ///
    /// Reloads that arrive between two polls are merged into one (the last signal), as
    /// POSIX merges pending signals: a subscriber reloads at least once after each request.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use lameduck::{test_util::{ManualClock, ScriptedSignals}, Config, Shutdown, Signal};
    /// let clock = ManualClock::new();
    /// let signals = ScriptedSignals::new();
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// let mut reloads = shutdown.handle().reloads();
    /// signals.send(Signal::HUP);
    /// signals.send(Signal::TERM);
    /// let report = clock.block_on(shutdown.run(clock.clone(), signals));
    /// assert_eq!(report.exit_code(), 0);
    /// let seen: Vec<Signal> = futures::executor::block_on(reloads.collect());
    /// assert_eq!(seen, [Signal::HUP]);
    /// ```
    pub fn reloads(&self) -> Reloads {
        Reloads {
            seen: self.shared.reload.seen().count,
            shared: self.shared.clone(),
            listener: None,
        }
    }
}

/// The stream of reload requests made by [`Handle::reloads`]: yields the reload signal,
/// ends once the shutdown has stopped.
///
/// # Cancel safety
///
/// Polling `next()` is cancel-safe: a reload not yet taken is yielded by the next poll.
#[must_use = "streams do nothing unless polled"]
pub struct Reloads {
    shared: Arc<Shared>,
    seen: u64,
    listener: Option<EventListener>,
}

impl fmt::Debug for Reloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloads")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Stream for Reloads {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let this = self.get_mut();
        let (reload, seen) = (&this.shared.reload, this.seen);
        let mut now = Seen::default();
        core::task::ready!(poll_until(&mut this.listener, &reload.event, cx, || {
            now = reload.seen();
            now.count != seen || now.closed
        }));
        if now.count != seen {
            this.seen = now.count;
            Poll::Ready(now.last)
        } else {
            Poll::Ready(None)
        }
    }
}
