//! The report never lies (issue 23), against the demos as child processes with real
//! clients: a pipelining client that never reads, connections racing the listener's
//! close, the fd limit, an inherited blocked signal mask, and an upgraded connection in
//! `/metrics`. Each test runs `hyper_tokio` and `hyper_smol`.

mod support;

use core::time::Duration;
use std::{
    io::{Read, Write},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};
use support::{Demo, Exit, Raw};

/// The demos on the two runtimes.
const RUNTIMES: [&str; 2] = ["hyper_tokio", "hyper_smol"];

async fn each_runtime<F, Fut>(check: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: core::future::Future<Output = ()> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for name in RUNTIMES {
        set.spawn(check(name));
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// Requests the pipelining client sends (27 bytes each: 2.7 MB).
const PIPELINED: usize = 100_000;

/// A client that pipelines [`PIPELINED`] `GET /` with a 4 KiB receive buffer and reads
/// nothing until the server has exited. When the drain starts the server is between two
/// of those requests (idle, its answers queued in the kernel) or blocked writing to the
/// peer (busy). Either way the report must be true: a clean drain (exit 0) only if every
/// answer the server wrote reaches the client — no reset, which would make the client's
/// kernel drop the answers it holds — and otherwise a cut (exit 2, `drained=false`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelining_client_that_never_reads_gets_every_answer_or_a_true_report() {
    pipelining_client_that_never_reads(&[]).await;
}

/// The same through a lame duck: the answers say `connection: close` from its start, and
/// the close lingers while the client goes on writing. The drain closes at once only an idle
/// connection whose client was silent for a linger's length of the lame duck; this client
/// never is, so nothing may reset it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelining_client_is_lingered_for_after_a_lame_duck() {
    pipelining_client_that_never_reads(&["--lame-duck-ms", "400"]).await;
}

async fn pipelining_client_that_never_reads(options: &'static [&'static str]) {
    each_runtime(|name| async move {
        let mut args = vec!["--drain-timeout-ms", "1500"];
        args.extend_from_slice(options);
        let demo = Demo::start(name, &args).await;
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        // Before connect, so that the window the handshake announces is small too.
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        socket.connect(&demo.addr.into()).expect("connect");
        let mut stream = std::net::TcpStream::from(socket);
        let sent = Arc::new(AtomicUsize::new(0));
        let writer = {
            let (mut stream, sent) = (stream.try_clone().unwrap(), sent.clone());
            std::thread::spawn(move || {
                let batch = b"GET / HTTP/1.1\r\nhost: d\r\n\r\n".repeat(1000);
                for _ in 0..PIPELINED / 1000 {
                    if stream.write_all(&batch).is_err() {
                        return;
                    }
                    sent.fetch_add(1000, Ordering::Relaxed);
                }
            })
        };
        // The server is at work on them (its answers pile up unread).
        tokio::time::sleep(Duration::from_millis(500)).await;
        let begun = Instant::now();
        demo.term();
        let exit = demo.exit().await;
        let took = begun.elapsed();
        // Only now the client reads: what reached it, and how the connection ended.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut received = Vec::new();
        let ended = stream.read_to_end(&mut received);
        let answers = received
            .windows(15)
            .filter(|w| *w == b"HTTP/1.1 200 OK")
            .count();
        drop(stream);
        let _ = writer.join();
        eprintln!(
            "{name}: {} requests sent, {answers} answers read after the exit ({} bytes, {}), \
             exit {} after {took:?}: {}",
            sent.load(Ordering::Relaxed),
            received.len(),
            match &ended {
                Ok(_) => "clean end".to_string(),
                Err(error) => format!("{:?}", error.kind()),
            },
            exit.code,
            exit.last()
        );
        match exit.code {
            0 => {
                assert!(
                    exit.last()
                        .starts_with("shutdown: drained=true connections_left=0 "),
                    "{name}: {exit:?}"
                );
                assert!(
                    ended.is_ok(),
                    "{name}: reported drained, yet the connection was reset and the \
                     answers written were lost ({answers} read): {ended:?}"
                );
                assert!(answers > 0, "{name}: no answer at all");
                assert!(
                    received.ends_with(b"ok"),
                    "{name}: the last answer is cut short"
                );
            }
            2 => assert!(
                exit.last()
                    .starts_with("shutdown: drained=false connections_left=1 "),
                "{name}: {exit:?}"
            ),
            other => panic!("{name}: exit code {other}: {exit:?}"),
        }
    })
    .await;
}

