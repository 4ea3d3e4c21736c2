//! `ShutdownLayer` under `axum::serve` (a server lameduck does not run), driven by real
//! clients: the shutdown's drain waits for a response streamed at the signal, and the
//! responses of the lame duck say goodbye on HTTP/1.1.

mod support;

use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
    routing::get,
    Extension, Router,
};
use core::{convert::Infallible, time::Duration};
use http_body_util::{BodyExt, Empty};
use hyper::{body::Bytes, header, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use lameduck::{Config, Connection, Handle, Phase, Report, Shutdown, Trigger};
use lameduck_hyper::ShutdownLayer;
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use support::{bounded, read_response};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    sync::mpsc,
};

/// The chunks `/stream` sends, as the test hands them over; the body ends when the sender
/// is dropped.
type Chunks = Arc<Mutex<Option<mpsc::UnboundedReceiver<&'static str>>>>;

struct Server {
    addr: SocketAddr,
    handle: Handle,
    trigger: Trigger,
    chunks: mpsc::UnboundedSender<&'static str>,
    report: tokio::task::JoinHandle<Report>,
}

async fn stream(State(chunks): State<Chunks>) -> Response {
    let receiver = chunks.lock().unwrap().take().expect("one /stream per test");
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((
            Ok::<_, Infallible>(Bytes::from_static(chunk.as_bytes())),
            receiver,
        ))
    });
    Response::new(Body::from_stream(body))
}

/// 200 if the layer put the shutdown's handle in the request (axum answers 500 without).
async fn with_handle(Extension(handle): Extension<Handle>) -> &'static str {
    assert!(!handle.is_ready());
    "handle"
}

/// An upgrade: finds the counted connection the layer gave it, answers 101.
async fn upgrade(request: Request) -> Response {
    assert!(request.extensions().get::<Connection>().is_some());
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, "upgrade".parse().unwrap());
    headers.insert(header::UPGRADE, "test".parse().unwrap());
    response
}

/// axum::serve with the layer; the shutdown's drain waits for the layer's count only (no
/// hold), so what these tests see of the drain is the layer's doing.
async fn start(config: Config) -> Server {
    let shutdown = Shutdown::new(config).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let (sender, receiver) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/stream", get(stream))
        .route("/handle", get(with_handle))
        .route("/upgrade", get(upgrade))
        .with_state(Arc::new(Mutex::new(Some(receiver))))
        .layer(ShutdownLayer::new(handle.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let draining = handle.draining();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(draining)
            .await
            .unwrap();
    });
    let report = tokio::spawn(shutdown.run(lameduck_tokio::Tokio::new(), futures::stream::empty()));
    Server {
        addr,
        handle,
        trigger,
        chunks: sender,
        report,
    }
}

async fn ask(addr: SocketAddr, request: &str) -> (String, String) {
    let mut socket = BufReader::new(TcpStream::connect(addr).await.unwrap());
    socket
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .unwrap();
    bounded(read_response(&mut socket)).await
}

/// One chunk of a chunked body: its data, or "" for the terminator.
async fn chunk(socket: &mut BufReader<TcpStream>) -> String {
    let mut size = String::new();
    socket.read_line(&mut size).await.unwrap();
    let size = usize::from_str_radix(size.trim(), 16).unwrap();
    let mut data = vec![0; size + 2];
    socket.read_exact(&mut data).await.unwrap();
    data.truncate(size);
    String::from_utf8(data).unwrap()
}

#[tokio::test]
async fn a_stream_in_flight_holds_the_drain_and_the_lame_duck_says_goodbye() {
    let server = start(
        Config::new()
            .lame_duck(Duration::from_secs(2))
            .drain_timeout(Duration::from_secs(20)),
    )
    .await;
    let mut streamed = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    streamed
        .get_mut()
        .write_all(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        bounded(streamed.read_line(&mut head)).await.unwrap();
    }
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "running: {head}");
    server.chunks.send("chunk 0\n").unwrap();
    assert_eq!(bounded(chunk(&mut streamed)).await, "chunk 0\n");
    assert_eq!(server.handle.snapshot().active, 1, "the stream is counted");

    server.trigger.shutdown();
    bounded(server.handle.reached(Phase::LameDuck)).await;
    // Lame duck: still served, over HTTP/1.1 with connection: close, and the server
    // closes the connection after the response.
    let mut goodbye = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    goodbye
        .get_mut()
        .write_all(b"GET /handle HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = bounded(read_response(&mut goodbye)).await;
    assert_eq!(body, "handle", "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let mut rest = Vec::new();
    bounded(goodbye.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty(), "closed after the response");
    // An upgrade keeps its own connection header.
    let (head, _) = ask(
        server.addr,
        "GET /upgrade HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: test\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    // HTTP/2 has no connection header.
    let io = TokioIo::new(TcpStream::connect(server.addr).await.unwrap());
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(TokioExecutor::new(), io)
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::get(format!("http://{}/", server.addr))
        .body(Empty::new())
        .unwrap();
    let response = bounded(sender.send_request(request)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key(header::CONNECTION));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"ok");

    // The drain waits for the stream.
    bounded(server.handle.draining()).await;
    assert_eq!(
        server.handle.snapshot().open,
        1,
        "the stream holds the drain"
    );
    assert!(!server.report.is_finished());
    server.chunks.send("chunk 1\n").unwrap();
    assert_eq!(bounded(chunk(&mut streamed)).await, "chunk 1\n");
    assert!(!server.report.is_finished(), "the body has not ended");
    drop(server.chunks);
    assert_eq!(bounded(chunk(&mut streamed)).await, "", "the terminator");
    let report = bounded(server.report).await.unwrap();
    assert!(report.drained(), "{report}");
    assert_eq!(report.exit_code(), 0, "{report}");
}

#[tokio::test]
async fn a_response_cut_at_the_deadline_is_reported_cut() {
    let server = start(Config::new().drain_timeout(Duration::from_millis(300))).await;
    let mut streamed = BufReader::new(TcpStream::connect(server.addr).await.unwrap());
    streamed
        .get_mut()
        .write_all(b"GET /stream HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        bounded(streamed.read_line(&mut head)).await.unwrap();
    }
    server.trigger.shutdown();
    let report = bounded(server.report).await.unwrap();
    assert!(!report.drained(), "{report}");
    assert_eq!(report.connections_left(), 1, "{report}");
    assert_eq!(report.exit_code(), 2, "{report}");
}
