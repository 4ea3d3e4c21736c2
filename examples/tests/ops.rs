//! What the demos add for operations, on every demo as a child process: `SIGHUP` is a
//! reload request (never a shutdown, nothing lost under load), `GET /metrics` answers
//! Prometheus text, systemd hears of every step on `NOTIFY_SOCKET`, and a socket passed by
//! systemd's socket activation (`LISTEN_FDS`) is served instead of `--addr`.

mod support;

use core::time::Duration;
use rustix::process::Signal;
use std::{
    os::unix::net::UnixDatagram,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};
use support::{bounded, each_demo, Demo, Raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_under_load_loses_nothing_and_the_server_goes_on() {
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &[]).await;
        // Right after the demo says it listens: a reload, not the end.
        demo.signal(Signal::HUP);
        demo.expect_line("reload: SIGHUP").await;

        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..6)
            .map(|i| {
                let (stop, addr) = (stop.clone(), demo.addr);
                tokio::spawn(async move {
                    let mut answered = 0;
                    let mut raw = Raw::connect(addr).await;
                    while !stop.load(Ordering::Relaxed) {
                        raw.get("/sleep?ms=3").await;
                        let (status, _, body) = raw.response().await;
                        assert_eq!((status, body.as_str()), (200, "slept 3"), "{name}");
                        answered += 1;
                        // Half the clients open a new connection for every request.
                        if i % 2 == 0 {
                            raw = Raw::connect(addr).await;
                        }
                    }
                    answered
                })
            })
            .collect();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            demo.signal(Signal::HUP);
        }
        demo.expect_line("reload: SIGHUP").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.store(true, Ordering::Relaxed);
        let mut answered = 0;
        for client in clients {
            answered += client.await.expect("no request failed");
        }
        assert!(answered > 0, "{name}: the load ran");

        // Still serving, still ready, after all of it.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/healthz").await;
        assert_eq!(raw.response().await.0, 200, "{name}");
        drop(raw);
        demo.term();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        let reloads = exit.count("reload: SIGHUP");
        eprintln!("{name}: {answered} requests answered across 21 SIGHUPs, {reloads} reload lines");
        // Signals sent close together may be merged, never lost: at least the first and one after.
        assert!(
            (2..=21).contains(&reloads),
            "{name}: {reloads} reloads: {exit:?}"
        );
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0 "),
            "{name}: {exit:?}"
        );
    })
    .await;
}

/// The value of the first sample line starting with `series ` in a Prometheus text body.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a sample value"))
}