/// Started with TERM, INT, HUP and USR2 blocked (as a supervisor or a language runtime may
/// leave the mask across `exec`; `env --block-signal` does it here), the demo still hears
/// them: `SIGHUP` reloads, `SIGTERM` shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inherited_blocked_signal_mask_does_not_make_the_server_deaf() {
    each_runtime(|name| async move {
        let wrapper = ["env", "--block-signal=TERM,INT,HUP,USR2"];
        let mut demo = Demo::start_wrapped(name, &wrapper, &[]).await;
        demo.signal(rustix::process::Signal::HUP);
        demo.expect_line("reload: SIGHUP").await;
        demo.term();
        let exit: Exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last().starts_with("shutdown: drained=true ")
                && exit.last().ends_with("reason=SIGTERM"),
            "{name}: {exit:?}"
        );
    })
    .await;
}

/// The value of the sample line `series VALUE` in a Prometheus text body.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a sample value"))
}

/// An upgraded `/echo` connection in use is open and active in `/metrics`, not idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_connection_is_active_in_the_metrics() {
    each_runtime(|name| async move {
        let demo = Demo::start(name, &[]).await;
        let mut echo = Raw::connect(demo.addr).await;
        echo.send(
            "GET /echo HTTP/1.1\r\nhost: demo\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n",
        )
        .await;
        assert!(echo.head().await.starts_with("http/1.1 101"), "{name}");
        echo.send("hello\n").await;
        assert_eq!(echo.line().await, "hello\n", "{name}");
        let mut scrape = Raw::connect(demo.addr).await;
        scrape.get("/metrics").await;
        let (status, _, body) = scrape.response().await;
        assert_eq!(status, 200, "{name}: {body}");
        let active = sample(&body, r#"lameduck_connections{state="active"}"#);
        let idle = sample(&body, r#"lameduck_connections{state="idle"}"#);
        eprintln!("{name}: active {active:?}, idle {idle:?}");
        // The echo connection and the scrape's own, each with something in flight.
        assert_eq!((active, idle), (Some(2.0), Some(0.0)), "{name}: {body}");
        drop(echo);
        assert_eq!(demo_exit(demo).await, 0, "{name}");
    })
    .await;
}

async fn demo_exit(demo: Demo) -> i32 {
    demo.term();
    demo.exit().await.code
}

/// Clients of the fd-limit test: more than 64 descriptors can hold.
const CROWD: usize = 150;

/// With `ulimit -n 64` and [`CROWD`] clients, most of them wait in the listener's backlog
/// (the server is out of descriptors) when `SIGTERM` comes. The drain closes the idle
/// connections, which frees descriptors, and the backlog is then taken and answered rather
/// than reset with the listener: every client gets its answer and the drain is clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_fd_limit_the_backlog_is_served_not_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    each_runtime(|name| async move {
        let wrapper = ["sh", "-c", r#"ulimit -n 64 && exec "$0" "$@""#];
        let mut demo = Demo::start_wrapped(name, &wrapper, &["--drain-timeout-ms", "10000"]).await;
        let answered = Arc::new(AtomicUsize::new(0));
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..CROWD {
            let stream = tokio::net::TcpStream::connect(demo.addr).await;
            let answered = answered.clone();
            clients.spawn(async move {
                let mut stream = stream?;
                stream
                    .write_all(b"GET / HTTP/1.1\r\nhost: demo\r\n\r\n")
                    .await?;
                // One answer, then whatever follows until the server closes: keep-alive
                // clients hold their descriptors until the drain.
                let mut received = Vec::new();
                let mut buf = [0; 1024];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    if received.is_empty() {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    received.extend_from_slice(&buf[..n]);
                }
                Ok::<_, std::io::Error>(received.starts_with(b"HTTP/1.1 200 OK"))
            });
        }
        // Until the answers stop coming: the server holds all it can, the rest is queued.
        let mut last = usize::MAX;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let now = answered.load(Ordering::Relaxed);
            if now == last {
                break;
            }
            last = now;
        }
        demo.term();
        demo.expect_line("phase: draining").await;
        let (mut ok, mut reset, mut other) = (0, 0, 0);
        while let Some(done) = clients.join_next().await {
            match done.unwrap() {
                Ok(true) => ok += 1,
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => reset += 1,
                _ => other += 1,
            }
        }
        let exit = demo.exit().await;
        eprintln!(
            "{name}: {last} answered before SIGTERM; {ok} answered in all, {reset} reset, \
             {other} otherwise; exit {}: {}",
            exit.code,
            exit.last()
        );
        assert!(last < CROWD, "{name}: the fd limit was not reached");
        assert_eq!(
            (ok, reset, other),
            (CROWD, 0, 0),
            "{name}: every client answered: {exit:?}"
        );
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(exit.last().starts_with("shutdown: drained=true "), "{name}");
    })
    .await;
}

