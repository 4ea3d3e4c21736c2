//! The contract's "Saying goodbye from the first signal", on the tokio and smol demos: from
//! the first signal, while the listener still accepts, HTTP/1.1 responses carry
//! `connection: close` (on a reused keep-alive connection and on a fresh one) and HTTP/2
//! connections get GOAWAY; an HTTP/2 client that never writes again after its stream (so
//! never answers the GOAWAY's PING) is closed and counted as drained, not held to the
//! deadline.

mod support;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{bounded, Demo, Raw};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const RUNTIMES: [&str; 2] = ["hyper_tokio", "hyper_smol"];

/// Runs `check` on both demos at once; a failure names the demo.
async fn each<F, Fut>(check: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: core::future::Future<Output = ()> + Send + 'static,
{
    let runs: Vec<_> = RUNTIMES
        .iter()
        .map(|name| (name, tokio::spawn(check(name))))
        .collect();
    for (name, run) in runs {
        if let Err(error) = run.await {
            panic!("{name}: {error}");
        }
    }
}

fn says_close(head: &str) -> bool {
    head.lines().any(|l| l.trim() == "connection: close")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lame_duck_responses_say_connection_close_on_reused_and_fresh_connections() {
    each(|name| async move {
        let mut demo = Demo::start(
            name,
            &["--lame-duck-ms", "4000", "--drain-timeout-ms", "20000"],
        )
        .await;
        let mut reused = Raw::connect(demo.addr).await;
        reused.get("/").await;
        let (status, head, _) = reused.response().await;
        assert_eq!(status, 200);
        assert!(!says_close(&head), "{name}: running: {head}");

        demo.term();
        demo.expect_line("phase: lame-duck").await;
        // The keep-alive connection opened before the signal: answered, told to leave,
        // then closed by the server after the response.
        reused.get("/").await;
        let (status, head, body) = reused.response().await;
        assert_eq!((status, body.as_str()), (200, "ok"), "{name}");
        assert!(says_close(&head), "{name}: reused: {head}");
        assert!(reused.closed().await, "{name}: reused left open");

        // A connection accepted during the lame duck: served, and told the same.
        let mut fresh = Raw::connect(demo.addr).await;
        fresh.get("/healthz").await;
        let (status, head, body) = fresh.response().await;
        assert_eq!((status, body.as_str()), (503, "draining"), "{name}");
        assert!(says_close(&head), "{name}: fresh: {head}");
        assert!(fresh.closed().await, "{name}: fresh left open");

        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0 "),
            "{name}: {exit:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_goodbye_at_the_drain_lame_duck_responses_keep_the_connection() {
    each(|name| async move {
        let drain = std::ffi::OsStr::new("drain");
        let mut demo = Demo::start_with_env(
            name,
            &["--lame-duck-ms", "2000", "--drain-timeout-ms", "20000"],
            &[("LAMEDUCK_DEMO_GOODBYE", drain)],
        )
        .await;
        let mut reused = Raw::connect(demo.addr).await;
        demo.term();
        demo.expect_line("phase: lame-duck").await;
        reused.get("/").await;
        let (status, head, _) = reused.response().await;
        assert_eq!(status, 200, "{name}");
        assert!(!says_close(&head), "{name}: {head}");
        // Idle at the drain: closed then, as before the goodbye moved to the first signal.
        demo.expect_line("phase: draining").await;
        assert!(reused.closed().await, "{name}");
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_gets_goaway_at_the_first_signal_while_the_listener_accepts() {
    each(|name| async move {
        let mut demo = Demo::start(
            name,
            &["--lame-duck-ms", "6000", "--drain-timeout-ms", "20000"],
        )
        .await;
        let io = TokioIo::new(TcpStream::connect(demo.addr).await.unwrap());
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(TokioExecutor::new(), io)
                .await
                .unwrap();
        let conn = tokio::spawn(conn);
        let get = || Request::get("http://demo/").body(Empty::new()).unwrap();
        let ok = sender.send_request(get()).await.unwrap();
        assert_eq!(ok.status(), 200, "{name}");

        demo.term();
        demo.expect_line("phase: lame-duck").await;
        // GOAWAY (and its PING, which hyper's client answers): the connection ends cleanly
        // with no stream open, during the lame duck.
        bounded("the HTTP/2 connection to end", conn)
            .await
            .unwrap()
            .unwrap();
        assert!(sender.send_request(get()).await.is_err(), "{name}");
        // Still the lame duck: the listener accepts and serves a new connection.
        let mut fresh = Raw::connect(demo.addr).await;
        fresh.get("/").await;
        let (status, head, _) = fresh.response().await;
        assert_eq!(status, 200, "{name}");
        assert!(says_close(&head), "{name}: {head}");
        let exit = demo.exit().await;
        let lame_duck = exit
            .stdout
            .iter()
            .position(|l| l == "phase: lame-duck")
            .unwrap();
        let draining = exit
            .stdout
            .iter()
            .position(|l| l == "phase: draining")
            .unwrap();
        assert!(lame_duck < draining, "{name}: {exit:?}");
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
    })
    .await;
}

/// A raw HTTP/2 client over cleartext (prior knowledge) that opens one stream, reads its
/// response to the end, and from then on only reads: it never answers a PING.
struct SilentH2 {
    io: TcpStream,
}

/// Frame types.
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
const END_STREAM: u8 = 1;

impl SilentH2 {
    async fn connect(addr: core::net::SocketAddr) -> SilentH2 {
        let mut io = TcpStream::connect(addr).await.unwrap();
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend_from_slice(&frame(SETTINGS, 0, 0, &[]));
        // GET / over http, from HPACK's static table: :method GET, :scheme http, :path /.
        hello.extend_from_slice(&frame(HEADERS, END_STREAM | 4, 1, &[0x82, 0x86, 0x84]));
        io.write_all(&hello).await.unwrap();
        SilentH2 { io }
    }

    /// The next frame: (type, flags, stream), or `None` at the end of the connection.
    async fn frame(&mut self) -> Option<(u8, u8, u32)> {
        let mut head = [0; 9];
        if self.io.read_exact(&mut head).await.is_err() {
            return None;
        }
        let length = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let mut payload = vec![0; length];
        self.io.read_exact(&mut payload).await.ok()?;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        Some((head[3], head[4], stream))
    }

    /// Reads up to the end of stream 1's response, acknowledging the server's SETTINGS
    /// (its last write).
    async fn finish_stream(&mut self) {
        loop {
            let (kind, flags, stream) = self.frame().await.expect("the response");
            if kind == SETTINGS && flags & 1 == 0 {
                self.io
                    .write_all(&frame(SETTINGS, 1, 0, &[]))
                    .await
                    .unwrap();
            }
            if (kind == DATA || kind == HEADERS) && stream == 1 && flags & END_STREAM != 0 {
                return;
            }
        }
    }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = payload.len() as u32;
    let mut frame = length.to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_client_that_never_answers_the_ping_is_closed_and_drained_not_cut() {
    each(|name| async move {
        // The deadline is far: held to it, the connection would be cut (exit 2).
        let mut demo = Demo::start(
            name,
            &["--lame-duck-ms", "1000", "--drain-timeout-ms", "30000"],
        )
        .await;
        let mut client = SilentH2::connect(demo.addr).await;
        bounded("the response", client.finish_stream()).await;

        demo.term();
        demo.expect_line("phase: lame-duck").await;
        let frames = bounded("the server to close", async {
            let mut kinds = Vec::new();
            while let Some((kind, _, _)) = client.frame().await {
                kinds.push(kind);
            }
            kinds
        })
        .await;
        assert!(frames.contains(&GOAWAY), "{name}: {frames:?}");
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0 "),
            "{name}: {exit:?}"
        );
    })
    .await;
}
