//! Every combined-family parser on arbitrary bytes: typed errors, no panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_accesslog::Format;

fuzz_target!(|line: &[u8]| {
    for f in Format::ALL {
        if let Ok(r) = f.parser().parse(line) {
            // The interval never panics either, whatever the numbers.
            let _ = r.interval(u64::MAX / 4);
        }
    }
});
