//! The platform configuration: parse and validate arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_engine::{Platform, PlatformConfig};

fuzz_target!(|text: &str| {
    if let Ok(c) = PlatformConfig::parse("fuzz.toml", text) {
        let _ = Platform::build(&c, &[]);
    }
});
