//! TLS for the listeners: certificates read from PEM files, chosen by the
//! name the client asks for (SNI), reloaded without dropping connections.
//!
//! rustls on the `ring` provider (no system C library), TLS 1.2 and 1.3,
//! ALPN `h2` then `http/1.1`, resumption by stateless tickets (keys rotated
//! by rustls every six hours) and by session id (a cache of
//! [`SESSION_CACHE`] sessions). A reload keeps the ticket keys and the
//! session cache, so sessions made before it still resume.
//!
//! Which certificate: the one whose subject alternative names hold the
//! SNI name exactly, else one with a wildcard (`*.example.com`) for it,
//! else the first certificate given (clients without SNI, or asking for a
//! name no certificate has: as nginx's default server).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// TLS sessions kept for resumption by session id (TLS 1.2 clients that
/// do not take tickets).
pub const SESSION_CACHE: usize = 4096;

/// One certificate (with its chain) and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The certificate chain, leaf first (PEM `CERTIFICATE` blocks).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
}

/// Why certificates could not be used; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No certificate was given.
    #[error("TLS needs at least one certificate and key (--tls-cert FILE --tls-key FILE)")]
    NoCertificate,
    /// A file could not be read or holds no usable PEM block.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls could not be set up (no randomness for ticket keys).
    #[error("TLS: {0}")]
    Setup(String),
    /// The key does not belong to the certificate, or rustls refused them.
    #[error("{} with {}: {reason}", cert.display(), key.display())]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What is wrong with the pair.
        reason: String,
    },
}

fn file_error(path: &Path, reason: impl fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// One loaded certificate and the names it is chosen for.
#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    names: Vec<String>,
}

/// Reads one certificate chain and key, checking that they belong together.
fn load_pair(files: &CertFiles, provider: &CryptoProvider) -> Result<Loaded, TlsError> {
    let pem = std::fs::read(&files.cert).map_err(|e| file_error(&files.cert, e))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&files.cert, format!("not a PEM certificate: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(file_error(&files.cert, "no CERTIFICATE block"));
    };
    let names = webpki::EndEntityCert::try_from(leaf)
        .map_err(|e| file_error(&files.cert, format!("not an X.509 certificate: {e:?}")))?
        .valid_dns_names()
        .map(str::to_ascii_lowercase)
        .collect();
    let pem = std::fs::read(&files.key).map_err(|e| file_error(&files.key, e))?;
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| file_error(&files.key, format!("no PEM private key: {e}")))?;
    let pair = |reason: String| TlsError::Pair {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason,
    };
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| file_error(&files.key, format!("unusable private key: {e}")))?;
    let key = CertifiedKey::new(chain, signer);
    key.keys_match()
        .map_err(|e| pair(format!("the key is not the certificate's ({e})")))?;
    Ok(Loaded {
        key: Arc::new(key),
        names,
    })
}

/// Which certificate serves which name: exact names (lower case) and
/// wildcards' parent domains, to positions in the list of certificates;
/// the first certificate given wins a name.
#[derive(Debug, Default)]
struct Names {
    exact: HashMap<String, usize>,
    wildcard: HashMap<String, usize>,
}

impl Names {
    /// The names of each certificate, in order.
    fn new<'a>(certs: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut names = Names::default();
        for (i, list) in certs.into_iter().enumerate() {
            for name in list {
                match name.strip_prefix("*.") {
                    Some(parent) => names.wildcard.entry(parent.to_string()).or_insert(i),
                    None => names.exact.entry(name.clone()).or_insert(i),
                };
            }
        }
        names
    }

    /// The certificate for `name` (any case): one naming it, else one
    /// whose wildcard covers its first label (`*.example.com` covers
    /// `a.example.com`, not `example.com` nor `a.b.example.com`).
    fn find(&self, name: &str) -> Option<usize> {
        let n = name.to_ascii_lowercase();
        self.exact.get(&n).copied().or_else(|| {
            let (_, parent) = n.split_once('.')?;
            self.wildcard.get(parent).copied()
        })
    }
}

/// Certificates by the names they are for (see the module text).
#[derive(Debug)]
struct ByName {
    certs: Vec<Arc<CertifiedKey>>,
    names: Names,
}

