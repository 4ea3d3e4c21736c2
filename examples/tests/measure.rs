//! Measures `hyper_tokio`'s shutdown latency (ignored by default; run it on a release build):
//!
//! ```text
//! cargo test --release -p lameduck-examples --test measure -- --ignored --nocapture --test-threads 1
//! ```
//!
//! - from the last in-flight response's last byte (as the client reads it) to process exit;
//! - from SIGTERM to process exit with 200 idle keep-alive connections open.

mod support;

use core::time::Duration;
use std::time::Instant;
use support::{Demo, Raw};

const RUNS: usize = 15;

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "{label}: median {:.2} ms, min {:.2} ms, max {:.2} ms over {} runs",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

/// Waits for the demo's exit and returns when it was seen.
async fn exited_at(demo: Demo) -> (Instant, i32) {
    let exit = demo.exit().await;
    (Instant::now(), exit.code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture on a release build"]
async fn last_response_to_exit() {
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let mut demo = Demo::start("hyper_tokio", &["--lame-duck-ms", "100"]).await;
        demo.term();
        demo.expect_line("phase: lame-duck").await;
        let mut sleeper = Raw::connect(demo.addr).await;
        sleeper.get("/sleep?ms=300").await;
        demo.expect_line("phase: draining").await;
        let (status, _, _) = sleeper.response().await;
        let answered = Instant::now();
        assert_eq!(status, 200);
        let (exited, code) = exited_at(demo).await;
        assert_eq!(code, 0);
        samples.push(exited - answered);
    }
    summary("last in-flight response -> exit", samples);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture on a release build"]
async fn sigterm_to_exit_with_200_idle_keep_alive_connections() {
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let demo = Demo::start("hyper_tokio", &[]).await;
        let mut idle = Vec::new();
        for _ in 0..200 {
            let mut raw = Raw::connect(demo.addr).await;
            raw.get("/").await;
            assert_eq!(raw.response().await.0, 200);
            idle.push(raw);
        }
        let signalled = Instant::now();
        demo.term();
        let (exited, code) = exited_at(demo).await;
        assert_eq!(code, 0);
        samples.push(exited - signalled);
        drop(idle);
    }
    summary("SIGTERM -> exit, 200 idle keep-alive connections", samples);
}
