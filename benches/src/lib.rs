//! Helpers shared by the benchmarks of lameduck against its peers.
//!
//! The criterion benches live in `benches/*.rs`; the load-test servers in `src/bin/`; the
//! load scripts in `scripts/`. See `README.md` for what each measures and the results.

pub mod load;
pub mod shutdown_client;

use core::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicBool, Ordering},
    task::{Context, Poll},
    time::Duration,
};
use std::{
    sync::{Arc, Barrier, Mutex},
    time::Instant,
};

/// Runs `op` `iters` times on each of `threads` threads at once (they start together behind a
/// barrier) and returns the most CPU time one thread's loop took: the time of `iters`
/// operations per thread under contention. Each thread times its own loop, in its own CPU
/// time ([`thread_cpu`]): a wall clock read by the spawning thread after the barrier may run
/// late on a loaded machine, when the loops are already done, and on a shared machine wall
/// time counts the time other processes ran.
///
/// ```
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// let counter = AtomicUsize::new(0);
/// lameduck_benches::contended(2, 10, &counter, |c| {
///     c.fetch_add(1, Ordering::Relaxed);
/// });
/// assert_eq!(counter.into_inner(), 20);
/// ```
pub fn contended<S: Sync>(
    threads: usize,
    iters: u64,
    state: &S,
    op: impl Fn(&S) + Sync,
) -> Duration {
    let barrier = Barrier::new(threads);
    let longest = Mutex::new(Duration::ZERO);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                let start = thread_cpu();
                for _ in 0..iters {
                    op(state);
                }
                let took = thread_cpu() - start;
                let mut longest = longest.lock().expect("not poisoned");
                *longest = (*longest).max(took);
            });
        }
    });
    longest.into_inner().expect("not poisoned")
}

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): what the benches
/// time with on this shared machine, where wall time mostly measures the other processes.
///
/// ```
/// let a = lameduck_benches::thread_cpu();
/// assert!(lameduck_benches::thread_cpu() >= a);
/// ```
pub fn thread_cpu() -> Duration {
    cpu(rustix::time::ClockId::ThreadCPUTime)
}

/// The CPU time the whole process has used, every thread's (`CLOCK_PROCESS_CPUTIME_ID`).
///
/// ```
/// let a = lameduck_benches::process_cpu();
/// assert!(lameduck_benches::process_cpu() >= a);
/// ```
pub fn process_cpu() -> Duration {
    cpu(rustix::time::ClockId::ProcessCPUTime)
}

fn cpu(clock: rustix::time::ClockId) -> Duration {
    let t = rustix::time::clock_gettime(clock);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// How many threads the contended benches use: every core the machine has.
///
/// ```
/// assert!(lameduck_benches::cores() >= 1);
/// ```
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Polls `future` once with a waker that does nothing, as an executor's first poll would
/// (registering the future's waker wherever it waits), and returns whether it was ready.
///
/// ```
/// let mut ready = core::pin::pin!(async { 1 });
/// assert!(lameduck_benches::poll_once(ready.as_mut()));
/// let mut pending = core::pin::pin!(futures::future::pending::<()>());
/// assert!(!lameduck_benches::poll_once(pending.as_mut()));
/// ```
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    future.poll(&mut cx).is_ready()
}

/// Wraps a waiter for the wake-up benches: sets `parked` once the inner future has returned
/// `Pending` (its waker is registered, so it is really waiting), and resolves to the instant
/// the waiting task ran again and saw the inner future complete.
///
/// # Cancel safety
///
/// Dropping it drops the inner future; nothing else is lost.
///
/// ```
/// use std::sync::{atomic::AtomicBool, Arc};
/// let parked = Arc::new(AtomicBool::new(false));
/// let woke = futures::executor::block_on(lameduck_benches::Waiter::new(async {}, parked.clone()));
/// assert!(woke.elapsed().as_secs() < 60);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Waiter<F> {
    inner: Pin<Box<F>>,
    parked: Arc<AtomicBool>,
}

impl<F: Future> Waiter<F> {
    /// Wraps `inner`; `parked` is set after its first `Pending`.
    ///
    /// ```
    /// use std::sync::{atomic::AtomicBool, Arc};
    /// let _w = lameduck_benches::Waiter::new(async {}, Arc::new(AtomicBool::new(false)));
    /// ```
    pub fn new(inner: F, parked: Arc<AtomicBool>) -> Waiter<F> {
        Waiter {
            inner: Box::pin(inner),
            parked,
        }
    }
}

