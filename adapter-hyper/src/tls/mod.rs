//! TLS for [`serve_tls`](crate::serve_tls) (feature `tls`): rustls, with the `ring` crypto
//! provider, on every runtime `serve` supports.
//!
//! - [`Tls`] is what to serve: a certificate and key read from PEM files (and read again on
//!   `SIGHUP`, or when [`Tls::reload`] is called), or a `rustls::ServerConfig` of yours.
//! - [`Fingerprint`] tells which certificate is served; [`TlsError`] why one could not be
//!   loaded.
//!
//! The provider is `ring` rather than rustls's default `aws-lc-rs`: ring builds with the
//! Rust toolchain and a C compiler alone, where aws-lc-rs also needs CMake (and, on some
//! targets, NASM or bindgen), so `cargo build` works on a fresh machine.

mod certificate;
mod stream;

pub use certificate::{Fingerprint, TlsError};
/// The rustls this crate serves with, for a `ServerConfig` of your own
/// ([`Tls::from_config`]).
pub use rustls;
pub use stream::TlsStream;

use certificate::Files;
use core::{fmt, time::Duration};
use hyper::rt::{Read, Write};
use lameduck::{runtime::Timer, Connection};
use rustls::ServerConfig;
use std::{io, path::PathBuf, sync::Arc};

/// The ALPN protocols offered when the configuration names none: HTTP/2 first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// How long a handshake may take by default before the connection is dropped.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Called with each reload's outcome.
type OnReload = Arc<dyn Fn(&Result<Fingerprint, TlsError>) + Send + Sync>;

/// What [`serve_tls`](crate::serve_tls) serves TLS with: the certificate, the handshake
/// timeout, and what to do after a reload. Cheap to clone: clones share the certificate (a
/// reload through any of them is seen by all).
///
/// - ALPN offers `h2` and `http/1.1` (unless a `ServerConfig` you pass names its own).
/// - A handshake not done within [`handshake_timeout`](Tls::handshake_timeout) (10 s by
///   default) is dropped; handshakes still going when draining starts are dropped at once
///   (a client that connects and sends nothing never holds the drain, and is not a cut).
/// - Every graceful close (an idle connection at the drain, after `connection: close`,
///   after HTTP/2's GOAWAY, an upgraded socket dropped by its handler) sends
///   `close_notify`, so a client reading to the end sees a clean end of stream; a cut
///   sends nothing.
/// - Made [from files](Tls::from_pem_files), the pair is read again on each reload request
///   (`SIGHUP`: `lameduck::Handle::reloads`) and on [`reload`](Tls::reload): the key must
///   match the certificate; on success new handshakes use the new pair and open connections
///   keep theirs; on failure the last good pair stays. Each outcome is returned (to a
///   caller of `reload`), passed to [`on_reload`](Tls::on_reload), recorded as a `tracing`
///   event (feature `tracing`) and counted in `lameduck_tls_reloads_total{outcome="ok"|"failed"}`
///   (feature `metrics`).
///
/// ```no_run
/// use lameduck_hyper::tls::Tls;
/// use std::time::Duration;
/// # fn f() -> Result<(), lameduck_hyper::tls::TlsError> {
/// let tls = Tls::from_pem_files("/etc/tls/cert.pem", "/etc/tls/key.pem")?
///     .handshake_timeout(Duration::from_secs(5))
///     .on_reload(|outcome| match outcome {
///         Ok(fingerprint) => println!("serving certificate sha256:{fingerprint}"),
///         Err(error) => eprintln!("certificate reload failed: {error}"),
///     });
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use = "a Tls serves nothing until passed to serve_tls"]
pub struct Tls {
    config: Arc<ServerConfig>,
    files: Option<Arc<Files>>,
    handshake_timeout: Duration,
    on_reload: Option<OnReload>,
}

impl Tls {
    /// Serves the certificate chain in the PEM file `cert` (leaf first) with the private
    /// key in the PEM file `key` (PKCS#8, PKCS#1 or SEC1), TLS 1.2 and 1.3.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or holds no certificate or key, a key that does not
    /// match the certificate, or one rustls does not support.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), lameduck_hyper::tls::TlsError> {
    /// let tls = lameduck_hyper::tls::Tls::from_pem_files("cert.pem", "key.pem")?;
    /// # Ok(()) }
    /// ```
    pub fn from_pem_files(
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let files = Files::load(cert.into(), key.into(), provider.clone())?;
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_cert_resolver(files.resolver());
        let mut tls = Tls::from_config(config);
        tls.files = Some(Arc::new(files));
        Ok(tls)
    }

    /// Serves with your own rustls configuration (client authentication, a certificate
    /// resolver of your own, other protocol versions). If it names no ALPN protocols, `h2`
    /// and `http/1.1` are offered. Reloading is yours to do (a resolver of your own);
    /// [`reload`](Tls::reload) answers [`TlsError::NotFromFiles`].
    ///
    /// ```no_run
    /// use lameduck_hyper::tls::{rustls, Tls};
    /// # fn f(chain: Vec<rustls::pki_types::CertificateDer<'static>>, key: rustls::pki_types::PrivateKeyDer<'static>) -> Result<(), rustls::Error> {
    /// let config = rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
    ///     .with_safe_default_protocol_versions()?
    ///     .with_no_client_auth()
    ///     .with_single_cert(chain, key)?;
    /// let tls = Tls::from_config(config);
    /// # Ok(()) }
    /// ```
    pub fn from_config(mut config: ServerConfig) -> Tls {
        if config.alpn_protocols.is_empty() {
            config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        }
        Tls {
            config: Arc::new(config),
            files: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            on_reload: None,
        }
    }

