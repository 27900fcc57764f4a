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
//!
//! Rules at every load (start and reload), each naming its file:
//! * a certificate past its `notAfter` is refused (at a reload the running
//!   ones stay); one that expires within [`EXPIRY_WARNING`], or whose
//!   `notBefore` is still ahead (our clock may be behind), is served with a
//!   warning. [`Tls::certificates`] gives each one's expiry, for metrics.
//! * OCSP stapling: a DER OCSP response in a file named as the certificate
//!   with `.ocsp` appended (`tr.pem.ocsp`, HAProxy's naming), when there is
//!   one, is stapled to the handshakes with that certificate until
//!   [`STAPLE_MARGIN`] before its `nextUpdate`, then no longer (a stale
//!   staple makes strict clients refuse). It must be a successful response
//!   for this certificate (serial number, issuer name and issuer key: the
//!   chain must hold the issuer), current by our clock, at most
//!   [`MAX_OCSP_BYTES`]; otherwise it is logged and the certificate served
//!   without a staple, as nginx and HAProxy do. `revoked` is stapled, and
//!   logged as an error. Fetching responses is left to a cron job; the file
//!   is watched and reloaded like the certificate.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, StoresServerSessions};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

mod check;

/// How long before an OCSP response's `nextUpdate` it stops being stapled:
/// clients' clocks differ from ours (HAProxy stops as early).
pub const STAPLE_MARGIN: Duration = Duration::from_secs(300);

/// Certificates that expire sooner than this are warned about at every load.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(30 * 86_400);

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

impl CertFiles {
    /// Where an OCSP response to staple is looked for: the certificate's
    /// path with `.ocsp` appended.
    pub fn ocsp(&self) -> PathBuf {
        let mut path = self.cert.clone().into_os_string();
        path.push(".ocsp");
        PathBuf::from(path)
    }
}

/// A certificate in use, as [`Tls::certificates`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    /// Its certificate file.
    pub cert: PathBuf,
    /// Its `notAfter`, since the Unix epoch (`None`: not readable).
    pub not_after: Option<Duration>,
    /// The loaded OCSP response's `nextUpdate`, since the Unix epoch
    /// (`None`: none loaded). It is stapled until [`STAPLE_MARGIN`]
    /// before that: [`InUse::stapled`].
    pub ocsp_next_update: Option<Duration>,
}

