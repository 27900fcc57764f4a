//! `routecast segment`: read a transport stream, write live HLS.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use routecast_hls::failover::{FailoverConfig, Source, Watchdog};
use routecast_hls::input::InputSpec;
use routecast_hls::origin::Published;
use routecast_hls::segmenter::{self, Segmenter, SegmenterConfig};
use routecast_hls::{CutterConfig, PacketReader, Timestamp, PACKET_SIZE};

use super::Failure;
use origin::start_origin;
use renditions::{backups, renditions, write_master};

mod origin;
mod renditions;

/// Examples shown after `routecast segment --help`.
pub const EXAMPLES: &str = "\
Examples:
  # Two renditions, served with low latency: /master.m3u8, /hi/index.m3u8, /lo/index.m3u8
  routecast segment hi=udp://@239.1.1.1:5000 lo=udp://@239.1.1.2:5000 -o out \\
      --target-duration 2 --part-target 0.5 --serve 0.0.0.0:8080
  # A backup for one input
  routecast segment http://enc-a/live.ts --backup http://enc-b/live.ts -o out
  # A backup per rendition (lo has none: no failover for it)
  routecast segment hi=http://enc-a/hi.ts lo=http://enc-a/lo.ts -o out \\
      --backup hi=http://enc-b/hi.ts";

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
    /// (players that loaded an older playlist can still fetch them); at
    /// least the window plus a target duration (RFC 8216 §6.2.2).
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
    /// Serve the output over HTTP on this address with the built-in origin:
    /// LL-HLS blocking playlist reloads, delta updates and preload hints.
    /// One input is served at /index.m3u8; several renditions at
    /// /NAME/index.m3u8 (as on disk) with /master.m3u8. After the input ends
    /// it keeps serving until SIGINT/SIGTERM.
    #[arg(long, value_name = "ADDR")]
    serve: Option<std::net::SocketAddr>,
    /// A backup input: it takes over when the input has been silent or
    /// broken for --failover-after, and hands back after --recover-after of
    /// health; each switch is a cut at a keyframe after a discontinuity.
    /// With several renditions give `--backup NAME=INPUT` once per
    /// rendition that has one (the others have no failover).
    #[arg(long, value_name = "[NAME=]INPUT")]
    backup: Vec<String>,
    /// Silence of the input before the backup takes over, seconds.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    failover_after: f64,
    /// Health of the input again before it takes back, seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    recover_after: f64,
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
    let minimum_grace = args.window + f64::from(args.target_duration);
    if !args.archive && args.grace < minimum_grace {
        return Err(Failure::Usage(format!(
            "--grace {} is too short: a removed segment must stay available for the window plus a \
             target duration ({minimum_grace} s), RFC 8216 §6.2.2",
            args.grace
        )));
    }
    let inputs = renditions(&args.inputs)?;
    let backups = backups(&args.backup, &inputs)?;
    let stop = stop_on_signal();
    let (publishers, origin) = match args.serve {
        Some(addr) => {
            let (senders, origin) =
                start_origin(addr, &args.out, &inputs, stop.clone(), args.quiet)?;
            (senders.into_iter().map(Some).collect(), Some(origin))
        }
        None => (vec![None; inputs.len()], None),
    };
    let mut jobs: Vec<Job<'_>> = inputs
        .iter()
        .zip(backups)
        .zip(publishers)
        .map(|(((name, input), backup), publish)| Job {
            input,
            backup,
            dir: match inputs.len() {
                1 => args.out.clone(),
                _ => args.out.join(name),
            },
            publish,
            stop: stop.clone(),
        })
        .collect();
    let result = match jobs.pop() {
        Some(job) if jobs.is_empty() => run_one(args, job, |_| {}),
        last => {
            jobs.extend(last);
            run_many(args, &inputs, jobs)
        }
    };
    result?;
    if let Some(origin) = origin {
        // Every rendition waited for the stop signal before returning.
        let _ = origin.join();
    }
    Ok(())
}

