//! The server the cases start: one line in, its pid back, one connection per request.
//!
//! Its environment (read once; successors inherit it, and the variables below that are meant
//! for one process only are removed):
//!
//! - `TEST_ADDR`: where to bind when nothing is inherited (default `127.0.0.1:0`);
//! - `TEST_MODE_FILE`: a file read at each upgrade, naming the successor to start: `ok`, or
//!   `missing` (no such executable), `crash` (exits 3 before it is ready), `silent` (never
//!   ready); without it, the upgrader's default command (same executable and arguments);
//! - `TEST_READY_TIMEOUT_MS`: the upgrader's bound on the wait for readiness;
//! - `TEST_SUCCESSOR`: this process is such a `crash` or `silent` successor.

use core::{future::Future, pin::Pin, time::Duration};
use futures::{channel::mpsc, executor::block_on};
use lameduck::{
    runtime::{BoxError, Runtime, Timer},
    upgrade::{self, Inherited, Upgrader},
    Config, Shutdown, Signal, SignalSet,
};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR2};
use std::{
    env,
    io::{BufRead, BufReader, ErrorKind, Write},
    net::{TcpListener, TcpStream},
    process::{self, Command},
    thread,
    time::Instant,
};

/// Set (to anything) in a server's environment.
pub(crate) const ROLE: &str = "LAMEDUCK_TEST_ROLE";

/// Sleeps and tasks on threads of their own: enough for the driver's few deadlines.
#[derive(Clone, Copy)]
struct Threads(Instant);

impl Timer for Threads {
    type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn now(&self) -> Duration {
        self.0.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Self::Sleep {
        let (done, wait) = futures::channel::oneshot::channel::<()>();
        thread::spawn(move || {
            thread::sleep(duration.min(Duration::from_secs(3600)));
            let _ = done.send(());
        });
        Box::pin(async move {
            let _ = wait.await;
        })
    }
}

impl Runtime for Threads {
    type Signals = futures::stream::Pending<Signal>;

    fn signals(&self, _: SignalSet) -> Result<Self::Signals, BoxError> {
        Ok(futures::stream::pending()) // the signals come through signal-hook, below
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        thread::spawn(move || block_on(task));
    }

    fn spawn_blocking(&self, work: impl FnOnce() + Send + 'static) {
        thread::spawn(work);
    }
}

pub(crate) fn main() -> ! {
    let pid = process::id();
    let inherited = Inherited::from_env();
    let behaviour = env::var("TEST_SUCCESSOR").ok();
    env::remove_var("TEST_SUCCESSOR");
    let mut inherited = inherited.expect("inherited sockets");
    let clean = [
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        "LAMEDUCK_PREDECESSOR",
    ]
    .iter()
    .all(|var| env::var_os(var).is_none());
    match behaviour.as_deref() {
        Some("crash") => {
            println!("successor {pid}: crash");
            process::exit(3);
        }
        Some("silent") => {
            println!("successor {pid}: silent");
            loop {
                thread::park();
            }
        }
        _ => {}
    }
    let names: Vec<String> = inherited.names().map(String::from).collect();
    let (listener, from) = match inherited.take_tcp() {
        Some(listener) => (listener, "inherited"),
        None => {
            let addr = env::var("TEST_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
            (TcpListener::bind(addr).expect("bind"), "bound")
        }
    };
    let addr = listener.local_addr().expect("local address");

    let shutdown = Shutdown::new(Config::new().lame_duck(Duration::from_secs(1))).unwrap();
    let handle = shutdown.handle();
    let trigger = shutdown.trigger();
    let mut upgrader = Upgrader::new()
        .listener("test", &listener)
        .expect("listener")
        .handle(&handle);
    if let Some(ms) = env::var("TEST_READY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        upgrader = upgrader.timeout(Duration::from_millis(ms));
    }
    if let Ok(file) = env::var("TEST_MODE_FILE") {
        upgrader = upgrader.command(move || successor(&file));
    }

    // Signals first, so that a SIGUSR2 or SIGTERM sent right after "listening" is handled.
    let (signals_tx, signals_rx) = mpsc::unbounded();
    let mut signals = signal_hook::iterator::Signals::new([SIGUSR2, SIGTERM, SIGINT]).unwrap();
    thread::spawn(move || {
        for signal in signals.forever() {
            if signal != SIGUSR2 {
                let _ = signals_tx.unbounded_send(Signal::new(signal as u8));
                continue;
            }
            let upgrading = upgrader.upgrade();
            let trigger = trigger.clone();
            thread::spawn(move || match block_on(upgrading) {
                Ok(handover) => {
                    println!("upgrade: handed over to pid {}", handover.pid());
                    trigger.handover();
                }
                Err(e) => println!("upgrade: failed: {e}"),
            });
        }
    });

    listener.set_nonblocking(true).unwrap();
    let accepting = handle.clone();
    let accept = thread::spawn(move || {
        // The accept loop counts as a connection while it runs, so that the drain cannot
        // complete between an accept and its `track`: a connection taken from the queue
        // after a hand-over is served, never dropped (the successor serves the rest).
        let _accepting = accepting.connection();
        while accepting.phase().accepts() {
            match listener.accept() {
                Ok((stream, _)) => match accepting.connection() {
                    Some(conn) => {
                        thread::spawn(move || {
                            let request = conn.request();
                            answer(stream, pid);
                            drop(request);
                        });
                    }
                    None => break,
                },
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(1))
                }
                Err(e) => eprintln!("server {pid}: accept: {e}"),
            }
        }
    });

    println!("listening on {addr} pid {pid} {from} names {names:?} env-clean {clean}");
    let told = upgrade::ready().expect("readiness");
    println!("ready pid {pid} predecessor-told {told}");

    let report = block_on(shutdown.run(Threads(Instant::now()), signals_rx));
    accept.join().unwrap();
    let code = report.exit_code();
    println!("{report} pid {pid}");
    println!("exit {code} pid {pid}");
    process::exit(code.into());
}

/// Reads one line and answers with this pid.
fn answer(stream: TcpStream, pid: u32) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_ok() && !line.is_empty() {
        let _ = (&stream).write_all(format!("{pid}\n").as_bytes());
    }
}

/// The successor `TEST_MODE_FILE` names.
fn successor(file: &str) -> Command {
    let mode = std::fs::read_to_string(file).unwrap_or_default();
    let mode = mode.trim();
    let mut command = match mode {
        "missing" => Command::new("/nonexistent/lameduck-successor"),
        _ => Command::new(env::current_exe().unwrap()),
    };
    command.args(env::args_os().skip(1));
    if matches!(mode, "crash" | "silent") {
        command.env("TEST_SUCCESSOR", mode);
    }
    command
}
