//! The shutdown-latency client's pieces: start a server binary, hold connections to it,
//! signal it and time its exit. Used by `src/bin/shutdown_latency.rs`.

use core::{net::SocketAddr, time::Duration};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::{Arc, Barrier},
    time::Instant,
};

/// A server binary to start, by a short name for the report.
///
/// ```
/// let server = lameduck_benches::shutdown_client::Server::new("bare", "target/release/bare_hyper");
/// assert_eq!(server.name, "bare");
/// ```
#[derive(Clone, Debug)]
pub struct Server {
    /// The name in the report.
    pub name: String,
    /// The binary; it is started with `--addr 127.0.0.1:0` and must print
    /// `listening on http://IP:PORT` on stdout.
    pub path: String,
}

impl Server {
    /// A server called `name`, started from `path`.
    ///
    /// ```
    /// let _ = lameduck_benches::shutdown_client::Server::new("axum", "axum_graceful");
    /// ```
    pub fn new(name: &str, path: &str) -> Server {
        Server {
            name: name.to_owned(),
            path: path.to_owned(),
        }
    }

    /// Starts it and waits for its `listening on` line; the rest of its stdout is drained
    /// by a thread so that it never blocks on a full pipe.
    fn start(&self) -> (Child, SocketAddr) {
        let mut child = Command::new(&self.path)
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.path));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).expect("read stdout") > 0,
                "{} ended before listening",
                self.name
            );
            if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                break addr.parse().expect("an address");
            }
        };
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        (child, addr)
    }
}

/// Reads one HTTP/1.1 response whose body ends with `tail`; returns whether it was a 200.
fn read_response(stream: &mut TcpStream, tail: &[u8]) -> bool {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !buf.ends_with(tail) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    buf.starts_with(b"HTTP/1.1 200")
}

fn request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes()
}

fn terminate(child: &Child) {
    signal(child, rustix::process::Signal::TERM);
}

fn signal(child: &Child, signal: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::Pid::from_child(child), signal)
        .expect("send a signal");
}

/// The server's resident set size now, in bytes (Linux's `/proc/PID/status`; `None`
/// elsewhere).
fn rss(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// What one idle run measured.
#[derive(Clone, Copy, Debug)]
pub struct IdleRun {
    /// From SIGTERM to the exit, as `waitpid` sees it.
    pub took: Duration,
    /// The server's RSS growth from before the connections to when all were answered,
    /// divided by their number (bytes; `NaN` where RSS cannot be read).
    pub rss_per_connection: f64,
}

/// `n` idle keep-alive connections (one `GET /` answered on each), then SIGTERM: the time
/// from the signal to the exit, timed by waiting on the process (`Child::wait`, that is
/// `waitpid`), and the server's RSS per connection.
///
/// With a non-empty `attach` (a profiler's command line, `perf trace -s` say), that command
/// is started with `-p PID` once the connections are answered, given time to attach, and
/// stopped with SIGINT after the exit: it sees the shutdown and nothing before it. Its
/// output goes where this process's goes.
///
/// ```no_run
/// use lameduck_benches::shutdown_client::{idle_run, Server};
/// let run = idle_run(&Server::new("bare", "target/release/bare_hyper"), 10, &[]);
/// println!("{:?}", run.took);
/// ```
pub fn idle_run(server: &Server, n: usize, attach: &[String]) -> IdleRun {
    let (mut child, addr) = server.start();
    let before = rss(&child);
    let get = request("/");
    let mut conns: Vec<TcpStream> = (0..n)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            stream.write_all(&get).expect("write");
            stream
        })
        .collect();
    for stream in &mut conns {
        assert!(
            read_response(stream, b"ok"),
            "{}: GET / failed",
            server.name
        );
    }
    let after = rss(&child);
    let rss_per_connection = match (before, after) {
        (Some(before), Some(after)) => (after as f64 - before as f64) / n as f64,
        _ => f64::NAN,
    };
    let profiler = attach.split_first().map(|(program, args)| {
        let profiler = Command::new(program)
            .args(args)
            .arg("-p")
            .arg(child.id().to_string())
            .spawn()
            .expect("start the profiler");
        // perf attaches asynchronously and says nothing when it has.
        std::thread::sleep(Duration::from_millis(1500));
        profiler
    });
    let start = Instant::now();
    terminate(&child);
    child.wait().expect("wait");
    let took = start.elapsed();
    drop(conns);
    if let Some(mut profiler) = profiler {
        std::thread::sleep(Duration::from_millis(300));
        signal(&profiler, rustix::process::Signal::INT);
        profiler.wait().expect("wait for the profiler");
    }
    IdleRun {
        took,
        rss_per_connection,
    }
}

/// `n` connections each waiting on `GET /sleep?ms=…`, SIGTERM while they are in the
/// handlers: seconds from the last response's arrival to the exit (negative when this
/// process read the last response only after the server had exited).
///
/// ```no_run
/// use lameduck_benches::shutdown_client::{inflight_run, Server};
/// let secs = inflight_run(&Server::new("axum", "target/release/axum_graceful"), 100, std::time::Duration::from_millis(500));
/// println!("{secs}");
/// ```
pub fn inflight_run(server: &Server, n: usize, sleep: Duration) -> f64 {
    let (mut child, addr) = server.start();
    let ms = sleep.as_millis();
    let barrier = Arc::new(Barrier::new(n + 1));
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            let mut stream = TcpStream::connect(addr).expect("connect");
            std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("timeout");
                stream
                    .write_all(&request(&format!("/sleep?ms={ms}")))
                    .expect("write");
                barrier.wait();
                let ok = read_response(&mut stream, format!("slept {ms}").as_bytes());
                (ok, Instant::now())
            })
        })
        .collect();
    barrier.wait();
    // Let the requests reach their handlers (they sleep far longer than this).
    std::thread::sleep(Duration::from_millis(50));
    terminate(&child);
    child.wait().expect("wait");
    let exited = Instant::now();
    let mut last = None::<Instant>;
    for client in clients {
        let (ok, at) = client.join().expect("client thread");
        assert!(
            ok,
            "{}: an in-flight request was not answered with a 200",
            server.name
        );
        last = Some(last.map_or(at, |last| last.max(at)));
    }
    let last = last.expect("at least one request");
    if exited >= last {
        (exited - last).as_secs_f64()
    } else {
        -(last - exited).as_secs_f64()
    }
}
