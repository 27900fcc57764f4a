//! The platform configuration: parse and validate arbitrary text. No panic,
//! and every error names the file and, when it has a place, a place inside
//! the text (a line that exists, a column on it or just past its end), so
//! `file:line:column` always leads the user to the problem.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_engine::{ConfigError, Platform, PlatformConfig};

fn assert_inside(text: &str, e: &ConfigError) {
    assert_eq!(e.file, "fuzz.toml", "{e}");
    let Some((line, column)) = e.line else {
        return;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        line >= 1 && line <= lines.len(),
        "{e}: the text has {} lines",
        lines.len()
    );
    let width = lines[line - 1].chars().count();
    assert!(
        column >= 1 && column <= width + 1,
        "{e}: line {line} has {width} characters"
    );
}

fuzz_target!(|text: &str| {
    match PlatformConfig::parse("fuzz.toml", text) {
        Ok(c) => {
            if let Err(e) = Platform::build(&c, &[]) {
                assert_inside(text, &e);
            }
        }
        Err(e) => assert_inside(text, &e),
    }
});
