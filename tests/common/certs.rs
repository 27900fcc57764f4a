//! Self-signed certificates for the TLS tests, made by the openssl command
//! (scripts/test installs it): EC P-256, valid 90 days (more than the 30
//! days within which routecast warns of expiry).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate with `subject` (`/CN=…`) and `san` (`DNS:…`, `IP:…`) as
/// `<file>.pem` and its key as `<file>.key` in `dir`: (certificate, key).
pub fn self_signed(dir: &Path, file: &str, subject: &str, san: &str) -> (PathBuf, PathBuf) {
    let (pem, key) = (
        dir.join(format!("{file}.pem")),
        dir.join(format!("{file}.key")),
    );
    let names = [format!("{file}.key"), format!("{file}.pem")];
    let san = format!("subjectAltName={san}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "90",
            "-subj",
            subject,
            "-addext",
            &san,
            "-keyout",
            &names[0],
            "-out",
            &names[1],
        ],
    );
    (pem, key)
}

/// A certificate authority in a directory, run with `openssl ca` and
/// `openssl ocsp`: certificates with chosen dates, revocation, and OCSP
/// responses as a responder would give them.
pub struct Authority {
    dir: PathBuf,
}

/// Runs openssl with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Authority {
    /// A new authority (`CN=Test CA`, EC P-256, valid three days) in `dir`,
    /// which it fills with its files.
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("issued")).expect("dir");
        std::fs::write(dir.join("index.txt"), "").expect("index");
        std::fs::write(dir.join("serial"), "1000\n").expect("serial");
        std::fs::write(
            dir.join("ca.cnf"),
            "[ca]\ndefault_ca = ca\n[ca]\ndir = .\ndatabase = ./index.txt\n\
             new_certs_dir = ./issued\nserial = ./serial\ndefault_md = sha256\n\
             policy = any\ncopy_extensions = copy\nunique_subject = no\n\
             [any]\ncommonName = supplied\n",
        )
        .expect("config");
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "3",
                "-subj",
                "/CN=Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// The authority's certificate (for clients to trust).
    pub fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A certificate for DNS name `name` with validity `dates` (`openssl
    /// ca`'s options: `["-days", "2"]`, or `-startdate` and `-enddate` as
    /// `YYYYMMDDHHMMSSZ`), as `<file>.pem` (leaf then the authority) and
    /// `<file>.key` in the authority's directory: (certificate, key).
    pub fn issue(&self, file: &str, name: &str, dates: &[&str]) -> (PathBuf, PathBuf) {
        let (leaf, pem, key, csr) = (
            format!("{file}.leaf"),
            format!("{file}.pem"),
            format!("{file}.key"),
            format!("{file}.csr"),
        );
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                &format!("subjectAltName=DNS:{name}"),
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        let mut args = vec![
            "ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile",
            "ca.key", "-in", &csr, "-out", &leaf,
        ];
        args.extend(dates);
        openssl(&self.dir, &args);
        let mut chain = std::fs::read(self.dir.join(&leaf)).expect("leaf");
        chain.extend(std::fs::read(self.cert()).expect("ca"));
        std::fs::write(self.dir.join(&pem), chain).expect("chain");
        (self.dir.join(pem), self.dir.join(key))
    }

    /// Revokes the certificate issued as `file`.
    pub fn revoke(&self, file: &str) {
        let leaf = format!("{file}.leaf");
        openssl(
            &self.dir,
            &[
                "ca", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-revoke",
                &leaf,
            ],
        );
    }

    /// The responder's DER answer for the certificate issued as `file`,
    /// signed by the authority, current for a day, written to `out`.
    pub fn ocsp(&self, file: &str, out: &Path) {
        let leaf = format!("{file}.leaf");
        let out = out.to_str().expect("a UTF-8 path");
        openssl(
            &self.dir,
            &[
                "ocsp",
                "-index",
                "index.txt",
                "-rsigner",
                "ca.pem",
                "-rkey",
                "ca.key",
                "-CA",
                "ca.pem",
                "-issuer",
                "ca.pem",
                "-cert",
                &leaf,
                "-ndays",
                "1",
                "-respout",
                out,
            ],
        );
    }
}
