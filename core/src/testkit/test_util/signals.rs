//! A signal source fed by hand.

use crate::{pure::signal::Signal, pure::sync::Arc};
use alloc::collections::VecDeque;
use core::{
    fmt,
    pin::Pin,
    task::{Context, Poll, Waker},
};
use futures_core::Stream;

#[derive(Default)]
struct State {
    queue: VecDeque<Signal>,
    closed: bool,
    waker: Option<Waker>,
}

/// A [`SignalSource`](crate::runtime::SignalSource) that delivers what [`send`](Self::send) gives it,
/// in order, never merged. Clones share one queue, so a test keeps one clone to send with.
///
/// ```
/// use futures::StreamExt;
/// use lameduck::{test_util::ScriptedSignals, Signal};
/// let mut signals = ScriptedSignals::new();
/// signals.send(Signal::TERM);
/// signals.send(Signal::INT);
/// signals.close();
/// let got: Vec<_> = futures::executor::block_on(signals.by_ref().collect());
/// assert_eq!(got, [Signal::TERM, Signal::INT]);
/// ```
#[derive(Clone, Default)]
pub struct ScriptedSignals {
    state: Arc<spin::Mutex<State>>,
}

impl ScriptedSignals {
    /// An empty, open source.
    ///
    /// ```
    /// let _signals = lameduck::test_util::ScriptedSignals::new();
    /// ```
    pub fn new() -> ScriptedSignals {
        ScriptedSignals::default()
    }

    /// Queues a signal and wakes the reader.
    ///
    /// ```
    /// lameduck::test_util::ScriptedSignals::new().send(lameduck::Signal::TERM);
    /// ```
    pub fn send(&self, signal: Signal) {
        let waker = {
            let mut state = self.state.lock();
            state.queue.push_back(signal);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ends the stream once the queued signals are read.
    ///
    /// ```
    /// lameduck::test_util::ScriptedSignals::new().close();
    /// ```
    pub fn close(&self) {
        let waker = {
            let mut state = self.state.lock();
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl fmt::Debug for ScriptedSignals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedSignals")
            .field("queued", &self.state.lock().queue.len())
            .finish()
    }
}

impl Stream for ScriptedSignals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let mut state = self.state.lock();
        if let Some(signal) = state.queue.pop_front() {
            return Poll::Ready(Some(signal));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
