//! The child: a line-protocol TCP server on tokio, served by `lameduck_tokio::serve` and
//! shut down by `Shutdown::run` on the `Tokio` runtime. Configured by the environment (see `Settings`).

use core::time::Duration;
use lameduck::{runtime::Runtime, Connection};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use crate::settings::{print_phases, print_report, Settings};

/// Runs the server and exits with the report's code.
pub(crate) fn main() -> ! {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let code = runtime.block_on(serve_until_stopped(settings));
    std::process::exit(code.into())
}

async fn serve_until_stopped(settings: Settings) -> u8 {
    let shutdown = settings.shutdown();
    let handle = shutdown.handle();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    settings.limit_files();
    let phases = tokio::spawn(print_phases(handle.clone()));
    let trigger = shutdown.trigger();
    tokio::spawn(async move {
        lameduck_tokio::serve(listener, handle, trigger, connection).await;
        println!("accept loop: stopped");
    });
    let runtime = lameduck_tokio::Tokio::new();
    let signals = runtime
        .signals(shutdown.handle().config().listened_signals())
        .expect("signal handlers");
    println!("listening on {addr}");
    let report = shutdown.run(runtime, signals).await;
    phases.await.expect("phase printer");
    print_report(&report)
}

/// `ping` → `pong`; `sleep N` → `started`, then `done N` after N ms. Idle connections close
/// when draining starts; one in flight finishes its request first, unless cut.
async fn connection(stream: TcpStream, _peer: core::net::SocketAddr, guard: Connection) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            () = guard.going_away() => return,
        };
        let Ok(Some(line)) = line else { return };
        let _request = guard.request();
        let reply = match line.strip_prefix("sleep ") {
            Some(ms) => {
                let ms: u64 = ms.parse().expect("sleep N");
                if write.write_all(b"started\n").await.is_err() {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => format!("done {ms}\n"),
                    () = guard.cut() => return,
                }
            }
            None => "pong\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
