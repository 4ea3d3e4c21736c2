//! The peer for the TLS benchmark: an axum `Router` served over rustls by axum-server, the
//! crate axum users pick for TLS (`axum_server::tls_rustls`, `RustlsConfig::from_pem_file`),
//! with rustls's `ring` provider as `lameduck_hyper::serve_tls` uses. It serves `GET /` and
//! `GET /sleep?ms=N` as the demo-server contract says.
//!
//! ```text
//! cargo run --release -p lameduck-benches --bin axum_server_tls -- --addr 127.0.0.1:0 --tls-cert cert.pem --tls-key key.pem
//! ```
//!
//! Prints `listening on https://IP:PORT`; SIGTERM ends it at once (the default action).

use axum::{extract::Request, routing::get, Router};
use axum_server::tls_rustls::RustlsConfig;
use lameduck_benches::load::{addr_and_tls_from_args, answer};

#[tokio::main]
async fn main() {
    let (addr, tls) = addr_and_tls_from_args();
    let (cert, key) = tls.expect("--tls-cert and --tls-key");
    // axum-server builds its `ServerConfig` with the process's default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = RustlsConfig::from_pem_file(cert, key)
        .await
        .expect("a certificate and its key");
    let app = Router::new()
        .route("/", get(|request: Request| answer(request.uri().clone())))
        .route(
            "/sleep",
            get(|request: Request| answer(request.uri().clone())),
        );
    // The demos' listening socket (the same backlog), as `from_tcp_rustls` takes it.
    let listener = lameduck_hyper::bind(addr).expect("bind");
    println!(
        "listening on https://{}",
        listener
            .local_addr()
            .expect("a bound listener has an address")
    );
    axum_server::from_tcp_rustls(listener, config)
        .expect("a listener")
        .serve(app.into_make_service())
        .await
        .expect("serve");
}
