//! The contract's stdout lines (each flushed at once) and the drain progress on stderr.
//!
//! Nothing here blocks the caller: a pipe nobody reads (a stuck log collector) must not
//! stall serving or the shutdown. Each stream has a writer thread of its own, fed by a
//! channel:
//! - stdout carries the contract's lines, few by nature (one per phase and hook, and the
//!   report): never dropped, queued until written;
//! - stderr carries progress and diagnostics: at most [`STDERR_QUEUE`] lines wait, more are
//!   dropped (and counted in a note written once the stream moves again).
//!
//! [`finish`] waits for both writers, bounded by [`EXIT_FLUSH`], before it exits.
//!
//! std's channels and a thread are all this takes; a logging crate's non-blocking writer
//! (tracing-appender's) would bring a dependency for the same few lines.

use core::future::Future;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use futures::channel::oneshot;
use futures_util::{
    future::{select, Either},
    StreamExt,
};
use lameduck::{hook::HookOutcome, runtime::Timer, Handle, Phase, Report};
use std::{
    io::Write,
    sync::{mpsc, Arc, OnceLock},
    time::Instant,
};

/// How many stderr lines may wait for a stuck stderr before new ones are dropped.
pub const STDERR_QUEUE: usize = 256;

/// How long [`finish`] waits for the queued lines to be written before it exits anyway.
pub const EXIT_FLUSH: Duration = Duration::from_secs(1);

/// What a writer thread is sent.
enum Message {
    Line(String),
    /// Called once everything sent before it was written: it answers a thread ([`flush`])
    /// or a task ([`written`]).
    Flushed(Box<dyn FnOnce() + Send>),
}

/// One stream's writer thread and the way to it.
struct Writer {
    /// `Sender` for stdout (unbounded), `SyncSender` for stderr (bounded): std's two kinds.
    to: To,
    /// Lines dropped since the writer last wrote one.
    dropped: Arc<AtomicUsize>,
    /// Lines queued and not yet written: a flush with none waits for nothing (no round trip
    /// to the writer thread at exit when everything is already out).
    queued: Arc<AtomicUsize>,
}

enum To {
    Unbounded(mpsc::Sender<Message>),
    Bounded(mpsc::SyncSender<Message>),
    /// The thread could not be started: print nothing rather than block.
    Nowhere,
}

impl Writer {
    fn start(name: &str, bounded: bool, mut out: impl Write + Send + 'static) -> Writer {
        let (to, rx) = if bounded {
            let (tx, rx) = mpsc::sync_channel(STDERR_QUEUE);
            (To::Bounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::channel();
            (To::Unbounded(tx), rx)
        };
        let dropped = Arc::new(AtomicUsize::new(0));
        let seen = dropped.clone();
        let queued = Arc::new(AtomicUsize::new(0));
        let written = queued.clone();
        let spawned = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for message in rx {
                    match message {
                        Message::Line(text) => {
                            // Relaxed: a count for the note, nothing else depends on it.
                            let dropped = seen.swap(0, Ordering::Relaxed);
                            if dropped > 0 {
                                let _ =
                                    writeln!(out, "({dropped} line(s) dropped: not read in time)");
                            }
                            // A closed stream must not stop anything: the lines are for
                            // watchers only.
                            let _ = writeln!(out, "{text}");
                            let _ = out.flush();
                            // Release: a flush that reads the count sees the write done.
                            written.fetch_sub(1, Ordering::Release);
                        }
                        Message::Flushed(done) => done(),
                    }
                }
            });
        Writer {
            to: if spawned.is_ok() { to } else { To::Nowhere },
            dropped,
            queued,
        }
    }

    /// Queues `message`; `false` if it was dropped.
    fn send(&self, message: Message) -> bool {
        match &self.to {
            To::Unbounded(tx) => tx.send(message).is_ok(),
            To::Bounded(tx) => tx.try_send(message).is_ok(),
            To::Nowhere => false,
        }
    }

    fn line(&self, text: String) {
        // Counted before it is sent, so that the writer's decrement never comes first.
        self.queued.fetch_add(1, Ordering::Relaxed);
        if !self.send(Message::Line(text)) {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            // Relaxed: a count for the note, nothing else depends on it.
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether every line queued so far was written.
    fn idle(&self) -> bool {
        // Acquire: pairs with the writer's decrement after its write.
        self.queued.load(Ordering::Acquire) == 0
    }

    /// Has the writer call `done` once every line queued so far was written; `false` (and
    /// `done` dropped uncalled) if nothing is waiting to be written or there is no writer.
    fn when_written(&self, done: impl FnOnce() + Send + 'static) -> bool {
        !self.idle() && self.send(Message::Flushed(Box::new(done)))
    }

    /// Asks the writer to answer once every line queued so far was written; `None` if there
    /// is nothing to wait for.
    fn flushed(&self) -> Option<mpsc::Receiver<()>> {
        let (done, flushed) = mpsc::sync_channel(1);
        self.when_written(move || {
            let _ = done.send(());
        })
        .then_some(flushed)
    }
}

/// Waits for each answer of [`Writer::flushed`] until `until`.
fn wait_flushed(answers: impl IntoIterator<Item = Option<mpsc::Receiver<()>>>, until: Instant) {
    for flushed in answers.into_iter().flatten() {
        let _ = flushed.recv_timeout(until.saturating_duration_since(Instant::now()));
    }
}

fn writer_of(stderr: bool) -> &'static Writer {
    static STDOUT: OnceLock<Writer> = OnceLock::new();
    static STDERR: OnceLock<Writer> = OnceLock::new();
    if stderr {
        STDERR.get_or_init(|| Writer::start("demo-stderr", true, std::io::stderr()))
    } else {
        STDOUT.get_or_init(|| Writer::start("demo-stdout", false, std::io::stdout()))
    }
}

