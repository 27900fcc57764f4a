//! The redirector's lean HTTP/1.1 path against hyper on arbitrary bytes:
//! no panic, and a client reads exactly what hyper alone would have
//! answered (the `date` values aside), however the bytes are split.
//!
//! The first byte sets where the input is cut into writes (a cut every
//! `1 + first % 64` bytes; 0 and 255: one write); a request that closes the
//! connection follows the input, so that every conversation ends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_http::lean_fuzzing::lean_and_hyper;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut all = rest.to_vec();
    all.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let chunks: Vec<Vec<u8>> = match first {
        0 | 255 => vec![all],
        n => all.chunks(1 + usize::from(n % 64)).map(<[u8]>::to_vec).collect(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let (lean, hyper) = rt.block_on(lean_and_hyper(&chunks));
    assert_eq!(lean, hyper, "the lean path and hyper differ on {data:?}");
});
