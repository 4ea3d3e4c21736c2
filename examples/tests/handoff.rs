//! The contract's hand-off to a successor started separately (`--control`, `--take-over`,
//! `--pid-file`), on hyper_tokio and hyper_smol: under load straight to the port, a
//! successor gone before it is ready, nothing to take over, a second hand-off at once, a peer
//! of another user.

#![cfg(target_os = "linux")]

mod support;

use std::{
    io::{Read, Write},
    os::unix::{fs::PermissionsExt, net::UnixStream},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
};
use support::{refused, Demo};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const DEMOS: [&str; 2] = ["hyper_tokio", "hyper_smol"];

/// A fresh directory for one test's control socket and PID file.
fn scratch(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lameduck-handoff-{}-{test}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `check` on hyper_tokio and hyper_smol at once.
async fn each<F, Fut>(check: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for name in DEMOS {
        set.spawn(check(name));
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// Clients hitting the port with one request per connection, counting what went wrong.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    ok: AtomicUsize,
    refused: AtomicUsize,
    failed: AtomicUsize,
}

impl Load {
    fn start(addr: std::net::SocketAddr, clients: usize) -> (Arc<Load>, tokio::task::JoinSet<()>) {
        let load = Arc::new(Load::default());
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let load = load.clone();
            set.spawn(async move {
                while !load.stop.load(Ordering::SeqCst) {
                    let Ok(mut stream) = TcpStream::connect(addr).await else {
                        load.refused.fetch_add(1, Ordering::SeqCst);
                        continue;
                    };
                    let request = "GET / HTTP/1.1\r\nhost: demo\r\nconnection: close\r\n\r\n";
                    let mut response = Vec::new();
                    let done = async {
                        stream.write_all(request.as_bytes()).await?;
                        stream.read_to_end(&mut response).await
                    };
                    let answered = tokio::time::timeout(support::BOUND, done).await;
                    if matches!(answered, Ok(Ok(_))) && response.starts_with(b"HTTP/1.1 200") {
                        load.ok.fetch_add(1, Ordering::SeqCst);
                    } else {
                        load.failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        (load, set)
    }

    async fn stop(load: &Load, mut set: tokio::task::JoinSet<()>) -> (usize, usize, usize) {
        load.stop.store(true, Ordering::SeqCst);
        while set.join_next().await.is_some() {}
        (
            load.ok.load(Ordering::SeqCst),
            load.refused.load(Ordering::SeqCst),
            load.failed.load(Ordering::SeqCst),
        )
    }
}

fn pid_in(file: &Path) -> Option<u32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// Waits until `file` holds `pid` (written just after the line the test waited for).
async fn holds(file: &Path, pid: u32) -> bool {
    for _ in 0..500 {
        if pid_in(file) == Some(pid) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// Whether a server answers at the control socket `path` within 5 s: a successor binds it
/// only once its predecessor's file is gone, a few milliseconds after it took over.
async fn answers(path: &Path) -> bool {
    for _ in 0..500 {
        if UnixStream::connect(path).is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// Successors started separately take over one after another, under load straight to the
/// port: no request fails, no connect is refused; each old server hands over and exits 0;
/// the PID file follows the server that serves; the last one removes it, and its control
/// socket, at exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successors_started_separately_take_over_under_load() {
    each(|name| async move {
        let dir = scratch("load", name);
        let control = dir.join("control.sock");
        let pid_file = dir.join("server.pid");
        let args = ["--control", arg(&control), "--pid-file", arg(&pid_file)];
        let mut old = Demo::start(name, &args).await;
        let addr = old.addr;
        assert!(holds(&pid_file, old.pid()).await, "{name}");
        let mode = std::fs::metadata(&control).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
        let (load, clients) = Load::start(addr, 4);
        for _ in 0..3 {
            let mut taking = args.to_vec();
            taking.extend(["--take-over", arg(&control)]);
            let mut new = Demo::start(name, &taking).await;
            assert_eq!(new.addr, addr, "{name}: the same socket");
            let line = new.line_starting("upgrade: ").await;
            assert_eq!(
                line,
                format!("upgrade: took over from pid {}", old.pid()),
                "{name}"
            );
            let line = old.line_starting("upgrade: ").await;
            assert_eq!(
                line,
                format!("upgrade: handed over to pid {}", new.pid()),
                "{name}"
            );
            let exit = old.exit().await;
            assert_eq!(exit.code, 0, "{name}: {exit:?}");
            assert!(exit.last().ends_with("reason=upgrade"), "{name}: {exit:?}");
            assert!(
                holds(&pid_file, new.pid()).await,
                "{name}: the successor's pid"
            );
            assert!(
                answers(&control).await,
                "{name}: the successor's control socket"
            );
            old = new;
        }
        let (ok, refused_connects, failed) = Load::stop(&load, clients).await;
        assert!(ok > 0, "{name}: the load ran");
        assert_eq!((refused_connects, failed), (0, 0), "{name}: {ok} ok");
        old.term();
        let exit = old.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            !pid_file.exists(),
            "{name}: the PID file is removed at exit"
        );
        assert!(
            !control.exists(),
            "{name}: the control socket is removed at exit"
        );
        refused(addr).await;
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}

/// Asks for the sockets at `control` as a successor would, and reads the offer.
fn ask(control: &Path) -> (UnixStream, String) {
    let mut stream = UnixStream::connect(control).unwrap();
    stream.write_all(b"take-over\n").unwrap();
    let mut offer = vec![0; 4096];
    let n = stream.read(&mut offer).unwrap();
    (stream, String::from_utf8_lossy(&offer[..n]).into_owned())
}

/// A successor that dies before it says it serves: the old server says why, and serves on;
/// the next take-over succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successor_gone_before_ready_leaves_the_old_server_serving() {
    each(|name| async move {
        let dir = scratch("gone", name);
        let control = dir.join("control.sock");
        let mut old = Demo::start(name, &["--control", arg(&control)]).await;
        let (stream, offer) = ask(&control);
        assert!(
            offer.starts_with(&format!("offer {} http", old.pid())),
            "{name}: {offer}"
        );
        drop(stream);
        let line = old.line_starting("upgrade: ").await;
        assert_eq!(
            line, "upgrade: failed: the successor closed its readiness channel without being ready",
            "{name}"
        );
        // Serving on, and ready for the next hand-off.
        let mut raw = support::Raw::connect(old.addr).await;
        raw.get("/").await;
        assert_eq!(raw.response().await.0, 200, "{name}");
        drop(raw);
        let mut new = Demo::start(name, &["--take-over", arg(&control)]).await;
        new.line_starting("upgrade: took over from pid ").await;
        let exit = old.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        new.term();
        assert_eq!(new.exit().await.code, 0, "{name}");
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}

/// Nothing at the path (no file, or a stale socket): `error: nothing to take over at …`,
/// exit 69, nothing bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_to_take_over_exits_69() {
    each(|name| async move {
        let dir = scratch("nothing", name);
        let control = dir.join("control.sock");
        let exit = Demo::run(name, &["--take-over", arg(&control)]).await;
        assert_eq!(exit.code, 69, "{name}: {exit:?}");
        assert!(
            exit.stderr.starts_with(&format!(
                "error: nothing to take over at {}: ",
                control.display()
            )),
            "{name}: {exit:?}"
        );
        assert!(exit.stdout.is_empty(), "{name}: {exit:?}");
        drop(std::os::unix::net::UnixListener::bind(&control).unwrap());
        let exit = Demo::run(name, &["--take-over", arg(&control)]).await;
        assert_eq!(exit.code, 69, "{name}: a stale socket: {exit:?}");
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}

/// A live server at the control path: a second server refuses to start (exit 64); a stale
/// socket file is replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_path_in_use_refuses_to_start() {
    each(|name| async move {
        let dir = scratch("taken", name);
        let control = dir.join("control.sock");
        drop(std::os::unix::net::UnixListener::bind(&control).unwrap());
        let old = Demo::start(name, &["--control", arg(&control)]).await;
        let exit = Demo::run(name, &["--addr", "127.0.0.1:0", "--control", arg(&control)]).await;
        assert_eq!(exit.code, 64, "{name}: {exit:?}");
        assert_eq!(
            exit.stderr.trim_end(),
            format!(
                "error: {}: another server is listening there",
                control.display()
            ),
            "{name}"
        );
        assert!(exit.stdout.is_empty(), "{name}: nothing bound: {exit:?}");
        old.term();
        assert_eq!(old.exit().await.code, 0, "{name}");
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}

/// One hand-off at a time: while one waits for its successor, a take-over exits 69 and a
/// `SIGUSR2` fails, both with `already upgrading` on the old server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_hand_off_at_once_is_refused() {
    each(|name| async move {
        let dir = scratch("second", name);
        let control = dir.join("control.sock");
        let mut old = Demo::start(name, &["--control", arg(&control)]).await;
        let (first, offer) = ask(&control);
        assert!(offer.starts_with("offer "), "{name}: {offer}");
        let exit = Demo::run(name, &["--take-over", arg(&control)]).await;
        assert_eq!(exit.code, 69, "{name}: {exit:?}");
        assert!(
            exit.stderr.contains("already upgrading"),
            "{name}: {exit:?}"
        );
        assert_eq!(
            old.line_starting("upgrade: ").await,
            "upgrade: failed: already upgrading",
            "{name}"
        );
        old.signal(rustix::process::Signal::USR2);
        assert_eq!(
            old.line_starting("upgrade: ").await,
            "upgrade: failed: already upgrading",
            "{name}"
        );
        drop(first);
        old.line_starting("upgrade: failed: the successor closed")
            .await;
        old.term();
        assert_eq!(old.exit().await.code, 0, "{name}");
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}

/// A process of another user: kept out by the socket's mode 0600; let in by a wider mode,
/// it is refused on its credentials (`SO_PEERCRED`). Needs root to run a process as
/// another user: skipped otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_of_another_user_is_refused() {
    if !rustix::process::getuid().is_root() {
        println!("skipped: running a process as another user needs root");
        return;
    }
    const NOBODY: u32 = 65534;
    each(|name| async move {
        let dir = scratch("user", name);
        let control = dir.join("control.sock");
        let mut old = Demo::start(name, &["--control", arg(&control)]).await;
        let exit = Demo::run_as(name, &["--take-over", arg(&control)], NOBODY).await;
        assert_eq!(exit.code, 69, "{name}: {exit:?}");
        assert!(
            exit.stderr.contains("Permission denied"),
            "{name}: {exit:?}"
        );
        std::fs::set_permissions(&control, std::fs::Permissions::from_mode(0o666)).unwrap();
        let exit = Demo::run_as(name, &["--take-over", arg(&control)], NOBODY).await;
        assert_eq!(exit.code, 69, "{name}: {exit:?}");
        assert!(
            exit.stderr.contains(&format!(
                "its user {NOBODY} is neither this server's nor root"
            )),
            "{name}: {exit:?}"
        );
        let line = old.line_starting("upgrade: ").await;
        assert!(
            line.starts_with("upgrade: failed: refused pid "),
            "{name}: {line}"
        );
        // Still serving.
        let mut raw = support::Raw::connect(old.addr).await;
        raw.get("/").await;
        assert_eq!(raw.response().await.0, 200, "{name}");
        drop(raw);
        old.term();
        assert_eq!(old.exit().await.code, 0, "{name}");
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}

/// The messages sent to a `NOTIFY_SOCKET`, in order.
struct Notify {
    path: PathBuf,
    messages: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Notify {
    fn bind(dir: &Path) -> Notify {
        let path = dir.join("notify");
        let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        let (tx, messages) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buffer) {
                if tx
                    .send(String::from_utf8_lossy(&buffer[..n]).into_owned())
                    .is_err()
                {
                    return;
                }
            }
        });
        Notify { path, messages }
    }

    /// The next message that is not a `STATUS=` or `WATCHDOG=` alone.
    async fn next(&mut self) -> String {
        support::bounded("a notification", async {
            loop {
                let message = self.messages.recv().await.expect("notifications");
                if !message.starts_with("STATUS=") {
                    return message;
                }
            }
        })
        .await
    }
}

/// `Type=notify-reload`: `RELOADING=1` with `MONOTONIC_USEC` when a SIGHUP reload or a
/// hand-off starts; `READY=1` when it is done: from the server itself after a reload or a
/// failed hand-off, from the successor (with its `MAINPID`) after a take-over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_and_hand_offs_speak_notify_reload() {
    each(|name| async move {
        let dir = scratch("notify", name);
        let control = dir.join("control.sock");
        let mut notify = Notify::bind(&dir);
        let socket = notify.path.clone();
        let env = [("NOTIFY_SOCKET", socket.as_os_str())];
        let args = ["--control", arg(&control)];
        let mut old = Demo::start_with_env(name, &args, &env).await;
        let ready = format!("READY=1\nMAINPID={}\n", old.pid());
        assert!(notify.next().await.starts_with(&ready), "{name}");
        let reloading = |message: &str| {
            let mut lines = message.lines();
            lines.next() == Some("RELOADING=1")
                && lines
                    .next()
                    .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
                    .is_some_and(|usec| usec.parse::<u64>().is_ok_and(|usec| usec > 0))
        };

        old.signal(rustix::process::Signal::HUP);
        old.expect_line("reload: SIGHUP").await;
        let message = notify.next().await;
        assert!(reloading(&message), "{name}: {message}");
        assert_eq!(notify.next().await, "READY=1\nSTATUS=running\n", "{name}");

        // A hand-off that fails: READY=1 from the server that serves on.
        let (stream, _) = ask(&control);
        let message = notify.next().await;
        assert!(reloading(&message), "{name}: {message}");
        drop(stream);
        old.line_starting("upgrade: failed: ").await;
        assert_eq!(notify.next().await, "READY=1\nSTATUS=running\n", "{name}");

        // A take-over: READY=1 from the successor, with its MAINPID.
        let mut taking = args.to_vec();
        taking.extend(["--take-over", arg(&control)]);
        let mut new = Demo::start_with_env(name, &taking, &env).await;
        let message = notify.next().await;
        assert!(reloading(&message), "{name}: {message}");
        let ready = format!("READY=1\nMAINPID={}\n", new.pid());
        let message = notify.next().await;
        assert!(message.starts_with(&ready), "{name}: {message}");
        new.line_starting("upgrade: took over from pid ").await;
        assert_eq!(old.exit().await.code, 0, "{name}");
        new.term();
        assert_eq!(new.exit().await.code, 0, "{name}");
        let _ = std::fs::remove_dir_all(dir);
    })
    .await;
}