async fn scrape(demo: &Demo) -> String {
    let mut raw = Raw::connect(demo.addr).await;
    raw.get("/metrics").await;
    let (status, head, body) = raw.response().await;
    assert_eq!(status, 200, "{}: {body}", demo.name);
    assert!(
        head.contains("content-type: text/plain; version=0.0.4\r\n"),
        "{}: {head}",
        demo.name
    );
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_in_prometheus_text_and_follow_the_phase() {
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &["--lame-duck-ms", "1000"]).await;
        let body = scrape(&demo).await;
        let value = |series: &str| {
            sample(&body, series).unwrap_or_else(|| panic!("{name}: no {series} in {body}"))
        };
        assert_eq!(value(r#"lameduck_phase{phase="running"}"#), 1.0);
        for phase in ["lame-duck", "draining", "hooks", "stopped"] {
            assert_eq!(value(&format!(r#"lameduck_phase{{phase="{phase}"}}"#)), 0.0);
        }
        // The scrape's own connection is open, with its request in flight.
        assert_eq!(value(r#"lameduck_connections{state="active"}"#), 1.0);
        assert_eq!(value(r#"lameduck_connections{state="idle"}"#), 0.0);
        assert_eq!(value("lameduck_connections_cut_total"), 0.0);
        for outcome in ["ok", "failed", "timed_out"] {
            let series = format!(r#"lameduck_hook_runs_total{{hook="flush",outcome="{outcome}"}}"#);
            assert_eq!(value(&series), 0.0);
        }

        demo.term();
        demo.expect_line("phase: lame-duck").await;
        let body = scrape(&demo).await;
        assert_eq!(
            sample(&body, r#"lameduck_phase{phase="lame-duck"}"#),
            Some(1.0),
            "{name}: {body}"
        );
        assert_eq!(
            sample(&body, r#"lameduck_phase{phase="running"}"#),
            Some(0.0),
            "{name}"
        );
        assert_eq!(demo.exit().await.code, 0, "{name}");
    })
    .await;
}

/// Datagrams on `socket` until `STATUS=stopped` (bounded).
async fn notifications(socket: UnixDatagram) -> Vec<String> {
    bounded(
        "systemd notifications up to STATUS=stopped",
        tokio::task::spawn_blocking(move || {
            socket
                .set_read_timeout(Some(support::BOUND))
                .expect("a read timeout");
            let mut messages = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let n = socket.recv(&mut buffer).expect("a notification");
                let message = String::from_utf8(buffer[..n].to_vec()).unwrap();
                let last = message.starts_with("STATUS=stopped");
                messages.push(message);
                if last {
                    return messages;
                }
            }
        }),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_stopping_each_phase_and_the_drain_progress() {
    each_demo(|name| async move {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("lameduck-{name}-{}.notify", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        let received = tokio::spawn(notifications(socket));
        let args = [
            "--lame-duck-ms",
            "200",
            "--drain-timeout-ms",
            "5000",
            "--hook-timeout-ms",
            "1000",
        ];
        let env = [("NOTIFY_SOCKET", path.as_os_str())];
        let demo = Demo::start_with_env(name, &args, &env).await;
        let pid = demo.pid();
        // A request in flight across the signal: the drain lasts over a second.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/sleep?ms=1800").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        demo.term();
        assert_eq!(raw.response().await.0, 200, "{name}");
        assert_eq!(demo.exit().await.code, 0, "{name}");
        let messages = received.await.unwrap();
        let _ = std::fs::remove_file(&path);

        let mut next = messages.iter().map(String::as_str);
        let mut expect = |what: &str, ok: &dyn Fn(&str) -> bool| {
            let got = next
                .next()
                .unwrap_or_else(|| panic!("{name}: no {what}: {messages:?}"));
            assert!(ok(got), "{name}: {what}: got {got:?} in {messages:?}");
        };
        let ready = format!("READY=1\nMAINPID={pid}\nSTATUS=running\n");
        expect("ready", &|m| m == ready);
        // The seed registers a second hook, `close-store`.
        let hooks: u64 = if name == "seed" { 2 } else { 1 };
        // 200 ms lame duck + 5 s drain + 1 s for each hook + 1 s to exit.
        let stopping = format!(
            "STOPPING=1\nSTATUS=lame-duck: 1 connection(s) open\nEXTEND_TIMEOUT_USEC={}\n",
            7_200_000 + (hooks - 1) * 1_000_000
        );
        expect("stopping", &|m| m == stopping);
        let draining = format!(
            "STATUS=draining: 1 connection(s) left\nEXTEND_TIMEOUT_USEC={}\n",
            7_000_000 + (hooks - 1) * 1_000_000
        );
        expect("draining", &|m| m == draining);
        let rest: Vec<&str> = next.collect();
        let (progress, end) = rest.split_at(rest.len().saturating_sub(2));
        assert!(!progress.is_empty(), "{name}: drain progress: {messages:?}");
        for message in progress {
            let lines: Vec<&str> = message.lines().collect();
            assert!(
                lines.len() == 2
                    && lines[0].starts_with("STATUS=draining: 1 connection(s) left, ")
                    && lines[0].ends_with(" ms to the deadline")
                    && lines[1].starts_with("EXTEND_TIMEOUT_USEC="),
                "{name}: progress {message:?}"
            );
        }
        assert_eq!(
            end,
            [
                format!(
                    "STATUS=hooks: {hooks} to run\nEXTEND_TIMEOUT_USEC={}\n",
                    (hooks + 1) * 1_000_000
                )
                .as_str(),
                "STATUS=stopped: drained=true connections_left=0 exit_code=0\n",
            ],
            "{name}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_activation_serves_fd_3_instead_of_binding_the_addr() {
    each_demo(|name| async move {
        let passed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = passed.local_addr().unwrap();
        // `--addr` names a port already taken: a demo that bound it would exit 1.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_addr = taken.local_addr().unwrap().to_string();
        let demo = Demo::activated(name, &passed, &["--addr", &taken_addr]).await;
        assert_eq!(
            demo.addr, addr,
            "{name}: prints the passed socket's address"
        );
        // From now on only the demo holds the passed socket: what it answers, it accepted.
        drop(passed);
        let mut raw = Raw::connect(addr).await;
        raw.get("/").await;
        let (status, _, body) = raw.response().await;
        assert_eq!((status, body.as_str()), (200, "ok"), "{name}");
        demo.term();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {:?}", exit.stdout);
        assert!(
            exit.last()
                .starts_with("shutdown: drained=true connections_left=0 "),
            "{name}: {}",
            exit.last()
        );
        drop(taken);
    })
    .await;
}

/// systemd keeps its own copy of an activated socket, to queue connections for the next
/// start: whatever the demo did to the socket at its drain (on Linux, the filter that stops
/// new handshakes before the close) is gone when it exits, and the manager's copy takes
/// connections again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activated_socket_takes_connections_for_the_next_start_after_a_stop() {
    each_demo(|name| async move {
        let passed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = passed.local_addr().unwrap();
        let demo = Demo::activated(name, &passed, &[]).await;
        demo.term();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {:?}", exit.stdout);
        let connected = tokio::task::spawn_blocking(move || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map(drop)
        });
        connected
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: the manager's socket: {e}"));
        passed.accept().expect("queued for the next start");
    })
    .await;
}

/// The socket systemd was given for its fd store (`FDSTORE=1` on `socket`), with the
/// datagram that carried it (bounded).
async fn stored_socket(socket: UnixDatagram) -> (String, std::net::TcpListener) {
    bounded(
        "FDSTORE=1 with a socket",
        tokio::task::spawn_blocking(move || {
            use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
            socket
                .set_read_timeout(Some(support::BOUND))
                .expect("a read timeout");
            loop {
                let mut buffer = [0u8; 4096];
                let mut space =
                    [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
                let mut control = RecvAncillaryBuffer::new(&mut space);
                let received = recvmsg(
                    &socket,
                    &mut [std::io::IoSliceMut::new(&mut buffer)],
                    &mut control,
                    RecvFlags::CMSG_CLOEXEC,
                )
                .expect("a notification");
                let message = String::from_utf8(buffer[..received.bytes].to_vec()).unwrap();
                let mut fds = Vec::new();
                for part in control.drain() {
                    if let RecvAncillaryMessage::ScmRights(rights) = part {
                        fds.extend(rights);
                    }
                }
                if message.starts_with("FDSTORE=1\n") {
                    assert_eq!(fds.len(), 1, "one socket with {message:?}");
                    let fd = fds.pop().expect("the stored socket");
                    return (message, std::net::TcpListener::from(fd));
                }
                assert!(fds.is_empty(), "sockets with {message:?}");
            }
        }),
    )
    .await
    .unwrap()
}

/// With a file-descriptor store (systemd sets `FDSTORE` to its size), the socket the demo
/// bound goes to systemd, which keeps it while the service restarts and passes it to the
/// next start: a client that connects while no process serves waits in the kept socket's
/// backlog and is answered by the next start. A `systemctl restart` refuses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_through_the_fd_store_refuses_nothing() {
    each_demo(|name| async move {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("lameduck-{name}-{}.fdstore", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let socket = UnixDatagram::bind(&path).unwrap();
        let stored = tokio::spawn(stored_socket(socket));
        let env = [
            ("NOTIFY_SOCKET", path.as_os_str()),
            ("FDSTORE", std::ffi::OsStr::new("4")),
        ];
        let demo = Demo::start_with_env(name, &[], &env).await;
        let addr = demo.addr;
        let (message, stored) = stored.await.unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(message, "FDSTORE=1\nFDNAME=http\n", "{name}");
        assert_eq!(stored.local_addr().unwrap(), addr, "{name}");
        demo.term();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {:?}", exit.stdout);
        // No process serves the port now: the kept socket queues the connection.
        let mut raw = Raw::connect(addr).await;
        raw.get("/").await;
        let next = Demo::activated(name, &stored, &[]).await;
        assert_eq!(next.addr, addr, "{name}");
        let (status, _, body) = raw.response().await;
        assert_eq!((status, body.as_str()), (200, "ok"), "{name}");
        next.term();
        assert_eq!(next.exit().await.code, 0, "{name}");
    })
    .await;
}
