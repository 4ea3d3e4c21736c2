//! Connections that never send a request must not hold the drain to its deadline.

mod support;

use core::time::Duration;
use std::time::Instant;
use support::{bounded, start, until};
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
    until(|| server.handle.snapshot().open == 1).await;
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
    // After a short grace for its first bytes, hyper-util's protocol detection is
    // cancelled by graceful_shutdown: no idle grace.
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

/// A connection accepted a moment before the drain, whose request arrives just after it
/// began (an in-place upgrade hands over at any moment): answered, not closed unheard.
#[tokio::test]
async fn a_request_sent_just_after_the_drain_began_is_answered() {
    use tokio::io::BufReader;
    let server = start().await;
    let mut socket = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    until(|| server.handle.snapshot().open == 1).await;
    server.trigger.shutdown();
    bounded(server.handle.draining()).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    socket
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = bounded(support::read_response(&mut socket)).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, "ok");
    let mut rest = Vec::new();
    bounded(socket.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty(), "then the connection closes");
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}
