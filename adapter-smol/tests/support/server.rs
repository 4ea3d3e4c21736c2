//! The child: a line-protocol TCP server on smol, served by the core accept loop
//! (`lameduck::accept::serve`) on the `Smol` runtime and shut down by `Shutdown::run`. Configured by the environment (see `settings.rs`).

use crate::settings::{serve_until_stopped, Settings};
use async_net::TcpStream;
use core::time::Duration;
use futures::{AsyncBufReadExt, AsyncWriteExt, StreamExt};
use lameduck::{
    runtime::{Network, Socket},
    Connection,
};
use lameduck_smol::Smol;
use smol::future::or;

/// Runs the server and exits with the report's code.
pub(crate) fn main() -> ! {
    let code = smol::block_on(serve_until_stopped(
        Smol::new(),
        Settings::from_env(),
        connection,
    ));
    std::process::exit(code.into())
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
        let draining = async {
            guard.draining().await;
            None
        };
        let Some(Ok(line)) = or(lines.next(), draining).await else {
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
