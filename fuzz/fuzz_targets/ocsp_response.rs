//! Stapled OCSP responses and certificates on arbitrary bytes: no panic,
//! and a response taken is current. The first byte says which part the
//! rest replaces (0: the response, 1: the certificate, 2: the issuer); the
//! other parts are the fixtures of `crates/http/src/tls/testdata` (a
//! certificate, its authority and a good response), checked an hour after
//! the response was issued.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_http::tls::fuzz_ocsp;

const LEAF: &[u8] = include_bytes!("../../crates/http/src/tls/testdata/leaf.der");
const CA: &[u8] = include_bytes!("../../crates/http/src/tls/testdata/ca.der");
const GOOD: &[u8] = include_bytes!("../../crates/http/src/tls/testdata/good.ocsp");
/// 2026-12-07T20:37:22Z: an hour after the fixtures' responses.
const NOW: u64 = 1_796_675_842;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let _ = match which % 3 {
        0 => fuzz_ocsp(LEAF, rest, CA, NOW),
        1 => fuzz_ocsp(rest, GOOD, CA, NOW),
        _ => fuzz_ocsp(LEAF, GOOD, rest, NOW),
    };
});
