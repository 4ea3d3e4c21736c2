//! The outside of a child-process test, runtime-free: start this test binary again as a
//! server (`LAMEDUCK_CHILD=1`), read its stdout line by line, connect, send real signals.
//! Shared by the tokio and smol child-process tests; every wait is bounded, none is a sleep.

use core::{net::SocketAddr, time::Duration};
use std::{
    io::{BufRead, BufReader, ErrorKind, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc::{self, Receiver},
};

/// How long any one expected event may take before the test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// A server started as a child process.
pub(crate) struct Server {
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts this binary as a server with `env`, and waits for its `listening on` line.
    pub(crate) fn start(env: &[(&str, &str)]) -> Server {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .env("LAMEDUCK_CHILD", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the child");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            lines,
            seen: Vec::new(),
            addr: "0.0.0.0:0".parse().expect("an address"),
        };
        let listening = server.expect_prefix("listening on ");
        server.addr = listening["listening on ".len()..]
            .parse()
            .expect("listening on IP:PORT");
        server
    }

    /// The first line, read before or now, that starts with `prefix` (lines printed by
    /// different tasks of the child may come in either order).
    pub(crate) fn expect_prefix(&mut self, prefix: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(e) => panic!("no line `{prefix}..` ({e:?}); saw {:#?}", self.seen),
            }
        }
    }

    /// Sends `signal` (a POSIX number) to the child.
    pub(crate) fn signal(&self, signal: i32) {
        let signal = rustix::process::Signal::from_named_raw(signal).expect("a named signal");
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), signal)
            .expect("signal the child");
    }

    /// The child's process id.
    #[allow(dead_code)]
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the child is still running.
    #[allow(dead_code)]
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Reads stdout to its end, waits for the exit, and returns the code and every line.
    pub(crate) fn finish(mut self) -> (i32, Vec<String>) {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("stdout never closed ({e:?}); saw {:#?}", self.seen),
            }
        }
        let status = self.child.wait().expect("wait for the child");
        let code = status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {status:?}; saw {:#?}", self.seen));
        (code, core::mem::take(&mut self.seen))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failed test must not leave its child behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection to the server's line protocol (`ping` → `pong`, `sleep N` → `started`,
/// then `done N` after N ms).
pub(crate) struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects; panics if refused.
    pub(crate) fn connect(addr: SocketAddr) -> Client {
        Client::try_connect(addr).expect("connect")
    }

    /// Connects, or returns the error.
    pub(crate) fn try_connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        Ok(Client {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one line.
    pub(crate) fn send(&mut self, line: &str) {
        let stream = self.reader.get_mut();
        stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("send a line");
    }

    /// The next line, or `None` at end of stream (or a reset: the server closed on us).
    pub(crate) fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(line.trim_end().to_owned()),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => None,
            Err(e) => panic!("reading a line: {e}"),
        }
    }

    /// The next line, waiting at most `wait`; `None` if nothing came.
    #[allow(dead_code)]
    pub(crate) fn line_within(&mut self, wait: Duration) -> Option<String> {
        self.reader
            .get_ref()
            .set_read_timeout(Some(wait))
            .expect("timeout");
        let mut line = String::new();
        let got = match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end().to_owned()),
            Ok(_) => panic!("closed while waiting for a line"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
            Err(e) => panic!("reading a line: {e}"),
        };
        self.reader
            .get_ref()
            .set_read_timeout(Some(PATIENCE))
            .expect("timeout");
        got
    }

    /// Asserts the server closed the connection with nothing more to say.
    pub(crate) fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "unexpected {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        }
    }
}

/// CPU time (user + system, in clock ticks) the process `pid` has used; Linux only.
#[cfg(target_os = "linux")]
#[allow(dead_code)]
pub(crate) fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    let after_name = &stat[stat.rfind(')').expect("(comm)") + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15 (proc(5)).
    let field = |n: usize| fields[n - 3].parse::<u64>().expect("a number");
    field(14) + field(15)
}
