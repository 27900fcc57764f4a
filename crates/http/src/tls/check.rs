//! What a certificate says about itself: its validity dates, and whether a
//! stapled OCSP response (RFC 6960) is for it, says it is good and is
//! current. Read with the RustCrypto `x509-cert` and `x509-ocsp` crates.
//!
//! The OCSP response's signature is not verified here: the client does
//! that against the issuer it trusts. What is checked is what a server can
//! get wrong on its own — the wrong file, a revoked certificate, a stale
//! response — each of which would make clients that honour stapling refuse
//! the connection.

use std::time::Duration;

use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};

/// How far ahead of our clock an OCSP response's `thisUpdate` may be (the
/// responder's clock and ours differ a little).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// `id-pkix-ocsp-basic` (RFC 6960 §4.2.1).
const OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
/// The hash algorithms a CertID may name, and ring's digest for each.
const SHA1: &str = "1.3.14.3.2.26";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// A time since the Unix epoch as HTTP writes dates
/// (`Mon, 07 Dec 2026 19:33:43 GMT`).
pub fn date(unix: Duration) -> String {
    match std::time::UNIX_EPOCH.checked_add(unix) {
        Some(t) if unix.as_secs() < 253_402_300_800 => httpdate::fmt_http_date(t),
        _ => format!("{} s after 1970", unix.as_secs()),
    }
}

/// The leaf certificate's facts used here.
#[derive(Debug)]
pub struct Leaf {
    cert: Certificate,
    /// notBefore, since the Unix epoch.
    pub not_before: Duration,
    /// notAfter, since the Unix epoch.
    pub not_after: Duration,
}

impl Leaf {
    /// Parses a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        let cert =
            Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let validity = cert.tbs_certificate.validity;
        Ok(Self {
            not_before: validity.not_before.to_unix_duration(),
            not_after: validity.not_after.to_unix_duration(),
            cert,
        })
    }

    /// The serial number, in hexadecimal as openssl prints it.
    fn serial(&self) -> String {
        self.cert
            .tbs_certificate
            .serial_number
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// Checks a DER OCSP response for this certificate as of `now`: a
    /// successful basic response holding a `good` status for this serial
    /// number and issuer name, issued no later than `now` (give or take
    /// [`CLOCK_SKEW`]) with a `nextUpdate` after `now`. Gives `nextUpdate`.
    pub fn check_ocsp(&self, der: &[u8], now: Duration) -> Result<Duration, String> {
        let response =
            OcspResponse::from_der(der).map_err(|e| format!("not a DER OCSP response: {e}"))?;
        if response.response_status != OcspResponseStatus::Successful {
            return Err(format!(
                "the responder answered {:?}, not a status",
                response.response_status
            ));
        }
        let bytes = response
            .response_bytes
            .ok_or("a successful response without its body")?;
        if bytes.response_type.to_string() != OCSP_BASIC {
            return Err(format!(
                "response type {} is not the basic one",
                bytes.response_type
            ));
        }
        let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
            .map_err(|e| format!("not a basic OCSP response: {e}"))?;
        let issuer = self
            .cert
            .tbs_certificate
            .issuer
            .to_der()
            .map_err(|e| format!("the certificate's issuer name: {e}"))?;
        let serial = &self.cert.tbs_certificate.serial_number;
        let mut ours = None;
        for single in &basic.tbs_response_data.responses {
            let id = &single.cert_id;
            let algorithm = match id.hash_algorithm.oid.to_string().as_str() {
                SHA1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                SHA256 => &ring::digest::SHA256,
                other => {
                    return Err(format!(
                        "a status identified with hash {other}, not SHA-1 or SHA-256"
                    ))
                }
            };
            let name_hash = ring::digest::digest(algorithm, &issuer);
            if &id.serial_number == serial && id.issuer_name_hash.as_bytes() == name_hash.as_ref() {
                ours = Some(single);
                break;
            }
        }
        let Some(single) = ours else {
            return Err(format!(
                "no status for this certificate (serial {}) in the response",
                self.serial()
            ));
        };
        match &single.cert_status {
            CertStatus::Good(_) => {}
            CertStatus::Revoked(info) => {
                return Err(format!(
                    "the responder says the certificate was revoked on {}",
                    date(info.revocation_time.0.to_unix_duration())
                ))
            }
            CertStatus::Unknown(_) => {
                return Err("the responder does not know the certificate (status unknown)".into())
            }
        }
        let this_update = single.this_update.0.to_unix_duration();
        if this_update > now + CLOCK_SKEW {
            return Err(format!(
                "issued for {}, later than now ({})",
                date(this_update),
                date(now)
            ));
        }
        let next_update = single
            .next_update
            .as_ref()
            .map(|t| t.0.to_unix_duration())
            .ok_or("no nextUpdate: the response cannot be told stale")?;
        if next_update <= now {
            return Err(format!(
                "stale: its next update was due {} (now {})",
                date(next_update),
                date(now)
            ));
        }
        Ok(next_update)
    }
}

