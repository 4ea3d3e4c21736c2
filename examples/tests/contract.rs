//! The demo-server contract, checked on every demo (`hyper_tokio`, `hyper_smol`, `axum`,
//! `seed`) as a child process driven by real clients. Each test runs the four demos at once.

mod support;

use support::{each_demo, refused, Demo, Raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_option_value_exits_64_before_binding() {
    each_demo(|name| async move {
        let exit = Demo::run(name, &["--drain-timeout-ms", "soon"]).await;
        assert_eq!(exit.code, 64, "{name}: {exit:?}");
        assert!(
            exit.stdout.is_empty(),
            "{name}: nothing bound, nothing printed: {exit:?}"
        );
        let lines: Vec<_> = exit.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: one line: {exit:?}");
        assert!(
            lines[0].contains("--drain-timeout-ms"),
            "{name}: names the option: {exit:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_and_a_malformed_query_is_400() {
    each_demo(|name| async move {
        let demo = Demo::start(name, &[]).await;
        let mut raw = Raw::connect(demo.addr).await;
        for (path, status, body) in [
            ("/", 200, "ok"),
            ("/sleep?ms=abc", 400, ""),
            ("/sleep?ms=5", 200, "slept 5"),
            ("/healthz", 200, "ok"),
            (
                "/stream?chunks=3&interval_ms=1",
                200,
                "chunk 0\nchunk 1\nchunk 2\n",
            ),
            ("/nowhere", 404, ""),
            ("/", 200, "ok"), // the server went on after the 400
        ] {
            raw.get(path).await;
            let (got, _, text) = raw.response().await;
            assert_eq!(got, status, "{name} {path}: {text}");
            if status == 400 {
                assert!(
                    text.contains("ms") && !text.trim_end().contains('\n'),
                    "{name}: one-line reason: {text:?}"
                );
            } else if !body.is_empty() {
                assert_eq!(text, body, "{name} {path}");
            }
        }
        demo.term();
        assert_eq!(demo.exit().await.code, 0, "{name}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_work_and_refuses_new_connections() {
    each_demo(|name| async move {
        let mut demo = Demo::start(
            name,
            &["--lame-duck-ms", "600", "--drain-timeout-ms", "20000"],
        )
        .await;
        // An idle keep-alive connection: must not hold the shutdown back.
        let mut idle = Raw::connect(demo.addr).await;
        idle.get("/").await;
        assert_eq!(idle.response().await.0, 200, "{name}");
        // A stream in flight (its first chunk proves it).
        let mut stream = Raw::connect(demo.addr).await;
        stream.get("/stream?chunks=8&interval_ms=150").await;
        let head = stream.head().await;
        assert!(head.starts_with("http/1.1 200"), "{name}: {head}");
        assert_eq!(stream.chunk().await, "chunk 0\n", "{name}");

        demo.term();
        demo.expect_line("phase: lame-duck").await;
        // Lame duck: not ready, still serving.
        let mut probe = Raw::connect(demo.addr).await;
        probe.get("/healthz").await;
        let (status, head, body) = probe.response().await;
        assert_eq!((status, body.as_str()), (503, "draining"), "{name}");
        // Told to leave (the goodbye from the first signal): the next request goes on a
        // new connection, still accepted and served.
        assert!(head.contains("connection: close"), "{name}: {head}");
        let mut probe = Raw::connect(demo.addr).await;
        probe.get("/").await;
        assert_eq!(probe.response().await.0, 200, "{name}");
        // A request started during the lame-duck period, in flight when draining starts.
        let mut sleeper = Raw::connect(demo.addr).await;
        sleeper.get("/sleep?ms=1000").await;

        demo.expect_line("phase: draining").await;
        refused(demo.addr).await;
        assert!(
            idle.closed().await,
            "{name}: the idle connection is closed at once"
        );
        let (status, head, body) = sleeper.response().await;
        assert_eq!((status, body.as_str()), (200, "slept 1000"), "{name}");
        assert!(head.contains("connection: close"), "{name}: {head}");
        assert!(sleeper.closed().await, "{name}");
        let mut rest = String::new();
        loop {
            let chunk = stream.chunk().await;
            if chunk.is_empty() {
                break;
            }
            rest.push_str(&chunk);
        }
        assert_eq!(
            rest, "chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\nchunk 6\nchunk 7\n",
            "{name}"
        );

        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert_eq!(exit.count("hook flush: ok"), 1, "{name}: {exit:?}");
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0 "),
            "{name}: {exit:?}"
        );
        assert!(exit.last().ends_with(" reason=SIGTERM"), "{name}: {exit:?}");
        let phases: Vec<_> = exit
            .stdout
            .iter()
            .filter(|l| l.starts_with("phase: "))
            .collect();
        assert_eq!(
            phases,
            [
                "phase: running",
                "phase: lame-duck",
                "phase: draining",
                "phase: hooks",
                "phase: stopped"
            ],
            "{name}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgraded_echo_connection_is_told_going_away() {
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &[]).await;
        let mut echo = Raw::connect(demo.addr).await;
        echo.send(
            "GET /echo HTTP/1.1\r\nhost: demo\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n",
        )
        .await;
        let head = echo.head().await;
        assert!(head.starts_with("http/1.1 101"), "{name}: {head}");
        echo.send("hello\n").await;
        assert_eq!(echo.line().await, "hello\n", "{name}");

        demo.term();
        demo.expect_line("phase: draining").await;
        assert_eq!(echo.line().await, "going away\n", "{name}");
        assert!(echo.closed().await, "{name}");
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last().starts_with("shutdown: drained=true"),
            "{name}: {exit:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_request_is_cut_at_the_deadline_and_hooks_still_run() {
    each_demo(|name| async move {
        let demo = Demo::start(name, &["--drain-timeout-ms", "300"]).await;
        let mut stream = Raw::connect(demo.addr).await;
        stream.get("/stream?chunks=100000&interval_ms=100").await;
        stream.head().await;
        assert_eq!(stream.chunk().await, "chunk 0\n", "{name}");
        demo.term();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 2, "{name}: {exit:?}");
        assert_eq!(exit.count("hook flush: ok"), 1, "{name}: {exit:?}");
        assert!(
            exit.last()
                .starts_with("shutdown: drained=false connections_left=1 "),
            "{name}: {exit:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signal_forces_and_a_burst_never_runs_a_hook_twice() {
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &["--drain-timeout-ms", "60000"]).await;
        let mut stream = Raw::connect(demo.addr).await;
        stream.get("/stream?chunks=100000&interval_ms=100").await;
        stream.head().await;
        stream.chunk().await;
        demo.term();
        demo.expect_line("phase: draining").await;
        demo.signal(rustix::process::Signal::INT);
        let exit = demo.exit().await;
        assert_eq!(exit.code, 2, "{name}: forced, connections cut: {exit:?}");
        assert_eq!(exit.count("hook flush: ok"), 1, "{name}: {exit:?}");
        assert_eq!(
            exit.stderr.matches("hook flush running").count(),
            1,
            "{name}: {exit:?}"
        );

        // A burst: however many arrive and however they merge (pending signals of one kind
        // merge, so the burst may count as one: then the deadline cuts), no hook runs twice.
        let demo = Demo::start(name, &["--drain-timeout-ms", "1000"]).await;
        let mut stream = Raw::connect(demo.addr).await;
        stream.get("/stream?chunks=100000&interval_ms=100").await;
        stream.head().await;
        stream.chunk().await;
        for _ in 0..10 {
            demo.term();
        }
        let exit = demo.exit().await;
        assert!(
            [2, 143].contains(&exit.code),
            "{name}: forced or ended at once: {exit:?}"
        );
        assert!(
            exit.stderr.matches("hook flush running").count() <= 1,
            "{name}: {exit:?}"
        );
        assert!(exit.count("hook flush: ok") <= 1, "{name}: {exit:?}");
        assert!(
            exit.last().starts_with("shutdown: drained=false"),
            "{name}: {exit:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_is_served_on_the_same_port() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    each_demo(|name| async move {
        let demo = Demo::start(name, &[]).await;
        let io = TokioIo::new(tokio::net::TcpStream::connect(demo.addr).await.unwrap());
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(TokioExecutor::new(), io)
                .await
                .unwrap();
        let conn = tokio::spawn(conn);
        for (path, status, body) in [
            ("/", 200, "ok"),
            ("/healthz", 200, "ok"),
            ("/sleep?ms=x", 400, ""),
        ] {
            let request = hyper::Request::get(format!("http://demo{path}"))
                .body(Empty::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.version(), hyper::Version::HTTP_2, "{name}");
            assert_eq!(response.status(), status, "{name} {path}");
            let got = response.into_body().collect().await.unwrap().to_bytes();
            if !body.is_empty() {
                assert_eq!(got, body, "{name} {path}");
            }
        }
        demo.term();
        // The idle HTTP/2 connection gets GOAWAY and ends; it does not hold the shutdown.
        support::bounded("the HTTP/2 connection to end", conn)
            .await
            .unwrap()
            .unwrap();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
    })
    .await;
}

/// A `connection: close` answer ends the stream (a FIN) as soon as it is written, even when
/// the client still has bytes on the way: it trickles one byte every 50 ms and must still
/// read the end of the stream. (On smol the close only flushed: the end came when the
/// socket was dropped, which a client that keeps talking held off for as long as it talked,
/// and a quiet one for the close's 250 ms linger on every `connection: close`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_close_answer_ends_the_stream_while_the_client_talks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    each_demo(|name| async move {
        let demo = Demo::start(name, &[]).await;
        let stream = tokio::net::TcpStream::connect(demo.addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        write
            .write_all(b"GET / HTTP/1.1\r\nhost: demo\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let trickle = tokio::spawn(async move {
            for _ in 0..600 {
                tokio::time::sleep(core::time::Duration::from_millis(50)).await;
                if write.write_all(b"x").await.is_err() {
                    return;
                }
            }
        });
        let mut response = Vec::new();
        support::bounded("the end of the stream", read.read_to_end(&mut response))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        trickle.abort();
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 200"), "{name}: {response}");
        assert!(response.ends_with("ok"), "{name}: {response}");
        demo.term();
        assert_eq!(demo.exit().await.code, 0, "{name}");
    })
    .await;
}
