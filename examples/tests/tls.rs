//! The contract's TLS section, on hyper_tokio and hyper_smol, with a rustls client:
//! certificates made here with rcgen (no private key is committed), served from files.

mod support;

use core::{net::SocketAddr, time::Duration};
use lameduck_hyper::tls::Fingerprint;
use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair};
use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};
use support::{bounded, Demo, Raw};
use tokio::{io::AsyncReadExt, net::TcpStream};
use tokio_rustls::{
    client::TlsStream,
    rustls::{client::Resumption, pki_types::ServerName, ClientConfig, RootCertStore},
    TlsConnector,
};

/// The demos on lameduck_hyper::serve_tls, one per runtime.
const DEMOS: [&str; 2] = ["hyper_tokio", "hyper_smol"];

/// Runs `check` on each demo at once; a failure names the demo.
async fn each<F, Fut>(check: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: core::future::Future<Output = ()> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for name in DEMOS {
        set.spawn(check(name));
    }
    while let Some(done) = set.join_next().await {
        if let Err(error) = done {
            std::panic::resume_unwind(error.into_panic());
        }
    }
}

/// A certificate authority the test client trusts, and the leaves it signs.
struct Pki {
    ca: Certificate,
    ca_key: KeyPair,
    client: Arc<ClientConfig>,
}

/// One leaf certificate for `localhost` and its key, in PEM.
struct Leaf {
    cert: String,
    key: String,
    fingerprint: Fingerprint,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Each connection a full handshake: a resumed session shows the certificate of the
        // session it resumes, not the one served now.
        client.resumption = Resumption::disabled();
        Pki {
            ca,
            ca_key,
            client: Arc::new(client),
        }
    }

    fn leaf(&self) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
            fingerprint: Fingerprint::of(cert.der()),
        }
    }

    async fn connect(&self, addr: SocketAddr) -> TlsStream<TcpStream> {
        let tcp = bounded("connect", TcpStream::connect(addr)).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        bounded(
            "the tls handshake",
            TlsConnector::from(self.client.clone()).connect(name, tcp),
        )
        .await
        .expect("tls handshake")
    }
}

/// The certificate the server presented on `stream`.
fn served(stream: &TlsStream<TcpStream>) -> Fingerprint {
    let certificates = stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("a certificate");
    Fingerprint::of(certificates[0].as_ref())
}

/// A directory of its own for one test's certificate files, removed at the end.
struct Files {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new(test: &str, demo: &str, leaf: &Leaf) -> Files {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lameduck-tls-{}-{}-{test}-{demo}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let files = Files {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        };
        files.write(&leaf.cert, &leaf.key);
        files
    }

    /// Replaces both files (each by a rename, as a deployment tool does).
    fn write(&self, cert: &str, key: &str) {
        for (path, contents) in [(&self.cert, cert), (&self.key, key)] {
            let new = path.with_extension("new");
            std::fs::write(&new, contents).unwrap();
            std::fs::rename(&new, path).unwrap();
        }
    }

    fn args(&self) -> [&str; 4] {
        ["--tls-cert", path(&self.cert), "--tls-key", path(&self.key)]
    }
}

fn path(path: &Path) -> &str {
    path.to_str().expect("a utf-8 temporary path")
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads to the end of `stream`: `Ok` only for a clean end (`close_notify` before the
/// TCP end), `UnexpectedEof` when the server just closed the socket.
async fn read_to_end<S: tokio::io::AsyncRead + Unpin>(
    what: &str,
    stream: &mut S,
) -> std::io::Result<Vec<u8>> {
    let mut rest = Vec::new();
    bounded(what, stream.read_to_end(&mut rest))
        .await
        .map(|_| rest)
}

/// An idle keep-alive connection closed at the drain, a request in flight answered with
/// `connection: close`, and a connection that finished its handshake but sent no request:
/// each ends with `close_notify`, a clean end of stream for a client reading to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_graceful_close_ends_with_close_notify() {
    each(|name| async move {
        let pki = Pki::new();
        let leaf = pki.leaf();
        let files = Files::new("close", name, &leaf);
        let demo = Demo::start(name, &files.args()).await;
        let mut idle = Raw::over(pki.connect(demo.addr).await);
        idle.get("/").await;
        assert_eq!(idle.response().await.0, 200, "{name}");
        let mut busy = Raw::over(pki.connect(demo.addr).await);
        busy.get("/sleep?ms=1500").await;
        let mut silent = pki.connect(demo.addr).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        demo.term();
        let (status, head, body) = busy.response().await;
        assert_eq!((status, body.as_str()), (200, "slept 1500"), "{name}");
        assert!(head.contains("connection: close"), "{name}: {head}");
        for (what, stream) in [
            ("the busy connection's end", busy.io.get_mut()),
            ("the idle connection's end", idle.io.get_mut()),
            ("the silent connection's end", &mut silent),
        ] {
            let rest = read_to_end(what, stream).await;
            let rest = rest.unwrap_or_else(|error| panic!("{name}: {what}: {error}"));
            assert!(rest.is_empty(), "{name}: {what}");
        }
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(exit.last().contains("drained=true"), "{name}: {exit:?}");
    })
    .await;
}

/// A client that connects and never sends a ClientHello does not hold the drain: the
/// handshake is dropped when draining starts, and is not a cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tcp_client_does_not_hold_the_drain() {
    each(|name| async move {
        let pki = Pki::new();
        let files = Files::new("silent", name, &pki.leaf());
        let mut args = vec!["--lame-duck-ms", "500", "--drain-timeout-ms", "30000"];
        args.extend(files.args());
        let demo = Demo::start(name, &args).await;
        let _silent = TcpStream::connect(demo.addr).await.unwrap();
        // Accepted, its handshake waiting for a ClientHello.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let begun = Instant::now();
        demo.term();
        let exit = demo.exit().await;
        let took = begun.elapsed();
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        assert!(
            exit.last().contains("connections_left=0"),
            "{name}: {exit:?}"
        );
        assert!(
            took < Duration::from_millis(1500),
            "{name}: exit after {took:?}"
        );
    })
    .await;
}