#[cfg(test)]
mod tests {
    //! Fixtures in `testdata/`, made with `openssl ca` and `openssl ocsp`
    //! (-no_nonce -ndays 1) on 2026-12-07: `leaf.der` (serial 1000, valid
    //! 2026-12-01 to 2027-12-01) and responses issued at [`ISSUED`]: `good`
    //! and `revoked` for it, `other` for serial 1001 of the same issuer.
    use std::time::Duration;

    use proptest::prelude::*;

    use super::{Leaf, CLOCK_SKEW};

    const LEAF: &[u8] = include_bytes!("testdata/leaf.der");
    const GOOD: &[u8] = include_bytes!("testdata/good.ocsp");
    const REVOKED: &[u8] = include_bytes!("testdata/revoked.ocsp");
    const OTHER: &[u8] = include_bytes!("testdata/other.ocsp");
    /// 2026-12-07T19:37:22Z, the responses' thisUpdate.
    const ISSUED: Duration = Duration::from_secs(1_796_672_242);
    const DAY: Duration = Duration::from_secs(86_400);

    fn leaf() -> Leaf {
        Leaf::parse(LEAF).expect("the fixture parses")
    }

    #[test]
    fn validity_dates_are_read() {
        let leaf = leaf();
        assert_eq!(
            super::date(leaf.not_before),
            "Tue, 01 Dec 2026 00:00:00 GMT"
        );
        assert_eq!(super::date(leaf.not_after), "Wed, 01 Dec 2027 00:00:00 GMT");
    }

    #[test]
    fn a_current_good_response_is_taken_until_its_next_update() {
        let leaf = leaf();
        let hour = Duration::from_secs(3600);
        assert_eq!(leaf.check_ocsp(GOOD, ISSUED + hour), Ok(ISSUED + DAY));
        // Our clock a little behind the responder's.
        assert_eq!(leaf.check_ocsp(GOOD, ISSUED - CLOCK_SKEW), Ok(ISSUED + DAY));
        let early = leaf.check_ocsp(GOOD, ISSUED - 2 * CLOCK_SKEW);
        assert!(
            early.as_ref().is_err_and(|e| e.contains("later than now")),
            "{early:?}"
        );
        let stale = leaf.check_ocsp(GOOD, ISSUED + DAY);
        assert!(
            stale.as_ref().is_err_and(|e| e.starts_with("stale")),
            "{stale:?}"
        );
    }

    #[test]
    fn revoked_foreign_and_broken_responses_are_refused() {
        let leaf = leaf();
        let now = ISSUED + Duration::from_secs(60);
        let revoked = leaf.check_ocsp(REVOKED, now);
        assert!(
            revoked.as_ref().is_err_and(|e| e.contains("revoked on")),
            "{revoked:?}"
        );
        let other = leaf.check_ocsp(OTHER, now);
        assert!(
            other.as_ref().is_err_and(|e| e.contains("serial 1000")),
            "{other:?}"
        );
        let cut = leaf.check_ocsp(&GOOD[..GOOD.len() - 1], now);
        assert!(
            cut.as_ref().is_err_and(|e| e.starts_with("not a DER")),
            "{cut:?}"
        );
        // An error status (tryLater, DER 30 03 0A 01 03).
        let later = leaf.check_ocsp(&[0x30, 0x03, 0x0A, 0x01, 0x03], now);
        assert!(
            later.as_ref().is_err_and(|e| e.contains("TryLater")),
            "{later:?}"
        );
        assert!(
            Leaf::parse(GOOD).is_err(),
            "a response is not a certificate"
        );
    }

    proptest! {
        /// Damaged certificates and responses are errors, never a panic;
        /// one still taken is current.
        #[test]
        fn damaged_input_is_an_error(at in 0..GOOD.len(), byte: u8, cut in 0..LEAF.len()) {
            let mut response = GOOD.to_vec();
            response[at] = byte;
            let leaf = leaf();
            if let Ok(next) = leaf.check_ocsp(&response, ISSUED) {
                prop_assert!(next > ISSUED);
            }
            let _ = Leaf::parse(&LEAF[..cut]);
            let mut cert = LEAF.to_vec();
            cert[at % LEAF.len()] = byte;
            let _ = Leaf::parse(&cert);
        }
    }
}
