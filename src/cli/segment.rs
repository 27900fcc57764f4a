//! `routecast segment`: read a transport stream, write live HLS.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use routecast_hls::playlist::{BitsPerSecond, MultivariantPlaylist, Variant};
use routecast_hls::segmenter::{self, Rendition, Segmenter, SegmenterConfig};
use routecast_hls::store;
use routecast_hls::{CutterConfig, PacketReader, Timestamp, PACKET_SIZE};

use super::Failure;

/// Arguments of `routecast segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// The transport stream: a file, `-` for standard input, or
    /// `udp://[@]HOST:PORT` (with `@` or a multicast address: listen there).
    /// Several inputs (`NAME=INPUT`, or named r0, r1, …) are renditions of
    /// one stream: each goes to DIR/NAME, and DIR/master.m3u8 lists them
    /// with BANDWIDTH, CODECS and RESOLUTION measured from the streams.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
    /// Directory for segments and playlists (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// EXT-X-TARGETDURATION, seconds: no segment rounds above it unless the
    /// stream's keyframes are further apart (then each is reported).
    #[arg(long, default_value_t = 6, value_name = "SECONDS")]
    target_duration: u32,
    /// Length of the live playlist's sliding window, seconds (at least
    /// 3 × the target duration).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    window: f64,
    /// Segments that left the live window stay on disk this long, seconds
    /// (players that loaded an older playlist can still fetch them).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    grace: f64,
    /// Keep every segment and list them all in `archive.m3u8` (an EVENT
    /// playlist, ended with the input) instead of deleting old ones.
    #[arg(long)]
    archive: bool,
    /// Read a file at the stream's own pace (by its PCR), as a live source.
    #[arg(long)]
    realtime: bool,
    /// Low-latency HLS: also cut partial segments of at most this many
    /// seconds (e.g. 0.5), listed with EXT-X-PART and EXT-X-PRELOAD-HINT.
    #[arg(long, value_name = "SECONDS")]
    part_target: Option<f64>,
    /// Accept HEVC CRA/BLA pictures as cut points (open GOP).
    #[arg(long)]
    allow_cra: bool,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Wall-clock milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs `routecast segment`.
pub fn run(args: &SegmentArgs) -> Result<(), Failure> {
    if !(args.window.is_finite() && args.grace.is_finite() && args.grace >= 0.0) {
        return Err(Failure::Usage(
            "--window and --grace must be numbers of seconds".into(),
        ));
    }
    let inputs = renditions(&args.inputs)?;
    if inputs.len() == 1 {
        return run_one(args, &inputs[0].1, args.out.clone(), |_| {});
    }
    // Several renditions of one stream: one segmenter (and thread) each, in
    // DIR/NAME, and DIR/master.m3u8 listing those measured so far.
    let measured = std::sync::Mutex::new(vec![None; inputs.len()]);
    let inputs = &inputs;
    std::thread::scope(|scope| {
        let handles: Vec<_> = inputs
            .iter()
            .enumerate()
            .map(|(i, (name, input))| {
                let measured = &measured;
                scope.spawn(move || {
                    run_one(args, input, args.out.join(name), |s| {
                        let Some(r) = s.rendition() else { return };
                        let mut m = measured.lock().unwrap_or_else(|p| p.into_inner());
                        if m[i].as_ref() != Some(&r) {
                            m[i] = Some(r);
                            write_master(&args.out, inputs, &m);
                        }
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Failure::Other(anyhow::anyhow!("a rendition panicked")))
                })
            })
            .collect::<Result<Vec<()>, Failure>>()
    })?;
    Ok(())
}

/// `NAME=INPUT` or `INPUT` (named r0, r1, … when there are several).
fn renditions(inputs: &[String]) -> Result<Vec<(String, String)>, Failure> {
    let many = inputs.len() > 1;
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, arg) in inputs.iter().enumerate() {
        let (name, input) = match arg.split_once('=') {
            Some((n, rest))
                if !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                (n.to_string(), rest.to_string())
            }
            _ => (format!("r{i}"), arg.clone()),
        };
        if many && out.iter().any(|(n, _)| *n == name) {
            return Err(Failure::Usage(format!(
                "rendition name {name:?} given twice"
            )));
        }
        out.push((name, input));
    }
    Ok(out)
}

