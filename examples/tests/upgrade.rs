//! The contract's `SIGUSR2` on every demo: an in-place upgrade to a successor that serves the
//! same socket, then the predecessor's shutdown without lame duck. (Failed upgrades, and
//! `LISTEN_FDS` socket activation, are checked on the library itself, in
//! `core/tests/upgrade/`.)

#![cfg(unix)]

mod support;

use rustix::process::{kill_process, Pid, Signal};
use support::{each_demo, refused, Demo, Raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr2_hands_over_to_a_successor_on_the_same_socket() {
    each_demo(|name| async move {
        // A long lame duck: the hand-over must not wait for it.
        let mut demo = Demo::start(name, &["--lame-duck-ms", "60000"]).await;
        demo.signal(Signal::USR2);
        let listening = demo.line_starting("listening on http://").await;
        assert_eq!(
            listening,
            format!("listening on http://{}", demo.addr),
            "{name}"
        );
        let line = demo.line_starting("upgrade: ").await;
        let successor: i32 = line
            .strip_prefix("upgrade: handed over to pid ")
            .unwrap_or_else(|| panic!("{name}: {line}"))
            .parse()
            .unwrap();
        let successor = Pid::from_raw(successor).unwrap();
        // Served by either process: the predecessor answers what it accepted before the
        // drain, the successor the rest of the same queue.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/").await;
        assert_eq!(
            raw.response().await.0,
            200,
            "{name}: the port serves throughout"
        );
        drop(raw);
        demo.line_starting("phase: stopped").await;
        // The predecessor is gone; the successor serves alone, then stops.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/").await;
        assert_eq!(raw.response().await.0, 200, "{name}: the successor serves");
        drop(raw);
        // It inherited the 60 s lame duck: a second signal cuts it short.
        kill_process(successor, Signal::TERM).unwrap();
        demo.expect_line("phase: lame-duck").await;
        kill_process(successor, Signal::INT).unwrap();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: the predecessor exits 0: {exit:?}");
        let reports: Vec<_> = exit
            .stdout
            .iter()
            .filter(|l| l.starts_with("shutdown: "))
            .collect();
        assert_eq!(reports.len(), 2, "{name}: {exit:?}");
        // Two processes write to one pipe: the predecessor's report line may come after
        // the successor's (it was told to stop once the predecessor printed its phase).
        let upgraded = reports.iter().filter(|l| l.ends_with("reason=upgrade"));
        let stopped = reports.iter().filter(|l| l.ends_with("reason=SIGTERM"));
        assert_eq!(upgraded.count(), 1, "{name}: {exit:?}");
        assert_eq!(stopped.count(), 1, "{name}: {exit:?}");
    })
    .await;
}

/// A `SIGTERM` right after `SIGUSR2`, while the successor starts: the upgrade is cancelled
/// (or refused, had the `SIGTERM` come first), the successor killed, and once the
/// predecessor exits nothing serves the port. A 60 s lame duck leaves the successor all the
/// time it needs to say it is ready, which must not hand over a service told to stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_upgrade_stops_the_service() {
    let mut set = tokio::task::JoinSet::new();
    for name in ["hyper_tokio", "hyper_smol"] {
        set.spawn(async move {
            let mut demo = Demo::start(name, &["--lame-duck-ms", "60000"]).await;
            let addr = demo.addr;
            demo.signal(Signal::USR2);
            demo.signal(Signal::TERM);
            let line = demo.line_starting("upgrade: ").await;
            if let Some(pid) = line.strip_prefix("upgrade: handed over to pid ") {
                // The bug: kill the successor so that it does not outlive the test.
                let _ = kill_process(Pid::from_raw(pid.parse().unwrap()).unwrap(), Signal::KILL);
            }
            assert_eq!(line, "upgrade: failed: shutting down", "{name}");
            // In the lame duck by now (the upgrade saw it begin): a second signal cuts it.
            demo.signal(Signal::INT);
            let exit = demo.exit().await;
            assert_eq!(exit.code, 0, "{name}: {exit:?}");
            let reports: Vec<_> = exit
                .stdout
                .iter()
                .filter(|l| l.starts_with("shutdown: "))
                .collect();
            assert_eq!(reports.len(), 1, "{name}: {exit:?}");
            assert_eq!(exit.count("phase: lame-duck"), 1, "{name}: {exit:?}");
            assert!(reports[0].ends_with("reason=SIGTERM"), "{name}: {exit:?}");
            refused(addr).await;
        });
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// Under systemd's watchdog the successor owns the watchdog from its `READY=1`: it is not
/// handed the predecessor's `WATCHDOG_PID` (here one naming another process, as systemd's
/// names the predecessor), and its first ping goes with READY instead of half a period late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_successor_owns_the_watchdog_from_its_ready() {
    let mut set = tokio::task::JoinSet::new();
    for name in ["hyper_tokio", "hyper_smol"] {
        set.spawn(async move {
            let path = std::env::temp_dir().join(format!(
                "lameduck-watchdog-{name}-{}.notify",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&path);
            let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
            socket.set_read_timeout(Some(support::BOUND)).unwrap();
            let env = [
                ("NOTIFY_SOCKET", path.as_os_str()),
                // A minute: no periodic ping within the test, only the one with READY.
                ("WATCHDOG_USEC", std::ffi::OsStr::new("60000000")),
                ("WATCHDOG_PID", std::ffi::OsStr::new("1")),
            ];
            let mut demo = Demo::start_with_env(name, &[], &env).await;
            demo.signal(Signal::USR2);
            let line = demo.line_starting("upgrade: ").await;
            let successor: u32 = line
                .strip_prefix("upgrade: handed over to pid ")
                .unwrap_or_else(|| panic!("{name}: {line}"))
                .parse()
                .unwrap();
            let ready = tokio::task::spawn_blocking(move || {
                let mut buffer = [0u8; 4096];
                let mainpid = format!("MAINPID={successor}\n");
                loop {
                    let n = socket.recv(&mut buffer).expect("the successor's READY=1");
                    let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    if message.starts_with("READY=1\n") && message.contains(&mainpid) {
                        return message;
                    }
                }
            })
            .await
            .unwrap();
            let _ = std::fs::remove_file(&path);
            let successor_pid = Pid::from_raw(successor as i32).unwrap();
            kill_process(successor_pid, Signal::TERM).unwrap();
            assert_eq!(
                ready,
                format!("READY=1\nMAINPID={successor}\nSTATUS=running\nWATCHDOG=1\n"),
                "{name}"
            );
            assert_eq!(demo.exit().await.code, 0, "{name}");
        });
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// `WATCHDOG_USEC=1` does not make the watchdog a busy loop: the pings are clamped to one
/// per 10 ms (the demos spun at 70-82 % of a core, sending a ping per wake-up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_watchdog_period_is_clamped() {
    let mut set = tokio::task::JoinSet::new();
    for name in ["hyper_tokio", "hyper_smol"] {
        set.spawn(async move {
            let path = std::env::temp_dir().join(format!(
                "lameduck-tiny-watchdog-{name}-{}.notify",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&path);
            let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
            let env = [
                ("NOTIFY_SOCKET", path.as_os_str()),
                ("WATCHDOG_USEC", std::ffi::OsStr::new("1")),
            ];
            socket.set_read_timeout(Some(support::BOUND)).unwrap();
            // Read as they come (the kernel queues only a few datagrams), up to the end.
            let pings = tokio::task::spawn_blocking(move || {
                let mut buffer = [0u8; 4096];
                let mut pings = 0u32;
                loop {
                    let n = socket.recv(&mut buffer).expect("notifications");
                    if buffer[..n].starts_with(b"STATUS=stopped") {
                        return pings;
                    }
                    pings += u32::from(buffer[..n].starts_with(b"WATCHDOG=1\n"));
                }
            });
            let demo = Demo::start_with_env(name, &[], &env).await;
            tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
            demo.term();
            assert_eq!(demo.exit().await.code, 0, "{name}");
            let pings = pings.await.unwrap();
            let _ = std::fs::remove_file(&path);
            // At most one per 10 ms over the run (about a second, and its start and stop).
            assert!((1..=400).contains(&pings), "{name}: {pings} pings");
        });
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// What a keep-alive client saw: answers, and requests lost (sent on a kept connection that
/// then closed without answering).
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Kept {
    answered: usize,
    lost: usize,
}

/// `GET /` one after another on one kept connection (1 ms apart), a new connection when the
/// server says `connection: close`, until `stop`.
async fn keep_alive(
    addr: core::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Kept {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut kept = Kept::default();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut io = tokio::io::BufReader::new(stream);
        loop {
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return kept;
            }
            let sent = io
                .get_mut()
                .write_all(b"GET / HTTP/1.1\r\nhost: demo\r\n\r\n")
                .await;
            let mut head = String::new();
            let answered = sent.is_ok()
                && loop {
                    let mut line = String::new();
                    match io.read_line(&mut line).await {
                        Ok(0) | Err(_) => break false,
                        Ok(_) if line == "\r\n" => break true,
                        Ok(_) => head.push_str(&line.to_ascii_lowercase()),
                    }
                };
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if !answered || io.read_exact(&mut body).await.is_err() {
                kept.lost += 1;
                break;
            }
            kept.answered += 1;
            if head.contains("connection: close") {
                break;
            }
            tokio::time::sleep(core::time::Duration::from_millis(1)).await;
        }
    }
    kept
}

/// Keep-alive clients sending one request after another across three in-place upgrades
/// lose none: after the hand-over the predecessor answers each kept connection's next
/// request with `connection: close` instead of closing it under the request (which lost
/// exactly one request per client per upgrade).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_clients_lose_no_request_across_upgrades() {
    use std::sync::{atomic::AtomicBool, Arc};
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &["--lame-duck-ms", "0"]).await;
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|_| tokio::spawn(keep_alive(demo.addr, stop.clone())))
            .collect();
        tokio::time::sleep(core::time::Duration::from_millis(200)).await;
        let mut pid = demo.pid();
        for upgrade in 0..3 {
            kill_process(Pid::from_raw(pid as i32).unwrap(), Signal::USR2).unwrap();
            let line = demo.line_starting("upgrade: ").await;
            pid = line
                .strip_prefix("upgrade: handed over to pid ")
                .unwrap_or_else(|| panic!("{name}: upgrade {upgrade}: {line}"))
                .parse()
                .unwrap();
            demo.line_starting("shutdown: ").await;
            tokio::time::sleep(core::time::Duration::from_millis(100)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut total = Kept::default();
        for client in clients {
            let kept = support::bounded("a keep-alive client", client)
                .await
                .unwrap();
            total.answered += kept.answered;
            total.lost += kept.lost;
        }
        eprintln!("{name}: {total:?}");
        assert!(total.answered > 0, "{name}: {total:?}");
        assert_eq!(total.lost, 0, "{name}: {total:?}");
        kill_process(Pid::from_raw(pid as i32).unwrap(), Signal::TERM).unwrap();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
    })
    .await;
}

/// A successor that dies after saying it was ready leaves nothing serving: the predecessor,
/// still draining, says so on stderr (`upgrade: successor <pid> exited: <status>`) rather
/// than letting the service go down without a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successor_dying_after_ready_is_reported() {
    each_demo(|name| async move {
        let mut demo = Demo::start(name, &["--lame-duck-ms", "0"]).await;
        // In flight across the hand-over: the predecessor drains for over a second.
        let mut raw = Raw::connect(demo.addr).await;
        raw.get("/sleep?ms=1500").await;
        tokio::time::sleep(core::time::Duration::from_millis(100)).await;
        demo.signal(Signal::USR2);
        let line = demo.line_starting("upgrade: ").await;
        let successor: i32 = line
            .strip_prefix("upgrade: handed over to pid ")
            .unwrap_or_else(|| panic!("{name}: {line}"))
            .parse()
            .unwrap();
        kill_process(Pid::from_raw(successor).unwrap(), Signal::KILL).unwrap();
        assert_eq!(raw.response().await.0, 200, "{name}: the drain goes on");
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        let reported = format!("upgrade: successor {successor} exited: signal 9");
        assert!(exit.stderr.contains(&reported), "{name}: {exit:?}");
    })
    .await;
}
