//! The `custom_executor` example as a child process: a request in flight finishes after
//! SIGTERM, an idle connection is closed, new connects are refused, the hook runs, exit 0.
//!
//! The example's own source is compiled into this binary, which starts itself again as the
//! example (`LAMEDUCK_CHILD=1`), so the test always runs the current code. No harness: the
//! child must get the example's command line, not the test harness's.

#[cfg(unix)]
#[path = "../custom_executor.rs"]
mod example;

#[cfg(unix)]
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, ExitCode, Stdio},
};

#[cfg(unix)]
fn main() -> ExitCode {
    if std::env::var_os("LAMEDUCK_CHILD").is_some() {
        return example::main();
    }
    sigterm_finishes_work_in_flight_closes_idle_connections_and_refuses_new_ones();
    println!(
        "test sigterm_finishes_work_in_flight_closes_idle_connections_and_refuses_new_ones ... ok"
    );
    ExitCode::SUCCESS
}

#[cfg(not(unix))]
fn main() {}

/// Kills the child if the test fails half-way.
#[cfg(unix)]
struct Running(Child);

#[cfg(unix)]
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
fn line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read a line");
    line.trim_end().to_owned()
}

#[cfg(unix)]
fn connect(addr: &str) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(core::time::Duration::from_secs(30)))
        .expect("timeout");
    BufReader::new(stream)
}

#[cfg(unix)]
fn sigterm_finishes_work_in_flight_closes_idle_connections_and_refuses_new_ones() {
    let exe = std::env::current_exe().expect("own path");
    let child = Command::new(exe)
        .env("LAMEDUCK_CHILD", "1")
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut child = Running(child);
    let mut out = BufReader::new(child.0.stdout.take().expect("stdout"));
    let listening = line(&mut out);
    let addr = listening
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();

    let mut idle = connect(&addr);
    idle.get_mut().write_all(b"ping\n").expect("send");
    assert_eq!(line(&mut idle), "pong");
    let mut busy = connect(&addr);
    busy.get_mut().write_all(b"work 700\n").expect("send");
    assert_eq!(line(&mut busy), "started");

    let pid = rustix::process::Pid::from_child(&child.0);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");

    // The idle connection is closed once the drain started and the listener is gone.
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).expect("end of stream");
    assert!(rest.is_empty());
    let refused = TcpStream::connect(&addr).map(drop).map_err(|e| e.kind());
    assert_eq!(refused, Err(std::io::ErrorKind::ConnectionRefused));
    assert_eq!(line(&mut busy), "done 700", "work in flight finishes");

    let rest: Vec<String> = out.lines().map(|l| l.expect("a line")).collect();
    assert_eq!(rest[0], "hook goodbye: ok");
    assert!(
        rest[1].starts_with("shutdown: drained=true connections_left=0 ")
            && rest[1].ends_with("reason=SIGTERM"),
        "{rest:?}"
    );
    assert_eq!(child.0.wait().expect("exit").code(), Some(0));
}
