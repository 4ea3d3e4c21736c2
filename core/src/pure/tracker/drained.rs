//! The future that waits for the last connection to close.

use super::Tracker;
use core::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use event_listener::EventListener;

/// Completes once the [`Tracker`] is drained. Made by [`Tracker::drained`].
///
/// It registers its listener before re-checking the word, so a guard dropped between the
/// check and the wait can never be missed.
///
/// # Cancel safety
///
/// Dropping it only unregisters its listener; it can be recreated at any time.
///
/// ```
/// let tracker = lameduck::machine::Tracker::new();
/// let guard = tracker.guard().unwrap();
/// tracker.start_drain();
/// drop(guard);
/// futures::executor::block_on(tracker.drained());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Drained<'a> {
    tracker: &'a Tracker,
    listener: Option<EventListener>,
}

impl<'a> Drained<'a> {
    pub(super) fn new(tracker: &'a Tracker) -> Self {
        Drained {
            tracker,
            listener: None,
        }
    }
}

impl fmt::Debug for Drained<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drained").finish_non_exhaustive()
    }
}

impl Future for Drained<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        crate::pure::listen::poll_until(&mut this.listener, &this.tracker.drained, cx, || {
            this.tracker.is_drained()
        })
    }
}
