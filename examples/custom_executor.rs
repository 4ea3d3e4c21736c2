//! Graceful shutdown with no async runtime at all: lameduck's driver runs on
//! `futures::executor::block_on`, timed by a timer thread and fed by a signal-hook thread
//! (`lameduck_examples::custom_rt`, the part to copy for an executor of your own), while a
//! tiny line-protocol TCP server runs on plain threads with blocking sockets.
//!
//! ```text
//! cargo run -p lameduck-examples --example custom_executor -- --addr 127.0.0.1:7000
//! printf 'ping\nwork 3000\n' | nc 127.0.0.1 7000   # pong, started, done 3000 after 3 s
//! kill -TERM <pid>                                   # the work in flight still finishes
//! ```
//!
//! Draining here is done with the socket API: the accept thread is woken and drops the
//! listener (new connects are refused), every open connection's read half is shut, so an
//! idle one sees end of stream at once and a busy one after its reply; when the drain is
//! cut, both halves are shut.
#![cfg_attr(not(unix), allow(unused))]

/// Serves until shut down; the exit code is the report's. (`pub` so that
/// `tests/custom_executor.rs` can run this very file in a child process.)
#[cfg(unix)]
pub(crate) fn main() -> std::process::ExitCode {
    unix::main()
}

#[cfg(not(unix))]
pub fn main() {
    eprintln!("custom_executor uses signal-hook's iterator, which is Unix only");
}

#[cfg(unix)]
mod unix {
    use core::{net::SocketAddr, time::Duration};
    use futures::{channel::oneshot, future::join};
    use lameduck::{Config, Connection, Handle, Hook, Phase, Shutdown};
    use lameduck_examples::custom_rt::{ThreadSignals, ThreadTimer};
    use std::{
        collections::HashMap,
        io::{BufRead, BufReader, Write},
        net::{self, TcpListener, TcpStream},
        process::ExitCode,
        sync::{Arc, Mutex},
    };

    pub(super) fn main() -> ExitCode {
        let (addr, drain) = match options() {
            Ok(options) => options,
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::from(64);
            }
        };
        let shutdown = Shutdown::new(Config::new().drain_timeout(drain)).expect("valid config");
        let goodbye = Hook::new("goodbye", || Ok::<(), String>(()));
        shutdown.hooks().register(goodbye).expect("still running");
        let handle = shutdown.handle();
        let signals = ThreadSignals::new(handle.config().listened_signals()).expect("signals");
        let listener = TcpListener::bind(addr).expect("bind");
        let addr = listener.local_addr().expect("local address");
        let open = Arc::new(Open::default());
        // Dropped by the accept thread when it returns (and drops the listener).
        let (accepting, accept_stopped) = oneshot::channel::<()>();
        {
            let (handle, open) = (handle.clone(), open.clone());
            std::thread::spawn(move || {
                accept(listener, &handle, &open);
                drop(accepting);
            });
        }
        println!("listening on {addr}");
        let report = futures::executor::block_on(async {
            let run = shutdown.run(ThreadTimer::new(), signals);
            join(run, close_connections(&handle, &open, addr, accept_stopped))
                .await
                .0
        });
        for hook in report.hooks() {
            println!("{hook}");
        }
        println!("{report}");
        ExitCode::from(report.exit_code())
    }

    fn options() -> Result<(SocketAddr, Duration), String> {
        let (mut addr, mut drain_ms) = ("127.0.0.1:8080".to_owned(), 30_000u64);
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let value = args.next().ok_or_else(|| format!("{arg}: missing value"))?;
            match arg.as_str() {
                "--addr" => addr = value,
                "--drain-timeout-ms" => {
                    drain_ms = value.parse().map_err(|e| format!("{arg}: {e}"))?;
                }
                _ => return Err(format!("unknown option {arg}")),
            }
        }
        let addr = addr.parse().map_err(|e| format!("--addr: {e}"))?;
        Ok((addr, Duration::from_millis(drain_ms)))
    }

    /// The open connections' sockets, so that draining can shut them from outside.
    #[derive(Default)]
    struct Open(Mutex<HashMap<u64, TcpStream>>);

    impl Open {
        fn shut(&self, how: net::Shutdown) {
            for stream in self.0.lock().expect("not poisoned").values() {
                let _ = stream.shutdown(how);
            }
        }
    }

    /// When draining starts: stop accepting, close idle connections; when it is cut: close all.
    async fn close_connections(
        handle: &Handle,
        open: &Open,
        addr: SocketAddr,
        accept_stopped: oneshot::Receiver<()>,
    ) {
        handle.draining().await;
        // Wake the accept thread, blocked in accept(2), so it sees the phase and returns.
        let _ = TcpStream::connect(addr);
        let _ = accept_stopped.await;
        open.shut(net::Shutdown::Read);
        handle.reached(Phase::Hooks).await;
        open.shut(net::Shutdown::Both);
    }

    fn accept(listener: TcpListener, handle: &Handle, open: &Arc<Open>) {
        for (id, stream) in (0u64..).zip(listener.incoming()) {
            if !handle.phase().accepts() {
                break; // dropping the listener: new connects are refused from now on
            }
            let stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    // Out of descriptors and the like: a short pause, never a busy loop.
                    eprintln!("accept: {error}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            let Some(connection) = handle.connection() else {
                break;
            };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            open.0.lock().expect("not poisoned").insert(id, clone);
            if !handle.phase().accepts() {
                // Registered after the drain swept the open connections: sweep this one.
                let _ = stream.shutdown(net::Shutdown::Read);
            }
            let open = open.clone();
            std::thread::spawn(move || {
                serve(stream, connection);
                open.0.lock().expect("not poisoned").remove(&id);
            });
        }
    }

    /// `ping` → `pong`; `work N` → `started`, then `done N` after N ms of (pretend) work.
    fn serve(stream: TcpStream, connection: Connection) {
        let mut write = &stream;
        for line in BufReader::new(&stream).lines() {
            let Ok(line) = line else { break };
            // In flight until the reply is written.
            let _request = connection.request();
            let reply = match line.strip_prefix("work ").map(str::parse::<u64>) {
                Some(Ok(ms)) => {
                    if write.write_all(b"started\n").is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(ms));
                    format!("done {ms}\n")
                }
                _ => "pong\n".to_owned(),
            };
            if write.write_all(reply.as_bytes()).is_err() {
                break;
            }
        }
    }
}
