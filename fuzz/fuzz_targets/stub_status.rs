//! nginx stub_status parsing on arbitrary bytes: `None` or the number after
//! the `Writing:` token (any whitespace around it), never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_server::load::stub_status_writing;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    if let Some(writing) = stub_status_writing(&text) {
        let mut words = text.split_whitespace();
        let after = words
            .by_ref()
            .find(|w| *w == "Writing:")
            .and_then(|_| words.next());
        assert_eq!(after.and_then(|w| w.parse::<u64>().ok()), Some(writing));
    }
});
