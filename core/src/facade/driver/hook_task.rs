//! Turns a hook into a future of its outcome: panics caught (with `std`), sync hooks on the
//! runtime's blocking pool so that a hang can be cut at the timeout.

use crate::{facade::hooks::HookFn, facade::report::HookOutcome, facade::runtime::Runtime};
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
pub(super) fn start(run: HookFn, runtime: &impl Runtime) -> HookFuture {
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
            runtime.spawn_blocking(move || {
                // AssertUnwindSafe: the closure is consumed; nothing of it survives.
                let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
            });
            Box::pin(async move {
                match rx.await {
                    Ok(Ok(result)) => outcome(result),
                    Ok(Err(panic)) => HookOutcome::Panicked(panic_message(&*panic)),
                    Err(_) => HookOutcome::Failed(String::from(
                        "the runtime dropped the hook without running it",
                    )),
                }
            })
        }
    }
}

#[cfg(not(feature = "std"))]
pub(super) fn start(run: HookFn, runtime: &impl Runtime) -> HookFuture {
    match run {
        HookFn::Async(make) => Box::pin(async move { outcome(make().await) }),
        HookFn::Sync(f) => {
            let (tx, rx) = futures_channel::oneshot::channel();
            runtime.spawn_blocking(move || {
                let _ = tx.send(f());
            });
            Box::pin(async move {
                match rx.await {
                    Ok(result) => outcome(result),
                    Err(_) => HookOutcome::Failed(String::from(
                        "the runtime dropped the hook without running it",
                    )),
                }
            })
        }
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
