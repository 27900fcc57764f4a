//! The platform configuration: parse and validate arbitrary text. No panic,
//! and every error names the file and, when it has a place, a place inside
//! the text (a line that exists, a column on it or just past its end), so
//! `file:line:column` always leads the user to the problem.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_engine::{ConfigError, Platform, PlatformConfig};
use routecast_fuzz::assert_inside;

fn check(text: &str, e: &ConfigError) {
    assert_eq!(e.file, "fuzz.toml", "{e}");
    assert_inside(text, e.line, e);
}

fuzz_target!(|text: &str| {
    match PlatformConfig::parse("fuzz.toml", text) {
        Ok(c) => {
            if let Err(e) = Platform::build(&c, &[]) {
                check(text, &e);
            }
        }
        Err(e) => check(text, &e),
    }
});
