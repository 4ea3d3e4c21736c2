//! The `bare_hyper` server with lameduck and nothing else: the same routes and the same
//! hyper-util `auto::Builder` connections, served by `lameduck_hyper::serve` on
//! `lameduck_tokio::Tokio` with the default config and no hook, printing nothing but its
//! address. Against `bare_hyper` it shows what the library costs; against the `hyper_tokio`
//! demo, what the demo adds (its routes, `/metrics`, its output lines and its hook).
//!
//! ```text
//! cargo run --release -p lameduck-benches --bin lameduck_hyper -- --addr 127.0.0.1:0
//! ```
//!
//! With `--tls-cert PATH --tls-key PATH` it serves HTTPS with `lameduck_hyper::serve_tls`
//! instead (the TLS benchmark's lameduck, against `bare_hyper_tls` and `axum_server_tls`).
//!
//! Prints `listening on http://IP:PORT` (`https://`); SIGTERM drains it and it exits with the report's code,
//! through `Report::exit` (no runtime teardown) unless `LAMEDUCK_RETURN=1`, which returns
//! the report from `main` instead (what the teardown costs).

use core::task::{Context, Poll};
use futures::future::BoxFuture;
use hyper::{body::Incoming, Request};
use lameduck::{Config, Report, Shutdown};
use lameduck_benches::load::{addr_and_tls_from_args, answer};

/// `answer` as a tower service (`lameduck_hyper::serve` takes one; `bare_hyper` calls
/// the same function through hyper's `service_fn`).
#[derive(Clone, Copy)]
struct Answer;

impl tower_service::Service<Request<Incoming>> for Answer {
    type Response = hyper::Response<http_body_util::Full<bytes::Bytes>>;
    type Error = core::convert::Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        Box::pin(answer(request.uri().clone()))
    }
}

#[tokio::main]
async fn main() -> Report {
    let returns = std::env::var_os("LAMEDUCK_RETURN").is_some_and(|value| value == "1");
    let (addr, tls) = addr_and_tls_from_args();
    let shutdown = Shutdown::new(Config::new()).expect("the default config is valid");
    let listener = lameduck_hyper::bind(addr).expect("bind");
    let runtime = lameduck_tokio::Tokio::new();
    let (server, scheme) = match tls {
        Some((cert, key)) => {
            let tls = lameduck_hyper::tls::Tls::from_pem_files(cert, key).expect("certificate");
            let server = lameduck_hyper::serve_tls(runtime, listener, tls, Answer, shutdown);
            (server, "https")
        }
        None => (
            lameduck_hyper::serve(runtime, listener, Answer, shutdown),
            "http",
        ),
    };
    println!(
        "listening on {scheme}://{}",
        server.local_addr().unwrap_or("?")
    );
    let report = server.await;
    if returns {
        return report;
    }
    report.exit()
}
