//! The demo server as an axum `Router`, served through lameduck-hyper on tokio: see the
//! demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example axum -- --addr 127.0.0.1:8080
//! ```
//!
//! `axum::serve` cannot count upgraded connections or close silent ones; serving the
//! router per connection with `lameduck_hyper::Graceful` (through hyper-util's
//! `TowerToHyperService`) can. The `/echo` handler takes the `Upgrade` extension the
//! tracked service puts into every request.

use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
    routing::get,
    Router,
};
use hyper::Uri;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use lameduck::Handle;
use lameduck_examples::{
    demo, echo, output,
    routes::{self, Spawn},
};
use lameduck_hyper::{Graceful, TowerToHyperService};
use lameduck_tokio::TokioTimer;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
struct App {
    handle: Handle,
    timer: TokioTimer,
    spawn: Spawn,
}

/// The routes' answers are boxed http bodies; axum wants its own.
fn axum_response(response: hyper::Response<lameduck_examples::body::Body>) -> Response {
    response.map(Body::new)
}

fn query(uri: &Uri) -> &str {
    uri.query().unwrap_or("")
}

async fn root() -> Response {
    axum_response(routes::text(hyper::StatusCode::OK, "ok"))
}

async fn sleep(State(app): State<App>, uri: Uri) -> Response {
    axum_response(routes::sleep(&app.timer, query(&uri)).await)
}

async fn healthz(State(app): State<App>) -> Response {
    axum_response(routes::healthz(&app.handle))
}

async fn stream(State(app): State<App>, uri: Uri) -> Response {
    axum_response(routes::stream(&app.timer, query(&uri)))
}

async fn echo(State(app): State<App>, mut request: Request) -> Response {
    axum_response(echo::answer(&mut request, &app.spawn))
}

async fn metrics(State(app): State<App>) -> Response {
    axum_response(routes::metrics(&app.handle))
}

async fn not_found() -> Response {
    axum_response(routes::not_found())
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/sleep", get(sleep))
        .route("/healthz", get(healthz))
        .route("/stream", get(stream))
        .route("/echo", get(echo))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(app)
}

#[tokio::main]
async fn main() {
    let demo = demo::Demo::from_env_or_exit();
    let (signals, listener, addr) = demo.listen_tokio();
    let shutdown = demo.shutdown;
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());

    let timer = TokioTimer::new();
    let spawn: Spawn = Arc::new(|task| {
        tokio::spawn(task);
    });
    let router = router(App {
        handle: handle.clone(),
        timer,
        spawn,
    });
    let graceful = Graceful::new(timer);
    let builder = auto::Builder::new(TokioExecutor::new());

    output::listening(addr);
    lameduck::systemd::ready();
    tokio::spawn(output::reloads(handle.clone()));
    tokio::spawn(lameduck::systemd::heartbeat(handle.clone(), timer));
    let phases = tokio::spawn(output::phases(handle.clone()));
    tokio::spawn(output::progress(handle.clone(), timer));
    tokio::spawn(lameduck_tokio::serve(
        listener,
        handle,
        trigger,
        move |io, _peer, guard| {
            let (graceful, builder) = (graceful.clone(), builder.clone());
            let service = TowerToHyperService::new(router.clone());
            async move {
                let _ = io.set_nodelay(true);
                let _ = graceful
                    .serve_auto(&builder, TokioIo::new(io), service, guard)
                    .await;
            }
        },
    ));

    let report = shutdown.run(timer, signals).await;
    let _ = phases.await;
    output::finish(&report)
}
