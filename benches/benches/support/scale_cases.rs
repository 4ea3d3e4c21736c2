//! The peers at 100 000 connections: how each counts a connection (and its shutdown notice)
//! in memory, and one armed drain of `N` guards per peer.

use crate::{bytes_per_connection, task_bytes_per_connection, N};
use futures::future::BoxFuture;
use lameduck::{
    machine::Tracker,
    test_util::{ManualClock, ScriptedSignals},
    Config, Phase, Shutdown,
};
use std::time::Instant;

type Bytes = fn() -> f64;

fn lameduck_guard() -> f64 {
    let shutdown = Shutdown::new(Config::new()).expect("valid config");
    let handle = shutdown.handle();
    bytes_per_connection(|| handle.connection().expect("running"))
}

fn lameduck_task() -> f64 {
    let shutdown = Shutdown::new(Config::new()).expect("valid config");
    let handle = shutdown.handle();
    task_bytes_per_connection(|| {
        let guard = handle.connection().expect("running");
        Box::pin(async move { guard.draining().await })
    })
}

fn tracker_guard() -> f64 {
    let tracker = Tracker::new();
    bytes_per_connection(|| tracker.guard().expect("not drained"))
}

fn tokio_util_guard() -> f64 {
    let tracker = tokio_util::task::TaskTracker::new();
    bytes_per_connection(|| tracker.token())
}

fn tokio_util_task() -> f64 {
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    task_bytes_per_connection(|| {
        let token = tracker.token();
        let cancel = cancel.clone();
        Box::pin(async move {
            let _token = token;
            cancel.cancelled().await;
        })
    })
}

fn hyper_util_guard() -> f64 {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    bytes_per_connection(|| graceful.watcher())
}

/// What `Watcher::watch` adds to a connection besides the connection itself: its receiver,
/// parked in `changed()` (replayed: `GracefulConnection` is sealed).
fn hyper_util_task() -> f64 {
    let (tx, _) = tokio::sync::watch::channel(());
    task_bytes_per_connection(|| {
        let mut rx = tx.subscribe();
        Box::pin(async move {
            let _ = rx.changed().await;
            drop(rx);
        })
    })
}

fn tokio_graceful_guard() -> f64 {
    let shutdown = tokio_graceful::Shutdown::no_signal();
    bytes_per_connection(|| shutdown.guard())
}

fn tokio_graceful_task() -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    // With a signal (built inside a runtime), so that `cancelled()` really waits.
    let shutdown = {
        let _enter = rt.enter();
        tokio_graceful::Shutdown::new(core::future::pending::<()>())
    };
    task_bytes_per_connection(|| {
        let guard = shutdown.guard();
        Box::pin(async move { guard.cancelled().await })
    })
}

fn async_shutdown_guard() -> f64 {
    let manager = async_shutdown::ShutdownManager::<()>::new();
    bytes_per_connection(|| manager.delay_shutdown_token().expect("not completed"))
}

fn async_shutdown_task() -> f64 {
    let manager = async_shutdown::ShutdownManager::<()>::new();
    task_bytes_per_connection(|| {
        let token = manager.delay_shutdown_token().expect("not completed");
        let triggered = manager.wait_shutdown_triggered();
        Box::pin(async move {
            let _token = token;
            triggered.await;
        })
    })
}

/// (name, guard alone, guard + notice as a connection task holds them).
pub(crate) const MEMORY: &[(&str, Bytes, Option<Bytes>)] = &[
    ("lameduck Connection", lameduck_guard, Some(lameduck_task)),
    ("lameduck Tracker::guard (borrowed)", tracker_guard, None),
    (
        "tokio-util TaskTracker token",
        tokio_util_guard,
        Some(tokio_util_task),
    ),
    (
        "hyper-util Watcher",
        hyper_util_guard,
        Some(hyper_util_task),
    ),
    (
        "tokio-graceful ShutdownGuard",
        tokio_graceful_guard,
        Some(tokio_graceful_task),
    ),
    (
        "async-shutdown DelayShutdownToken",
        async_shutdown_guard,
        Some(async_shutdown_task),
    ),
];