/// Keep-alive clients of the race test, and the runs of it per demo.
/// (`LAMEDUCK_RACES` sets the runs, to measure with more.)
const RACERS: usize = 32;
const RACES: usize = 6;

fn races() -> usize {
    std::env::var("LAMEDUCK_RACES")
        .ok()
        .and_then(|races| races.parse().ok())
        .unwrap_or(RACES)
}

/// What one racing client saw: requests answered, connections reset after a successful
/// connect (an accepted connection dropped: the failure), and connects refused (fine: the
/// listener was closed).
#[derive(Default, Debug, Clone, Copy)]
struct Raced {
    answered: usize,
    reset: usize,
    refused: usize,
}

/// One client: `GET /` on keep-alive connections, a new connection whenever the server
/// closes one, until a connect is refused (or the server is gone).
async fn race_client(addr: core::net::SocketAddr) -> Raced {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut raced = Raced::default();
    loop {
        let stream = match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(_) => {
                raced.refused += 1;
                return raced;
            }
        };
        let mut io = tokio::io::BufReader::new(stream);
        // Requests on this connection until it closes.
        loop {
            let asked = io
                .get_mut()
                .write_all(b"GET / HTTP/1.1\r\nhost: demo\r\n\r\n")
                .await;
            let mut head = String::new();
            let read = match asked {
                Ok(()) => loop {
                    let mut line = String::new();
                    match io.read_line(&mut line).await {
                        Ok(0) => break Ok(false),
                        Ok(_) if line == "\r\n" => break Ok(true),
                        Ok(_) => head.push_str(&line.to_ascii_lowercase()),
                        Err(error) => break Err(error),
                    }
                },
                Err(error) => Err(error),
            };
            match read {
                Ok(true) => {
                    let mut body = [0; 2];
                    if io.read_exact(&mut body).await.is_err() {
                        raced.reset += 1;
                        break;
                    }
                    raced.answered += 1;
                    if head.contains("connection: close") {
                        break;
                    }
                }
                // Closed between two requests: the server may close an idle connection.
                Ok(false) if head.is_empty() => break,
                Ok(false) => {
                    raced.reset += 1;
                    break;
                }
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                    raced.reset += 1;
                    break;
                }
                Err(_) => break,
            }
        }
    }
}

/// [`RACERS`] keep-alive clients hammer the listener as it closes — each reconnects at
/// once when the server closes its connection (it does at the goodbye) — [`RACES`] times
/// per demo: connects may be refused once the listener is closed, but a connection the
/// server's kernel completed is never reset unanswered.
///
/// The window between the sweep's last `accept(2)` and the listener's `close(2)` (where a
/// loaded CI machine once saw 2 resets in 14 335 answers on hyper_tokio) is closed on Linux:
/// new handshakes are stopped by a socket filter before the last sweep (see
/// `lameduck::accept::serve`), so a client either is answered or its connect is refused (or
/// goes unanswered until the port closes). `lameduck-tokio`'s `tests/close.rs` holds the
/// window open on purpose and fails without the filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android")),
    ignore = "elsewhere the accept-to-close window is only narrowed"
)]
async fn connections_racing_the_listeners_close_are_answered_or_refused() {
    each_runtime(|name| async move {
        let mut total = Raced::default();
        let races = races();
        for _ in 0..races {
            let mut demo = Demo::start(name, &["--lame-duck-ms", "300"]).await;
            let clients: Vec<_> = (0..RACERS)
                .map(|_| tokio::spawn(race_client(demo.addr)))
                .collect();
            tokio::time::sleep(Duration::from_millis(100)).await;
            demo.term();
            demo.expect_line("phase: draining").await;
            for client in clients {
                let raced = support::bounded("a racing client", client).await.unwrap();
                total.answered += raced.answered;
                total.reset += raced.reset;
                total.refused += raced.refused;
            }
            let exit = demo.exit().await;
            assert_eq!(exit.code, 0, "{name}: {exit:?}");
        }
        eprintln!("{name}: {races} runs of {RACERS} clients: {total:?}");
        assert_eq!(
            total.reset, 0,
            "{name}: accepted connections reset: {total:?}"
        );
    })
    .await;
}