/// A handshake not done within `--tls-handshake-timeout-ms` is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_past_its_timeout_is_dropped() {
    each(|name| async move {
        let pki = Pki::new();
        let files = Files::new("timeout", name, &pki.leaf());
        let mut args = vec!["--tls-handshake-timeout-ms", "200"];
        args.extend(files.args());
        let demo = Demo::start(name, &args).await;
        let mut silent = TcpStream::connect(demo.addr).await.unwrap();
        let begun = Instant::now();
        let rest = read_to_end("the silent handshake to be dropped", &mut silent).await;
        // Dropped: an end of stream, or a reset.
        assert!(rest.map_or(true, |rest| rest.is_empty()), "{name}");
        // Well before the default 10 s.
        assert!(begun.elapsed() < Duration::from_secs(5), "{name}");
        demo.term();
        assert_eq!(demo.exit().await.code, 0, "{name}");
    })
    .await;
}

/// SIGHUP after the files were replaced: new handshakes get the new certificate while a
/// connection opened before keeps working; a key that does not match its certificate, or
/// a file gone, keeps the last good pair served and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_keeps_the_last_good_one() {
    each(|name| async move {
        let pki = Pki::new();
        let (first, second, third) = (pki.leaf(), pki.leaf(), pki.leaf());
        let files = Files::new("reload", name, &first);
        let mut demo = Demo::start(name, &files.args()).await;

        let mut before = pki.connect(demo.addr).await;
        assert_eq!(served(&before), first.fingerprint, "{name}");
        let mut open = Raw::over(before);
        open.get("/").await;
        assert_eq!(open.response().await.0, 200, "{name}");

        files.write(&second.cert, &second.key);
        demo.signal(rustix::process::Signal::HUP);
        let line = format!("reload: tls certificate sha256:{}", second.fingerprint);
        demo.expect_line(&line).await;
        let after = pki.connect(demo.addr).await;
        assert_eq!(served(&after), second.fingerprint, "{name}");
        let mut after = Raw::over(after);
        after.get("/").await;
        assert_eq!(after.response().await.0, 200, "{name}");
        // The connection opened before the reload keeps its certificate, and serves on.
        open.get("/sleep?ms=1").await;
        assert_eq!(open.response().await.2, "slept 1", "{name}");
        before = open.io.into_inner();
        assert_eq!(served(&before), first.fingerprint, "{name}");

        // The third certificate with the second's key.
        files.write(&third.cert, &second.key);
        demo.signal(rustix::process::Signal::HUP);
        let failed = demo.line_starting("reload: failed: ").await;
        assert!(failed.contains("does not match"), "{name}: {failed}");
        assert_eq!(
            served(&pki.connect(demo.addr).await),
            second.fingerprint,
            "{name}"
        );

        std::fs::remove_file(&files.key).unwrap();
        demo.signal(rustix::process::Signal::HUP);
        let failed = demo.line_starting("reload: failed: ").await;
        assert!(failed.contains("cannot read"), "{name}: {failed}");
        assert_eq!(
            served(&pki.connect(demo.addr).await),
            second.fingerprint,
            "{name}"
        );

        drop(before);
        demo.term();
        let exit = demo.exit().await;
        assert_eq!(exit.code, 0, "{name}: {exit:?}");
        // At start, the fingerprint came before the address.
        let at = |prefix: &str| exit.stdout.iter().position(|l| l.starts_with(prefix));
        let started = format!("reload: tls certificate sha256:{}", first.fingerprint);
        assert!(
            at(&started).unwrap() < at("listening on https://").unwrap(),
            "{name}: {:?}",
            exit.stdout
        );
    })
    .await;
}

/// `--tls-cert` and `--tls-key` go together: one alone is a usage error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tls_option_alone_is_a_usage_error() {
    each(|name| async move {
        for (args, named) in [
            (["--tls-cert", "cert.pem"], "--tls-cert"),
            (["--tls-key", "key.pem"], "--tls-key"),
        ] {
            let exit = Demo::run(name, &args).await;
            assert_eq!(exit.code, 64, "{name}: {exit:?}");
            assert!(exit.stderr.contains(named), "{name}: {exit:?}");
        }
    })
    .await;
}
