//! The least a graceful shutdown can do, for the SIGTERM -> exit benchmark: `bare_hyper` with
//! hyper-util's `GracefulShutdown`, as hyper-util's docs show it, and nothing else. On SIGTERM
//! it stops accepting, tells every connection to finish (an idle one closes at once), waits
//! until all have closed and exits with `std::process::exit` (no runtime teardown, as
//! `lameduck_hyper` ends through `Report::exit`). No deadline, no hooks, no report, no
//! lameduck: against `bare_hyper` it shows what closing the connections one by one costs any
//! graceful server; against it, `lameduck_hyper` shows what lameduck adds to that.
//!
//! ```text
//! cargo run --release -p lameduck-benches --bin hyper_graceful -- --addr 127.0.0.1:0
//! ```
//!
//! Prints `listening on http://IP:PORT`; SIGTERM drains it, then it exits with code 0.

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};
use lameduck_benches::load::{addr_from_args, answer, tokio_listener};
use tokio::signal::unix::{signal, SignalKind};

#[tokio::main]
async fn main() {
    let addr = addr_from_args();
    let listener = tokio_listener(addr);
    let mut terminate = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("listening on http://{addr}");
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((io, _)) = accepted else {
                    continue;
                };
                let _ = io.set_nodelay(true);
                let service = service_fn(|request| answer(request.uri().clone()));
                let served = builder.serve_connection(TokioIo::new(io), service).into_owned();
                let served = graceful.watch(served);
                tokio::spawn(async move {
                    let _ = served.await;
                });
            }
            _ = terminate.recv() => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    std::process::exit(0);
}
