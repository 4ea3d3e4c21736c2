//! One drain per case, for lameduck and each peer: a waiter that completes once the last
//! guard is gone, and the closure that drops that last guard.
//!
//! Every case is armed the way its docs arm it (tracker closed, shutdown triggered) before
//! the waiter is parked; only then is the last guard dropped and the clock started.

use bytes::Bytes;
use core::{convert::Infallible, future::Future};
use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use lameduck::{
    machine::Tracker,
    test_util::{ManualClock, ScriptedSignals},
    Config, Phase, Shutdown,
};
use std::time::Instant;

/// One drain, set up and armed, with its last guard still held.
pub(crate) struct Case {
    /// Tasks that run alongside the waiter (lameduck's driver).
    pub background: Vec<BoxFuture<'static, ()>>,
    /// Completes once drained.
    pub waiter: BoxFuture<'static, ()>,
    /// Whether the drain has begun (the waiter may only be timed from then on).
    pub armed: Box<dyn Fn() -> bool + Send>,
    /// Drops the last guard and returns the instant of the drop.
    pub last_drop: Box<dyn FnOnce() -> Instant + Send>,
}

fn always() -> Box<dyn Fn() -> bool + Send> {
    Box::new(|| true)
}

fn drop_at<T: Send + 'static>(guard: T) -> Box<dyn FnOnce() -> Instant + Send> {
    Box::new(move || {
        let at = Instant::now();
        drop(guard);
        at
    })
}

/// lameduck's `Tracker::drained()`, the primitive a runtime adapter waits on. A tracker drains
/// once, so each case leaks one (32 bytes plus its event, a few MB over a whole run): the
/// borrowed `Guard` has no owned form to tie its lifetime to.
fn lameduck_tracker() -> Case {
    let tracker: &'static Tracker = Box::leak(Box::new(Tracker::new()));
    let guard = tracker.guard().expect("not drained");
    tracker.start_drain();
    Case {
        background: Vec::new(),
        waiter: Box::pin(tracker.drained()),
        armed: always(),
        last_drop: drop_at(guard),
    }
}

/// The whole lameduck path: the last `Connection` drop wakes the driver, which enters
/// the hooks phase and wakes a `handle.reached(Phase::Hooks)` waiter: two hops.
fn lameduck_driver() -> Case {
    let shutdown = Shutdown::new(Config::new()).expect("valid config");
    let handle = shutdown.handle();
    let guard = handle.connection().expect("running");
    shutdown.trigger().shutdown();
    let waiter = handle.reached(Phase::Hooks);
    let driver = shutdown.run(ManualClock::new(), ScriptedSignals::new());
    Case {
        background: vec![Box::pin(async move {
            driver.await;
        })],
        waiter: Box::pin(waiter),
        armed: Box::new(move || handle.phase() >= Phase::Draining),
        last_drop: drop_at(guard),
    }
}

/// tokio-util: `tracker.close()` then `tracker.wait()`, as its docs wait for tasks.
fn tokio_util() -> Case {
    let tracker = tokio_util::task::TaskTracker::new();
    let token = tracker.token();
    tracker.close();
    Case {
        background: Vec::new(),
        waiter: Box::pin(async move { tracker.wait().await }),
        armed: always(),
        last_drop: drop_at(token),
    }
}

/// tokio-graceful in its documented wait-group mode (`Shutdown::no_signal`): the same wake
/// path as the signal mode once the signal has fired, and it needs no runtime to build.
fn tokio_graceful() -> Case {
    let shutdown = tokio_graceful::Shutdown::no_signal();
    let guard = shutdown.guard();
    Case {
        background: Vec::new(),
        waiter: Box::pin(async move {
            shutdown.shutdown().await;
        }),
        armed: always(),
        last_drop: drop_at(guard),
    }
}

/// async-shutdown: trigger, then `wait_shutdown_complete()` waits for the delay tokens.
fn async_shutdown() -> Case {
    let manager = async_shutdown::ShutdownManager::new();
    let token = manager.delay_shutdown_token().expect("not completed");
    manager.trigger_shutdown(()).expect("first trigger");
    Case {
        background: Vec::new(),
        waiter: Box::pin(manager.wait_shutdown_complete()),
        armed: always(),
        last_drop: drop_at(token),
    }
}

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

/// hyper-util: a real idle http1 connection (over an in-memory pipe) under
/// `GracefulShutdown::watch`; the waiter is `graceful.shutdown()`, which signals the
/// connection and waits for its watcher to go. The dropping thread drives the connection to
/// its end but keeps the finished future (which still holds the watcher), starts the clock,
/// then drops it: the same "clock, then last drop" as every other case.
fn hyper_util() -> Case {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let (client, server) = tokio::io::duplex(1024);
    let conn = graceful
        .watch(http1::Builder::new().serve_connection(TokioIo::new(server), service_fn(hello)));
    Case {
        background: Vec::new(),
        waiter: Box::pin(graceful.shutdown()),
        armed: always(),
        last_drop: Box::new(move || {
            let mut conn = Box::pin(conn);
            let _ =
                futures::executor::block_on(futures::future::poll_fn(|cx| conn.as_mut().poll(cx)));
            let at = Instant::now();
            drop(conn);
            drop(client);
            at
        }),
    }
}

/// Sets up one case.
pub(crate) type Setup = fn() -> Case;

/// Every case, by bench name.
pub(crate) const CASES: &[(&str, Setup)] = &[
    ("lameduck_tracker_drained", lameduck_tracker),
    ("lameduck_driver_reached_hooks", lameduck_driver),
    ("tokio_util_task_tracker_wait", tokio_util),
    ("hyper_util_graceful_shutdown", hyper_util),
    ("tokio_graceful_shutdown", tokio_graceful),
    ("async_shutdown_wait_complete", async_shutdown),
];