/// `N` guards open, the drain armed, a waiter to park.
pub(crate) struct Drain {
    /// Tasks that run alongside the waiter (lameduck's driver).
    pub background: Vec<BoxFuture<'static, ()>>,
    /// Completes once drained.
    pub waiter: BoxFuture<'static, ()>,
    /// Whether the drain has begun.
    pub armed: Box<dyn Fn() -> bool + Send>,
    /// Closes every connection; returns the instant of the last close.
    pub close_all: Box<dyn FnOnce() -> Instant + Send>,
}

fn close_all<T: Send + 'static>(mut guards: Vec<T>) -> Box<dyn FnOnce() -> Instant + Send> {
    Box::new(move || {
        let last = guards.pop();
        drop(guards);
        let at = Instant::now();
        drop(last);
        at
    })
}

fn always() -> Box<dyn Fn() -> bool + Send> {
    Box::new(|| true)
}

fn lameduck_drain() -> Drain {
    let shutdown = Shutdown::new(Config::new()).expect("valid config");
    let handle = shutdown.handle();
    let guards: Vec<_> = (0..N)
        .map(|_| handle.connection().expect("running"))
        .collect();
    shutdown.trigger().shutdown();
    let waiter = handle.reached(Phase::Hooks);
    let driver = shutdown.run(ManualClock::new(), ScriptedSignals::new());
    Drain {
        background: vec![Box::pin(async move {
            driver.await;
        })],
        waiter: Box::pin(waiter),
        armed: Box::new(move || handle.phase() >= Phase::Draining),
        close_all: close_all(guards),
    }
}

/// A tracker drains once and its guards borrow it, so each drain leaks one (a few hundred
/// bytes per drain over the whole run).
fn tracker_drain() -> Drain {
    let tracker: &'static Tracker = Box::leak(Box::new(Tracker::new()));
    let guards: Vec<_> = (0..N)
        .map(|_| tracker.guard().expect("not drained"))
        .collect();
    tracker.start_drain();
    Drain {
        background: Vec::new(),
        waiter: Box::pin(tracker.drained()),
        armed: always(),
        close_all: close_all(guards),
    }
}

fn tokio_util_drain() -> Drain {
    let tracker = tokio_util::task::TaskTracker::new();
    let guards: Vec<_> = (0..N).map(|_| tracker.token()).collect();
    tracker.close();
    Drain {
        background: Vec::new(),
        waiter: Box::pin(async move { tracker.wait().await }),
        armed: always(),
        close_all: close_all(guards),
    }
}

/// hyper-util's real `Watcher`s (what `watch` wraps around each connection) and its real
/// `shutdown()`, which waits for every watcher to go.
fn hyper_util_drain() -> Drain {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let guards: Vec<_> = (0..N).map(|_| graceful.watcher()).collect();
    Drain {
        background: Vec::new(),
        waiter: Box::pin(graceful.shutdown()),
        armed: always(),
        close_all: close_all(guards),
    }
}

fn tokio_graceful_drain() -> Drain {
    let shutdown = tokio_graceful::Shutdown::no_signal();
    let guards: Vec<_> = (0..N).map(|_| shutdown.guard()).collect();
    Drain {
        background: Vec::new(),
        waiter: Box::pin(async move {
            shutdown.shutdown().await;
        }),
        armed: always(),
        close_all: close_all(guards),
    }
}

fn async_shutdown_drain() -> Drain {
    let manager = async_shutdown::ShutdownManager::new();
    let guards: Vec<_> = (0..N)
        .map(|_| manager.delay_shutdown_token().expect("not completed"))
        .collect();
    manager.trigger_shutdown(()).expect("first trigger");
    Drain {
        background: Vec::new(),
        waiter: Box::pin(manager.wait_shutdown_complete()),
        armed: always(),
        close_all: close_all(guards),
    }
}

/// Sets up one drain.
type Setup = fn() -> Drain;

/// Every drain, by bench name.
pub(crate) const DRAINS: &[(&str, Setup)] = &[
    ("lameduck_driver_reached_hooks", lameduck_drain),
    ("lameduck_tracker_drained", tracker_drain),
    ("tokio_util_task_tracker_wait", tokio_util_drain),
    ("hyper_util_graceful_shutdown", hyper_util_drain),
    ("tokio_graceful_shutdown", tokio_graceful_drain),
    ("async_shutdown_wait_complete", async_shutdown_drain),
];
