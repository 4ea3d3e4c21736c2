//! The child: a line-protocol TCP server on smol, served by `lameduck_smol::serve` and shut
//! down by `lameduck_smol::run`. Configured by the environment (see `settings.rs`).

use crate::settings::{print_phases, print_report, Settings};
use async_net::{TcpListener, TcpStream};
use core::time::Duration;
use futures::{AsyncBufReadExt, AsyncWriteExt, StreamExt};
use lameduck::{runtime::Runtime, Connection};
use smol::future::or;

/// Runs the server and exits with the report's code.
pub(crate) fn main() -> ! {
    let code = smol::block_on(serve_until_stopped(Settings::from_env()));
    std::process::exit(code.into())
}

async fn serve_until_stopped(settings: Settings) -> u8 {
    let shutdown = settings.shutdown();
    let handle = shutdown.handle();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    settings.limit_files();
    let phases = smol::spawn(print_phases(handle.clone()));
    let trigger = shutdown.trigger();
    smol::spawn(async move {
        lameduck_smol::serve(listener, handle, trigger, connection).await;
        println!("accept loop: stopped");
    })
    .detach();
    let runtime = lameduck_smol::Smol::new();
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
async fn connection(stream: TcpStream, _peer: core::net::SocketAddr, guard: Connection) {
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
