//! The baseline for the TLS benchmark: `bare_hyper` (hyper 1 + hyper-util's `auto::Builder`
//! on tokio, no shutdown support at all) behind a tokio-rustls handshake, the way hyper's
//! and tokio-rustls's own examples wire it (`TlsAcceptor::accept`, then `TokioIo`). rustls
//! with the `ring` provider and ALPN `h2` + `http/1.1`, as `lameduck_hyper::serve_tls`.
//!
//! ```text
//! cargo run --release -p lameduck-benches --bin bare_hyper_tls -- --addr 127.0.0.1:0 --tls-cert cert.pem --tls-key key.pem
//! ```
//!
//! Prints `listening on https://IP:PORT`; SIGTERM ends it at once (the default action).

use hyper::service::service_fn;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
};
use lameduck_benches::load::{addr_and_tls_from_args, answer, tokio_listener};
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let (addr, tls) = addr_and_tls_from_args();
    let (cert, key) = tls.expect("--tls-cert and --tls-key");
    let chain = CertificateDer::pem_file_iter(cert)
        .expect("the certificate file")
        .collect::<Result<Vec<_>, _>>()
        .expect("pem certificates");
    let key = PrivateKeyDer::from_pem_file(key).expect("a pem private key");
    let mut config = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .expect("tls 1.2 and 1.3")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("a certificate and its key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio_listener(addr);
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("listening on https://{addr}");
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((io, _)) = listener.accept().await else {
            continue;
        };
        let _ = io.set_nodelay(true);
        let (builder, acceptor) = (builder.clone(), acceptor.clone());
        tokio::spawn(async move {
            let Ok(io) = acceptor.accept(io).await else {
                return;
            };
            let service = service_fn(|request| answer(request.uri().clone()));
            let _ = builder.serve_connection(TokioIo::new(io), service).await;
        });
    }
}
