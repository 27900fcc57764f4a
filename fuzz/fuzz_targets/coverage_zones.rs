//! Traffic Control coverage-zone files: arbitrary JSON text. No panic, and
//! every error names the file and, when it has a place, a place inside the
//! text (a line that exists, a column on it or just past its end).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Err(e) = routecast_geo::czf::parse("czf.json", text) else {
        return;
    };
    assert_eq!(e.file, "czf.json", "{e}");
    let Some((line, column)) = e.place else {
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
});