impl ByName {
    fn new(loaded: Vec<Loaded>) -> Self {
        let names = Names::new(loaded.iter().map(|l| l.names.as_slice()));
        Self {
            certs: loaded.into_iter().map(|l| l.key).collect(),
            names,
        }
    }

    /// The certificate for `name`, else the first.
    fn pick(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let i = name.and_then(|n| self.names.find(n));
        self.certs.get(i.unwrap_or(0)).cloned()
    }
}

impl ResolvesServerCert for ByName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name())
    }
}

/// A listener's TLS: its certificates, reloadable (see the module text).
pub struct Tls {
    files: Vec<CertFiles>,
    parts: Parts,
    current: RwLock<TlsAcceptor>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// TLS with the certificates of `files` (the first is the default).
    pub fn load(files: Vec<CertFiles>) -> Result<Self, TlsError> {
        // ring, not aws-lc-rs: its C and assembly build with the cc crate
        // alone (aws-lc-sys brings a far larger C build and the OpenSSL
        // licence). rustls 0.23.48 deprecates it for lacking post-quantum
        // key exchange (X25519MLKEM768): clients offering it fall back to
        // X25519, as they do with most servers today.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|e| TlsError::Setup(format!("no session ticket keys: {e}")))?;
        let sessions = rustls::server::ServerSessionMemoryCache::new(SESSION_CACHE);
        let parts = Parts {
            provider,
            ticketer,
            sessions,
        };
        let acceptor = parts.build(&files)?;
        Ok(Self {
            files,
            parts,
            current: RwLock::new(acceptor),
        })
    }

    /// The certificate and key files, for the reload loop to watch.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .flat_map(|f| [f.cert.clone(), f.key.clone()])
            .collect()
    }

    /// Reads the files again; on success new handshakes use them (open
    /// connections keep theirs), on failure the running ones stay.
    pub fn reload(&self) -> Result<(), TlsError> {
        let acceptor = self.parts.build(&self.files)?;
        match self.current.write() {
            Ok(mut a) => *a = acceptor,
            Err(p) => *p.into_inner() = acceptor,
        }
        Ok(())
    }

    /// The acceptor for the next handshake.
    pub fn acceptor(&self) -> TlsAcceptor {
        // A poisoned lock only means a panic elsewhere; the value is whole.
        match self.current.read() {
            Ok(a) => a.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// What stays the same across reloads.
struct Parts {
    provider: Arc<CryptoProvider>,
    ticketer: Arc<dyn rustls::server::ProducesTickets>,
    sessions: Arc<dyn StoresServerSessions>,
}

impl Parts {
    /// An acceptor with the certificates of `files`.
    fn build(&self, files: &[CertFiles]) -> Result<TlsAcceptor, TlsError> {
        if files.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        let loaded = files
            .iter()
            .map(|f| load_pair(f, &self.provider))
            .collect::<Result<Vec<_>, _>>()?;
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(ByName::new(loaded)));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config.ticketer = self.ticketer.clone();
        config.session_storage = self.sessions.clone();
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::Names;

    #[test]
    fn names_pick_exact_then_one_label_of_wildcard_then_nothing() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let certs = [
            list(&["tr.example.net", "www.example.net"]),
            list(&["*.example.net", "tr.example.org"]),
            list(&["tr.example.net", "*.cdn.example.net"]),
        ];
        let names = Names::new(certs.iter().map(Vec::as_slice));
        assert_eq!(
            names.find("tr.example.net"),
            Some(0),
            "the first certificate wins"
        );
        assert_eq!(names.find("TR.Example.NET"), Some(0), "any case");
        assert_eq!(names.find("a.example.net"), Some(1));
        assert_eq!(names.find("a.b.example.net"), None, "one label only");
        assert_eq!(names.find("example.net"), None, "not the parent itself");
        assert_eq!(names.find("x.cdn.example.net"), Some(2));
        assert_eq!(names.find("tr.example.org"), Some(1));
        assert_eq!(names.find("other.example.com"), None);
        assert_eq!(names.find(""), None);
    }
}
