//! The child: a line-protocol TCP server on tokio, served by the core accept loop
//! (`lameduck::accept::serve`) on the `Tokio` runtime and shut down by `Shutdown::run`. Configured by the environment (see `Settings`).

use core::time::Duration;
use lameduck::{
    runtime::{Network, Socket},
    Connection,
};
use lameduck_tokio::Tokio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::settings::{serve_until_stopped, Settings};

/// Runs the server and exits with the report's code.
pub(crate) fn main() -> ! {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let code = runtime.block_on(serve_until_stopped(Tokio::new(), settings, connection));
    std::process::exit(code.into())
}

/// `ping` → `pong`; `sleep N` → `started`, then `done N` after N ms. Idle connections close
/// when draining starts; one in flight finishes its request first, unless cut.
async fn connection(stream: <Tokio as Network>::Stream, guard: Connection) {
    let Socket::Tcp(stream) = stream else { return };
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line,
            () = guard.draining() => return,
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
