//! The axum reference for the shutdown-latency benchmark: `axum::serve` with
//! `with_graceful_shutdown`, built the way axum's own graceful-shutdown example builds it
//! (a signal future that completes on Ctrl-C or SIGTERM). No lameduck anywhere. It serves
//! `GET /` and `GET /sleep?ms=N` as the demo-server contract says.
//!
//! ```text
//! cargo run --release -p lameduck-benches --bin axum_graceful -- --addr 127.0.0.1:0
//! ```
//!
//! Prints `listening on http://IP:PORT`; on SIGTERM or SIGINT it stops accepting, lets the
//! requests in flight finish, and exits once every connection has closed.

use axum::{
    extract::Request,
    routing::get,
    serve::{Listener, ListenerExt},
    Router,
};
use lameduck_benches::load::{addr_from_args, answer, tokio_listener};

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c()
            .await
            .expect("install the Ctrl+C handler");
    };
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler")
            .recv()
            .await;
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[tokio::main]
async fn main() {
    let addr = addr_from_args();
    let app = Router::new()
        .route("/", get(|request: Request| answer(request.uri().clone())))
        .route(
            "/sleep",
            get(|request: Request| answer(request.uri().clone())),
        );
    // As axum's docs show for `ListenerExt::tap_io`; the demos set TCP_NODELAY too.
    let listener = tokio_listener(addr).tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .expect("serve");
}
