//! Runs a demo server as a child process and follows its stdout lines.
//!
//! The demos' binaries: `cargo test` builds every example of the package before it runs
//! any test, into `target/<profile>/examples/<name>`, next to this test's own
//! `target/<profile>/deps/`. When a test is run alone with a filter that skipped the
//! examples (`cargo test --test demos`), the binaries are built once, here, with the same
//! cargo.

#![allow(dead_code)]

use core::{future::Future, net::SocketAddr, time::Duration};
use std::{
    io::{BufRead, BufReader},
    os::unix::process::ExitStatusExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, OnceLock},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader},
    net::TcpStream,
    sync::mpsc,
};

/// Every demo keeping the contract.
pub(crate) const DEMOS: [&str; 4] = ["hyper_tokio", "hyper_smol", "axum", "seed"];

/// Runs `check` on every demo at once; a failure names the demo.
pub(crate) async fn each_demo<F, Fut>(check: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for name in DEMOS {
        let check = check(name);
        set.spawn(async move {
            check.await;
            name
        });
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// Generous bound on anything a test waits for.
pub(crate) const BOUND: Duration = Duration::from_secs(15);

pub(crate) async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn binary(name: &str) -> PathBuf {
    // Another build's demos (to measure a different version), when asked for.
    if let Some(dir) = std::env::var_os("LAMEDUCK_DEMO_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    static BUILT: OnceLock<()> = OnceLock::new();
    if !path.exists() {
        BUILT.get_or_init(|| {
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "-p", "lameduck-examples", "--examples"]);
            if profile_dir.ends_with("release") {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("run cargo build");
            assert!(status.success(), "building the examples failed");
        });
    }
    assert!(path.exists(), "no demo binary at {}", path.display());
    path
}

/// A running demo.
pub(crate) struct Demo {
    pub name: &'static str,
    child: Option<Child>,
    pub addr: SocketAddr,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every stdout line so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Output,
}

/// How a demo ended.
#[derive(Debug)]
pub(crate) struct Exit {
    pub code: i32,
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Exit {
    /// How many stdout lines equal `line`.
    pub(crate) fn count(&self, line: &str) -> usize {
        self.stdout.iter().filter(|l| *l == line).count()
    }

    pub(crate) fn last(&self) -> &str {
        self.stdout.last().map_or("", String::as_str)
    }
}

type Spawned = (
    Child,
    mpsc::UnboundedReceiver<String>,
    Arc<Mutex<Vec<String>>>,
    Output,
);

fn spawn(name: &str, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Spawned {
    spawn_with(name, args, env, None)
}

/// As [`spawn`], with the child's stderr given (then not read here) instead of piped.
fn spawn_with(
    name: &str,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
    stderr: Option<Stdio>,
) -> Spawned {
    let mut command = Command::new(binary(name));
    command.args(args).envs(env.iter().copied());
    spawn_command(command, stderr)
}

/// Starts `command` (a demo, or a shell that `exec`s one) with stdout piped and followed.
fn spawn_command(mut command: Command, stderr: Option<Stdio>) -> Spawned {
    let given = stderr.is_some();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.unwrap_or_else(Stdio::piped))
        .spawn()
        .expect("start the demo");
    let (tx, rx) = mpsc::unbounded_channel();
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let out = BufReader::new(child.stdout.take().unwrap());
    let all = stdout.clone();
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            all.lock().unwrap().push(line.clone());
            let _ = tx.send(line);
        }
    });
    let stderr = Arc::new(Mutex::new(String::new()));
    if given {
        return (
            child,
            rx,
            stdout,
            Output {
                stderr,
                stderr_done: None,
            },
        );
    }
    let err = BufReader::new(child.stderr.take().unwrap());
    let all = stderr.clone();
    let stderr_done = std::thread::spawn(move || {
        for line in err.lines() {
            let Ok(line) = line else { break };
            let mut all = all.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    (
        child,
        rx,
        stdout,
        Output {
            stderr,
            stderr_done: Some(stderr_done),
        },
    )
}

/// The stderr text and the thread reading it.
pub(crate) struct Output {
    pub stderr: Arc<Mutex<String>>,
    stderr_done: Option<std::thread::JoinHandle<()>>,
}

impl Demo {
    /// Starts `name` on a free port with `args`, and waits for `listening on`.
    pub(crate) async fn start(name: &'static str, args: &[&str]) -> Demo {
        Demo::start_with_env(name, args, &[]).await
    }

    /// As [`start`](Self::start), with the demo's stderr given (and not read here).
    pub(crate) async fn start_with(
        name: &'static str,
        args: &[&str],
        stderr: Option<Stdio>,
    ) -> Demo {
        Demo::start_full(name, args, &[], stderr).await
    }

    /// [`start`](Self::start) with these environment variables set for the demo.
    pub(crate) async fn start_with_env(
        name: &'static str,
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Demo {
        Demo::start_full(name, args, env, None).await
    }

    async fn start_full(
        name: &'static str,
        args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
        stderr: Option<Stdio>,
    ) -> Demo {
        let mut all = vec!["--addr", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Demo::listening(name, spawn_with(name, &all, env, stderr)).await
    }

    /// Starts `name` with `args` as systemd's socket activation starts a service: `listener`
    /// as fd 3, `LISTEN_FDS=1`, and `LISTEN_PID` set to the demo's own pid (which only the
    /// process knows: a shell sets it, then `exec`s the demo, keeping its pid). Waits for
    /// `listening on`, as [`start`](Self::start) does; `addr` is the address printed.
    pub(crate) async fn activated(
        name: &'static str,
        listener: &std::net::TcpListener,
        args: &[&str],
    ) -> Demo {
        use command_fds::{CommandFdExt, FdMapping};
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg(r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#)
            .arg(binary(name))
            .args(args)
            .env("LISTEN_FDS", "1")
            .fd_mappings(vec![FdMapping {
                parent_fd: listener.try_clone().expect("dup the listener").into(),
                child_fd: 3,
            }])
            .expect("fd 3 free in the mapping");
        Demo::listening(name, spawn_command(sh, None)).await
    }

    /// Starts `name` with `args` on a free port through `wrapper` (a command that `exec`s
    /// its arguments, such as `env --block-signal=TERM`); waits for `listening on`.
    pub(crate) async fn start_wrapped(name: &'static str, wrapper: &[&str], args: &[&str]) -> Demo {
        let mut command = Command::new(wrapper[0]);
        command
            .args(&wrapper[1..])
            .arg(binary(name))
            .args(["--addr", "127.0.0.1:0"])
            .args(args);
        Demo::listening(name, spawn_command(command, None)).await
    }

    /// The demo `spawned` is, once it has printed `listening on` and `phase: running`.
    async fn listening(name: &'static str, spawned: Spawned) -> Demo {
        let (child, lines, stdout, stderr) = spawned;
        let mut demo = Demo {
            name,
            child: Some(child),
            addr: "0.0.0.0:0".parse().unwrap(),
            lines,
            stdout,
            stderr,
        };
        let line = demo.line_starting("listening on http://").await;
        demo.addr = line["listening on http://".len()..]
            .parse()
            .expect("IP:PORT");
        demo.expect_line("phase: running").await;
        demo
    }

    /// Runs `name` with `args` to its end (for command-line errors).
    pub(crate) async fn run(name: &'static str, args: &[&str]) -> Exit {
        let (child, lines, stdout, stderr) = spawn(name, args, &[]);
        let demo = Demo {
            name,
            child: Some(child),
            addr: "0.0.0.0:0".parse().unwrap(),
            lines,
            stdout,
            stderr,
        };
        demo.exit().await
    }

    /// Waits for the next stdout line starting with `prefix`, skipping others.
    pub(crate) async fn line_starting(&mut self, prefix: &str) -> String {
        let name = self.name;
        bounded(&format!("{name}: a line starting {prefix:?}"), async {
            loop {
                match self.lines.recv().await {
                    Some(line) if line.starts_with(prefix) => return line,
                    Some(_) => {}
                    None => panic!(
                        "{name} ended before printing {prefix:?}; stderr: {}",
                        self.stderr.stderr.lock().unwrap()
                    ),
                }
            }
        })
        .await
    }

    /// Waits for the stdout line `line`, skipping others.
    pub(crate) async fn expect_line(&mut self, line: &str) {
        let got = self.line_starting(line).await;
        assert_eq!(got, line, "{}", self.name);
    }

    /// Sends `signal` (SIGTERM, SIGINT, ...) to the demo.
    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let id = self.child.as_ref().expect("running").id();
        let pid = rustix::process::Pid::from_raw(id as i32).expect("a child's pid");
        rustix::process::kill_process(pid, signal).expect("signal the demo");
    }

    /// The demo's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub(crate) fn term(&self) {
        self.signal(rustix::process::Signal::TERM);
    }

    /// Waits for the demo to exit.
    pub(crate) async fn exit(mut self) -> Exit {
        let mut child = self.child.take().expect("running");
        let status = bounded(
            &format!("{} to exit", self.name),
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await
        .unwrap()
        .unwrap();
        let code = status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .unwrap();
        // Let the reader threads reach the end of the pipes.
        while self.lines.recv().await.is_some() {}
        let stdout = self.stdout.lock().unwrap().clone();
        if let Some(done) = self.stderr.stderr_done.take() {
            tokio::task::spawn_blocking(move || done.join())
                .await
                .unwrap()
                .unwrap();
        }
        let stderr = self.stderr.stderr.lock().unwrap().clone();
        Exit {
            code,
            stdout,
            stderr,
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A raw HTTP/1.1 connection.
pub(crate) struct Raw {
    pub io: AsyncBufReader<TcpStream>,
}

impl Raw {
    pub(crate) async fn connect(addr: SocketAddr) -> Raw {
        let io = bounded("connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        Raw {
            io: AsyncBufReader::new(io),
        }
    }

    pub(crate) async fn send(&mut self, request: &str) {
        self.io
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
    }

    pub(crate) async fn get(&mut self, path: &str) {
        self.send(&format!("GET {path} HTTP/1.1\r\nhost: demo\r\n\r\n"))
            .await;
    }

    /// Reads one response: (status, lower-cased head, body); chunked or sized bodies.
    pub(crate) async fn response(&mut self) -> (u16, String, String) {
        bounded("a response", async {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                assert_ne!(
                    self.io.read_line(&mut line).await.unwrap(),
                    0,
                    "eof in head: {head}"
                );
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let status = head[9..12].parse().unwrap();
            let body = if head.contains("transfer-encoding: chunked") {
                self.chunked().await
            } else {
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                let mut body = vec![0; length];
                self.io.read_exact(&mut body).await.unwrap();
                String::from_utf8(body).unwrap()
            };
            (status, head, body)
        })
        .await
    }

    /// Reads the head of a response and leaves the body.
    pub(crate) async fn head(&mut self) -> String {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            assert_ne!(
                self.io.read_line(&mut line).await.unwrap(),
                0,
                "eof in head: {head}"
            );
            if line == "\r\n" {
                return head;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
    }

    /// Reads one chunk of a chunked body ("" at the last one).
    pub(crate) async fn chunk(&mut self) -> String {
        let mut size = String::new();
        self.io.read_line(&mut size).await.unwrap();
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        let mut data = vec![0; size + 2];
        self.io.read_exact(&mut data).await.unwrap();
        data.truncate(size);
        String::from_utf8(data).unwrap()
    }

    async fn chunked(&mut self) -> String {
        let mut body = String::new();
        loop {
            let chunk = self.chunk().await;
            if chunk.is_empty() {
                return body;
            }
            body.push_str(&chunk);
        }
    }

    /// Reads a line (raw streams, after an upgrade).
    pub(crate) async fn line(&mut self) -> String {
        let mut line = String::new();
        bounded("a line", self.io.read_line(&mut line))
            .await
            .unwrap();
        line
    }

    /// Whether the server closes the connection (EOF or reset) without sending more.
    pub(crate) async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match bounded("the connection to close", self.io.read_to_end(&mut rest)).await {
            Ok(_) => rest.is_empty(),
            Err(_) => true,
        }
    }
}

/// Waits until a new connection to `addr` is refused (a connection the kernel completed
/// just before the listener was dropped is reset, never left hanging).
pub(crate) async fn refused(addr: SocketAddr) {
    bounded("connections to be refused", async {
        loop {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                // Reset while the listener closed: not hanging either; try again.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
                Err(e) => panic!("connect failed otherwise: {e}"),
                Ok(mut stream) => {
                    let mut rest = Vec::new();
                    let _ = stream.read_to_end(&mut rest).await;
                    assert!(rest.is_empty());
                }
            }
        }
    })
    .await
}