impl InUse {
    /// Whether handshakes at `now` (since the Unix epoch) get a staple.
    pub fn stapled(&self, now: Duration) -> bool {
        self.ocsp_next_update
            .is_some_and(|n| now < n.saturating_sub(STAPLE_MARGIN))
    }
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
    entry: Entry,
    names: Vec<String>,
    in_use: InUse,
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Reads one certificate chain and key, checking that they belong together
/// and that the certificate has not expired as of `now`, with the OCSP
/// response next to it if there is one (see the module text).
fn load_pair(
    files: &CertFiles,
    provider: &CryptoProvider,
    now: Duration,
) -> Result<Loaded, TlsError> {
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
    // A certificate rustls takes but x509-cert cannot read (dates before
    // 1970, a serial over 20 bytes) is served, unchecked and unstapled.
    let facts = match check::Leaf::parse(leaf) {
        Ok(facts) => Some(facts),
        Err(e) => {
            tracing::warn!(cert = %files.cert.display(), error = %e, "validity not checked, no OCSP stapling");
            None
        }
    };
    if let Some(f) = facts.as_ref().filter(|f| f.not_after < now) {
        let when = check::date(f.not_after);
        let reason = format!("expired on {when} (now {}): renew it", check::date(now));
        return Err(file_error(&files.cert, reason));
    }
    let issuer = chain.get(1).map(|c| c.as_ref().to_vec());
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
    let plain = CertifiedKey::new(chain, signer);
    plain
        .keys_match()
        .map_err(|e| pair(format!("the key is not the certificate's ({e})")))?;
    let staple = facts
        .as_ref()
        .and_then(|f| staple(files, f, issuer.as_deref(), now));
    if let Some(f) = &facts {
        if f.not_after < now + EXPIRY_WARNING {
            tracing::warn!(
                cert = %files.cert.display(),
                not_after = %check::date(f.not_after),
                "the certificate expires within 30 days"
            );
        }
        if f.not_before > now {
            tracing::warn!(
                cert = %files.cert.display(),
                not_before = %check::date(f.not_before),
                "the certificate is not valid yet by this machine's clock (is the clock behind?)"
            );
        }
    }
    let in_use = InUse {
        cert: files.cert.clone(),
        not_after: facts.map(|f| f.not_after),
        ocsp_next_update: staple.as_ref().map(|s| s.1.next_update),
    };
    let plain = Arc::new(plain);
    let (stapled, staple_until) = match staple {
        Some((der, s)) => {
            let mut stapled = (*plain).clone();
            stapled.ocsp = Some(der);
            let until = s.next_update.saturating_sub(STAPLE_MARGIN);
            (Arc::new(stapled), until)
        }
        None => (plain.clone(), Duration::ZERO),
    };
    let entry = Entry {
        stapled,
        plain,
        staple_until,
        lapsed: AtomicBool::new(false),
        cert: files.cert.clone(),
    };
    Ok(Loaded {
        entry,
        names,
        in_use,
    })
}

/// Largest OCSP response stapled: TLS 1.2 clients (OpenSSL) refuse a
/// status message over 16 KiB, and TLS 1.3 carries it in an extension of
/// at most 64 KiB; real responses are 0.5–2 KiB.
pub const MAX_OCSP_BYTES: u64 = 16_000;

/// The OCSP response to staple with the certificate of `files`, if there
/// is a usable one: read from [`CertFiles::ocsp`] (a regular file of at most
/// [`MAX_OCSP_BYTES`]) and checked (see the module text). A missing file
/// means no stapling; any other problem is logged, names the file, and
/// means no stapling either — the certificate is served all the same, as
/// nginx and HAProxy do. A response saying the certificate is revoked is
/// stapled (it is the truth clients should hear) and logged as an error.
fn staple(
    files: &CertFiles,
    leaf: &check::Leaf,
    issuer: Option<&[u8]>,
    now: Duration,
) -> Option<(Vec<u8>, check::Staple)> {
    let path = files.ocsp();
    let read = || -> Result<Option<Vec<u8>>, String> {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        let mut der = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_OCSP_BYTES + 1), &mut der)
            .map_err(|e| e.to_string())?;
        if der.len() as u64 > MAX_OCSP_BYTES {
            return Err(format!("larger than {MAX_OCSP_BYTES} bytes"));
        }
        Ok(Some(der))
    };
    let checked = read().and_then(|der| match der {
        Some(der) => leaf.check_ocsp(&der, issuer, now).map(|s| Some((der, s))),
        None => Ok(None),
    });
    match checked {
        Ok(Some((der, s))) => {
            if let Some(on) = s.revoked {
                tracing::error!(
                    ocsp = %path.display(),
                    revoked = %check::date(on),
                    "the OCSP response says the certificate is revoked: clients that check will refuse it; replace the certificate"
                );
            }
            Some((der, s))
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(ocsp = %path.display(), error = %e, "OCSP response not stapled; the certificate is served without one");
            None
        }
    }
}

/// One certificate as handshakes get it: with its OCSP staple until
/// [`STAPLE_MARGIN`] before the response's `nextUpdate`, without after.
#[derive(Debug)]
struct Entry {
    stapled: Arc<CertifiedKey>,
    plain: Arc<CertifiedKey>,
    /// Since the Unix epoch (zero without a staple).
    staple_until: Duration,
    /// The staple's lapse has been logged.
    lapsed: AtomicBool,
    cert: PathBuf,
}

impl Entry {
    /// The certificate for a handshake at `now`.
    fn key(&self, now: impl FnOnce() -> Duration) -> Arc<CertifiedKey> {
        if self.staple_until.is_zero() {
            return self.plain.clone();
        }
        if now() < self.staple_until {
            return self.stapled.clone();
        }
        if !self.lapsed.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                cert = %self.cert.display(),
                next_update = %check::date(self.staple_until),
                "the stapled OCSP response is stale: handshakes go without it until a fresh one is in place"
            );
        }
        self.plain.clone()
    }
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
    certs: Vec<Entry>,
    names: Names,
}

impl ByName {
    fn new(loaded: Vec<Loaded>) -> Self {
        let names = Names::new(loaded.iter().map(|l| l.names.as_slice()));
        Self {
            certs: loaded.into_iter().map(|l| l.entry).collect(),
            names,
        }
    }

    /// The certificate for `name`, else the first, for a handshake at `now`.
    fn pick(
        &self,
        name: Option<&str>,
        now: impl FnOnce() -> Duration,
    ) -> Option<Arc<CertifiedKey>> {
        let i = name.and_then(|n| self.names.find(n));
        self.certs.get(i.unwrap_or(0)).map(|e| e.key(now))
    }
}

impl ResolvesServerCert for ByName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(hello.server_name(), unix_now)
    }
}

/// A listener's TLS: its certificates, reloadable (see the module text).
pub struct Tls {
    files: Vec<CertFiles>,
    parts: Parts,
    current: RwLock<Current>,
}

