//! Drain wake-up latency: from the last guard's drop to the waiting task running again.
//!
//! The waiter runs as a task of the runtime and records the instant it sees the drain
//! complete (`lameduck_benches::Waiter`); the bench drops the last guard only once that task
//! has returned `Pending` (its waker is registered) and the drain is armed, and starts the
//! clock right before the drop. Three settings:
//!
//! * `tokio_current_thread`: the dropper is the runtime's main future, the waiter a task on
//!   the same thread (a connection task ending next to the task awaiting the drain);
//! * `tokio_cross_thread`: the waiter is a task on a parked worker of a multi-thread runtime
//!   and the drop happens on another thread (the worker must be woken by the OS);
//! * `smol_local`: as the first, on a smol `LocalExecutor`.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use core::{sync::atomic::AtomicBool, time::Duration};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use lameduck_benches::{spin_until, Waiter};
use std::sync::Arc;

#[path = "support/wake_cases.rs"]
mod wake_cases;
use wake_cases::{Case, CASES};

fn is_set(flag: &AtomicBool) -> bool {
    flag.load(core::sync::atomic::Ordering::Acquire)
}

fn tokio_current_thread(setup: fn() -> Case, rt: &tokio::runtime::Runtime) -> Duration {
    let case = setup();
    rt.block_on(async move {
        for task in case.background {
            tokio::spawn(task);
        }
        let parked = Arc::new(AtomicBool::new(false));
        let waiter = tokio::spawn(Waiter::new(case.waiter, parked.clone()));
        while !(is_set(&parked) && (case.armed)()) {
            tokio::task::yield_now().await;
        }
        // Let any wake-up from arming (a phase change) run out before timing.
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        let dropped = (case.last_drop)();
        let ran = waiter.await.expect("waiter task");
        ran - dropped
    })
}

fn tokio_cross_thread(setup: fn() -> Case, rt: &tokio::runtime::Runtime) -> Duration {
    let case = setup();
    for task in case.background {
        rt.spawn(task);
    }
    let parked = Arc::new(AtomicBool::new(false));
    let waiter = rt.spawn(Waiter::new(case.waiter, parked.clone()));
    spin_until(&parked);
    while !(case.armed)() {
        std::thread::yield_now();
    }
    // Give the worker time to go idle and park, as a server's would while it waits.
    std::thread::sleep(Duration::from_micros(100));
    let dropped = (case.last_drop)();
    let ran = rt.block_on(waiter).expect("waiter task");
    ran - dropped
}

fn smol_local(setup: fn() -> Case, ex: &smol::LocalExecutor<'static>) -> Duration {
    let case = setup();
    smol::block_on(ex.run(async {
        for task in case.background {
            ex.spawn(task).detach();
        }
        let parked = Arc::new(AtomicBool::new(false));
        let waiter = ex.spawn(Waiter::new(case.waiter, parked.clone()));
        while !(is_set(&parked) && (case.armed)()) {
            smol::future::yield_now().await;
        }
        for _ in 0..4 {
            smol::future::yield_now().await;
        }
        let dropped = (case.last_drop)();
        let ran = waiter.await;
        ran - dropped
    }))
}

/// Runs every case `RUNS` times, interleaved run by run (each round runs every case once,
/// the order rotated from round to round), and prints per case the median and the 99th
/// percentile, in µs, and the first case's median divided by this one's (lameduck's tracker
/// ÷ the case): on a shared machine the
/// tail says more than criterion's mean, and only cases measured side by side compare (run
/// one block of cases after another and the machine's load moves between the blocks).
fn print_distribution(setting: &str, mut measure: impl FnMut(fn() -> Case) -> Duration) {
    const RUNS: usize = 1000;
    let mut runs: Vec<Vec<Duration>> = vec![Vec::with_capacity(RUNS); CASES.len()];
    for round in 0..RUNS {
        for k in 0..CASES.len() {
            let i = (round + k) % CASES.len();
            runs[i].push(measure(CASES[i].1));
        }
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut first = None;
    for ((name, _), runs) in CASES.iter().zip(&mut runs) {
        runs.sort();
        let median = us(runs[RUNS / 2]);
        let first = *first.get_or_insert(median);
        println!(
            "{setting:<22} {name:<32} {median:>9.2} {:>9.2} {:>8.2}×",
            us(runs[RUNS * 99 / 100]),
            first / median
        );
    }
}

fn wakeup(c: &mut Criterion) {
    let (current, multi) = lameduck_benches::tokio_runtimes();
    let local = smol::LocalExecutor::new();

    println!("\nwake-up latency, 1000 runs each, the cases interleaved (µs):");
    println!(
        "{:<22} {:<32} {:>9} {:>9} {:>9}",
        "setting", "case", "median", "p99", "1st ÷ it"
    );
    print_distribution("tokio_current_thread", |setup| {
        tokio_current_thread(setup, &current)
    });
    print_distribution("smol_local", |setup| smol_local(setup, &local));
    print_distribution("tokio_cross_thread", |setup| {
        tokio_cross_thread(setup, &multi)
    });

    let ms = Duration::from_millis;
    bench_setting(
        c,
        "wakeup_tokio_current_thread",
        ms(100),
        ms(100),
        |setup| tokio_current_thread(setup, &current),
    );
    bench_setting(c, "wakeup_smol_local", ms(100), ms(100), |setup| {
        smol_local(setup, &local)
    });
    bench_setting(c, "wakeup_tokio_cross_thread", ms(200), ms(500), |setup| {
        tokio_cross_thread(setup, &multi)
    });
}

/// One criterion group: every case in one setting, each iteration timed by `measure`.
fn bench_setting(
    c: &mut Criterion,
    group: &str,
    warm_up: Duration,
    measurement: Duration,
    measure: impl Fn(fn() -> Case) -> Duration,
) {
    let mut group = c.benchmark_group(group);
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .sample_size(10);
    for (name, setup) in CASES {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| measure(*setup)).sum());
        });
    }
    group.finish();
}

criterion_group!(benches, wakeup);
criterion_main!(benches);
