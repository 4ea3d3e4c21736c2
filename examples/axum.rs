//! The demo server as an axum `Router`, served through lameduck-hyper on tokio: see the
//! demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example axum -- --addr 127.0.0.1:8080
//! ```
//!
//! The router goes to `lameduck_hyper::serve` as it is (any `tower::Service` does): the
//! upgraded `/echo` connections are counted with no handler code, and the handler finds the
//! `lameduck::Connection` in the upgrade request to say goodbye when draining starts.

use axum::{
    body::Body,
    extract::{Request, State},
    response::Response,
    routing::get,
    Router,
};
use hyper::Uri;
use lameduck::Handle;
use lameduck_examples::{demo::Demo, echo, routes};
use lameduck_tokio::Tokio;

/// What the handlers share.
#[derive(Clone)]
struct App {
    handle: Handle,
    runtime: Tokio,
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
    axum_response(routes::sleep(&app.runtime, query(&uri)).await)
}

async fn healthz(State(app): State<App>) -> Response {
    axum_response(routes::healthz(&app.handle))
}

async fn stream(State(app): State<App>, uri: Uri) -> Response {
    axum_response(routes::stream(&app.runtime, query(&uri)))
}

async fn events(State(app): State<App>, uri: Uri) -> Response {
    axum_response(routes::events(&app.handle, &app.runtime, query(&uri)))
}

async fn echo(State(app): State<App>, mut request: Request) -> Response {
    axum_response(echo::answer(&mut request, &app.runtime))
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
        .route("/events", get(events))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(app)
}

#[tokio::main]
async fn main() {
    let demo = Demo::from_env_or_exit();
    let runtime = Tokio::new();
    let handle = demo.shutdown.handle();
    demo.serve(runtime, router(App { handle, runtime })).await
}
