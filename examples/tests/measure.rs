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

/// SIGTERM to exit, and the exit code, with one open WebSocket (`/ws`), one server-sent
/// events reader (`/events`) and one gRPC stream (`Ticks`) on `name`, with the issue's 1 s
/// lame duck and 10 s drain deadline. Every client reads on to the end, as a real one does.
async fn long_lived_to_exit(name: &'static str) -> (Duration, i32) {
    use futures_util::{SinkExt, StreamExt};
    use lameduck_examples::grpc::proto::{demo_client::DemoClient, TicksRequest};

    let demo = Demo::start(
        name,
        &["--lame-duck-ms", "1000", "--drain-timeout-ms", "10000"],
    )
    .await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", demo.addr))
        .await
        .unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::text("hi"))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap();
    let ws = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    let mut events = Raw::connect(demo.addr).await;
    events.get("/events?interval_ms=100").await;
    events.head().await;
    let events = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut rest = Vec::new();
        let _ = events.io.read_to_end(&mut rest).await;
    });
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", demo.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut ticks = DemoClient::new(channel)
        .ticks(TicksRequest {
            count: 0,
            interval_ms: 100,
        })
        .await
        .unwrap()
        .into_inner();
    ticks.message().await.unwrap();
    let ticks = tokio::spawn(async move { while let Ok(Some(_)) = ticks.message().await {} });

    let signalled = Instant::now();
    demo.term();
    let (exited, code) = exited_at(demo).await;
    let _ = tokio::join!(ws, events, ticks);
    (exited - signalled, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture on a release build"]
async fn sigterm_to_exit_with_a_websocket_an_sse_reader_and_a_grpc_stream() {
    for name in ["hyper_tokio", "hyper_smol"] {
        let mut samples = Vec::new();
        for _ in 0..3 {
            let (elapsed, code) = long_lived_to_exit(name).await;
            eprintln!("{name}: SIGTERM -> exit {elapsed:?}, exit code {code}");
            samples.push(elapsed);
        }
        summary(
            &format!("{name}: SIGTERM -> exit (1 s lame duck, 10 s deadline)"),
            samples,
        );
    }
}
