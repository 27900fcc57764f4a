//! The TS hot path on a generated stream (`testmux`: 60 s of 25 fps
//! H.264-like video with a keyframe every 2 s, and audio), in bytes per
//! second: packets read from the byte stream and demultiplexed into access
//! units; and the whole cutter (demultiplexing, cut policy, assembly into
//! 6 s segments).
//!
//! `cargo bench -p routecast-hls --bench demux`; `cargo test -p
//! routecast-hls --benches` runs each once as a smoke test.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use routecast_hls::demux::{DemuxEvent, Demuxer};
use routecast_hls::testmux::stream;
use routecast_hls::{CutterConfig, PacketReader, SegmentCutter};

/// 60 s at 25 fps, a keyframe every 50 frames, with audio.
fn input() -> Vec<u8> {
    stream(1_500, 50, 0, true)
}

fn demux(c: &mut Criterion) {
    let ts = input();
    let mut group = c.benchmark_group("demux");
    group.throughput(Throughput::Bytes(ts.len() as u64));
    group.bench_function("packets to access units", |b| {
        b.iter(|| {
            let mut reader = PacketReader::new();
            let mut demux = Demuxer::new();
            let mut units = 0u64;
            let mut sink =
                |e: DemuxEvent<'_>| units += u64::from(matches!(e, DemuxEvent::AccessUnit(_)));
            reader.feed(black_box(&ts), |p| {
                let _ = demux.push(p, &mut sink);
            });
            demux.finish(&mut sink);
            units
        })
    });
    group.finish();
}

fn cutter(c: &mut Criterion) {
    let ts = input();
    let mut group = c.benchmark_group("cutter");
    group.throughput(Throughput::Bytes(ts.len() as u64));
    group.bench_function("packets to 6 s segments", |b| {
        b.iter(|| {
            let mut reader = PacketReader::new();
            let mut cutter = SegmentCutter::new(CutterConfig::default());
            let mut bytes = 0usize;
            reader.feed(black_box(&ts), |p| {
                let _ = cutter.push(p);
                while let Some(s) = cutter.pop() {
                    bytes += s.bytes.len();
                }
            });
            cutter.finish();
            bytes + cutter.pop().map_or(0, |s| s.bytes.len())
        })
    });
    group.finish();
}

criterion_group!(benches, demux, cutter);
criterion_main!(benches);
