//! The log-format compiler on an arbitrary format string, then the compiled
//! format on an arbitrary line: first line of the input is the format.
#![no_main]
use libfuzzer_sys::fuzz_target;
use routecast_accesslog::LogFormat;

fuzz_target!(|data: &[u8]| {
    let (spec, line) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(spec) = std::str::from_utf8(spec) else {
        return;
    };
    for compiled in [LogFormat::nginx(spec), LogFormat::apache(spec)] {
        if let Ok(mut f) = compiled {
            let _ = f.parse(line);
        }
    }
});
