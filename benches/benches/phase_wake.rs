//! The cost of a phase change with many connections waiting: 10 000 connections, each with
//! its `draining()` notice polled once (registered, as a connection task's would be).
//!
//! * `enter_lame_duck`: the one poll of `Shutdown::run` that enters the lame duck after a
//!   shutdown request. Connections wait for Draining only, so this must wake none of them
//!   (checked): the floor is the same poll with no connection at all.
//! * `enter_draining`: the poll that enters Draining once the lame-duck period is over: it
//!   must wake each of the 10 000 once (checked); the peers are the same with one connection
//!   and tokio-util's
//!   `CancellationToken::cancel()` with 10 000 `cancelled()` futures polled once.
//!
//! Every waiter's waker counts its wakes (one shared atomic); each round builds its
//! connections and futures afresh, outside the timed section, which is timed in the
//! thread's CPU time (`lameduck_benches::thread_cpu`: on a shared machine wall time counts
//! other processes too).

#![allow(missing_docs)] // criterion's macros generate undocumented items

use core::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicUsize, Ordering},
    task::{Context, Waker},
    time::Duration,
};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use futures::task::ArcWake;
use lameduck::{
    future::Reached,
    test_util::{ManualClock, ScriptedSignals},
    Config, Phase, Shutdown,
};
use lameduck_benches::{interleaved, thread_cpu};
use std::sync::Arc;

const N: usize = 10_000;
const LAME_DUCK: Duration = Duration::from_millis(100);

struct Count(AtomicUsize);

impl ArcWake for Count {
    fn wake_by_ref(this: &Arc<Self>) {
        this.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn counting_waker() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count(AtomicUsize::new(0)));
    (count.clone(), futures::task::waker(count))
}

fn poll<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> bool {
    future.poll(&mut Context::from_waker(waker)).is_ready()
}

/// A running shutdown with `n` connections waiting for Draining.
struct Lameduck {
    run: Pin<Box<dyn Future<Output = lameduck::Report>>>,
    clock: ManualClock,
    handle: lameduck::Handle,
    trigger: lameduck::Trigger,
    waiters: Vec<(lameduck::Connection, Pin<Box<Reached>>)>,
    count: Arc<Count>,
    waker: Waker,
}

impl Lameduck {
    fn new(n: usize) -> Lameduck {
        let shutdown = Shutdown::new(
            Config::new()
                .lame_duck(LAME_DUCK)
                .drain_timeout(Duration::from_secs(60)),
        )
        .expect("valid config");
        let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
        let clock = ManualClock::new();
        let (count, waker) = counting_waker();
        let waiters = (0..n)
            .map(|_| {
                let conn = handle.connection().expect("running");
                let mut notice = Box::pin(conn.draining());
                assert!(!poll(notice.as_mut(), &waker));
                (conn, notice)
            })
            .collect();
        let mut run: Pin<Box<dyn Future<Output = lameduck::Report>>> =
            Box::pin(shutdown.run(clock.clone(), ScriptedSignals::new()));
        // The driver's first poll registers its own waits; not part of the phase change.
        assert!(!poll(run.as_mut(), futures::task::noop_waker_ref()));
        Lameduck {
            run,
            clock,
            handle,
            trigger,
            waiters,
            count,
            waker,
        }
    }

    /// Requests the shutdown and times the driver's poll that enters the lame duck.
    fn enter_lame_duck(&mut self) -> Duration {
        self.trigger.shutdown();
        let start = thread_cpu();
        let ready = poll(self.run.as_mut(), futures::task::noop_waker_ref());
        let took = thread_cpu() - start;
        assert!(!ready);
        assert_eq!(self.handle.phase(), Phase::LameDuck);
        assert_eq!(
            self.count.0.load(Ordering::Relaxed),
            0,
            "nobody waits for it"
        );
        took
    }

    /// Ends the lame-duck period and times the driver's poll that enters Draining.
    fn enter_draining(&mut self) -> Duration {
        self.clock.advance(LAME_DUCK);
        let start = thread_cpu();
        let ready = poll(self.run.as_mut(), futures::task::noop_waker_ref());
        let took = thread_cpu() - start;
        if self.waiters.is_empty() {
            // Nothing to drain: the same poll runs on through the hooks to the end.
            assert!(self.handle.phase() >= Phase::Draining);
        } else {
            assert!(!ready);
            assert_eq!(self.handle.phase(), Phase::Draining);
        }
        assert_eq!(
            self.count.0.load(Ordering::Relaxed),
            self.waiters.len(),
            "each connection woken once"
        );
        for (_, notice) in &mut self.waiters {
            assert!(poll(notice.as_mut(), &self.waker));
        }
        took
    }
}

fn lame_duck(n: usize) -> Duration {
    Lameduck::new(n).enter_lame_duck()
}

fn draining(n: usize) -> Duration {
    let mut shutdown = Lameduck::new(n);
    shutdown.enter_lame_duck();
    shutdown.enter_draining()
}

fn tokio_util_cancel(n: usize) -> Duration {
    let token = tokio_util::sync::CancellationToken::new();
    let (count, waker) = counting_waker();
    let mut waiters: Vec<_> = (0..n)
        .map(|_| {
            let mut notice = Box::pin(token.clone().cancelled_owned());
            assert!(!poll(notice.as_mut(), &waker));
            notice
        })
        .collect();
    let start = thread_cpu();
    token.cancel();
    let took = thread_cpu() - start;
    assert_eq!(count.0.load(Ordering::Relaxed), n);
    for notice in &mut waiters {
        assert!(poll(notice.as_mut(), &waker));
    }
    took
}

fn phase_wake(c: &mut Criterion) {
    println!("\nphase change with {N} connections waiting, interleaved, 40 rounds (ns per change)");
    interleaved(
        "enter_lame_duck",
        40,
        1,
        &[
            ("no_connections", &|| lame_duck(0)),
            ("10k_waiting", &|| lame_duck(N)),
        ],
    );
    interleaved(
        "enter_draining",
        40,
        1,
        &[
            ("tokio_util_cancel_10k", &|| tokio_util_cancel(N)),
            ("lameduck_10k_waiting", &|| draining(N)),
            ("lameduck_1_waiting", &|| draining(1)),
        ],
    );

    let mut group = c.benchmark_group("phase_wake_10k");
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    group.bench_function("lameduck_enter_lame_duck", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| lame_duck(N)).sum());
    });
    group.bench_function("lameduck_enter_draining", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| draining(N)).sum());
    });
    group.bench_function("tokio_util_cancel", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| tokio_util_cancel(N)).sum());
    });
    group.finish();
}

criterion_group!(benches, phase_wake);
criterion_main!(benches);
