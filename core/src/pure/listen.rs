//! The one wait loop every future here uses: listen first, re-check, then sleep.

use core::{
    pin::Pin,
    task::{Context, Poll},
};
use event_listener::{Event, EventListener};
use futures_core::Future;

/// Polls until `ready()` holds, waiting on `event` in between.
///
/// The listener is registered *before* the condition is re-checked, so a notification
/// sent between the check and the wait is never lost (the pitfall of check-then-register).
pub(crate) fn poll_until(
    listener: &mut Option<EventListener>,
    event: &Event,
    cx: &mut Context<'_>,
    mut ready: impl FnMut() -> bool,
) -> Poll<()> {
    loop {
        if ready() {
            *listener = None;
            return Poll::Ready(());
        }
        match listener {
            None => *listener = Some(event.listen()),
            Some(l) => {
                if Pin::new(l).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                *listener = None;
            }
        }
    }
}
