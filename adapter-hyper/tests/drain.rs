//! HTTP/1 and HTTP/2 connections under a shutdown, driven by real clients.

mod support;

use core::time::Duration;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lameduck::{Config, Phase};
use std::time::Instant;
use support::{bounded, read_response, request_big_unread, start, start_with, until, BIG};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

#[tokio::test]
async fn idle_keep_alive_connection_closes_when_draining_starts() {
    let server = start().await;
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
}

#[tokio::test]
async fn in_flight_http1_response_completes_with_connection_close() {
    let mut server = start().await;
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
    let mut server = start().await;
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
    let server = start().await;
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
}

/// Opens `/echo` or `/polite` on a raw socket and checks one line comes back.
async fn upgrade(server: &support::Server, path: &str) -> BufReader<TcpStream> {
    let mut socket = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: x\r\n\r\n");
    socket
        .get_mut()
        .write_all(request.as_bytes())
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
    socket
}

#[tokio::test]
async fn upgraded_connection_stays_counted_and_hears_the_drain() {
    let server = start().await;
    let mut socket = upgrade(&server, "/polite").await;
    server.trigger.shutdown();
    let mut line = String::new();
    bounded(tokio::io::AsyncBufReadExt::read_line(
        &mut socket,
        &mut line,
    ))
    .await
    .unwrap();
    assert_eq!(line, "going away\n");
    // hyper has let go of the connection; only the upgraded socket holds the drain now.
    assert_eq!(server.handle.phase(), Phase::Draining);
    assert_eq!(server.handle.snapshot().open, 1);
    drop(socket);
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}

/// A handler that knows nothing of lameduck: the upgraded socket is still counted (the
/// drain waits for it), and at the deadline it is cut — the socket fails, the report says
/// so and the exit code is 2.
#[tokio::test]
async fn an_upgrade_the_handler_does_not_count_is_counted_and_cut_at_the_deadline() {
    let server = start_with(Config::new().drain_timeout(Duration::from_millis(500))).await;
    let mut socket = upgrade(&server, "/echo").await;
    server.trigger.shutdown();
    bounded(server.handle.draining()).await;
    assert_eq!(
        server.handle.snapshot().open,
        1,
        "the upgraded socket holds the drain"
    );
    // Still echoing during the drain.
    socket.get_mut().write_all(b"still here\n").await.unwrap();
    let mut line = String::new();
    bounded(tokio::io::AsyncBufReadExt::read_line(
        &mut socket,
        &mut line,
    ))
    .await
    .unwrap();
    assert_eq!(line, "still here\n");
    let report = bounded(server.report).await.unwrap();
    assert_eq!(
        (report.drained(), report.connections_left()),
        (false, 1),
        "{report}"
    );
    assert_eq!(report.exit_code(), 2);
    // The cut made the server's reads fail: its task ended and the socket closed.
    let mut rest = Vec::new();
    let _ = bounded(socket.read_to_end(&mut rest)).await;
    until(|| server.handle.snapshot().open == 0).await;
}

/// A client that does not read its response: hyper has taken the whole body, but the bytes
/// have not reached the client. The connection is busy, not idle: the drain waits for it,
/// and once the client reads, it gets every byte and the drain is clean.
#[tokio::test]
async fn a_slow_reader_is_waited_for_and_gets_its_whole_response() {
    let server = start().await;
    let mut socket = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    request_big_unread(&server, socket.get_mut()).await;
    server.trigger.shutdown();
    // Well past the idle grace (1 s): a connection counted idle would have been dropped.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.handle.snapshot().open,
        1,
        "the unread response holds the drain"
    );
    assert_eq!(
        server.handle.snapshot().active,
        1,
        "and it is busy, not idle"
    );
    let mut all = Vec::new();
    bounded(socket.read_to_end(&mut all)).await.unwrap();
    let body_start = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(all.len() - body_start, BIG, "every byte arrived");
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    assert_eq!(report.exit_code(), 0);
}

/// The same client never reads: at the deadline the connection is cut, and the report says
/// so — never `drained=true`.
#[tokio::test]
async fn a_response_that_never_reaches_its_client_is_reported_cut() {
    let server = start_with(Config::new().drain_timeout(Duration::from_millis(1500))).await;
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    request_big_unread(&server, &mut socket).await;
    let started = Instant::now();
    server.trigger.shutdown();
    let report = bounded(server.report).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "waited for the deadline"
    );
    assert_eq!(
        (report.drained(), report.connections_left()),
        (false, 1),
        "{report}"
    );
    assert_eq!(report.exit_code(), 2);
    drop(socket);
}

/// A client that sends its request and shuts its write side still gets the answer, before
/// and during the drain.
#[tokio::test]
async fn a_half_closed_client_gets_its_answer() {
    let mut server = start().await;
    for during_drain in [false, true] {
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        socket
            .write_all(b"GET /wait HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        socket.shutdown().await.unwrap();
        bounded(server.waiting.recv()).await.unwrap();
        if during_drain {
            server.trigger.shutdown();
            bounded(server.handle.draining()).await;
        }
        server.release.notify_waiters();
        let mut socket = BufReader::new(socket);
        let (head, body) = bounded(read_response(&mut socket)).await;
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert_eq!(body, "done");
    }
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
}
