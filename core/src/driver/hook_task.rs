//! Turns a hook into a future of its outcome: panics caught (with `std`), sync hooks on a
//! thread of their own (with `std`) so that a hang can be cut at the timeout.

use crate::{hooks::HookFn, report::HookOutcome};
use alloc::{boxed::Box, string::String};
use core::{future::Future, pin::Pin};

pub(super) type HookFuture = Pin<Box<dyn Future<Output = HookOutcome> + Send>>;

fn outcome(result: Result<(), String>) -> HookOutcome {
    match result {
        Ok(()) => HookOutcome::Ok,
        Err(reason) => HookOutcome::Failed(reason),
    }
}

#[cfg(feature = "std")]
pub(super) fn start(run: HookFn) -> HookFuture {
    use core::panic::AssertUnwindSafe;
    use futures_util::FutureExt;
    use std::panic::catch_unwind;

    match run {
        HookFn::Async(make) => Box::pin(async move {
            // AssertUnwindSafe: after a panic the hook's future is dropped and never
            // polled again, so no broken state can be observed.
            match AssertUnwindSafe(async move { make().await })
                .catch_unwind()
                .await
            {
                Ok(result) => outcome(result),
                Err(panic) => HookOutcome::Panicked(panic_message(&*panic)),
            }
        }),
        HookFn::Sync(f) => {
            let (tx, rx) = futures_channel::oneshot::channel();
            // Counted as blocking work while it runs, for executors that move time when
            // idle (the manual clock): see `crate::blocking`.
            let work = crate::blocking::Work::begin();
            let worker = work.clone();
            let spawned = std::thread::Builder::new()
                .name(String::from("lameduck-hook"))
                .spawn(move || {
                    // AssertUnwindSafe: the closure is consumed; nothing of it survives.
                    let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
                    // After the send: the result's wake-up comes before the count drops.
                    if let Some(work) = worker {
                        work.release();
                    }
                });
            let held = crate::blocking::ReleaseOnDrop(work);
            match spawned {
                Ok(_) => Box::pin(async move {
                    let _held = held;
                    match rx.await {
                        Ok(Ok(result)) => outcome(result),
                        Ok(Err(panic)) => HookOutcome::Panicked(panic_message(&*panic)),
                        Err(_) => {
                            HookOutcome::Failed(String::from("hook thread ended without a result"))
                        }
                    }
                }),
                Err(error) => Box::pin(core::future::ready(HookOutcome::Failed(alloc::format!(
                    "could not start a thread for the hook: {error}"
                )))),
            }
        }
    }
}

#[cfg(not(feature = "std"))]
pub(super) fn start(run: HookFn) -> HookFuture {
    match run {
        HookFn::Async(make) => Box::pin(async move { outcome(make().await) }),
        HookFn::Sync(f) => Box::pin(core::future::ready(outcome(f()))),
    }
}

#[cfg(feature = "std")]
fn panic_message(panic: &(dyn core::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        String::from(*s)
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("non-string panic payload")
    }
}
