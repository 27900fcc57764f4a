use std::io::BufReader;
use std::path::Path;

use routecast_accesslog::Format;
use routecast_replay::ReplayConfig;

use super::*;
use crate::cli::source::SourceInfo;
use routecast_accesslog::blocks::BLOCK;

/// No input to watch: progress stays silent.
struct Nothing;

impl SourceInfo for Nothing {
    fn counter(&self) -> routecast_accesslog::reader::ByteCounter {
        routecast_accesslog::reader::ByteCounter::default()
    }
    fn size(&self) -> Option<u64> {
        None
    }
}

/// Nginx lines from a few networks, with malformed and empty lines among
/// them and a few Windows line endings.
fn log() -> String {
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

/// A replay of the example platform that takes lines out of order as late.
fn replay() -> Replay {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routecast.toml");
    let loaded = routecast_geo::load(&config).expect("the example loads");
    let config = ReplayConfig {
        window_ms: 0,
        ..ReplayConfig::default()
    };
    Replay::new(loaded.platform.clone(), loaded.locator.clone(), config)
}

/// What a replay of `text` gives: its lines, the malformed ones, its CSV
/// and its summary; or the error that stopped it.
fn run(text: &str, threads: usize, block: usize, strict: bool) -> Result<String, String> {
    let mut input = BufReader::with_capacity(1000, text.as_bytes());
    let parser = Format::Nginx.parser();
    let log = Log {
        name: "t.log",
        format: "nginx",
        input: &mut input,
        parser: &parser,
        no_bytes: false,
    };
    let rules = LineRules {
        request_bytes: 0,
        strict,
        show_errors: 5,
    };
    let settings = Settings {
        threads,
        block,
        rules,
    };
    let (mut a, mut b) = (replay(), replay());
    let mut rejected = Rejected::default();
    let progress = Progress::start(&[Nothing], true);
    let lines = replay_log(
        log,
        &mut [&mut a, &mut b],
        settings,
        &mut rejected,
        &progress,
    )
    .map_err(|e| format!("{e:?}"))?;
    let mut csv = Vec::new();
    a.finish().write_csv(&mut csv).expect("in memory");
    let summary = serde_json::to_string(&b.finish().summary_json()).expect("json");
    Ok(format!(
        "{lines} {rejected:?}\n{}\n{summary}",
        String::from_utf8_lossy(&csv)
    ))
}

#[test]
fn results_are_the_same_whatever_the_threads_and_blocks() {
    let text = log();
    let want = run(&text, 1, BLOCK, false).expect("replays");
    assert!(
        want.starts_with("3000 Rejected { count: 31,"),
        "{want:.200}"
    );
    assert!(want.contains("\"t.log:6: client address"), "{want:.300}");
    // Starts in log order (a request lasts under a second, lines are a
    // second apart): the replay would count any line it took out of order.
    assert!(
        want.contains("\"requests\":2946,\"late\":0,"),
        "{want:.300}"
    );
    for (threads, block) in [(2, BLOCK), (3, BLOCK), (1, 1), (2, 1), (3, 150), (4, 4096)] {
        let got = run(&text, threads, block, false).expect("replays");
        assert!(got == want, "{threads} threads, blocks of {block} B");
    }
}

#[test]
fn strict_stops_at_the_first_malformed_line_whatever_the_threads() {
    let text = log();
    for (threads, block) in [(1, BLOCK), (1, 150), (3, 150), (2, 1)] {
        let e = run(&text, threads, block, true).expect_err("stops");
        assert!(e.contains("t.log:6: client address"), "{e}");
    }
}

#[test]
fn an_empty_log_has_no_lines() {
    let got = run("", 3, 100, true).expect("replays");
    assert!(got.starts_with("0 Rejected { count: 0,"), "{got}");
}
