//! The certificate and key served, read from PEM files and swapped on reload: new
//! handshakes take the current pair, connections already open keep the one they began with.

use core::fmt;
use rustls::{
    crypto::CryptoProvider,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};
use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

/// The SHA-256 digest of a certificate's DER encoding (the leaf's, for a chain): what
/// `openssl x509 -noout -fingerprint -sha256` prints, to tell which certificate is served.
/// Its `Display` is lowercase hex without separators.
///
/// ```no_run
/// # fn f() -> Result<(), lameduck_hyper::tls::TlsError> {
/// let tls = lameduck_hyper::tls::Tls::from_pem_files("cert.pem", "key.pem")?;
/// if let Some(fingerprint) = tls.certificate() {
///     println!("serving sha256:{fingerprint}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate's DER encoding.
    ///
    /// ```
    /// let fingerprint = lameduck_hyper::tls::Fingerprint::of(b"");
    /// assert!(fingerprint.to_string().starts_with("e3b0c442"));
    /// ```
    pub fn of(der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Fingerprint(bytes)
    }

    /// The digest's 32 bytes.
    ///
    /// ```
    /// assert_eq!(lameduck_hyper::tls::Fingerprint::of(b"").as_bytes().len(), 32);
    /// ```
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint(sha256:{self})")
    }
}

/// Why a certificate and key could not be loaded (at start or on reload); its `Display` is
/// one lowercase line naming the file.
///
/// ```
/// let error = lameduck_hyper::tls::Tls::from_pem_files("/nonexistent/cert.pem", "key.pem").unwrap_err();
/// assert!(error.to_string().starts_with("cannot read /nonexistent/cert.pem: "));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate (or a malformed one).
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no PEM private key (or a malformed one).
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The private key does not belong to the certificate.
    KeyMismatch,
    /// rustls refused the pair or the configuration (an unsupported key type, say).
    Rustls(rustls::Error),
    /// Reload asked of a [`Tls`](super::Tls) made from a `ServerConfig`: there are no
    /// files to read again.
    NotFromFiles,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            TlsError::NoCertificate { path } => {
                write!(f, "no pem certificate in {}", path.display())
            }
            TlsError::NoKey { path } => write!(f, "no pem private key in {}", path.display()),
            TlsError::KeyMismatch => f.write_str("the private key does not match the certificate"),
            TlsError::Rustls(error) => write!(f, "rustls: {error}"),
            TlsError::NotFromFiles => f.write_str("the certificate was not loaded from files"),
        }
    }
}

impl core::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            TlsError::Read { source, .. } => Some(source),
            TlsError::Rustls(error) => Some(error),
            _ => None,
        }
    }
}

/// The certificate chain and key files, and the pair last loaded from them.
pub(crate) struct Files {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: Current,
}

impl Files {
    /// Loads the pair from `cert` and `key` (or says why not).
    pub(crate) fn load(
        cert: PathBuf,
        key: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<Files, TlsError> {
        let pair = read_pair(&cert, &key, &provider)?;
        Ok(Files {
            cert,
            key,
            provider,
            current: Current(Arc::new(Mutex::new(pair))),
        })
    }

    /// Reads the files again; on success new handshakes take the new pair.
    pub(crate) fn reload(&self) -> Result<Fingerprint, TlsError> {
        let pair = read_pair(&self.cert, &self.key, &self.provider)?;
        let fingerprint = fingerprint(&pair);
        *self
            .current
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = pair;
        Ok(fingerprint)
    }

    /// The fingerprint of the leaf certificate served now.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        fingerprint(&self.current.get())
    }

    /// What rustls asks for the pair at each handshake.
    pub(crate) fn resolver(&self) -> Arc<dyn ResolvesServerCert> {
        Arc::new(self.current.clone())
    }
}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Files")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("served", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The pair served now, swapped whole under a lock held only to clone or replace the `Arc`
/// (rustls's `ResolvesServerCert` asks for it once per handshake).
#[derive(Clone)]
struct Current(Arc<Mutex<Arc<CertifiedKey>>>);

impl Current {
    fn get(&self) -> Arc<CertifiedKey> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl fmt::Debug for Current {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Current({:?})", fingerprint(&self.get()))
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

fn fingerprint(pair: &CertifiedKey) -> Fingerprint {
    // `read_pair` never makes a pair without a certificate.
    Fingerprint::of(pair.cert.first().map_or(&[][..], |der| der.as_ref()))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads and checks one certificate chain and its key.
fn read_pair(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(&read(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|chain| !chain.is_empty())
        .ok_or_else(|| TlsError::NoCertificate {
            path: cert.to_owned(),
        })?;
    let der = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|_| TlsError::NoKey {
        path: key.to_owned(),
    })?;
    match CertifiedKey::from_der(chain, der, provider) {
        Ok(pair) => Ok(Arc::new(pair)),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::KeyMismatch)
        }
        Err(error) => Err(TlsError::Rustls(error)),
    }
}
