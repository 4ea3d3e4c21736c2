//! The baseline for the HTTP overhead benchmark: hyper 1 + hyper-util on tokio with no
//! shutdown support at all (no connection counting, no graceful close, no signal handling).
//! It serves `GET /` and `GET /sleep?ms=N` as the demo-server contract says, HTTP/1.1 and
//! HTTP/2 (prior knowledge) on one port through hyper-util's `auto::Builder`, exactly as the
//! `hyper_tokio` demo builds its connections, so the difference is lameduck's.
//!
//! ```text
//! cargo run --release -p lameduck-benches --bin bare_hyper -- --addr 127.0.0.1:0
//! ```
//!
//! Prints `listening on http://IP:PORT`; SIGTERM ends it at once (the default action).

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use lameduck_benches::load::{addr_from_args, answer, tokio_listener};

#[tokio::main]
async fn main() {
    let addr = addr_from_args();
    let listener = tokio_listener(addr);
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("listening on http://{addr}");
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((io, _)) = listener.accept().await else {
            continue;
        };
        let _ = io.set_nodelay(true);
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = service_fn(|request| answer(request.uri().clone()));
            let _ = builder.serve_connection(TokioIo::new(io), service).await;
        });
    }
}
