//! What a certificate says about itself: its validity dates, and whether an
//! OCSP response (RFC 6960) is for it and current. Read with the RustCrypto
//! `x509-cert` and `x509-ocsp` crates.
//!
//! The OCSP response's signature is not verified here: the client does
//! that against the issuer it trusts (and the README's cron line verifies
//! it when fetching). What is checked is what a server can get wrong on its
//! own — a response for another certificate, an error answer, a stale
//! response — each of which would make clients that insist on stapling
//! refuse the connection.

use std::time::Duration;

use x509_cert::der::{Decode, Encode};
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};

/// How far ahead of our clock an OCSP response's `thisUpdate` may be (the
/// responder's clock and ours differ a little).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// `id-pkix-ocsp-basic` (RFC 6960 §4.2.1).
const OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
/// The hash algorithms a CertID may name (ring has a digest for each).
const SHA1: &str = "1.3.14.3.2.26";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";

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

    /// Checks a DER OCSP response for this certificate, issued by `issuer`
    /// (the next certificate of the chain, DER), as of `now`: a successful
    /// basic response holding a status for this certificate — its CertID's
    /// serial number, issuer name hash and issuer key hash all this
    /// certificate's (RFC 6960 §4.1.1), by SHA-1, SHA-256, SHA-384 or
    /// SHA-512 — that is `good` or `revoked`, issued no later than `now`
    /// (give or take [`CLOCK_SKEW`]) with a `nextUpdate` after `now`.
    pub fn check_ocsp(
        &self,
        der: &[u8],
        issuer: Option<&[u8]>,
        now: Duration,
    ) -> Result<Staple, String> {
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
        let ours = &self.cert.tbs_certificate;
        let issuer = issuer.ok_or(
            "the certificate file holds no issuer after the leaf, so no CertID can be computed",
        )?;
        let issuer = Certificate::from_der(issuer)
            .map_err(|e| format!("the issuer after the leaf: not an X.509 certificate: {e}"))?;
        if issuer.tbs_certificate.subject != ours.issuer {
            return Err("the certificate after the leaf is not its issuer".into());
        }
        let name = ours
            .issuer
            .to_der()
            .map_err(|e| format!("the certificate's issuer name: {e}"))?;
        let key = issuer
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        let mut found = None;
        for single in &basic.tbs_response_data.responses {
            let id = &single.cert_id;
            let algorithm = match id.hash_algorithm.oid.to_string().as_str() {
                SHA1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                SHA256 => &ring::digest::SHA256,
                SHA384 => &ring::digest::SHA384,
                SHA512 => &ring::digest::SHA512,
                // A status for some certificate by a hash we do not know.
                _ => continue,
            };
            if id.serial_number == ours.serial_number
                && id.issuer_name_hash.as_bytes() == ring::digest::digest(algorithm, &name).as_ref()
                && id.issuer_key_hash.as_bytes() == ring::digest::digest(algorithm, key).as_ref()
            {
                found = Some(single);
                break;
            }
        }
        let Some(single) = found else {
            return Err(format!(
                "no status for this certificate (serial {} of its issuer) in the response",
                self.serial()
            ));
        };
        let revoked = match &single.cert_status {
            CertStatus::Good(_) => None,
            CertStatus::Revoked(info) => Some(info.revocation_time.0.to_unix_duration()),
            CertStatus::Unknown(_) => {
                return Err("the responder does not know the certificate (status unknown)".into())
            }
        };
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
        Ok(Staple {
            next_update,
            revoked,
        })
    }
}

/// What a usable OCSP response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staple {
    /// Its `nextUpdate`, since the Unix epoch.
    pub next_update: Duration,
    /// When the certificate was revoked, if the response says so.
    pub revoked: Option<Duration>,
}

#[cfg(test)]
mod tests {
    //! Fixtures in `testdata/`, made with `openssl ca` and `openssl ocsp`
    //! (-no_nonce -ndays 1) on 2026-12-07: `ca.der` (`CN=ca`), `leaf.der`
    //! (serial 1000 of it, valid 2026-12-01 to 2027-12-01), responses
    //! issued at [`ISSUED`]: `good` and `revoked` for it, `other` for
    //! serial 1001 of the same issuer; `samename`: 11 minutes later, for
    //! serial 1000 of another authority also named `CN=ca` (a different key).
    use std::time::Duration;

