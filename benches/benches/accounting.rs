//! Accounting cost: one connection counted and uncounted, for lameduck and each peer.
//!
//! * `count`: the guard alone, taken and dropped (single thread, then every core at once);
//! * `with_notice`: the guard plus the shutdown notice a connection task waits on, polled
//!   once (registered) and dropped, which is what every connection pays in practice, and
//!   the only form hyper-util offers (its watcher is the count and the notice in one).
//!
//! Printed first, the head-to-head figures with the variants interleaved round by round
//! (`lameduck_benches::interleaved`): `Connection` + `draining()` against tokio-util's
//! token + `cancelled()`, on one thread and on every core at once; the count alone, the
//! same way; and a request started and ended on a connection of each thread's own, every
//! core at once (the per-request path of the shared counters).

#![allow(missing_docs)] // criterion's macros generate undocumented items

use core::{hint::black_box, pin::pin, time::Duration};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode};
use lameduck::{machine::Tracker, Config, Handle, Shutdown};
use lameduck_benches::{contended, cores, interleaved, poll_once, thread_cpu};
use std::cell::RefCell;

#[path = "support/hyper_conn.rs"]
mod hyper_conn;

/// The peers, set up once, as their docs set them up for a server.
struct Peers {
    /// Runs tokio-graceful's signal task.
    _rt: tokio::runtime::Runtime,
    /// Kept alive for `lameduck`: a server keeps its `Shutdown` and hands out `Handle`s.
    _shutdown: Shutdown,
    lameduck: Handle,
    tracker: Tracker,
    task_tracker: tokio_util::task::TaskTracker,
    cancel: tokio_util::sync::CancellationToken,
    hyper_graceful: hyper_util::server::graceful::GracefulShutdown,
    /// hyper-util's own channel type, to run what `Watcher::watch` runs per connection.
    hyper_watch: tokio::sync::watch::Sender<()>,
    tokio_graceful: tokio_graceful::Shutdown,
    async_shutdown: async_shutdown::ShutdownManager<()>,
}

impl Peers {
    fn new() -> Peers {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        // tokio-graceful spawns its signal task on the runtime it is built in.
        let tokio_graceful = {
            let _enter = rt.enter();
            tokio_graceful::Shutdown::new(core::future::pending::<()>())
        };
        let shutdown = Shutdown::new(Config::new()).expect("valid config");
        Peers {
            _rt: rt,
            lameduck: shutdown.handle(),
            _shutdown: shutdown,
            tracker: Tracker::new(),
            task_tracker: tokio_util::task::TaskTracker::new(),
            cancel: tokio_util::sync::CancellationToken::new(),
            hyper_graceful: hyper_util::server::graceful::GracefulShutdown::new(),
            hyper_watch: tokio::sync::watch::channel(()).0,
            tokio_graceful,
            async_shutdown: async_shutdown::ShutdownManager::new(),
        }
    }
}

type Op = fn(&Peers);

/// Guard taken and dropped: the count alone.
const COUNT: &[(&str, Op)] = &[
    ("lameduck_track", |p| {
        let _ = black_box(p.lameduck.connection());
    }),
    ("lameduck_tracker_guard", |p| {
        let _ = black_box(p.tracker.guard());
    }),
    ("tokio_util_task_tracker_token", |p| {
        let _ = black_box(p.task_tracker.token());
    }),
    ("hyper_util_watcher", |p| {
        let _ = black_box(p.hyper_graceful.watcher());
    }),
    ("tokio_graceful_guard", |p| {
        let _ = black_box(p.tokio_graceful.guard());
    }),
    ("async_shutdown_delay_token", |p| {
        let _ = black_box(p.async_shutdown.delay_shutdown_token());
    }),
];

/// Guard plus the shutdown notice, polled once so its waker is registered, then dropped.
const WITH_NOTICE: &[(&str, Op)] = &[
    ("lameduck_track_draining", |p| {
        let guard = p.lameduck.connection().expect("running");
        let mut notice = pin!(guard.draining());
        black_box(poll_once(notice.as_mut()));
    }),
    ("tokio_util_token_cancelled", |p| {
        let token = p.task_tracker.token();
        let mut notice = pin!(p.cancel.cancelled());
        black_box(poll_once(notice.as_mut()));
        drop(token);
    }),
    ("hyper_util_watch_mechanism", |p| {
        // What `GracefulShutdown::watch` runs per connection (hyper-util 0.1.21,
        // server/graceful.rs): `tx.subscribe()`, then `rx.changed()` polled with the
        // connection. Replayed on the same tokio watch channel because `GracefulConnection`
        // is sealed; `accounting_hyper_conn` checks it on a real hyper connection.
        let mut rx = p.hyper_watch.subscribe();
        let mut notice = pin!(rx.changed());
        black_box(poll_once(notice.as_mut()));
    }),
    ("tokio_graceful_guard_cancelled", |p| {
        let guard = p.tokio_graceful.guard();
        let mut notice = pin!(guard.cancelled());
        black_box(poll_once(notice.as_mut()));
    }),
    ("async_shutdown_token_triggered", |p| {
        let token = p.async_shutdown.delay_shutdown_token();
        let mut notice = pin!(p.async_shutdown.wait_shutdown_triggered());
        black_box(poll_once(notice.as_mut()));
        drop(token);
    }),
];

