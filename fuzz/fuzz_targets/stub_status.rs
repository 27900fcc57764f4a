//! nginx stub_status parsing on arbitrary bytes: `None` or the number after
//! `Writing:`, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_server::load::stub_status_writing;

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    if let Some(writing) = stub_status_writing(&text) {
        assert!(text.contains(&format!("Writing: {writing}")));
    }
});
