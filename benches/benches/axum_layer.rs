//! Per-request cost of `lameduck_hyper::ShutdownLayer` on an axum `Router` against the
//! same router bare, end to end on an in-memory connection.
//!
//! Both servers run the router as `axum::serve` runs it on each connection: hyper-util's
//! `auto::Builder` with `TowerToHyperService` over `TokioIo<tokio::io::DuplexStream>`; the
//! router answers `GET /` with `ok` at once. The client is hyper's HTTP/1.1 client on the
//! other end of the duplex, sending requests one after another on one keep-alive
//! connection. Four servers: the router bare, with a layer that does nothing
//! (`tower_layer::Identity`: what `Router::layer` itself costs), with the shutdown layer
//! (each request counted on the shutdown until its body ends, the phase read for the
//! goodbye, the handle put in the extensions), and the shutdown layer around the bare router
//! (no `Router::layer`: as a server that takes any tower service runs it).
//! The settings and the timing are `hyper_request`'s:
//!
//! * `1conn_current_thread`: one connection, client and server tasks on one thread;
//! * `2conns_2threads`: two connections at once on a multi-thread runtime of two workers,
//!   every request of both counted by one shutdown.
//!
//! Timed in the process's CPU time, per connection. Printed first: the two variants
//! interleaved round by round (medians, spread, the ratios to bare axum); then criterion's
//! groups.

#![allow(missing_docs)] // criterion's macros generate undocumented items

use axum::{routing::get, Router};
use core::{convert::Infallible, error::Error, time::Duration};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use hyper::Request;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use lameduck::{Config, Handle, Shutdown};
use lameduck_benches::{interleaved, process_cpu};
use lameduck_hyper::ShutdownLayer;
use tower_layer::Layer;

/// What wraps the router's routes.
enum Wrap<'a> {
    /// Nothing: bare axum.
    Bare,
    /// A layer that does nothing: what `Router::layer` itself costs (it boxes the layered
    /// route once more, and the response body if it is not axum's own).
    Identity,
    /// The shutdown layer.
    Shutdown(&'a Handle),
}

/// The router the servers run.
fn router(wrap: Wrap<'_>) -> Router {
    let router = Router::new().route("/", get(|| async { "ok" }));
    match wrap {
        Wrap::Bare => router,
        Wrap::Identity => router.layer(tower_layer::Identity::new()),
        Wrap::Shutdown(handle) => router.layer(ShutdownLayer::new(handle.clone())),
    }
}

/// What the servers run: a `Router`, or the shutdown layer around one (whose response body
/// is not axum's).
trait Served:
    tower_service::Service<
        Request<hyper::body::Incoming>,
        Response = hyper::Response<Self::Body>,
        Error = Infallible,
        Future: Send,
    > + Clone
    + Send
    + 'static
{
    type Body: hyper::body::Body<Data: Send, Error: Into<Box<dyn Error + Send + Sync>>>
        + Send
        + 'static;
}

impl<S, B> Served for S
where
    S: tower_service::Service<
            Request<hyper::body::Incoming>,
            Response = hyper::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: hyper::body::Body<Data: Send, Error: Into<Box<dyn Error + Send + Sync>>> + Send + 'static,
{
    type Body = B;
}

/// Opens one connection to a fresh server task running `router` and sends `requests`
/// requests on it, one after another.
async fn requests<S: Served>(router: S, requests: u64) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let served = tokio::spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        let _ = builder
            .serve_connection(TokioIo::new(server_io), TowerToHyperService::new(router))
            .await;
    });
    lameduck_benches::get_ok(client_io, requests).await;
    let _ = served.await;
}

/// `n` requests on each of `conns` connections at once; the process's CPU time divided by
/// `conns`.
fn run<S: Served>(rt: &tokio::runtime::Runtime, router: &S, conns: usize, n: u64) -> Duration {
    let start = process_cpu();
    rt.block_on(async {
        let tasks: Vec<_> = (0..conns)
            .map(|_| tokio::spawn(requests(router.clone(), n)))
            .collect();
        for task in tasks {
            task.await.expect("client task");
        }
    });
    (process_cpu() - start) / conns as u32
}

fn axum_layer(c: &mut Criterion) {
    let shutdown = Shutdown::new(Config::new()).expect("valid config");
    let handle = shutdown.handle();
    let (bare, identity, layered) = (
        router(Wrap::Bare),
        router(Wrap::Identity),
        router(Wrap::Shutdown(&handle)),
    );
    // The layer around the whole router, as a server that takes any tower service runs it
    // (hyper-util's, axum-server's): no `Router::layer` boxing. `axum::serve` cannot: it
    // takes only axum's response body.
    let around = ShutdownLayer::new(handle.clone()).layer(router(Wrap::Bare));
    let settings = lameduck_benches::per_request_settings();
    const PER_ROUND: u64 = 2_000;
    println!("\nper request, interleaved: 30 rounds of {PER_ROUND} requests per connection");
    for &(name, ref rt, conns) in &settings {
        interleaved(
            &format!("axum_layer_{name}"),
            30,
            PER_ROUND,
            &[
                ("bare_axum", &|| run(rt, &bare, conns, PER_ROUND)),
                ("axum_identity_layer", &|| {
                    run(rt, &identity, conns, PER_ROUND)
                }),
                ("axum_shutdown_layer", &|| {
                    run(rt, &layered, conns, PER_ROUND)
                }),
                ("layer_around_router", &|| {
                    run(rt, &around, conns, PER_ROUND)
                }),
            ],
        );
    }
    assert_eq!(
        handle.snapshot().open,
        0,
        "every request counted and uncounted"
    );

    for &(name, ref rt, conns) in &settings {
        let mut group = c.benchmark_group(format!("axum_layer_{name}"));
        group.sampling_mode(SamplingMode::Flat).sample_size(20);
        for (variant, router) in [
            ("bare_axum", &bare),
            ("axum_identity_layer", &identity),
            ("axum_shutdown_layer", &layered),
        ] {
            group.bench_function(variant, |b| {
                b.iter_custom(|iters| run(rt, router, conns, iters));
            });
        }
        group.bench_function("layer_around_router", |b| {
            b.iter_custom(|iters| run(rt, &around, conns, iters));
        });
        group.finish();
    }
}

criterion_group!(benches, axum_layer);
criterion_main!(benches);
