//! Connections that never send a request must not hold the drain to its deadline.

mod support;

use core::time::Duration;
use std::time::Instant;
use support::{bounded, start};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Sends `bytes`, starts the shutdown, and returns how long the server took to close the
/// connection; the drain must still be clean.
async fn closes_after(bytes: &[u8]) -> Duration {
    let server = start().await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(bytes).await.unwrap();
    bounded(async {
        while server.handle.snapshot().open != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let started = Instant::now();
    server.trigger.shutdown();
    let mut rest = Vec::new();
    let _ = bounded(socket.read_to_end(&mut rest)).await;
    let closed = started.elapsed();
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    closed
}

/// The idle grace the server gives a connection that sits idle after draining started.
const GRACE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_silent_connection_closes_at_once() {
    // hyper-util's protocol detection is cancelled by graceful_shutdown: no grace needed.
    assert!(closes_after(b"").await < GRACE);
}

#[tokio::test]
async fn half_an_http2_preface_closes_at_once() {
    // Still in protocol detection: cancelled like a silent connection.
    assert!(closes_after(b"PRI * HTTP/2.0\r\n").await < GRACE);
}

#[tokio::test]
async fn half_a_request_is_dropped_after_the_grace() {
    let closed = closes_after(b"GET / HTTP/1.1\r\nhost:").await;
    assert!(closed >= GRACE, "not before the grace: {closed:?}");
}
