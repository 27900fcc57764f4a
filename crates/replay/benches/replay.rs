//! Bench of the whole replay pipeline on one log: a synthetic day's lines
//! (`routecast-synth`, as `routecast synth` writes them) read in blocks,
//! parsed and prepared on N threads, routed through the example platform
//! and binned. Throughput in log lines (and bytes) per second.
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use routecast_accesslog::reader::{ByteCounter, Compression, LogInput};
use routecast_accesslog::{Format, Layout, Log};
use routecast_geo::Loaded;
use routecast_replay::{replay_parallel, LineRules, Parallel, Replay, ReplayConfig};
use routecast_synth::{parse_date, SyntheticDay};

/// About this many lines of a synthetic day.
const LINES: u64 = 100_000;

fn synthetic_log() -> Arc<[u8]> {
    let day = SyntheticDay {
        lines: LINES,
        date: parse_date("2026-11-24").expect("a date"),
        seed: 1,
    };
    let mut text = Vec::new();
    day.write(&mut text).expect("in memory");
    text.into()
}

fn platform() -> Loaded {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/routecast.toml");
    routecast_geo::load(&config).expect("the example platform loads")
}

/// One replay of `text`, as `routecast simulate` makes it; lines read.
fn replay(text: &Arc<[u8]>, platform: &Loaded, threads: usize) -> u64 {
    let (p, l) = (platform.platform.clone(), platform.locator.clone());
    let mut replays = [Replay::new(p, l, ReplayConfig::default())];
    let input = LogInput {
        reader: Box::new(Cursor::new(text.clone())),
        compression: Compression::Plain,
        size: None,
        read: ByteCounter::default(),
    };
    let mut log =
        Log::from_input("day.log", input, Layout::Format(Format::Nginx)).expect("a named format");
    let parallel = Parallel::new(threads);
    let read = replay_parallel(
        &mut log,
        &mut replays,
        LineRules::default(),
        parallel,
        |_| {},
    )
    .expect("replays");
    let [r] = replays;
    assert_eq!(r.finish().stats.requests, read.lines, "no line malformed");
    read.lines
}

fn bench_replay(c: &mut Criterion) {
    let text = synthetic_log();
    let platform = platform();
    let lines = replay(&text, &platform, 1);
    let mut g = c.benchmark_group("replay_parallel");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines));
    for threads in [1, 2] {
        g.bench_with_input(BenchmarkId::new("lines", threads), &threads, |b, &t| {
            b.iter(|| replay(&text, &platform, t))
        });
    }
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("bytes/2", |b| b.iter(|| replay(&text, &platform, 2)));
    g.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
