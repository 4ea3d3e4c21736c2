//! The timer and signal-source checks.

use super::{ensure, fail, Failure, Harness};
use crate::{
    facade::runtime::Runtime,
    pure::signal::{Signal, SignalSet},
    pure::traits::Timer,
};
use alloc::{boxed::Box, format, vec::Vec};
use core::{
    future::{poll_fn, Future},
    task::Poll,
    time::Duration,
};
use futures_util::StreamExt;

/// How long any single wait may take on a real clock before the check gives up.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

/// `future`, or `None` if `PATIENCE` passes first on `timer`.
pub(super) async fn within<T: Timer, F: Future>(timer: &T, future: F) -> Option<F::Output> {
    let mut future = core::pin::pin!(future);
    let mut limit = Box::pin(timer.sleep(PATIENCE));
    poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        limit.as_mut().poll(cx).map(|()| None)
    })
    .await
}

pub(super) fn timer<H: Harness>(h: &H) -> Result<(), Failure> {
    h.block_on(async {
        let timer = h.runtime();
        let mut last = timer.now();
        for _ in 0..1000 {
            let now = timer.now();
            ensure("now is monotonic", now >= last, || {
                format!("{now:?} after {last:?}")
            })?;
            last = now;
        }

        within(&timer, timer.sleep(Duration::ZERO))
            .await
            .ok_or_else(|| {
                fail(
                    "zero sleep completes",
                    "still pending after the patience limit",
                )
            })?;

        let start = timer.now();
        let wanted = Duration::from_millis(20);
        within(&timer, timer.sleep(wanted))
            .await
            .ok_or_else(|| fail("sleep completes", "20 ms sleep never completed"))?;
        let slept = timer.now().saturating_sub(start);
        ensure("sleep waits its duration", slept >= wanted, || {
            format!("a 20 ms sleep ended after {slept:?}")
        })?;

        let order = within(&timer, sleeps_in_order(&timer))
            .await
            .ok_or_else(|| fail("sleeps complete in order", "never completed"))?;
        ensure("sleeps complete in order", order == [1, 2, 0], || {
            format!("sleeps of 60, 20 and 40 ms completed as {order:?}")
        })?;

        // Huge durations: created, polled, dropped, no panic, no overflow.
        let mut huge = [
            timer.sleep(Duration::MAX),
            timer.sleep(Duration::from_secs(u64::MAX / 2)),
        ]
        .map(Box::pin);
        let short = timer.sleep(Duration::from_millis(5));
        let mut short = core::pin::pin!(short);
        poll_fn(|cx| {
            for sleep in &mut huge {
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(fail("huge sleep", "Duration::MAX sleep completed")));
                }
            }
            short.as_mut().poll(cx).map(Ok)
        })
        .await?;
        drop(huge);

        // A dropped sleep disturbs no other.
        let mut dropped = Box::pin(timer.sleep(Duration::from_millis(5)));
        poll_fn(|cx| {
            let _ = dropped.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
        drop(dropped);
        within(&timer, timer.sleep(Duration::from_millis(10)))
            .await
            .ok_or_else(|| fail("dropped sleep is harmless", "a later sleep never completed"))?;
        Ok(())
    })
}

/// Polls sleeps of 60, 20 and 40 ms together; returns their indices in completion order.
async fn sleeps_in_order<T: Timer>(timer: &T) -> Vec<usize> {
    let mut sleeps: Vec<_> = [60, 20, 40]
        .into_iter()
        .map(|ms| Some(Box::pin(timer.sleep(Duration::from_millis(ms)))))
        .collect();
    let mut order = Vec::new();
    poll_fn(|cx| {
        for (i, slot) in sleeps.iter_mut().enumerate() {
            if let Some(sleep) = slot {
                if sleep.as_mut().poll(cx).is_ready() {
                    *slot = None;
                    order.push(i);
                }
            }
        }
        if order.len() == 3 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    order
}

pub(super) fn signals<H: Harness>(h: &H) -> Result<(), Failure> {
    h.block_on(async {
        let timer = h.runtime();
        let set = SignalSet::EMPTY
            .with(Signal::TERM)
            .with(Signal::INT)
            .with(Signal::HUP);
        let mut source = timer
            .signals(set)
            .map_err(|e| fail("signals installed", e))?;
        // Each raised only after the one before arrived, so none may be merged; TERM twice,
        // since the source must keep listening after the first.
        for expected in [Signal::TERM, Signal::INT, Signal::HUP, Signal::TERM] {
            h.raise(expected);
            let got = within(&timer, source.next()).await;
            ensure(
                "signals delivered in order",
                got == Some(Some(expected)),
                || format!("raised {expected}, received {got:?}"),
            )?;
        }
        Ok(())
    })
}

pub(super) fn spawn<H: Harness>(h: &H) -> Result<(), Failure> {
    const CHECK: &str = "spawn and spawn_blocking run their work";
    h.block_on(async {
        let runtime = h.runtime();
        let (task_tx, task_rx) = futures_channel::oneshot::channel();
        runtime.spawn(async move {
            let _ = task_tx.send(1);
        });
        let (work_tx, work_rx) = futures_channel::oneshot::channel();
        runtime.spawn_blocking(move || {
            let _ = work_tx.send(2);
        });
        let task = within(&runtime, task_rx).await;
        ensure(CHECK, task == Some(Ok(1)), || {
            format!("spawned task: {task:?}")
        })?;
        let work = within(&runtime, work_rx).await;
        ensure(CHECK, work == Some(Ok(2)), || {
            format!("blocking work: {work:?}")
        })
    })
}
