//! The demo server as an axum `Router`, served through lameduck-hyper on tokio: see the
//! demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example axum -- --addr 127.0.0.1:8080
//! ```
//!
//! The router goes to `lameduck_hyper::serve` as it is (any `tower::Service` does): the
//! upgraded `/echo` connections are counted with no handler code, and the handler finds the
//! `lameduck::Connection` in the upgrade request to say goodbye when draining starts. The
//! `/ws` handler is axum's own WebSocket with one line more: lameduck-hyper's `GoingAway`
//! around the socket sends Close 1001 when draining starts.

use axum::{
    body::Body,
    extract::{
        ws::{Message, WebSocketUpgrade},
        Extension, Request, State,
    },
    response::Response,
    routing::get,
    Router,
};
use futures_util::{SinkExt, StreamExt};
use hyper::Uri;
use lameduck::{Connection, Handle};
use lameduck_examples::{demo::Demo, echo, routes};
use lameduck_hyper::GoingAway;
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

/// `/ws`: a WebSocket echo; at the drain, Close 1001 and the end of the session.
async fn ws(
    State(app): State<App>,
    Extension(connection): Extension<Connection>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| async move {
        // The one line: Close 1001 (going away) when draining starts, then up to 1 s for
        // the client's Close.
        let mut socket = GoingAway::new(socket, connection.draining(), app.runtime);
        while let Some(Ok(message)) = socket.next().await {
            if matches!(message, Message::Text(_) | Message::Binary(_))
                && socket.send(message).await.is_err()
            {
                return;
            }
        }
    })
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
        .route("/ws", get(ws))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(app)
}

#[tokio::main]
async fn main() {
    let demo = Demo::from_env_or_exit();
    let runtime = Tokio::new();
    let handle = demo.shutdown.handle();
    // gRPC beside the router, on the same port.
    let service = demo.with_grpc(runtime, router(App { handle, runtime }));
    demo.serve(runtime, service).await
}
