//! The demo server on `axum::serve`, a server lameduck does not run, with
//! `lameduck_hyper::ShutdownLayer`: see the demo-server contract.
//!
//! ```text
//! cargo run --release -p lameduck-examples --example axum_layer -- --addr 127.0.0.1:8080
//! ```
//!
//! axum accepts and closes the connections; the layer counts each request until its
//! response body ends, says `connection: close` from the first signal on, and gives upgrade
//! requests a counted `lameduck::Connection` (the `/echo` session keeps it and says
//! `going away` at the drain). `lameduck::Shutdown::run` drives the phases; axum's
//! graceful shutdown starts when draining starts, and the drain waits for it to end.

use axum::{response::IntoResponse, Router};
use lameduck_examples::demo::Demo;
use lameduck_hyper::ShutdownLayer;
use lameduck_tokio::Tokio;

#[tokio::main]
async fn main() {
    let demo = Demo::from_env_or_exit();
    let runtime = Tokio::new();
    // The contract's routes and its gRPC services; axum wants an infallible service (the
    // routes never fail, a failed gRPC call is answered by tonic itself).
    let routes = demo.with_grpc(runtime, demo.routes(runtime));
    let routes = tower::service_fn(move |request| {
        let mut routes = routes.clone();
        async move {
            let response = match tower_service::Service::call(&mut routes, request).await {
                Ok(response) => response.map(axum::body::Body::new),
                Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
            Ok::<_, core::convert::Infallible>(response)
        }
    });
    let app = Router::new()
        .fallback_service(routes)
        .layer(ShutdownLayer::new(demo.shutdown.handle()));
    demo.serve_foreign(runtime, |listener, draining| async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("error: cannot serve the listener: {error}");
                std::process::exit(1);
            }
        };
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(draining)
            .await;
    })
    .await
}
