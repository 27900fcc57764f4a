use std::io::{BufReader, Cursor};
use std::path::Path;

use routecast_accesslog::reader::{Compression, LogInput};
use routecast_accesslog::{Format, Layout};

use super::*;
use crate::config::ReplayConfig;
use crate::summary::Report;

/// Nginx lines from a few networks, with malformed and empty lines among
/// them and a few Windows line endings.
pub(crate) fn log_text() -> String {
    let nets = [
        "81.2.69",
        "175.16.199",
        "89.160.20",
        "216.160.83",
        "2.125.160",
    ];
    let mut text = String::new();
    for i in 0..3000u32 {
        let line = match i {
            _ if i % 97 == 5 => "garbage line".to_string(),
            _ if i % 131 == 7 => String::new(),
            _ => format!(
                "{}.{} - - [24/Nov/2026:10:{:02}:{:02} +0000] \"GET /{}/a/seg{i}.ts HTTP/1.1\" 200 {} \"-\" \"curl/8\" 0.{:03}",
                nets[(i % 5) as usize],
                i % 251,
                i / 60 % 60,
                i % 60,
                if i % 3 == 0 { "vod" } else { "live" },
                100_000 + u64::from(i) * 7919 % 4_000_000,
                i * 37 % 1000
            ),
        };
        text.push_str(&line);
        text.push_str(if i % 11 == 0 { "\r\n" } else { "\n" });
    }
    text
}

/// `text` as a log called `name`, read through a small buffer.
pub(crate) fn log(name: &str, text: String) -> Log {
    let input = LogInput {
        reader: Box::new(BufReader::with_capacity(1000, Cursor::new(text))),
        compression: Compression::Plain,
        size: None,
        read: ByteCounter::default(),
    };
    Log::from_input(name, input, Layout::Format(Format::Nginx)).expect("a named format")
}

/// A replay of the example platform that takes lines out of order as late.
pub(crate) fn replay() -> Replay {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/routecast.toml");
    let loaded = routecast_geo::load(&config).expect("the example loads");
    let config = ReplayConfig {
        window_ms: 0,
        ..ReplayConfig::default()
    };
    Replay::new(loaded.platform.clone(), loaded.locator.clone(), config)
}

pub(crate) fn rules(strict: bool) -> LineRules {
    LineRules {
        request_bytes: 0,
        strict,
        show_errors: 5,
        ..LineRules::default()
    }
}

/// What a replay of `text` into two replays gives: the lines read and
/// the reports; or the error that stopped it.
fn run(
    text: &str,
    threads: usize,
    block_bytes: usize,
    strict: bool,
) -> Result<(LinesRead, Vec<Report>), ReplayError> {
    let mut log = log("t.log", text.to_string());
    let mut replays = [replay(), replay()];
    let parallel = Parallel {
        threads,
        block_bytes,
    };
    let mut last = 0;
    let read = replay_parallel(&mut log, &mut replays, rules(strict), parallel, |p| {
        assert!(p.lines > last, "progress goes forward");
        last = p.lines;
    })?;
    assert_eq!(last, read.lines, "progress told the last block");
    Ok((read, replays.into_iter().map(Replay::finish).collect()))
}

#[test]
fn results_are_the_same_whatever_the_threads_and_blocks() {
    let text = log_text();
    let want = run(&text, 1, BLOCK, false).expect("replays");
    assert_eq!(want.0.lines, 3000);
    assert_eq!(want.0.rejected.count, 31);
    assert_eq!(
        want.0.rejected.first[0].to_string(),
        "t.log:6: client is neither an IP address nor a host name (format nginx)"
    );
    let lines: Vec<u64> = want.0.rejected.first.iter().map(|m| m.line).collect();
    assert_eq!(lines, [6, 103, 200, 297, 394]);
    // Starts in log order (a request lasts under a second, lines are a
    // second apart): the replay would count any line it took out of order.
    assert_eq!((want.1[0].stats.requests, want.1[0].stats.late), (2946, 0));
    assert_eq!(want.1[0], want.1[1], "two replays of one platform");
    for (threads, block) in [(2, BLOCK), (3, BLOCK), (1, 1), (2, 1), (3, 150), (4, 4096)] {
        let got = run(&text, threads, block, false).expect("replays");
        assert!(got == want, "{threads} threads, blocks of {block} B");
    }
}

#[test]
fn strict_stops_at_the_first_malformed_line_whatever_the_threads() {
    let text = log_text();
    for (threads, block) in [(1, BLOCK), (1, 150), (3, 150), (2, 1)] {
        let e = run(&text, threads, block, true).expect_err("stops");
        let ReplayError::Malformed(m) = e else {
            panic!("{e}")
        };
        assert_eq!((m.file.as_str(), m.line), ("t.log", 6), "{m}");
    }
}

#[test]
fn an_empty_log_has_no_lines() {
    let (read, _) = run("", 3, 100, true).expect("replays");
    assert_eq!(read, LinesRead::default());
}