/// The same notice polled twice by the same task, as an executor re-polls a connection
/// task: the second poll takes no lock.
fn draining_repolled(p: &Peers) {
    let conn = p.lameduck.connection().expect("running");
    let mut notice = pin!(conn.draining());
    black_box(poll_once(notice.as_mut()));
    black_box(poll_once(notice.as_mut()));
}

fn cancelled_repolled(p: &Peers) {
    let token = p.task_tracker.token();
    let mut notice = pin!(p.cancel.cancelled());
    black_box(poll_once(notice.as_mut()));
    black_box(poll_once(notice.as_mut()));
    drop(token);
}

thread_local! {
    /// Each thread's own connection, for the per-request figure.
    static CONNECTION: RefCell<Option<lameduck::Connection>> = const { RefCell::new(None) };
}

/// One request started and ended on this thread's own connection.
fn request(p: &Peers) {
    CONNECTION.with(|conn| {
        let mut conn = conn.borrow_mut();
        let conn = conn.get_or_insert_with(|| p.lameduck.connection().expect("running"));
        drop(black_box(conn.request()));
    });
}

/// As [`request`], with every other operation also opening and closing a connection: the
/// connection count's word and the busy count moved by the same threads.
fn request_and_track(p: &Peers) {
    request(p);
    let _ = black_box(p.lameduck.connection());
}

/// The head-to-head figures, interleaved round by round.
fn head_to_head() {
    let peers = &Peers::new();
    const ITERS: u64 = 20_000;
    let threads = cores();
    let one = |op: Op| {
        move || {
            let start = thread_cpu();
            for _ in 0..ITERS {
                op(peers);
            }
            thread_cpu() - start
        }
    };
    let many = |op: Op| move || contended(threads, ITERS, peers, op);
    let track_notice: Op = WITH_NOTICE[0].1;
    let token_notice: Op = WITH_NOTICE[1].1;
    let track: Op = COUNT[0].1;
    let token: Op = COUNT[2].1;
    println!(
        "\naccounting, interleaved: 40 rounds of {ITERS} operations (per thread, thread CPU time)"
    );
    for (name, ops) in [
        (
            "notice",
            [
                ("tokio_util_token_cancelled", token_notice),
                ("lameduck_connection_draining", track_notice),
            ],
        ),
        (
            "notice_repolled",
            [
                ("tokio_util_token_cancelled", cancelled_repolled as Op),
                ("lameduck_connection_draining", draining_repolled),
            ],
        ),
        (
            "count",
            [
                ("tokio_util_task_tracker_token", token),
                ("lameduck_connection", track),
            ],
        ),
    ] {
        let (a, b) = (one(ops[0].1), one(ops[1].1));
        interleaved(
            &format!("{name}_1thread"),
            40,
            ITERS,
            &[(ops[0].0, &a), (ops[1].0, &b)],
        );
        let (a, b) = (many(ops[0].1), many(ops[1].1));
        interleaved(
            &format!("{name}_{threads}threads"),
            40,
            ITERS,
            &[(ops[0].0, &a), (ops[1].0, &b)],
        );
    }
    let (a, b) = (many(request), many(request_and_track));
    interleaved(
        &format!("request_{threads}threads"),
        40,
        ITERS,
        &[("request", &a), ("request_and_connection", &b)],
    );
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
}

fn single(c: &mut Criterion) {
    head_to_head();
    let peers = Peers::new();
    for (group_name, ops) in [
        ("accounting_count_1thread", COUNT),
        ("accounting_notice_1thread", WITH_NOTICE),
    ] {
        let mut group = c.benchmark_group(group_name);
        configure(&mut group);
        for (name, op) in ops {
            group.bench_function(*name, |b| b.iter(|| op(&peers)));
        }
        group.finish();
    }
    hyper_conn::bench(c, &peers.hyper_graceful);
}

fn contention(c: &mut Criterion) {
    let peers = Peers::new();
    let threads = cores();
    for (group_name, ops) in [
        ("accounting_count_contended", COUNT),
        ("accounting_notice_contended", WITH_NOTICE),
    ] {
        let mut group = c.benchmark_group(format!("{group_name}_{threads}threads"));
        configure(&mut group);
        group.sampling_mode(SamplingMode::Flat);
        for (name, op) in ops {
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| contended(threads, iters, &peers, op));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, single, contention);
criterion_main!(benches);
