//! `serve_tls` and `Tls` with a rustls client and certificates made here (rcgen): a cut
//! sends no `close_notify` and is reported as a cut; a reload that fails keeps the last good
//! pair and says why, to the caller, to `on_reload` and in the metric.

#![cfg(feature = "tls")]

use axum::{routing::get, Router};
use core::time::Duration;
use lameduck::{Config, Shutdown};
use lameduck_hyper::tls::{Fingerprint, Tls, TlsError};
use rcgen::{CertificateParams, KeyPair};
use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{
    rustls::{
        client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider},
        pki_types::{CertificateDer, ServerName, UnixTime},
        ClientConfig, DigitallySignedStruct, SignatureScheme,
    },
    TlsConnector,
};

async fn bounded<F: core::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(15), future)
        .await
        .expect("in time")
}

/// A self-signed certificate for `localhost`: (certificate PEM, key PEM, fingerprint).
fn leaf() -> (String, String, Fingerprint) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem(), Fingerprint::of(cert.der()))
}

/// A directory of its own with `cert.pem` and `key.pem`, removed at the end.
struct Files(PathBuf);

impl Files {
    fn new(test: &str, cert: &str, key: &str) -> Files {
        let dir =
            std::env::temp_dir().join(format!("lameduck-hyper-tls-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = Files(dir);
        files.write(cert, key);
        files
    }

    fn write(&self, cert: &str, key: &str) {
        std::fs::write(self.cert(), cert).unwrap();
        std::fs::write(self.key(), key).unwrap();
    }

    fn cert(&self) -> PathBuf {
        self.0.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.0.join("key.pem")
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Trusts any certificate (the test checks the fingerprint itself where it matters).
#[derive(Debug)]
struct AnyCertificate(CryptoProvider);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector() -> TlsConnector {
    let provider = Arc::new(ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(ring::default_provider())))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A response the drain cut: the socket is closed with no `close_notify` (the client sees
/// an unexpected end of stream, never a clean one it could take for a complete answer), and
/// the report counts the connection as cut.
#[tokio::test]
async fn a_cut_sends_no_close_notify_and_is_reported_as_a_cut() {
    let (cert, key, _) = leaf();
    let files = Files::new("cut", &cert, &key);
    let tls = Tls::from_pem_files(files.cert(), files.key()).unwrap();
    let shutdown = Shutdown::new(Config::new().drain_timeout(Duration::from_millis(300))).unwrap();
    let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    let app = Router::new().route("/never", get(core::future::pending::<&str>));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        lameduck_hyper::serve_tls(lameduck_tokio::Tokio::new(), listener, tls, app, shutdown);
    let report = tokio::spawn(server);

    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream = bounded(connector().connect(name, tcp)).await.unwrap();
    stream
        .write_all(b"GET /never HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    bounded(async {
        while handle.snapshot().active == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    trigger.shutdown();
    let mut rest = Vec::new();
    let end = bounded(stream.read_to_end(&mut rest)).await;
    let error = end.expect_err("a cut is no clean end of stream");
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof, "{error}");
    let report = bounded(report).await.unwrap();
    assert!(!report.drained(), "{report}");
    assert_eq!(report.connections_left(), 1, "{report}");
    assert_eq!(report.exit_code(), 2, "{report}");
}

/// `reload` re-reads the files: a key that does not match keeps the pair served and says
/// why (returned, to `on_reload`, counted as failed); a good pair is taken.
#[test]
fn a_failed_reload_keeps_the_last_good_pair_and_says_why() {
    let (first, first_key, first_fingerprint) = leaf();
    let (second, second_key, second_fingerprint) = leaf();
    let files = Files::new("reload", &first, &first_key);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tls = Tls::from_pem_files(files.cert(), files.key())
        .unwrap()
        .on_reload({
            let seen = seen.clone();
            move |outcome| {
                seen.lock()
                    .unwrap()
                    .push(outcome.as_ref().map(|f| *f).map_err(|e| e.to_string()))
            }
        });
    assert_eq!(tls.certificate(), Some(first_fingerprint));

    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    files.write(&second, &first_key);
    let failed = metrics::with_local_recorder(&recorder, || tls.reload());
    assert!(matches!(failed, Err(TlsError::KeyMismatch)), "{failed:?}");
    assert_eq!(
        tls.certificate(),
        Some(first_fingerprint),
        "the old pair stays"
    );

    files.write(&second, &second_key);
    let reloaded = metrics::with_local_recorder(&recorder, || tls.reload());
    assert_eq!(reloaded.unwrap(), second_fingerprint);
    assert_eq!(tls.certificate(), Some(second_fingerprint));

    std::fs::remove_file(files.key()).unwrap();
    assert!(matches!(tls.reload(), Err(TlsError::Read { .. })));
    assert_eq!(tls.certificate(), Some(second_fingerprint));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0],
        Err("the private key does not match the certificate".to_owned())
    );
    assert_eq!(seen[1], Ok(second_fingerprint));
    assert!(
        seen[2]
            .as_ref()
            .is_err_and(|e| e.starts_with("cannot read ")),
        "{seen:?}"
    );

    #[cfg(feature = "metrics")]
    {
        let counts: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == "lameduck_tls_reloads_total")
            .map(|(key, _, _, value)| {
                let outcome = key.key().labels().map(|l| l.value().to_owned()).collect();
                let metrics_util::debugging::DebugValue::Counter(n) = value else {
                    panic!("a counter");
                };
                (outcome, n)
            })
            .collect();
        let mut counts = counts;
        counts.sort();
        assert_eq!(counts, [("failed".to_owned(), 1), ("ok".to_owned(), 1)]);
    }
    #[cfg(not(feature = "metrics"))]
    drop(snapshotter);
}

/// A `Tls` made from a configuration has no files to reload.
#[test]
fn a_tls_from_a_config_does_not_reload() {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, PrivateKeyDer};
    let (cert, key, _) = leaf();
    let chain = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let tls = Tls::from_config(config);
    assert!(matches!(tls.reload(), Err(TlsError::NotFromFiles)));
    assert_eq!(tls.certificate(), None);
}
