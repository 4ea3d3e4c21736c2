//! The contract's stdout lines (each flushed at once) and the drain progress on stderr.

use core::future::Future;
use core::time::Duration;
use futures_util::{
    future::{select, Either},
    StreamExt,
};
use lameduck::{Handle, HookOutcome, Phase, Report, Timer};
use std::io::Write;

/// Prints one stdout line and flushes it.
///
/// ```
/// lameduck_examples::output::line("phase: running");
/// ```
pub fn line(text: impl core::fmt::Display) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout must not stop a shutdown: the lines are for watchers only.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// `listening on http://IP:PORT`, then `phase: running`.
///
/// ```
/// lameduck_examples::output::listening("127.0.0.1:8080");
/// ```
pub fn listening(addr: impl core::fmt::Display) {
    line(format_args!("listening on http://{addr}"));
    line(format_args!("phase: {}", Phase::Running));
}

/// Prints `phase: lame-duck`, `phase: draining`, `phase: hooks` as the shutdown reaches
/// them; completes once the hooks phase (or the end) is reached. `phase: stopped` is
/// printed by [`finish`], after the hook lines.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only stops the printing.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let phases = tokio::spawn(lameduck_examples::output::phases(shutdown.handle()));
/// # drop(phases);
/// # });
/// ```
pub async fn phases(handle: Handle) {
    for phase in [Phase::LameDuck, Phase::Draining, Phase::Hooks] {
        handle.reached(phase).await;
        line(format_args!("phase: {phase}"));
    }
}

/// Prints `reload: <signal>` (`reload: SIGHUP`) for each reload request, until the
/// shutdown has stopped. The demos have nothing to reload: the line shows the signal was
/// taken as a reload and did not end the process.
///
/// It subscribes when called, not when first polled: call it before the shutdown runs, so
/// a reload the driver takes before the printing task first runs is printed too.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only stops the printing.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// tokio::spawn(lameduck_examples::output::reloads(shutdown.handle()));
/// # });
/// ```
pub fn reloads(handle: Handle) -> impl Future<Output = ()> + Send {
    let mut reloads = handle.reloads();
    async move {
        while let Some(signal) = reloads.next().await {
            line(format_args!("reload: {signal}"));
        }
    }
}

/// While draining, about once a second: connections left and time to the deadline, on
/// stderr. Completes when the drain is over.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only stops the progress lines.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let shutdown = lameduck::Shutdown::new(lameduck::Config::new()).unwrap();
/// let timer = lameduck_tokio::Tokio::new();
/// tokio::spawn(lameduck_examples::output::progress(shutdown.handle(), timer));
/// # });
/// ```
pub async fn progress<T: Timer>(handle: Handle, timer: T) {
    handle.draining().await;
    let deadline = timer.now() + handle.config().drain_timeout;
    loop {
        let snapshot = handle.snapshot();
        let left = deadline.saturating_sub(timer.now());
        eprintln!(
            "draining: {} connection(s) left ({} idle), {} ms to the deadline",
            snapshot.open,
            snapshot.idle,
            left.as_millis()
        );
        let tick = timer.sleep(Duration::from_secs(1));
        let over = handle.reached(Phase::Hooks);
        match select(core::pin::pin!(tick), over).await {
            Either::Left(_) => {}
            Either::Right(_) => return,
        }
    }
}

/// Prints each hook's line, `phase: stopped` and the `shutdown: ...` line, then exits
/// with the report's code.
///
/// ```no_run
/// # async fn run(server: lameduck_hyper::Serving) {
/// let report = server.await;
/// lameduck_examples::output::finish(&report)
/// # }
/// ```
pub fn finish(report: &Report) -> ! {
    for hook in report.hooks() {
        // Hooks a third signal cut off never finished: they have no line.
        if matches!(
            hook.outcome(),
            HookOutcome::Skipped | HookOutcome::Interrupted
        ) {
            continue;
        }
        line(hook);
    }
    line(format_args!("phase: {}", Phase::Stopped));
    line(report);
    std::process::exit(report.exit_code().into())
}
