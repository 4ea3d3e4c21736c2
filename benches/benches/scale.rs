//! Scale: 100 000 tracked connections.
//!
//! * memory per connection, printed as a table before the timings: the guard's own size plus
//!   the heap it makes the process hold (a counting global allocator, `stats_alloc`), first
//!   for the guard alone, then for a connection task's state (guard and shutdown notice,
//!   boxed as a spawned task would hold them, polled once so every waiter is registered);
//! * `scale_100k_close_all_to_drained`: with 100 000 guards open and the drain armed, the
//!   time to close them all until the waiting task has run; and, printed, the time from the
//!   last close alone to the waiter (tokio current-thread runtime, as `wakeup`).

#![allow(missing_docs)] // criterion's macros generate undocumented items

use core::{sync::atomic::AtomicBool, time::Duration};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use futures::future::BoxFuture;
use lameduck_benches::{poll_once, Waiter};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::{alloc::System, sync::Arc, time::Instant};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const N: usize = 100_000;

#[path = "support/scale_cases.rs"]
mod scale_cases;
use scale_cases::{Drain, DRAINS, MEMORY};

/// Bytes per connection held while `make` has `N` of them alive, stored in a `Vec` allocated
/// beforehand: `size_of::<T>()` plus the net heap growth divided by `N`.
pub fn bytes_per_connection<T>(mut make: impl FnMut() -> T) -> f64 {
    let mut held: Vec<T> = Vec::with_capacity(N);
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        held.push(make());
    }
    let stats = region.change();
    let heap = stats.bytes_allocated as f64 - stats.bytes_deallocated as f64;
    drop(held);
    size_of::<T>() as f64 + heap / N as f64
}

/// As [`bytes_per_connection`], for connection tasks: each boxed and polled once.
pub fn task_bytes_per_connection(mut make: impl FnMut() -> BoxFuture<'static, ()>) -> f64 {
    bytes_per_connection(|| {
        let mut task = make();
        assert!(!poll_once(task.as_mut()), "the notice must wait");
        task
    })
}

/// One drain of `N` guards: (all closes to drained, last close to drained).
fn drain_once(setup: fn() -> Drain, rt: &tokio::runtime::Runtime) -> (Duration, Duration) {
    let drain = setup();
    rt.block_on(async move {
        for task in drain.background {
            tokio::spawn(task);
        }
        let parked = Arc::new(AtomicBool::new(false));
        let waiter = tokio::spawn(Waiter::new(drain.waiter, parked.clone()));
        while !(parked.load(core::sync::atomic::Ordering::Acquire) && (drain.armed)()) {
            tokio::task::yield_now().await;
        }
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        let first = Instant::now();
        let last = (drain.close_all)();
        let ran = waiter.await.expect("waiter task");
        (ran - first, ran - last)
    })
}

fn scale(c: &mut Criterion) {
    println!("\nmemory per tracked connection, {N} connections (bytes):");
    println!(
        "{:<34} {:>12} {:>18}",
        "peer", "guard alone", "guard + notice"
    );
    for (name, guard, task) in MEMORY {
        let task = task.map_or_else(|| "-".to_owned(), |task| format!("{:.1}", task()));
        println!("{name:<34} {:>12.1} {task:>18}", guard());
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    println!("\nlast close to drained, {N} connections, 20 runs (µs): median, max");
    for (name, setup) in DRAINS {
        let mut last: Vec<Duration> = (0..20).map(|_| drain_once(*setup, &rt).1).collect();
        last.sort();
        println!(
            "{name:<34} {:>8.2} {:>8.2}",
            last[10].as_secs_f64() * 1e6,
            last[19].as_secs_f64() * 1e6
        );
    }

    let mut group = c.benchmark_group("scale_100k_close_all_to_drained");
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10);
    for (name, setup) in DRAINS {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| drain_once(*setup, &rt).0).sum());
        });
    }
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