/// Several renditions of one stream: one segmenter (and thread) each, in
/// DIR/NAME, and DIR/master.m3u8 listing those measured so far.
fn run_many(
    args: &SegmentArgs,
    inputs: &[(String, String)],
    jobs: Vec<Job<'_>>,
) -> Result<(), Failure> {
    let measured = std::sync::Mutex::new(vec![None; inputs.len()]);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .enumerate()
            .map(|(i, job)| {
                let measured = &measured;
                // A rendition that fails ends the run: the others (and an
                // origin) must not go on without it.
                let stop = job.stop.clone();
                scope.spawn(move || {
                    let result = run_one(args, job, |s| {
                        let Some(r) = s.rendition() else { return };
                        let mut m = measured.lock().unwrap_or_else(|p| p.into_inner());
                        if m[i].as_ref() != Some(&r) {
                            m[i] = Some(r);
                            write_master(&args.out, inputs, &m);
                        }
                    });
                    if result.is_err() {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    result
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

/// One rendition's work: its inputs, where it goes, who hears of it.
struct Job<'a> {
    /// The primary input.
    input: &'a str,
    /// The backup input, if any.
    backup: Option<String>,
    /// The output directory.
    dir: PathBuf,
    /// The origin's channel for this rendition, with `--serve`.
    publish: Option<tokio::sync::watch::Sender<Published>>,
    /// Set on SIGINT/SIGTERM.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Segments one input (with its backup, if any) into `job.dir`, calling
/// `on_write` after each read that completed something. When serving, it
/// returns only once told to stop (viewers may still be fetching).
fn run_one(
    args: &SegmentArgs,
    job: Job<'_>,
    mut on_write: impl FnMut(&Segmenter),
) -> Result<(), Failure> {
    let Job {
        input: name,
        backup: backup_input,
        dir,
        publish,
        stop,
    } = job;
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
    let primary = InputSpec::parse(name).map_err(Failure::Usage)?;
    let backup = backup_input
        .as_deref()
        .map(InputSpec::parse)
        .transpose()
        .map_err(Failure::Usage)?;
    let mut segmenter =
        Segmenter::open(config, now_ms()).map_err(|e| Failure::Usage(e.to_string()))?;
    let serving = publish.is_some();
    if let Some(tx) = publish {
        segmenter
            .on_publish(move |p| {
                let _ = tx.send(p);
            })
            .map_err(|e| {
                Failure::Other(anyhow::anyhow!(
                    "cannot start the thread that writes the segment files: {e}"
                ))
            })?;
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Source, std::io::Result<Vec<u8>>)>(8);
    let mut names = vec![(Source::Primary, name.to_string())];
    let mut spares = vec![spawn_reader(
        Source::Primary,
        primary,
        args.realtime,
        tx.clone(),
    )?];
    if let (Some(spec), Some(b)) = (backup, &backup_input) {
        spares.push(spawn_reader(
            Source::Backup,
            spec,
            args.realtime,
            tx.clone(),
        )?);
        names.push((Source::Backup, b.clone()));
    }
    drop(tx);
    let failover = FailoverConfig {
        silence_ms: (args.failover_after * 1000.0) as u64,
        recover_ms: (args.recover_after * 1000.0) as u64,
    };
    let mut watchdog = (names.len() > 1).then(|| Watchdog::new(failover, now_ms()));
    let mut readers = [PacketReader::new(), PacketReader::new()];
    let mut ended = [false, names.len() < 2];
    let mut active = Source::Primary;
    let mut written = 0;
    let slot = |s: Source| usize::from(s == Source::Backup);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let msg = rx.recv_timeout(Duration::from_millis(100));
        let now = now_ms();
        match msg {
            Ok((src, Ok(chunk))) if chunk.is_empty() => {
                ended[slot(src)] = true;
                if ended.iter().all(|e| *e) {
                    break;
                }
            }
            Ok((src, Ok(chunk))) => {
                if let Some(w) = &mut watchdog {
                    w.data(src, now);
                }
                let reader = &mut readers[slot(src)];
                // The inactive input is read (its watchdog needs it) but dropped.
                let mut failed = None;
                reader.feed(&chunk, |p| {
                    if src == active && failed.is_none() {
                        failed = push(&mut segmenter, p, now).err();
                    }
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                if let Some(spare) = spares.get(slot(src)) {
                    let _ = spare.try_send(chunk);
                }
            }
            Ok((src, Err(e))) => {
                let which = names
                    .iter()
                    .find(|n| n.0 == src)
                    .map_or(name, |n| n.1.as_str());
                if watchdog.is_none() {
                    return Err(Failure::Data(format!("{which}: read error: {e}")));
                }
                eprintln!("routecast segment: {which}: read error: {e}");
                ended[slot(src)] = true;
                if ended.iter().all(|e| *e) {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Some(w) = &mut watchdog {
            let (next, switched) = w.decide(now);
            if switched {
                active = next;
                segmenter.switch_input();
                if !args.quiet {
                    eprintln!("routecast segment: {name}: switched to the {next:?} input");
                }
            }
        }
        if segmenter.segments_written() != written {
            written = segmenter.segments_written();
            on_write(&segmenter);
        }
    }
    let now = now_ms();
    let interrupted = stop.load(std::sync::atomic::Ordering::Relaxed);
    while let Some(p) = readers[slot(active)]
        .next_packet(true)
        .filter(|_| !interrupted)
    {
        let p = *p;
        push(&mut segmenter, &p, now)?;
    }
    let finished = if interrupted {
        segmenter.finish_interrupted(now_ms())
    } else {
        segmenter.finish(now_ms())
    };
    finished.map_err(|e| Failure::Other(e.into()))?;
    on_write(&segmenter);
    if serving {
        // The stream ended; viewers may still be fetching: serve on until
        // told to stop.
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    if !args.quiet {
        eprintln!("{}", dir.join(segmenter::LIVE_PLAYLIST).display());
        let s = segmenter.stats();
        eprintln!(
            "{name}: {} segments; {} packets ({} null, {} broken, {} continuity errors, {} bytes skipped for sync); {} discontinuities; {} PMT changes; {} segments over the target duration; {} input switches",
            segmenter.segments_written(),
            s.packets,
            s.null_packets,
            s.bad_packets,
            s.continuity_errors,
            readers[0].skipped() + readers[1].skipped(),
            s.discontinuities,
            s.pmt_changes,
            s.long_segments,
            watchdog.as_ref().map_or(0, Watchdog::switches),
        );
    }
    Ok(())
}

/// Set once SIGINT or SIGTERM arrives: the segmenter then ends the stream
/// properly (last segment, ENDLIST) instead of dying mid-write.
fn stop_on_signal() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let set = flag.clone();
    let _ = std::thread::Builder::new()
        .name("segment-signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            });
            set.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    flag
}

/// Reads `spec` on a thread of its own, sending chunks (an empty one at the
/// end), paced by the stream's PCR when `realtime`.
fn spawn_reader(
    source: Source,
    spec: InputSpec,
    realtime: bool,
    tx: std::sync::mpsc::SyncSender<(Source, std::io::Result<Vec<u8>>)>,
) -> Result<std::sync::mpsc::SyncSender<Vec<u8>>, Failure> {
    let mut input = spec
        .open()
        .map_err(|e| Failure::Usage(format!("{spec:?}: cannot open: {e}")))?;
    // Chunks come back once read, so buffers are not allocated (and zeroed)
    // for every read.
    let (spare_tx, spare_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    std::thread::Builder::new()
        .name(format!("segment-input-{source:?}"))
        .spawn(move || {
            let mut pace = realtime.then(Pace::default);
            let size = if realtime { 16 * PACKET_SIZE } else { 1 << 20 };
            loop {
                let mut buf = spare_rx.try_recv().unwrap_or_default();
                buf.resize(size, 0);
                let n = match input.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send((source, Err(e)));
                        return;
                    }
                };
                buf.truncate(n);
                if let Some(pace) = &mut pace {
                    pace.wait_chunk(&buf);
                }
                if tx.send((source, Ok(buf))).is_err() || n == 0 {
                    return;
                }
            }
        })
        .map_err(|e| Failure::Other(e.into()))?;
    Ok(spare_tx)
}

/// One packet into the segmenter; IO failures end the run, broken packets
/// are counted (and summed up at the end).
fn push(s: &mut Segmenter, p: &[u8; PACKET_SIZE], now: u64) -> Result<(), Failure> {
    match s.push(p, now) {
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Other(e.into())),
    }
}

/// Paces a file as if it were live: a packet carrying a PCR waits until the
/// wall clock has advanced as much as the PCR since the first one.
#[derive(Debug, Default)]
struct Pace {
    start: Option<(Timestamp, Instant)>,
}

impl Pace {
    /// Waits until the last PCR in `chunk` (whole or partial packets) is due.
    fn wait_chunk(&mut self, chunk: &[u8]) {
        let last = chunk
            .chunks_exact(PACKET_SIZE)
            .rev()
            .filter_map(|p| p.try_into().ok())
            .find_map(|p: &[u8; PACKET_SIZE]| routecast_hls::Packet::parse(p).ok()?.pcr);
        if let Some(pcr) = last {
            self.wait(pcr);
        }
    }

    /// Waits until a packet with `pcr` is due.
    fn wait(&mut self, pcr: Timestamp) {
        let (first, at) = *self.start.get_or_insert((pcr, Instant::now()));
        let ahead = pcr.ticks_since(first);
        if ahead > 3_600 * Timestamp::HZ {
            // A jump back or a huge gap: start pacing over from here.
            self.start = Some((pcr, Instant::now()));
            return;
        }
        let due = at + Duration::from_micros(ahead * 1_000_000 / Timestamp::HZ);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}
