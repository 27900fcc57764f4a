//! Bench of the combined-log line parser on lines shaped like a streaming
//! server's (nginx combined + `$request_time`, as `routecast synth` writes:
//! mostly IPv4 clients, some IPv6, playlist and segment requests).
#![allow(missing_docs)] // criterion_group! generates undocumented functions
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use routecast_accesslog::{CombinedParser, Duration, TimeIs};

/// xorshift64*: a fixed, dependency-free stream of numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

const AGENTS: [&str; 4] = [
    "VLC/3.0.21 LibVLC/3.0.21",
    "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X; en_us)",
    "ExoPlayerLib/2.19.1 (Linux; Android 14) ExoPlayer",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 hls.js/1.5",
];

fn lines(n: usize) -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let r = rng.next();
            let client = if r.is_multiple_of(8) {
                format!(
                    "2001:db8:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
                    r >> 48,
                    (r >> 32) & 0xffff,
                    (r >> 16) & 0xfff,
                    r & 0xffff,
                    (r >> 20) & 0xffff,
                    (r >> 4) & 0xfff
                )
            } else {
                let a = (r >> 8) as u32;
                format!(
                    "{}.{}.{}.{}",
                    1 + (a >> 24) % 223,
                    (a >> 16) & 0xff,
                    (a >> 8) & 0xff,
                    a & 0xff
                )
            };
            let second = i / 120;
            let (path, bytes) = if r & 0x100 == 0 {
                (format!("/live/ch{}/720p/index.m3u8", r % 12), 700 + r % 100)
            } else {
                (
                    format!("/live/ch{}/720p/seg{}.ts", r % 12, 60_000 + i / 50),
                    1_875_000,
                )
            };
            format!(
                "{client} - - [24/Nov/2026:{:02}:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" 200 {bytes} \"-\" \"{}\" {}.{:03}",
                second / 3600 % 24,
                second / 60 % 60,
                second % 60,
                AGENTS[(r >> 40) as usize % AGENTS.len()],
                (r >> 50) % 2,
                (r >> 20) % 1000,
            )
        })
        .collect()
}

fn bench_parse(c: &mut Criterion) {
    let lines = lines(20_000);
    let mut g = c.benchmark_group("line_parser");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("nginx_combined_request_time", |b| {
        let mut parser = CombinedParser::new(true, Duration::Seconds, TimeIs::End);
        b.iter(|| {
            let mut bytes = 0u64;
            for line in &lines {
                match parser.parse(black_box(line.as_bytes())) {
                    Ok(r) => bytes += r.bytes,
                    Err(e) => panic!("bench line rejected ({e}): {line}"),
                }
            }
            bytes
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
