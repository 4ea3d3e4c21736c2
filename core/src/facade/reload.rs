//! Reload requests: a signal in the config's reload set (default `SIGHUP`) never shuts
//! down; the driver hands it to whoever subscribed through [`Handle::reloads`], and drops it
//! when nobody did.

use crate::{
    facade::shared::{Seen, Shared},
    pure::listen::poll_until,
    pure::signal::Signal,
    pure::sync::Arc,
};
use core::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};
use event_listener::EventListener;
use futures_core::Stream;

/// The stream of reload requests made by [`Handle::reloads`](crate::Handle::reloads): yields the reload signal,
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

impl Reloads {
    pub(crate) fn new(shared: Arc<Shared>) -> Reloads {
        Reloads {
            seen: shared.reload.seen().count,
            shared,
            listener: None,
        }
    }
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