/// Prints one stdout line and flushes it, from the stdout writer thread: it never blocks
/// the caller, and is never dropped.
///
/// ```
/// lameduck_examples::output::line("phase: running");
/// ```
pub fn line(text: impl core::fmt::Display) {
    writer_of(false).line(text.to_string());
}

/// Prints one stderr line (progress, diagnostics) from the stderr writer thread: it never
/// blocks the caller; when [`STDERR_QUEUE`] lines already wait, it is dropped.
///
/// ```
/// lameduck_examples::output::diag("hook flush running");
/// ```
pub fn diag(text: impl core::fmt::Display) {
    writer_of(true).line(text.to_string());
}

/// Waits until the lines printed so far were written to stdout and stderr, at most
/// [`EXIT_FLUSH`] in all.
///
/// ```
/// lameduck_examples::output::line("phase: stopped");
/// lameduck_examples::output::flush();
/// ```
pub fn flush() {
    let until = Instant::now() + EXIT_FLUSH;
    // Both asked before either is waited for: the two writers flush at the same time.
    wait_flushed(
        [writer_of(false).flushed(), writer_of(true).flushed()],
        until,
    );
}

/// Completes once the stdout lines printed so far were written, without blocking a thread
/// (the writer thread answers the waiting task); at once if nothing waits to be
/// written or stdout has no writer.
///
/// # Cancel safety
///
/// Cancel-safe: dropping it only stops the waiting.
///
/// ```
/// # futures::executor::block_on(async {
/// lameduck_examples::output::line("phase: hooks");
/// lameduck_examples::output::written().await;
/// # });
/// ```
pub async fn written() {
    let (done, flushed) = oneshot::channel();
    if writer_of(false).when_written(move || {
        let _ = done.send(());
    }) {
        let _ = flushed.await;
    }
}

/// `listening on <scheme>://IP:PORT` (`http`, `https`), then `phase: running`, and waits (at most [`EXIT_FLUSH`])
/// until they are written: what follows (a successor telling its predecessor it serves,
/// which then prints `upgrade: handed over`) must come after them on a shared stdout.
///
/// It also starts the stderr writer, so that the shutdown's first progress line does not
/// pay for starting a thread.
///
/// ```
/// lameduck_examples::output::listening("http", "127.0.0.1:8080");
/// ```
pub fn listening(scheme: &str, addr: impl core::fmt::Display) {
    line(format_args!("listening on {scheme}://{addr}"));
    line(format_args!("phase: {}", Phase::Running));
    let _ = writer_of(true);
    wait_flushed([writer_of(false).flushed()], Instant::now() + EXIT_FLUSH);
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
/// shutdown has stopped: the line shows the signal was taken as a reload and did not end
/// the process (with TLS, the certificate reload prints its own line: see
/// [`crate::demo::tls_or_exit`]).
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
            // `Type=notify-reload`: the demo has nothing to reload, so it is done at once.
            lameduck::systemd::reloading();
            line(format_args!("reload: {signal}"));
            lameduck::systemd::reloaded();
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
        diag(format_args!(
            "draining: {} connection(s) left ({} idle), {} ms to the deadline",
            snapshot.open,
            snapshot.idle,
            left.as_millis()
        ));
        let tick = timer.sleep(Duration::from_secs(1));
        let over = handle.reached(Phase::Hooks);
        match select(core::pin::pin!(tick), over).await {
            Either::Left(_) => {}
            Either::Right(_) => return,
        }
    }
}