impl<F: Future> Future for Waiter<F> {
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let this = self.get_mut();
        match this.inner.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(Instant::now()),
            Poll::Pending => {
                // Release: the bench thread that sees the flag sees the registered waker.
                this.parked.store(true, Ordering::Release);
                Poll::Pending
            }
        }
    }
}

/// Spins (yielding the thread) until `flag` is set.
///
/// ```
/// let flag = std::sync::atomic::AtomicBool::new(true);
/// lameduck_benches::spin_until(&flag);
/// ```
pub fn spin_until(flag: &AtomicBool) {
    // Acquire pairs with the Release in `Waiter::poll`.
    while !flag.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
}

/// A measured variant for [`interleaved`]: its name and one round of it, returning the time
/// the round's operations took.
pub type Variant<'a> = (&'a str, &'a dyn Fn() -> Duration);

/// Runs the variants interleaved, round by round (each round runs every variant once, the
/// order rotated from one round to the next so that none always runs first), and prints per
/// variant the median time per operation over the rounds, the spread (the fastest and the
/// slowest round) and two ratios to the first variant: of the medians, and the median of the
/// rounds' own ratios (each round's variants ran back to back, under the same load). Returns
/// the medians, in ns per operation.
///
/// ```
/// use core::time::Duration;
/// let medians = lameduck_benches::interleaved(
///     "doc",
///     3,
///     1,
///     &[("a", &|| Duration::from_nanos(10)), ("b", &|| Duration::from_nanos(20))],
/// );
/// assert_eq!(medians, vec![10.0, 20.0]);
/// ```
pub fn interleaved(
    name: &str,
    rounds: usize,
    ops_per_round: u64,
    variants: &[Variant<'_>],
) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(rounds); variants.len()];
    for round in 0..rounds {
        for k in 0..variants.len() {
            let i = (round + k) % variants.len();
            let took = (variants[i].1)();
            times[i].push(took.as_secs_f64() * 1e9 / ops_per_round as f64);
        }
    }
    let median = |values: &[f64]| {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let medians: Vec<f64> = times.iter().map(|t| median(t)).collect();
    println!(
        "{name:<40} {:<32} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "variant", "median ns", "min", "max", "ratio", "rounds"
    );
    for (i, (variant, _)) in variants.iter().enumerate() {
        let (min, max) = times[i]
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &t| (lo.min(t), hi.max(t)));
        let per_round: Vec<f64> = times[i].iter().zip(&times[0]).map(|(t, b)| t / b).collect();
        println!(
            "{:<40} {variant:<32} {:>10.1} {min:>10.1} {max:>10.1} {:>7.3}× {:>7.3}×",
            "",
            medians[i],
            medians[i] / medians[0],
            median(&per_round)
        );
    }
    medians
}

/// The client of the per-request benches: `requests` requests `GET /` sent one after another
/// on one keep-alive HTTP/1.1 connection over `io` (hyper's client), each answer checked to
/// be `ok`; then the connection is closed and its task awaited.
pub async fn get_ok(io: tokio::io::DuplexStream, requests: u64) {
    use http_body_util::BodyExt;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .expect("handshake");
    let client = tokio::spawn(conn);
    for _ in 0..requests {
        sender.ready().await.expect("ready");
        let request = hyper::Request::get("/")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        let body = response.into_body().collect().await.expect("body");
        assert_eq!(body.to_bytes().as_ref(), b"ok");
    }
    drop(sender);
    let _ = client.await;
}

/// The two settings of the per-request benches, each a name, a tokio runtime and how many
/// connections send at once: one connection on a current-thread runtime (the cost of one
/// request with nothing else running), and two connections on two workers (the cost when
/// counted requests of different connections meet on the shared counters).
pub fn per_request_settings() -> [(&'static str, tokio::runtime::Runtime, usize); 2] {
    let (current, multi) = tokio_runtimes();
    [
        ("1conn_current_thread", current, 1),
        ("2conns_2threads", multi, 2),
    ]
}

/// The two tokio runtimes the benches compare on: a current-thread one, and a multi-thread
/// one with two workers (this machine's cores).
pub fn tokio_runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Runtime) {
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    (current, multi)
}
