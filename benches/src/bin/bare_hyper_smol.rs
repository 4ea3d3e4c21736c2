//! The floor for the smol demo: hyper 1 + hyper-util's `auto::Builder` on smol's global
//! executor (async-io sockets through smol-hyper's `FuturesIo`, as `lameduck-smol` has them),
//! with no shutdown support at all. Serves `GET /` (`ok`); the shutdown harness uses it for
//! its idle-connection runs only (`/sleep` would need tokio's timer, which is not running).
//!
//! ```text
//! SMOL_THREADS=2 cargo run --release -p lameduck-benches --bin bare_hyper_smol -- --addr 127.0.0.1:0
//! ```
//!
//! Prints `listening on http://IP:PORT`; SIGTERM ends it at once (the default action).

use core::future::Future;
use hyper::service::service_fn;
use hyper_util::server::conn::auto;
use lameduck_benches::load::{addr_from_args, answer};
use smol_hyper::rt::FuturesIo;

/// hyper's HTTP/2 streams on smol's global executor.
#[derive(Clone, Copy)]
struct Exec;

impl<F: Future<Output = ()> + Send + 'static> hyper::rt::Executor<F> for Exec {
    fn execute(&self, future: F) {
        smol::spawn(future).detach();
    }
}

fn main() {
    let addr = addr_from_args();
    smol::block_on(async {
        // The demos' listening socket (backlog of the system's maximum, at least 1024).
        let listener = smol::net::TcpListener::try_from(lameduck_hyper::bind(addr).expect("bind"))
            .expect("a non-blocking listener");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        println!("listening on http://{addr}");
        let builder = auto::Builder::new(Exec);
        loop {
            let Ok((io, _)) = listener.accept().await else {
                continue;
            };
            let _ = io.set_nodelay(true);
            let builder = builder.clone();
            smol::spawn(async move {
                let service = service_fn(|request| answer(request.uri().clone()));
                let _ = builder.serve_connection(FuturesIo::new(io), service).await;
            })
            .detach();
        }
    })
}
