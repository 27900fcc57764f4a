//! Traffic Control coverage-zone files: arbitrary JSON text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = routecast_geo::czf::parse("czf.json", text);
});