    use proptest::prelude::*;

    use super::{Leaf, Staple, CLOCK_SKEW};

    const CA: &[u8] = include_bytes!("testdata/ca.der");
    const LEAF: &[u8] = include_bytes!("testdata/leaf.der");
    const GOOD: &[u8] = include_bytes!("testdata/good.ocsp");
    const REVOKED: &[u8] = include_bytes!("testdata/revoked.ocsp");
    const OTHER: &[u8] = include_bytes!("testdata/other.ocsp");
    const SAME_NAME: &[u8] = include_bytes!("testdata/samename.ocsp");
    /// 2026-12-07T19:37:22Z, the responses' thisUpdate.
    const ISSUED: Duration = Duration::from_secs(1_796_672_242);
    const DAY: Duration = Duration::from_secs(86_400);
    const HOUR: Duration = Duration::from_secs(3_600);

    fn leaf() -> Leaf {
        Leaf::parse(LEAF).expect("the fixture parses")
    }

    fn good_until(next_update: Duration) -> Result<Staple, String> {
        Ok(Staple {
            next_update,
            revoked: None,
        })
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
        let check = |now| leaf.check_ocsp(GOOD, Some(CA), now);
        assert_eq!(check(ISSUED + HOUR), good_until(ISSUED + DAY));
        // Our clock a little behind the responder's.
        assert_eq!(check(ISSUED - CLOCK_SKEW), good_until(ISSUED + DAY));
        let early = check(ISSUED - 2 * CLOCK_SKEW);
        assert!(
            early.as_ref().is_err_and(|e| e.contains("later than now")),
            "{early:?}"
        );
        let stale = check(ISSUED + DAY);
        assert!(
            stale.as_ref().is_err_and(|e| e.starts_with("stale")),
            "{stale:?}"
        );
    }

    #[test]
    fn a_revoked_status_is_told() {
        let revoked = leaf().check_ocsp(REVOKED, Some(CA), ISSUED + HOUR);
        let on = revoked
            .expect("a usable response")
            .revoked
            .expect("revoked");
        assert!(on >= ISSUED - HOUR && on <= ISSUED, "{}", super::date(on));
    }

    #[test]
    fn responses_for_other_certificates_and_broken_ones_are_refused() {
        let leaf = leaf();
        let now = ISSUED + HOUR;
        let refused = |der: &[u8], issuer: Option<&[u8]>, why: &str| {
            let got = leaf.check_ocsp(der, issuer, now);
            assert!(
                got.as_ref().is_err_and(|e| e.contains(why)),
                "{why}: {got:?}"
            );
        };
        refused(OTHER, Some(CA), "serial 1000");
        // The same serial and issuer name, another issuer key.
        refused(SAME_NAME, Some(CA), "serial 1000");
        refused(GOOD, None, "no issuer after the leaf");
        refused(GOOD, Some(LEAF), "not its issuer");
        refused(GOOD, Some(b"junk"), "not an X.509 certificate");
        refused(&GOOD[..GOOD.len() - 1], Some(CA), "not a DER OCSP response");
        // An error status (tryLater, DER 30 03 0A 01 03).
        refused(&[0x30, 0x03, 0x0A, 0x01, 0x03], Some(CA), "TryLater");
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
            if let Ok(s) = leaf.check_ocsp(&response, Some(CA), ISSUED) {
                prop_assert!(s.next_update > ISSUED);
            }
            let _ = Leaf::parse(&LEAF[..cut]);
            let mut cert = LEAF.to_vec();
            cert[at % LEAF.len()] = byte;
            let _ = Leaf::parse(&cert);
            let mut issuer = CA.to_vec();
            issuer[at % CA.len()] = byte;
            let _ = leaf.check_ocsp(GOOD, Some(&issuer), ISSUED);
        }
    }
}
