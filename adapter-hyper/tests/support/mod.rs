//! A small axum server under `lameduck_hyper::serve` on tokio, for the tests: routes `/`
//! (ok), `/wait` (answers when the test says so), `/big` (a 16 MiB body), `/echo` (an
//! upgrade whose handler knows nothing of lameduck: a line echo, until the peer closes),
//! `/polite` (an upgrade that says `going away` when draining starts, through the
//! `Connection` in the request), `/endless` (a body of `tick` lines, one every 50 ms,
//! marked `AtDrain::End`; `/ticks` is the same unmarked), `/events` (server-sent events in `EndAtDrain::events`).

#![allow(dead_code)]

use axum::{extract::Request, routing::get, Extension, Router};
use core::time::Duration;
use futures::future::{select, Either};
use hyper::{body::Bytes, StatusCode};
use hyper_util::rt::TokioIo;
use lameduck::{Config, Connection, Handle, Report, Shutdown, Trigger};
use std::{net::SocketAddr, sync::Arc};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    sync::{mpsc, Notify},
};

/// The size of `/big`: far more than socket buffers hold.
pub(crate) const BIG: usize = 16 << 20;

pub(crate) struct Server {
    pub addr: SocketAddr,
    pub handle: Handle,
    pub trigger: Trigger,
    /// One message per request that reached `/wait`.
    pub waiting: mpsc::UnboundedReceiver<()>,
    /// Releases every `/wait` request.
    pub release: Arc<Notify>,
    pub report: tokio::task::JoinHandle<Report>,
}

/// A server with a 20 s drain deadline: a test that waits for it has failed.
pub(crate) async fn start() -> Server {
    start_with(Config::new().drain_timeout(Duration::from_secs(20))).await
}

pub(crate) async fn start_with(config: Config) -> Server {
    let shutdown = Shutdown::new(config).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let (waiting_tx, waiting) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let wait = {
        let release = release.clone();
        move || async move {
            let released = release.notified();
            let _ = waiting_tx.send(());
            released.await;
            "done"
        }
    };
    let events = {
        let handle = handle.clone();
        move || async move {
            let body =
                lameduck_hyper::EndAtDrain::events(ticks("data: tick\n\n"), handle.draining());
            axum::body::Body::new(body)
        }
    };
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/wait", get(wait))
        .route("/big", get(|| async { Bytes::from(vec![b'x'; BIG]) }))
        .route("/echo", get(echo))
        .route("/polite", get(polite))
        .route("/endless", get(endless))
        .route("/ticks", get(|| async { ticks("tick\n") }))
        .route("/events", get(events));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = lameduck_hyper::serve(lameduck_tokio::Tokio::new(), listener, app, shutdown);
    let report = tokio::spawn(server);
    Server {
        addr,
        handle,
        trigger,
        waiting,
        release,
        report,
    }
}

fn switching(protocol: &'static str) -> hyper::Response<axum::body::Body> {
    hyper::Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", protocol)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// An upgrade handler as a user writes it without lameduck in mind: echoes lines until the
/// peer closes.
async fn echo(request: Request) -> hyper::Response<axum::body::Body> {
    tokio::spawn(async move {
        let upgraded = hyper::upgrade::on(request).await.unwrap();
        let (read, mut write) = tokio::io::split(TokioIo::new(upgraded));
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if write
                .write_all(format!("{line}\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    });
    switching("echo")
}

/// An upgrade handler that says goodbye: `going away` when draining starts, then waits for
/// the peer to close.
async fn polite(
    Extension(connection): Extension<Connection>,
    request: Request,
) -> hyper::Response<axum::body::Body> {
    tokio::spawn(async move {
        let upgraded = hyper::upgrade::on(request).await.unwrap();
        let (read, mut write) = tokio::io::split(TokioIo::new(upgraded));
        let mut lines = BufReader::new(read).lines();
        loop {
            match select(Box::pin(lines.next_line()), connection.draining()).await {
                Either::Left((Ok(Some(line)), _)) => {
                    write
                        .write_all(format!("{line}\n").as_bytes())
                        .await
                        .unwrap();
                }
                Either::Left(_) => return,
                Either::Right(_) => break,
            }
        }
        write.write_all(b"going away\n").await.unwrap();
        write.flush().await.unwrap();
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    switching("polite")
}

/// `line`, at once and then every 50 ms, forever.
fn ticks(line: &'static str) -> axum::body::Body {
    let ticks = futures::stream::unfold(true, move |first| async move {
        if !first {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some((
            Ok::<_, std::io::Error>(Bytes::from_static(line.as_bytes())),
            false,
        ))
    });
    axum::body::Body::from_stream(ticks)
}

/// An endless body the drain ends.
async fn endless() -> hyper::Response<axum::body::Body> {
    let mut response = hyper::Response::new(ticks("tick\n"));
    response
        .extensions_mut()
        .insert(lameduck_hyper::AtDrain::End);
    response
}

/// Reads an HTTP/1.1 response head and a content-length body from a raw socket.
pub(crate) async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> (String, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            reader.read_line(&mut line).await.unwrap(),
            0,
            "eof in head: {head}"
        );
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |n| n.trim().parse::<usize>().unwrap());
    let mut body = vec![0; length];
    tokio::io::AsyncReadExt::read_exact(reader, &mut body)
        .await
        .unwrap();
    (head, String::from_utf8(body).unwrap())
}

/// Bounds every wait: far above what the behaviour needs, far below the 20 s drain
/// deadline, so a drain that waited for the deadline fails here.
pub(crate) async fn bounded<F: core::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("took too long")
}

/// Waits (bounded, see [`bounded`]) until `ready` holds, looking every 10 ms.
pub(crate) async fn until(mut ready: impl FnMut() -> bool) {
    bounded(async {
        while !ready() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Asks for `/big` on `socket` and waits until the server is busy writing it and has had
/// time to fill the socket buffers of a client that does not read.
pub(crate) async fn request_big_unread(server: &Server, socket: &mut tokio::net::TcpStream) {
    socket
        .write_all(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    until(|| server.handle.snapshot().active == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}
