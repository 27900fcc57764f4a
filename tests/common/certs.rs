//! Self-signed certificates for the TLS tests, made by the openssl command
//! (scripts/test installs it): EC P-256, valid two days.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate with `subject` (`/CN=…`) and `san` (`DNS:…`, `IP:…`) as
/// `<file>.pem` and its key as `<file>.key` in `dir`: (certificate, key).
pub fn self_signed(dir: &Path, file: &str, subject: &str, san: &str) -> (PathBuf, PathBuf) {
    let (pem, key) = (
        dir.join(format!("{file}.pem")),
        dir.join(format!("{file}.key")),
    );
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", subject])
        .args(["-addext", &format!("subjectAltName={san}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl runs (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (pem, key)
}
