//! Traffic Control coverage-zone files: arbitrary JSON text. No panic, and
//! every error names the file and, when it has a place, a place inside the
//! text (a line that exists, a column on it or just past its end); so
//! does every warning.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_fuzz::assert_inside;

fuzz_target!(|text: &str| {
    let e = match routecast_geo::czf::parse("czf.json", text) {
        Ok(czf) => {
            for w in &czf.warnings {
                assert_eq!(w.file, "czf.json", "{w}");
                assert_inside(text, w.place, w);
            }
            return;
        }
        Err(e) => e,
    };
    assert_eq!(e.file, "czf.json", "{e}");
    assert_inside(text, e.place, &e);
});
