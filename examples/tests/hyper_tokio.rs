//! `hyper_tokio`, the README's first command, beyond the checks every demo gets: HTTP/2
//! prior knowledge under a shutdown, and three different signals at once.

mod support;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{bounded, Demo};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_stream_in_flight_completes_and_the_connection_gets_goaway() {
    let mut demo = Demo::start("hyper_tokio", &["--drain-timeout-ms", "20000"]).await;
    let io = TokioIo::new(TcpStream::connect(demo.addr).await.unwrap());
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(TokioExecutor::new(), io)
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let get = |path: &str| {
        Request::get(format!("http://demo{path}"))
            .body(Empty::new())
            .unwrap()
    };
    let sleeping = tokio::spawn(sender.send_request(get("/sleep?ms=800")));
    // Answered after the /sleep stream was opened on the same connection: the server has
    // accepted that stream, so it is in flight when draining starts.
    let ok = sender.send_request(get("/")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.version(), hyper::Version::HTTP_2);

    demo.term();
    demo.expect_line("phase: draining").await;
    let response = bounded("the /sleep response", sleeping)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "slept 800");
    // GOAWAY, the last stream done: the client's connection ends cleanly.
    bounded("the HTTP/2 connection to end", conn)
        .await
        .unwrap()
        .unwrap();
    let exit = demo.exit().await;
    assert_eq!(exit.code, 0, "{exit:?}");
    assert!(
        exit.last()
            .starts_with("shutdown: drained=true connections_left=0 "),
        "{exit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_different_signals_end_it_at_once_and_skip_the_hooks() {
    let demo = Demo::start("hyper_tokio", &["--drain-timeout-ms", "20000"]).await;
    let mut stream = support::Raw::connect(demo.addr).await;
    stream.get("/stream?chunks=100000&interval_ms=100").await;
    stream.head().await;
    stream.chunk().await;
    // Signals of different kinds do not merge: first, second (force), third (exit now).
    // Stopped while they are sent, the demo finds all three pending when it resumes: the
    // third reaches the driver before the hooks run, not after they are done.
    use rustix::process::Signal;
    demo.signal(Signal::STOP);
    for signal in [Signal::TERM, Signal::INT, Signal::QUIT] {
        demo.signal(signal);
    }
    demo.signal(Signal::CONT);
    let exit = demo.exit().await;
    // The contract: the third ends it at once with 128+N (through the shutdown, whose last
    // line is its report, not a death by signal), skipping the hooks not yet run.
    let third = [128 + 2, 128 + 3, 128 + 15];
    assert!(third.contains(&exit.code), "{exit:?}");
    assert!(
        exit.last().starts_with("shutdown: drained=false"),
        "{exit:?}"
    );
    assert!(
        !exit
            .stdout
            .iter()
            .any(|line| line.starts_with("hook flush:")),
        "the flush hook finished after the third signal: {exit:?}"
    );
    assert!(
        exit.stderr.matches("hook flush running").count() <= 1,
        "{exit:?}"
    );
    eprintln!("exit code after three signals: {}", exit.code);
}
