//! Starting servers, reading what they print, sending them signals, and a client load.

use super::server::ROLE;
use rustix::process::{kill_process, test_kill_process, Pid, Signal};
use std::{
    collections::BTreeSet,
    env,
    io::{BufRead, BufReader, ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, Mutex,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

/// Generous: these are bounds on a loaded 2-core machine, not speed checks.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// The lines every server of one test printed (successors share the first one's stdout).
pub(crate) struct Lines {
    rx: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    /// The next line that matches, waiting up to [`WAIT`]; panics with all lines seen.
    pub(crate) fn expect(&mut self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no line {what:?}; lines so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The next line starting with `prefix`.
    pub(crate) fn expect_prefix(&mut self, prefix: &str) -> String {
        self.expect(prefix, |line| line.starts_with(prefix))
    }

    /// The `listening on ADDR pid PID ...` line of a new server.
    pub(crate) fn listening(&mut self) -> (SocketAddr, u32, String) {
        let line = self.expect_prefix("listening on ");
        let words: Vec<&str> = line.split(' ').collect();
        (words[2].parse().unwrap(), words[4].parse().unwrap(), line)
    }

    /// The exit code `pid` printed as its last line.
    pub(crate) fn exit_of(&mut self, pid: u32) -> u8 {
        let suffix = format!(" pid {pid}");
        let line = self.expect(&format!("exit ... pid {pid}"), |l| {
            l.starts_with("exit ") && l.ends_with(&suffix)
        });
        line.split(' ').nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Lines {
    /// Kills the servers of the case that did not print their exit, so that a failed case
    /// leaves no process behind.
    fn drop(&mut self) {
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push(line);
        }
        let exited: Vec<&str> = self
            .seen
            .iter()
            .filter(|line| line.starts_with("exit "))
            .filter_map(|line| line.rsplit(' ').next())
            .collect();
        for line in &self.seen {
            let pid = if line.starts_with("listening on ") {
                line.split(' ').nth(4)
            } else if line.starts_with("successor ") {
                line.split([' ', ':']).nth(1)
            } else {
                None
            };
            let pid = pid.filter(|pid| !exited.contains(pid));
            if let Some(pid) = pid
                .and_then(|p| p.parse::<i32>().ok())
                .and_then(Pid::from_raw)
            {
                let _ = kill_process(pid, Signal::KILL);
            }
        }
    }
}

/// A server started with `command`, and the lines it (and its successors) print.
pub(crate) fn start(command: Command) -> (Child, Lines) {
    let mut command = command;
    command
        .env(ROLE, "server")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("start the server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (
        child,
        Lines {
            rx,
            seen: Vec::new(),
        },
    )
}

/// This test binary as a server (the harness's arguments are not passed: the server ignores
/// them, and its successors get the same ones either way).
pub(crate) fn server() -> Command {
    Command::new(env::current_exe().unwrap())
}

pub(crate) fn signal(pid: u32, signal: Signal) {
    let pid = Pid::from_raw(pid as i32).unwrap();
    kill_process(pid, signal).expect("signal the server");
}

pub(crate) fn usr2(pid: u32) {
    signal(pid, Signal::USR2);
}

pub(crate) fn term(pid: u32) {
    signal(pid, Signal::TERM);
}

/// Whether `pid` is gone (a zombie is not: it was not reaped).
pub(crate) fn gone(pid: u32) -> bool {
    test_kill_process(Pid::from_raw(pid as i32).unwrap()).is_err()
}

/// One request: connect, send a line, read the pid that answers.
pub(crate) fn request(addr: SocketAddr) -> Result<u32, Failure> {
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Err(Failure::Refused),
        Err(e) => return Err(Failure::Other(format!("connect: {e}"))),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if let Err(e) = stream.write_all(b"ping\n") {
        return Err(Failure::Other(format!("write: {e}")));
    }
    let mut answer = String::new();
    match stream.read_to_string(&mut answer) {
        Ok(_) => answer
            .trim()
            .parse()
            .map_err(|_| Failure::Other(format!("answer {answer:?}"))),
        Err(e) => Err(Failure::Other(format!("read: {e}"))),
    }
}

#[derive(Debug)]
pub(crate) enum Failure {
    Refused,
    Other(String),
}

/// What a load saw.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub ok: u64,
    pub refused: u64,
    pub failed: u64,
    pub pids: BTreeSet<u32>,
    pub errors: BTreeSet<String>,
}

/// Clients requesting in a loop until stopped.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    pub(crate) fn start(addr: SocketAddr, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let clients = (0..clients)
            .map(|_| {
                let (stop, tally) = (stop.clone(), tally.clone());
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let result = request(addr);
                        let mut tally = tally.lock().unwrap();
                        match result {
                            Ok(pid) => {
                                tally.ok += 1;
                                tally.pids.insert(pid);
                            }
                            Err(Failure::Refused) => tally.refused += 1,
                            Err(Failure::Other(e)) => {
                                tally.failed += 1;
                                tally.errors.insert(e);
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            tally,
            clients,
        }
    }

    /// Requests answered so far.
    pub(crate) fn ok(&self) -> u64 {
        self.tally.lock().unwrap().ok
    }

    /// Waits until `more` further requests were answered (the load really runs).
    pub(crate) fn wait_for(&self, more: u64) {
        let target = self.ok() + more;
        let deadline = Instant::now() + WAIT;
        while self.ok() < target {
            assert!(
                Instant::now() < deadline,
                "the load stalled: {:?}",
                self.tally
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn stop(self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients {
            client.join().unwrap();
        }
        Arc::try_unwrap(self.tally).unwrap().into_inner().unwrap()
    }
}
