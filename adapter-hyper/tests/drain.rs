//! HTTP/1 and HTTP/2 connections under a shutdown, driven by real clients.

mod support;

use core::time::Duration;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lameduck::Phase;
use lameduck_hyper::Closed;
use support::{read_response, start, Protocol};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

/// Bounds every test: far above what the behaviour needs, far below the 20 s drain
/// deadline, so a drain that waited for the deadline fails here.
async fn bounded<F: core::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("took too long")
}

#[tokio::test]
async fn idle_keep_alive_connection_closes_when_draining_starts() {
    let mut server = start(Protocol::Auto, Duration::from_secs(30)).await;
    let mut socket = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    socket
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_response(&mut socket).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    assert_eq!(body, "ok");

    server.trigger.shutdown();
    let mut rest = Vec::new();
    bounded(socket.read_to_end(&mut rest)).await.unwrap();
    assert!(
        rest.is_empty(),
        "nothing more is sent, the connection just closes"
    );
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    // The idle grace is 30 s here: closing was hyper's graceful shutdown, not the grace.
    assert_eq!(bounded(server.closed.recv()).await, Some(Closed::Drained));
}

#[tokio::test]
async fn in_flight_http1_response_completes_with_connection_close() {
    let mut server = start(Protocol::Auto, Duration::from_secs(30)).await;
    let mut socket = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    socket
        .get_mut()
        .write_all(b"GET /wait HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    bounded(server.waiting.recv()).await.unwrap();

    server.trigger.shutdown();
    bounded(server.handle.draining()).await;
    assert_eq!(
        server.handle.snapshot().open,
        1,
        "the busy connection holds the drain"
    );
    server.release.notify_waiters();

    let (head, body) = bounded(read_response(&mut socket)).await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(body, "done");
    let mut rest = Vec::new();
    bounded(socket.read_to_end(&mut rest)).await.unwrap();
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}

#[tokio::test]
async fn http2_gets_goaway_and_finishes_the_open_stream() {
    http2_goaway(Protocol::Auto).await;
}

#[tokio::test]
async fn http2_builder_gets_goaway_and_finishes_the_open_stream() {
    http2_goaway(Protocol::Http2).await;
}

async fn http2_goaway(protocol: Protocol) {
    let mut server = start(protocol, Duration::from_secs(30)).await;
    let io = TokioIo::new(TcpStream::connect(server.addr).await.unwrap());
    let (mut sender, conn) = hyper::client::conn::http2::handshake::<_, _, Empty<bytes::Bytes>>(
        TokioExecutor::new(),
        io,
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let request = Request::get("http://x/wait").body(Empty::new()).unwrap();
    let response = tokio::spawn(sender.send_request(request));
    bounded(server.waiting.recv()).await.unwrap();

    server.trigger.shutdown();
    bounded(server.handle.draining()).await;
    server.release.notify_waiters();
    let response = bounded(response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "done"
    );
    // GOAWAY and the last stream done: the client's connection ends cleanly.
    bounded(conn).await.unwrap().unwrap();
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}

#[tokio::test]
async fn http2_idle_connection_closes_when_draining_starts() {
    let mut server = start(Protocol::Auto, Duration::from_secs(30)).await;
    let io = TokioIo::new(TcpStream::connect(server.addr).await.unwrap());
    let (mut sender, conn) = hyper::client::conn::http2::handshake::<_, _, Empty<bytes::Bytes>>(
        TokioExecutor::new(),
        io,
    )
    .await
    .unwrap();
    let conn = tokio::spawn(conn);
    let response = sender
        .send_request(Request::get("http://x/").body(Empty::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    server.trigger.shutdown();
    bounded(conn).await.unwrap().unwrap();
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    assert_eq!(bounded(server.closed.recv()).await, Some(Closed::Drained));
}

#[tokio::test]
async fn upgraded_connection_stays_counted_and_hears_going_away() {
    let server = start(Protocol::Auto, Duration::from_secs(30)).await;
    let mut socket = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    socket
        .get_mut()
        .write_all(b"GET /echo HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let (head, _) = read_response(&mut socket).await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    socket.get_mut().write_all(b"hello\n").await.unwrap();
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut socket, &mut line)
        .await
        .unwrap();
    assert_eq!(line, "hello\n");

    server.trigger.shutdown();
    line.clear();
    bounded(tokio::io::AsyncBufReadExt::read_line(
        &mut socket,
        &mut line,
    ))
    .await
    .unwrap();
    assert_eq!(line, "going away\n");
    // hyper has let go of the connection; only the upgrade guard holds the drain now.
    assert_eq!(server.handle.phase(), Phase::Draining);
    assert_eq!(server.handle.snapshot().open, 1);
    drop(socket);
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}