/// The acceptor for new handshakes and what its certificates are.
struct Current {
    acceptor: TlsAcceptor,
    in_use: Vec<InUse>,
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
        let current = parts.build(&files)?;
        Ok(Self {
            files,
            parts,
            current: RwLock::new(current),
        })
    }

    /// The certificate, key and OCSP response files (those that may be
    /// absent too), for the reload loop to watch.
    pub fn files(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .flat_map(|f| [f.cert.clone(), f.key.clone(), f.ocsp()])
            .collect()
    }

    /// The modification times of [`Tls::files`] (`None` for one that cannot
    /// be read), to tell when to reload.
    pub fn modified(&self) -> Vec<Option<SystemTime>> {
        modified(&self.files())
    }

    /// Reads the files again; on success new handshakes use them (open
    /// connections keep theirs), on failure the running ones stay.
    pub fn reload(&self) -> Result<(), TlsError> {
        let current = self.parts.build(&self.files)?;
        match self.current.write() {
            Ok(mut c) => *c = current,
            Err(p) => *p.into_inner() = current,
        }
        Ok(())
    }

    /// Reads what the running certificates are.
    fn read<T>(&self, f: impl FnOnce(&Current) -> T) -> T {
        // A poisoned lock only means a panic elsewhere; the value is whole.
        match self.current.read() {
            Ok(c) => f(&c),
            Err(p) => f(&p.into_inner()),
        }
    }

    /// The acceptor for the next handshake.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.read(|c| c.acceptor.clone())
    }

    /// The certificates in use, in the order given: expiry and stapled
    /// OCSP response.
    pub fn certificates(&self) -> Vec<InUse> {
        self.read(|c| c.in_use.clone())
    }
}

/// For the `ocsp_response` fuzz target only: reads `leaf` as a certificate
/// and checks `response` as its OCSP response from `issuer` at `now_secs`;
/// whether it would be stapled. Never panics, whatever the bytes.
#[doc(hidden)]
pub fn fuzz_ocsp(leaf: &[u8], response: &[u8], issuer: &[u8], now_secs: u64) -> bool {
    let Ok(leaf) = check::Leaf::parse(leaf) else {
        return false;
    };
    let checked = leaf.check_ocsp(response, Some(issuer), Duration::from_secs(now_secs));
    checked.is_ok_and(|s| s.next_update > Duration::from_secs(now_secs))
}

/// The modification times of `files` (`None` for one that cannot be read).
pub fn modified(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// What stays the same across reloads.
struct Parts {
    provider: Arc<CryptoProvider>,
    ticketer: Arc<dyn rustls::server::ProducesTickets>,
    sessions: Arc<dyn StoresServerSessions>,
}

impl Parts {
    /// An acceptor with the certificates of `files`.
    fn build(&self, files: &[CertFiles]) -> Result<Current, TlsError> {
        if files.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        let now = unix_now();
        let loaded = files
            .iter()
            .map(|f| load_pair(f, &self.provider, now))
            .collect::<Result<Vec<_>, _>>()?;
        let in_use = loaded.iter().map(|l| l.in_use.clone()).collect();
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(ByName::new(loaded)));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config.ticketer = self.ticketer.clone();
        config.session_storage = self.sessions.clone();
        Ok(Current {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            in_use,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::Duration;

    use rustls::sign::{CertifiedKey, Signer, SigningKey};
    use rustls::{SignatureAlgorithm, SignatureScheme};

    use super::{Entry, Names};

    /// A key that signs nothing: [`Entry`] only picks certificates.
    #[derive(Debug)]
    struct NoKey;

    impl SigningKey for NoKey {
        fn choose_scheme(&self, _: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
            None
        }
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::ECDSA
        }
    }

    #[test]
    fn a_staple_is_sent_until_its_next_update_then_no_longer() {
        let plain = Arc::new(CertifiedKey::new(Vec::new(), Arc::new(NoKey)));
        let mut stapled = (*plain).clone();
        stapled.ocsp = Some(b"response".to_vec());
        let until = Duration::from_secs(1_000);
        let entry = Entry {
            stapled: Arc::new(stapled),
            plain,
            staple_until: until,
            lapsed: AtomicBool::new(false),
            cert: "tr.pem".into(),
        };
        let at = |secs| entry.key(|| Duration::from_secs(secs)).ocsp.clone();
        assert_eq!(at(999), Some(b"response".to_vec()));
        assert_eq!(at(1_000), None, "stale at nextUpdate");
        assert_eq!(at(5_000), None);
        assert_eq!(at(10), Some(b"response".to_vec()), "a clock set back");
    }

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