    /// How long a handshake may take before the connection is dropped (default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`], 10 s).
    ///
    /// ```no_run
    /// # fn f(tls: lameduck_hyper::tls::Tls) {
    /// let tls = tls.handshake_timeout(std::time::Duration::from_secs(3));
    /// # }
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Tls {
        self.handshake_timeout = timeout;
        self
    }

    /// Calls `report` with the outcome of each reload (on a reload request or a call to
    /// [`reload`](Tls::reload)), on the thread that did it: the new certificate's
    /// fingerprint, or why the old one stays.
    ///
    /// ```no_run
    /// # fn f(tls: lameduck_hyper::tls::Tls) {
    /// let tls = tls.on_reload(|outcome| {
    ///     if let Err(error) = outcome {
    ///         eprintln!("reload: failed: {error}");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on_reload(
        mut self,
        report: impl Fn(&Result<Fingerprint, TlsError>) + Send + Sync + 'static,
    ) -> Tls {
        self.on_reload = Some(Arc::new(report));
        self
    }

    /// Reads the certificate and key files again. On success, handshakes from now on use
    /// the new pair (connections already open keep theirs) and its fingerprint is returned;
    /// on failure the pair served so far stays, and the error says why. The outcome is also
    /// reported as [`Tls`] describes. Reading the files blocks (briefly: two small files).
    ///
    /// # Errors
    ///
    /// As [`from_pem_files`](Tls::from_pem_files); [`TlsError::NotFromFiles`] for a `Tls`
    /// made [from a configuration](Tls::from_config).
    ///
    /// ```no_run
    /// # fn f(tls: lameduck_hyper::tls::Tls) {
    /// match tls.reload() {
    ///     Ok(fingerprint) => println!("now serving sha256:{fingerprint}"),
    ///     Err(error) => eprintln!("still serving the old certificate: {error}"),
    /// }
    /// # }
    /// ```
    pub fn reload(&self) -> Result<Fingerprint, TlsError> {
        let outcome = match &self.files {
            Some(files) => files.reload(),
            None => Err(TlsError::NotFromFiles),
        };
        report(&outcome);
        if let Some(on_reload) = &self.on_reload {
            on_reload(&outcome);
        }
        outcome
    }

    /// Does the TLS handshake on `io`, a connection from an accept loop of yours counted
    /// as `connection`, as [`serve_tls`](crate::serve_tls) does for each connection it
    /// accepts: bounded by the [handshake timeout](Tls::handshake_timeout) and given up at
    /// once when draining starts. Then serve the stream with
    /// [`serve_connection`](crate::serve_connection).
    ///
    /// # Errors
    ///
    /// The handshake failed (the client's error, or its end of stream), timed out
    /// (`TimedOut`), or draining started first (`Interrupted`). Drop `io` then.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `io` (the client sees the connection closed).
    ///
    /// ```no_run
    /// use lameduck::{accept, runtime::Network, Config, Shutdown};
    /// use lameduck_hyper::{rt::HyperIo, tls::Tls};
    /// use lameduck_tokio::Tokio;
    /// # async fn f(service: axum::Router) -> std::io::Result<()> {
    /// let tls = Tls::from_pem_files("cert.pem", "key.pem").expect("a certificate and its key");
    /// let shutdown = Shutdown::new(Config::new()).unwrap();
    /// let runtime = Tokio::new();
    /// let acceptor = runtime.listen(std::net::TcpListener::bind("127.0.0.1:0")?.into())?;
    /// let (handle, trigger) = (shutdown.handle(), shutdown.trigger());
    /// tokio::spawn(accept::serve(runtime, acceptor, handle, trigger, move |stream, connection| {
    ///     let (service, tls) = (service.clone(), tls.clone());
    ///     async move {
    ///         if let Ok(stream) = tls.handshake(&runtime, stream.hyper_io(), &connection).await {
    ///             lameduck_hyper::serve_connection(runtime, stream, connection, service).await;
    ///         }
    ///     }
    /// }));
    /// # Ok(()) }
    /// ```
    pub async fn handshake<T: Timer, I: Read + Write + Unpin>(
        &self,
        timer: &T,
        io: I,
        connection: &Connection,
    ) -> io::Result<TlsStream<I>> {
        let config = self.config.clone();
        stream::handshake(
            timer,
            io,
            connection.clone(),
            config,
            self.handshake_timeout,
        )
        .await
    }

    /// Whether reload requests re-read files (a `Tls` made from files).
    pub(crate) fn reloads(&self) -> bool {
        self.files.is_some()
    }

    /// The fingerprint of the leaf certificate served now; `None` for a `Tls` made from a
    /// configuration (its resolver picks the certificate at each handshake).
    ///
    /// ```no_run
    /// # fn f(tls: lameduck_hyper::tls::Tls) {
    /// println!("tls certificate sha256:{}", tls.certificate().expect("from files"));
    /// # }
    /// ```
    pub fn certificate(&self) -> Option<Fingerprint> {
        self.files.as_ref().map(|files| files.fingerprint())
    }
}

/// The `tracing` event and the metric of one reload.
fn report(outcome: &Result<Fingerprint, TlsError>) {
    #[cfg(feature = "tracing")]
    match outcome {
        Ok(fingerprint) => tracing::info!(
            target: "lameduck_hyper::tls",
            %fingerprint,
            "tls certificate reloaded"
        ),
        Err(error) => tracing::warn!(
            target: "lameduck_hyper::tls",
            %error,
            "tls certificate reload failed; the previous certificate is still served"
        ),
    }
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "lameduck_tls_reloads_total",
        "outcome" => if outcome.is_ok() { "ok" } else { "failed" }
    )
    .increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = outcome;
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("files", &self.files)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("on_reload", &self.on_reload.is_some())
            .finish_non_exhaustive()
    }
}
