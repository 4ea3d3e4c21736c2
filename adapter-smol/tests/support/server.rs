//! The child: a line-protocol TCP server on smol, served by the core accept loop
//! (`lameduck::accept::serve`) on the `Smol` runtime and shut down by `Shutdown::run`. Configured by the environment (see `settings.rs`).

use crate::settings::{print_phases, print_report, Settings};
use async_net::TcpStream;
use core::time::Duration;
use futures::{AsyncBufReadExt, AsyncWriteExt, StreamExt};
use lameduck::{
    accept,
    runtime::{Network, Runtime, Socket},
    Connection,
};
use lameduck_smol::Smol;
use smol::future::or;

/// Runs the server and exits with the report's code.
pub(crate) fn main() -> ! {
    let code = smol::block_on(serve_until_stopped(Settings::from_env()));
    std::process::exit(code.into())
}

async fn serve_until_stopped(settings: Settings) -> u8 {
    let shutdown = settings.shutdown();
    let handle = shutdown.handle();
    let runtime = Smol::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local address");
    let acceptor = runtime.listen(listener.into()).expect("listen");
    settings.limit_files();
    let phases = smol::spawn(print_phases(handle.clone()));
    let accepting = accept::serve(runtime, acceptor, handle, shutdown.trigger(), connection);
    smol::spawn(async move {
        accepting.await;
        println!("accept loop: stopped");
    })
    .detach();
    let signals = runtime
        .signals(shutdown.handle().config().listened_signals())
        .expect("signal handlers");
    println!("listening on {addr}");
    let report = shutdown.run(runtime, signals).await;
    phases.await;
    print_report(&report)
}

/// `ping` → `pong`; `sleep N` → `started`, then `done N` after N ms. Idle connections close
/// when draining starts; one in flight finishes its request first, unless cut.
async fn connection(stream: <Smol as Network>::Stream, guard: Connection) {
    let Socket::Tcp(stream) = stream else { return };
    // async-net's stream, for its `Clone` (one half reads, the other writes).
    let stream = TcpStream::from(stream);
    let mut write = stream.clone();
    let mut lines = futures::io::BufReader::new(stream).lines();
    loop {
        let going_away = async {
            guard.going_away().await;
            None
        };
        let Some(Ok(line)) = or(lines.next(), going_away).await else {
            return;
        };
        let _request = guard.request();
        let reply = match line.strip_prefix("sleep ") {
            Some(ms) => {
                let ms: u64 = ms.parse().expect("sleep N");
                if write.write_all(b"started\n").await.is_err() {
                    return;
                }
                let done = async {
                    async_io::Timer::after(Duration::from_millis(ms)).await;
                    Some(format!("done {ms}\n"))
                };
                let cut = async {
                    guard.cut().await;
                    None
                };
                match or(done, cut).await {
                    Some(reply) => reply,
                    None => return,
                }
            }
            None => "pong\n".to_owned(),
        };
        if write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
