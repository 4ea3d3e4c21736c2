//! Per-request cost of `lameduck_hyper::serve_connection` against bare hyper-util, end to end
//! on an in-memory connection.
//!
//! Both servers are hyper-util's `auto::Builder` over `TokioIo<tokio::io::DuplexStream>` with
//! the same service (a `GET /` answered `ok` at once); the client is hyper's HTTP/1.1 client
//! on the other end of the duplex, sending requests one after another on one keep-alive
//! connection. The only difference is lameduck's: the counted I/O, the counting service, the
//! connection's notice futures. Two settings:
//!
//! * `1conn_current_thread`: one connection, client and server tasks on one thread;
//! * `2conns_2threads`: two connections at once, each client and its server on a
//!   multi-thread runtime of two workers, every request of both counted by one shutdown (the
//!   shared counters' cache lines are what this setting is for).
//!
//! Timed in the process's CPU time (every thread's, client's and server's alike), per
//! connection: on a shared machine wall time counts other processes too. The setup (the
//! duplex, the handshake, the server task) is inside the timed section, the same for both,
//! and small next to a round's 2 000 requests. Printed first: the two variants interleaved
//! round by round (medians and spread of the time per request, and the ratio lameduck ÷
//! bare); then criterion's groups.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use bytes::Bytes;
use core::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use http_body_util::Full;
use hyper::{body::Incoming, Request, Response};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use lameduck::{Config, Handle, Shutdown};
use lameduck_benches::{interleaved, process_cpu};

/// The service both servers run: `ok`, at once.
#[derive(Clone, Copy)]
struct Answer;

impl tower_service::Service<Request<Incoming>> for Answer {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = core::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Incoming>) -> Self::Future {
        core::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"ok")))))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Server {
    Bare,
    Lameduck,
}

type ServerTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The server side of one in-memory connection.
fn server(kind: Server, io: tokio::io::DuplexStream, handle: &Handle) -> ServerTask {
    let io = TokioIo::new(io);
    match kind {
        Server::Bare => Box::pin(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection(io, TowerToHyperService::new(Answer))
                .await;
        }),
        Server::Lameduck => {
            let connection = handle.connection().expect("running");
            Box::pin(lameduck_hyper::serve_connection(
                lameduck_tokio::Tokio::new(),
                io,
                connection,
                Answer,
            ))
        }
    }
}

/// Opens one connection to a fresh `kind` server task and sends `requests` requests on it,
/// one after another.
async fn requests(kind: Server, handle: Handle, requests: u64) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let served = tokio::spawn(server(kind, server_io, &handle));
    lameduck_benches::get_ok(client_io, requests).await;
    let _ = served.await;
}

/// `requests` on each of `conns` connections at once; the process's CPU time for them all
/// divided by `conns` (the CPU time of one connection's requests: every thread's, client's
/// and server's, on a shared machine where wall time counts other processes).
fn run(
    rt: &tokio::runtime::Runtime,
    kind: Server,
    handle: &Handle,
    conns: usize,
    n: u64,
) -> Duration {
    let start = process_cpu();
    rt.block_on(async {
        let tasks: Vec<_> = (0..conns)
            .map(|_| tokio::spawn(requests(kind, handle.clone(), n)))
            .collect();
        for task in tasks {
            task.await.expect("client task");
        }
    });
    (process_cpu() - start) / conns as u32
}

fn hyper_request(c: &mut Criterion) {
    let shutdown = Shutdown::new(Config::new()).expect("valid config");
    let handle = shutdown.handle();
    let settings = lameduck_benches::per_request_settings();
    const PER_ROUND: u64 = 2_000;
    println!("\nper request, interleaved: 30 rounds of {PER_ROUND} requests per connection");
    for &(name, ref rt, conns) in &settings {
        interleaved(
            &format!("hyper_request_{name}"),
            30,
            PER_ROUND,
            &[
                ("bare_hyper_util", &|| {
                    run(rt, Server::Bare, &handle, conns, PER_ROUND)
                }),
                ("lameduck_hyper", &|| {
                    run(rt, Server::Lameduck, &handle, conns, PER_ROUND)
                }),
            ],
        );
    }
    assert_eq!(handle.snapshot().open, 0, "every connection closed");

    for &(name, ref rt, conns) in &settings {
        let mut group = c.benchmark_group(format!("hyper_request_{name}"));
        group
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .sample_size(20);
        for (variant, kind) in [
            ("bare_hyper_util", Server::Bare),
            ("lameduck_hyper", Server::Lameduck),
        ] {
            group.bench_function(variant, |b| {
                b.iter_custom(|iters| run(rt, kind, &handle, conns, iters));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, hyper_request);
criterion_main!(benches);
