//! Connections that never send a request must not hold the drain to its deadline.

mod support;

use core::time::Duration;
use lameduck_hyper::Closed;
use std::time::Instant;
use support::{start, Protocol};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn bounded<F: core::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("took too long")
}

/// A connection that sent nothing (or half a request) is closed when draining starts,
/// after at most the grace; `expect` says which way.
async fn silent(protocol: Protocol, bytes: &[u8], grace: Duration, expect: Closed) {
    let mut server = start(protocol, grace).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    socket.write_all(bytes).await.unwrap();
    bounded(server.accepted.recv()).await.unwrap();
    let started = Instant::now();
    server.trigger.shutdown();
    let mut rest = Vec::new();
    let _ = bounded(socket.read_to_end(&mut rest)).await;
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    assert_eq!(bounded(server.closed.recv()).await, Some(expect));
    if expect == Closed::Idle {
        assert!(started.elapsed() >= grace, "not before the grace");
    }
}

#[tokio::test]
async fn auto_builder_closes_a_silent_connection_at_once() {
    // hyper-util's protocol detection is cancelled by graceful_shutdown: no grace needed.
    silent(
        Protocol::Auto,
        b"",
        Duration::from_secs(30),
        Closed::Drained,
    )
    .await;
}

#[tokio::test]
async fn http1_builder_closes_a_silent_connection() {
    silent(
        Protocol::Http1,
        b"",
        Duration::from_secs(30),
        Closed::Drained,
    )
    .await;
}

#[tokio::test]
async fn half_a_request_is_dropped_after_the_grace() {
    let grace = Duration::from_millis(300);
    silent(
        Protocol::Auto,
        b"GET / HTTP/1.1\r\nhost:",
        grace,
        Closed::Idle,
    )
    .await;
}

#[tokio::test]
async fn half_an_http2_preface_closes_at_once() {
    // Still in protocol detection: cancelled like a silent connection.
    silent(
        Protocol::Auto,
        b"PRI * HTTP/2.0\r\n",
        Duration::from_secs(30),
        Closed::Drained,
    )
    .await;
}

#[tokio::test]
async fn http2_builder_closes_a_silent_connection() {
    // hyper's HTTP/2 handshake is abandoned by graceful_shutdown, or the grace drops it.
    let grace = Duration::from_millis(300);
    let mut server = start(Protocol::Http2, grace).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    bounded(server.accepted.recv()).await.unwrap();
    server.trigger.shutdown();
    let mut rest = Vec::new();
    let _ = bounded(socket.read_to_end(&mut rest)).await;
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    let closed = bounded(server.closed.recv()).await.unwrap();
    assert!(
        matches!(closed, Closed::Drained | Closed::Idle),
        "{closed:?}"
    );
}
