//! Steady HTTP/1.1 load against one address, counting every request and every failure.
//!
//! ```text
//! lameduck-loadgen --addr 127.0.0.1:8000 [--concurrency 32] [--duration-s 30]
//!                  [--stop-file PATH] [--sleep-ms 50] [--pause-ms 0]
//! ```
//!
//! Each worker keeps one keep-alive connection (reconnecting when it closes) and sends
//! `GET /` and `GET /sleep?ms=<sleep-ms>` in turn, one at a time, `--pause-ms` apart, without
//! retries. A request
//! fails if the answer is not 2xx, or if connecting, sending or reading fails (refused,
//! reset, closed early). The run ends after `--duration-s` or as soon as `--stop-file`
//! exists, whichever comes first. It prints one `loadgen:` totals line and the first
//! failures, and exits 1 if any request failed (2 on a bad command line).

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

mod client;
mod stats;

use stats::Stats;

struct Options {
    addr: String,
    concurrency: usize,
    duration: Duration,
    stop_file: Option<PathBuf>,
    sleep_ms: u64,
    pause: Duration,
}

fn parse() -> Result<Options, String> {
    let mut options = Options {
        addr: String::new(),
        concurrency: 32,
        duration: Duration::from_secs(30),
        stop_file: None,
        sleep_ms: 50,
        pause: Duration::ZERO,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--addr" => options.addr = value()?,
            "--concurrency" => options.concurrency = number(value()?)?.max(1) as usize,
            "--duration-s" => options.duration = Duration::from_secs(number(value()?)?),
            "--stop-file" => options.stop_file = Some(value()?.into()),
            "--sleep-ms" => options.sleep_ms = number(value()?)?,
            "--pause-ms" => options.pause = Duration::from_millis(number(value()?)?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.addr.is_empty() {
        return Err("--addr HOST:PORT is required".into());
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..options.concurrency)
        .map(|id| {
            let worker = client::Worker {
                id,
                addr: options.addr.clone(),
                sleep_ms: options.sleep_ms,
                pause: options.pause,
                stop: stop.clone(),
                stats: stats.clone(),
                started,
            };
            tokio::spawn(worker.run())
        })
        .collect();
    let deadline = started + options.duration;
    let mut progress = started;
    while Instant::now() < deadline {
        if options.stop_file.as_ref().is_some_and(|p| p.exists()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if progress.elapsed() >= Duration::from_secs(5) {
            progress = Instant::now();
            let s = stats.lock().unwrap();
            eprintln!(
                "loadgen: {:>5.1}s requests={} failures={}",
                started.elapsed().as_secs_f64(),
                s.requests(),
                s.failures()
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        let _ = worker.await;
    }
    let stats = stats.lock().unwrap();
    println!("{}", stats.summary(started.elapsed()));
    for failure in stats.first_failures() {
        println!("loadgen: failure {failure}");
    }
    if stats.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