/// Prints each hook's line, `phase: stopped` and the `shutdown: ...` line, waits for them
/// to be written (at most [`EXIT_FLUSH`]), then exits with the report's code.
///
/// ```no_run
/// # async fn run(server: lameduck_hyper::Serving) {
/// let report = server.await;
/// lameduck_examples::output::finish(&report)
/// # }
/// ```
pub fn finish(report: &Report) -> ! {
    finish_as(report, report.exit_code().into())
}

/// As [`finish`], exiting with `code` instead of the report's (a demo whose take-over was
/// not confirmed exits 69).
///
/// ```no_run
/// # async fn run(server: lameduck_hyper::Serving) {
/// let report = server.await;
/// lameduck_examples::output::finish_as(&report, 69)
/// # }
/// ```
pub fn finish_as(report: &Report, code: i32) -> ! {
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
    flush();
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::{Writer, STDERR_QUEUE};
    use std::{
        io::{self, Write},
        sync::mpsc,
        time::{Duration, Instant},
    };

    /// A stream whose first write never returns (until the test ends), like a full pipe
    /// nobody reads; it says when that write began.
    struct Stuck(mpsc::Receiver<()>, mpsc::Sender<()>);

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            let _ = self.1.send(());
            let _ = self.0.recv();
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stream_blocks_no_caller_and_extra_lines_are_dropped() {
        let (_release, stuck) = mpsc::channel();
        let (began, writing) = mpsc::channel();
        let writer = Writer::start("test-stuck", true, Stuck(stuck, began));
        let begun = Instant::now();
        writer.line("first".into());
        // Once the writer is stuck on the first line, every line beyond the queue is dropped
        // (before that, a writer thread slow to start would take the count's first part).
        writing.recv().unwrap();
        for i in 0..STDERR_QUEUE * 4 {
            writer.line(format!("progress {i}"));
        }
        // The flush is bounded too.
        super::wait_flushed(
            [writer.flushed()],
            Instant::now() + Duration::from_millis(50),
        );
        assert!(begun.elapsed() < Duration::from_secs(5), "never blocked");
        let dropped = writer.dropped.load(core::sync::atomic::Ordering::Relaxed);
        // The writer holds the first line in its stuck write, the queue holds the next ones.
        assert_eq!(dropped, STDERR_QUEUE * 4 - STDERR_QUEUE);
    }

    /// A stream that hands each write to the test.
    struct Lines(mpsc::Sender<Vec<u8>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.0.send(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_flush_with_everything_written_waits_for_nothing() {
        let (tx, rx) = mpsc::channel();
        let writer = Writer::start("test-idle", false, Lines(tx));
        assert!(writer.flushed().is_none(), "nothing queued yet");
        writer.line("one".into());
        // The writer thread may have written the line already (then there is nothing to wait
        // for); if not, the flush answers once it has.
        if let Some(waited) = writer.flushed() {
            waited.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        // Written before the writer counted it done: `None` below means written, not lost.
        assert_eq!(rx.try_iter().flatten().collect::<Vec<u8>>(), b"one\n");
        assert!(writer.flushed().is_none(), "everything written");
    }

    #[test]
    fn stdout_lines_are_never_dropped() {
        let (tx, rx) = mpsc::channel();
        let writer = Writer::start("test-lines", false, Lines(tx));
        for i in 0..1000 {
            writer.line(format!("line {i}"));
        }
        super::wait_flushed([writer.flushed()], Instant::now() + Duration::from_secs(10));
        let written: Vec<u8> = rx.try_iter().flatten().collect();
        assert_eq!(String::from_utf8(written).unwrap().lines().count(), 1000);
    }
}