/// Writes DIR/master.m3u8 once every rendition has been measured.
fn write_master(dir: &std::path::Path, inputs: &[(String, String)], m: &[Option<Rendition>]) {
    let Some(all) = m
        .iter()
        .map(Option::as_ref)
        .collect::<Option<Vec<&Rendition>>>()
    else {
        return;
    };
    let variants = inputs
        .iter()
        .zip(all)
        .map(|((name, _), r)| Variant {
            uri: format!("{name}/{}", segmenter::LIVE_PLAYLIST),
            bandwidth: BitsPerSecond(r.bandwidth),
            average_bandwidth: Some(BitsPerSecond(r.average_bandwidth)),
            codecs: r.codecs.clone(),
            resolution: r.resolution,
            frame_rate: None,
        })
        .collect();
    let written = MultivariantPlaylist::new(variants)
        .map_err(|e| e.to_string())
        .and_then(|p| {
            store::write_atomic(dir, MASTER_PLAYLIST, p.render().as_bytes())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        eprintln!(
            "routecast segment: {}: {e}",
            dir.join(MASTER_PLAYLIST).display()
        );
    }
}

/// The multivariant playlist's file name (with several renditions).
const MASTER_PLAYLIST: &str = "master.m3u8";

/// Segments one input into `dir`, calling `on_write` after each packet that
/// completed something.
fn run_one(
    args: &SegmentArgs,
    name: &str,
    dir: PathBuf,
    mut on_write: impl FnMut(&Segmenter),
) -> Result<(), Failure> {
    let config = SegmenterConfig {
        dir: dir.clone(),
        cutter: CutterConfig {
            target_duration: args.target_duration,
            allow_cra: args.allow_cra,
            part_target: args.part_target,
            ..CutterConfig::default()
        },
        window_secs: args.window,
        grace_ms: (args.grace * 1000.0) as u64,
        archive: args.archive,
    };
    let mut segmenter =
        Segmenter::open(config, now_ms()).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut input = open(name)?;
    let mut reader = PacketReader::new();
    let mut pace = args.realtime.then(Pace::default);
    let mut buf = vec![0u8; 1 << 20];
    let mut written = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Data(format!("{name}: read error: {e}"))),
        };
        reader.extend(&buf[..n]);
        // One clock read per read: a read is at most milliseconds of stream
        // when live (and pacing reads it again).
        let mut now = now_ms();
        while let Some(p) = reader.next_packet(false) {
            let p = *p;
            if let Some(pace) = &mut pace {
                if pace.wait(&p) {
                    now = now_ms();
                }
            }
            push(&mut segmenter, &p, now)?;
        }
        if segmenter.segments_written() != written {
            written = segmenter.segments_written();
            on_write(&segmenter);
        }
    }
    let now = now_ms();
    while let Some(p) = reader.next_packet(true) {
        let p = *p;
        push(&mut segmenter, &p, now)?;
    }
    segmenter
        .finish(now_ms())
        .map_err(|e| Failure::Other(e.into()))?;
    on_write(&segmenter);
    if !args.quiet {
        eprintln!("{}", dir.join(segmenter::LIVE_PLAYLIST).display());
        let s = segmenter.stats();
        eprintln!(
            "{name}: {} segments; {} packets ({} null, {} broken, {} continuity errors, {} bytes skipped for sync); {} discontinuities; {} segments over the target duration",
            segmenter.segments_written(),
            s.packets,
            s.null_packets,
            s.bad_packets,
            s.continuity_errors,
            reader.skipped(),
            s.discontinuities,
            s.long_segments,
        );
    }
    Ok(())
}

/// One packet into the segmenter; IO failures end the run, broken packets
/// are counted (and summed up at the end).
fn push(s: &mut Segmenter, p: &[u8; PACKET_SIZE], now: u64) -> Result<(), Failure> {
    match s.push(p, now) {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Other(e.into())),
    }
}

/// Opens the input named on the command line.
fn open(input: &str) -> Result<Box<dyn Read>, Failure> {
    if input == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    if let Some(addr) = input.strip_prefix("udp://") {
        return udp(addr).map_err(|e| Failure::Usage(format!("{input}: {e}")));
    }
    let f = std::fs::File::open(input)
        .map_err(|e| Failure::Usage(format!("{input}: cannot open: {e}")))?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, f)))
}

/// A UDP socket bound to `addr` (`@` optional, as in ffmpeg's URLs); joins
/// the group when the address is multicast.
fn udp(addr: &str) -> std::io::Result<Box<dyn Read>> {
    let addr: SocketAddr = addr
        .trim_start_matches('@')
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket = if addr.ip().is_multicast() {
        let s = UdpSocket::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port()))?;
        match addr.ip() {
            std::net::IpAddr::V4(g) => s.join_multicast_v4(&g, &Ipv4Addr::UNSPECIFIED)?,
            std::net::IpAddr::V6(g) => s.join_multicast_v6(&g, 0)?,
        }
        s
    } else {
        UdpSocket::bind(addr)?
    };
    Ok(Box::new(Datagrams(socket)))
}

/// Reads a UDP socket as a byte stream (each datagram holds whole packets).
struct Datagrams(UdpSocket);

impl Read for Datagrams {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() < 7 * PACKET_SIZE {
            return Err(std::io::Error::other("buffer smaller than a datagram"));
        }
        self.0.recv(buf)
    }
}

/// Paces a file as if it were live: a packet carrying a PCR waits until the
/// wall clock has advanced as much as the PCR since the first one.
#[derive(Debug, Default)]
struct Pace {
    start: Option<(Timestamp, Instant)>,
}

impl Pace {
    /// Waits until `packet` is due; true when it waited (or restarted).
    fn wait(&mut self, packet: &[u8; PACKET_SIZE]) -> bool {
        let Some(pcr) = routecast_hls::Packet::parse(packet)
            .ok()
            .and_then(|p| p.pcr)
        else {
            return false;
        };
        let (first, at) = *self.start.get_or_insert((pcr, Instant::now()));
        let ahead = pcr.ticks_since(first);
        if ahead > 3_600 * Timestamp::HZ {
            // A jump back or a huge gap: start pacing over from here.
            self.start = Some((pcr, Instant::now()));
            return true;
        }
        let due = at + Duration::from_micros(ahead * 1_000_000 / Timestamp::HZ);
        match due.checked_duration_since(Instant::now()) {
            Some(wait) => {
                std::thread::sleep(wait);
                true
            }
            None => false,
        }
    }
}
