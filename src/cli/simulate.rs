//! `routecast simulate`: replay request logs through the engine.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use routecast_accesslog::{reader, Format, LineError, LineParser, LogFormat, Request};
use routecast_engine::Mbps;
use routecast_replay::{Replay, ReplayConfig, Report};

use super::pipeline::{Batch, BatchSink};
use super::progress::Progress;
use super::{blocks, parallel};
use super::{output, Failure};

/// Arguments of `routecast simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The platform configuration (routecast.toml). Give several to compare
    /// their policies on the same logs side by side.
    #[arg(long, short = 'c', value_name = "FILE", required = true)]
    config: Vec<PathBuf>,
    /// Request logs: plain, gzip or zstd (detected); `-` is standard input.
    /// Several logs (one per server) are merged by time.
    #[arg(required = true, value_name = "LOG")]
    logs: Vec<PathBuf>,
    /// Log format (default: detected from the first lines): nginx,
    /// nginx-combined, apache-micros, apache-seconds, combined, common, json,
    /// traffic-router.
    #[arg(long, value_name = "FORMAT")]
    format: Option<Format>,
    /// A custom layout: an nginx `log_format` string (`$remote_addr - …`,
    /// the time is the end) or an Apache `LogFormat` string (`%h %l %u %t …`,
    /// the time is the start).
    #[arg(long, value_name = "STRING", conflicts_with = "format")]
    log_format: Option<String>,
    /// Directory for the results: timeseries.csv, summary.json, charts
    /// (sites.svg/png, groups.svg/png) and report.html; with several
    /// configurations, one subdirectory each and a comparing report.html.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Bin width in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    step: u32,
    /// How far out of start-time order (seconds) lines may be and still be
    /// routed in order. nginx logs a request when it ends, so a download of
    /// an hour appears an hour after it started: the window should cover the
    /// longest requests. Memory grows with it (the lines it holds).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    window: u32,
    /// Bit rate for requests without a logged duration, by path prefix,
    /// e.g. /live/=5,/vod/=8 (Mbit/s).
    #[arg(long, value_name = "PREFIX=MBPS,...")]
    bitrate: Option<String>,
    /// Bit rate for any other request without a logged duration (Mbit/s).
    #[arg(long, default_value_t = 5.0, value_name = "MBPS")]
    default_bitrate: f64,
    /// The load sites report to capacity-aware policies is their traffic
    /// averaged over this many seconds (as a site's statistics would show).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    load_window: u32,
    /// Bytes of each request in logs that carry no byte count (Traffic
    /// Router access logs record redirects, not deliveries): the size of
    /// what a redirected viewer then fetches, e.g. a segment or a session.
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    request_bytes: u64,
    /// Stop at the first malformed line (exit 65) instead of counting it.
    #[arg(long)]
    strict: bool,
    /// How many malformed lines to list in the report.
    #[arg(long, default_value_t = 10, value_name = "N")]
    show_errors: usize,
    /// Threads reading a single log (default: one per core): they parse
    /// it, and one of them replays it, parsing too when it would wait.
    /// Results are the same whatever the number; each adds about 7 MB of
    /// memory.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Malformed lines: how many, and the first few with their place.
#[derive(Debug, Default, serde::Serialize)]
pub struct Rejected {
    /// Count of malformed lines.
    pub count: u64,
    /// `file:line: reason` of the first ones.
    pub first: Vec<String>,
}

impl Rejected {
    /// Counts the malformed line at `place` (`file:line: reason`) and lists
    /// it among the first `show`; with `strict`, it is the error instead.
    pub fn record(&mut self, place: String, strict: bool, show: usize) -> Result<(), Failure> {
        if strict {
            return Err(Failure::Data(place));
        }
        self.count += 1;
        if self.first.len() < show {
            self.first.push(place);
        }
        Ok(())
    }
}

/// A log being read, one line ahead for the merge.
struct Source {
    name: String,
    lines: Box<dyn BufRead + Send>,
    read: reader::ByteCounter,
    size: Option<u64>,
    buf: Vec<u8>,
    line_no: u64,
    parser: LineParser,
    format: String,
    /// The format logs no byte counts (Traffic Router).
    no_bytes: bool,
}

/// What progress needs to know of an input.
pub trait SourceInfo {
    /// Bytes read so far (before decompression).
    fn counter(&self) -> reader::ByteCounter;
    /// Size on disk, when known.
    fn size(&self) -> Option<u64>;
}

impl SourceInfo for Source {
    fn counter(&self) -> reader::ByteCounter {
        self.read.clone()
    }
    fn size(&self) -> Option<u64> {
        self.size
    }
}

/// An owned copy of a parsed line (for merging several logs).
struct Owned {
    req: Request<'static>,
    path: String,
}

impl Source {
    fn open(
        path: &Path,
        format: Option<Format>,
        custom: Option<&LogFormat>,
    ) -> Result<Source, Failure> {
        let name = path.display().to_string();
        let input = reader::open(path)
            .map_err(|e| Failure::Other(anyhow::anyhow!("{name}: cannot open: {e}")))?;
        let (read, size) = (input.read.clone(), input.size);
        let mut lines = input.reader;
        let (parser, format) = match (custom, format) {
            (Some(c), _) => (LineParser::Custom(c.clone()), "custom".to_string()),
            (None, Some(f)) => (f.parser(), f.to_string()),
            (None, None) => {
                let f = detect(&name, &mut lines)?;
                (f.parser(), f.to_string())
            }
        };
        Ok(Source {
            name,
            lines,
            read,
            size,
            buf: Vec::with_capacity(4096),
            line_no: 0,
            no_bytes: matches!(parser, LineParser::TrafficRouter(_)),
            parser,
            format,
        })
    }

    /// Reads the next line into `buf`; false at the end.
    fn next_line(&mut self) -> Result<bool, Failure> {
        self.buf.clear();
        let n = self.lines.read_until(b'\n', &mut self.buf).map_err(|e| {
            Failure::Data(format!(
                "{}:{}: read error: {e}",
                self.name,
                self.line_no + 1
            ))
        })?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        while self.buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }
}

/// Detects the format from the first lines without consuming them.
fn detect(name: &str, lines: &mut Box<dyn BufRead + Send>) -> Result<Format, Failure> {
    let head = lines
        .fill_buf()
        .map_err(|e| Failure::Data(format!("{name}: read error: {e}")))?;
    // Lines as they will be parsed: without `\r\n` endings.
    let sample: Vec<&[u8]> = head
        .split(|b| *b == b'\n')
        .map(blocks::without_cr)
        .take(50)
        .collect();
    // The last piece may be a cut line: leave it out when there are others.
    let sample = if sample.len() > 1 {
        &sample[..sample.len() - 1]
    } else {
        &sample[..]
    };
    Format::detect(sample.iter().copied()).ok_or_else(|| {
        Failure::Data(format!(
            "{name}: cannot tell the log format from the first lines (use --format: {})",
            Format::ALL.map(|f| f.name()).join(", ")
        ))
    })
}

fn parse_bitrates(s: Option<&str>) -> Result<Vec<(String, Mbps)>, Failure> {
    let mut out = Vec::new();
    for item in s.unwrap_or("").split(',').filter(|i| !i.trim().is_empty()) {
        let (prefix, rate) = item.split_once('=').ok_or_else(|| {
            Failure::Usage(format!(
                "--bitrate item {item:?} is not PREFIX=MBPS (e.g. /live/=5)"
            ))
        })?;
        let rate: f64 = rate
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--bitrate {item:?}: {rate:?} is not a positive number of Mbit/s"
                ))
            })?;
        out.push((prefix.trim().to_string(), Mbps(rate)));
    }
    Ok(out)
}

/// One configuration's replay.
struct Run {
    label: String,
    replay: Replay,
}

/// Names each configuration by its file stem (its path when stems repeat).
fn labels(configs: &[PathBuf]) -> Vec<String> {
    let stem = |p: &PathBuf| {
        p.file_stem().map_or_else(
            || p.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let stems: Vec<String> = configs.iter().map(stem).collect();
    configs
        .iter()
        .zip(&stems)
        .map(|(p, s)| {
            if stems.iter().filter(|x| *x == s).count() > 1 {
                p.display().to_string()
            } else {
                s.clone()
            }
        })
        .collect()
}

/// Runs `routecast simulate`.
pub fn run(args: &SimulateArgs) -> Result<(), Failure> {
    if args.step == 0 {
        return Err(Failure::Usage("--step must be at least 1 second".into()));
    }
    let threads = parsing_threads(args.threads)?;
    if !(args.default_bitrate.is_finite() && args.default_bitrate > 0.0) {
        return Err(Failure::Usage(
            "--default-bitrate must be a positive number of Mbit/s".into(),
        ));
    }
    let config = ReplayConfig {
        step_ms: i64::from(args.step) * 1000,
        window_ms: i64::from(args.window) * 1000,
        bitrates: parse_bitrates(args.bitrate.as_deref())?,
        default_bitrate: Mbps(args.default_bitrate),
        load_window_ms: i64::from(args.load_window) * 1000,
    };
    let mut runs = Vec::with_capacity(args.config.len());
    for (path, label) in args.config.iter().zip(labels(&args.config)) {
        let loaded = routecast_geo::load(path)?;
        let replay = Replay::new(
            loaded.platform.clone(),
            loaded.locator.clone(),
            config.clone(),
        );
        runs.push(Run { label, replay });
    }
    let custom = args
        .log_format
        .as_deref()
        .map(LogFormat::compile)
        .transpose()
        .map_err(|e| Failure::Usage(format!("--log-format: {e}")))?;
    let mut sources = args
        .logs
        .iter()
        .map(|p| Source::open(p, args.format, custom.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let started = Instant::now();
    let (lines, rejected) = match sources.as_mut_slice() {
        [one] => replay_one(one, &mut runs, args, threads)?,
        _ => replay_merged(&mut sources, &mut runs, args)?,
    };
    let elapsed = started.elapsed().as_secs_f64();
    let finished: Vec<(String, Report)> = runs
        .into_iter()
        .map(|r| (r.label, r.replay.finish()))
        .collect();
    if let Some(dir) = &args.out {
        output::write_outputs(dir, &finished, &rejected)?;
    }
    if !args.quiet {
        print_summary(
            &finished,
            &rejected,
            &sources,
            lines,
            elapsed,
            args.out.as_deref(),
        )?;
    }
    Ok(())
}

fn reject(
    src: &Source,
    e: LineError,
    rejected: &mut Rejected,
    args: &SimulateArgs,
) -> Result<(), Failure> {
    let place = format!(
        "{}:{}: {} (format {})",
        src.name, src.line_no, e, src.format
    );
    rejected.record(place, args.strict, args.show_errors)
}

/// A parsed line as the replay takes it (sizes filled in for logs without
/// them), or `None` after counting a malformed one (an error with --strict).
fn accept<'a>(
    src: &Source,
    parsed: Result<Request<'a>, LineError>,
    rejected: &mut Rejected,
    args: &SimulateArgs,
) -> Result<Option<Request<'a>>, Failure> {
    match parsed {
        Ok(mut r) => {
            if src.no_bytes {
                r.bytes = args.request_bytes;
            }
            Ok(Some(r))
        }
        Err(e) => reject(src, e, rejected, args).map(|()| None),
    }
}

/// `--threads`, or one per core.
fn parsing_threads(threads: Option<usize>) -> Result<usize, Failure> {
    match threads {
        Some(0) => Err(Failure::Usage("--threads must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// The common case: one log, parsed on `threads` threads in blocks of
/// lines, replayed in order on this one.
fn replay_one(
    src: &mut Source,
    runs: &mut [Run],
    args: &SimulateArgs,
    threads: usize,
) -> Result<(u64, Rejected), Failure> {
    let mut rejected = Rejected::default();
    let progress = Progress::start(std::slice::from_ref(src), args.quiet);
    let log = parallel::Log {
        name: &src.name,
        format: &src.format,
        input: &mut *src.lines,
        parser: &src.parser,
        no_bytes: src.no_bytes,
    };
    let settings = parallel::Settings {
        threads,
        block: blocks::BLOCK,
        request_bytes: args.request_bytes,
        strict: args.strict,
        show_errors: args.show_errors,
    };
    let mut replays: Vec<&mut Replay> = runs.iter_mut().map(|r| &mut r.replay).collect();
    let lines = parallel::replay_log(log, &mut replays, settings, &mut rejected, &progress);
    progress.finish();
    Ok((lines?, rejected))
}

/// Several logs: read, merged and prepared on one thread, replayed on this
/// one.
fn replay_merged(
    sources: &mut [Source],
    runs: &mut [Run],
    args: &SimulateArgs,
) -> Result<(u64, Rejected), Failure> {
    let preparers = runs.iter().map(|r| r.replay.preparer()).collect();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let produced = std::thread::scope(|scope| {
        let producer = scope.spawn(move || -> Result<(u64, Rejected), Failure> {
            let mut sink = BatchSink::new(tx, preparers);
            let mut rejected = Rejected::default();
            let progress = Progress::start(sources, args.quiet);
            let mut push = |r: &Request<'_>| sink.push(r);
            let lines = merge(sources, &mut push, &mut rejected, args, &progress)?;
            sink.flush();
            progress.finish();
            Ok((lines, rejected))
        });
        for batch in rx {
            for (run, requests) in runs.iter_mut().zip(batch.runs) {
                for p in requests {
                    run.replay.push_prepared(p);
                }
            }
        }
        producer.join()
    });
    produced.map_err(|_| Failure::Other(anyhow::anyhow!("the log reader thread panicked")))?
}

/// Several logs: always take the line with the earliest logged time next.
fn merge(
    sources: &mut [Source],
    replay: &mut dyn FnMut(&Request<'_>),
    rejected: &mut Rejected,
    args: &SimulateArgs,
    progress: &Progress,
) -> Result<u64, Failure> {
    let mut lines = 0u64;
    let mut heads: Vec<Option<Owned>> = Vec::with_capacity(sources.len());
    for src in sources.iter_mut() {
        heads.push(advance(src, rejected, args)?);
    }
    loop {
        let next = heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.as_ref().map(|o| (o.req.logged_ms, i)))
            .min();
        let Some((_, i)) = next else { break };
        if let Some(o) = heads[i].take() {
            let req = Request {
                path: &o.path,
                ..o.req.clone()
            };
            replay(&req);
        }
        lines += 1;
        progress.tick(lines);
        heads[i] = advance(&mut sources[i], rejected, args)?;
    }
    Ok(sources.iter().map(|s| s.line_no).sum())
}

fn advance(
    src: &mut Source,
    rejected: &mut Rejected,
    args: &SimulateArgs,
) -> Result<Option<Owned>, Failure> {
    while src.next_line()? {
        if src.buf.is_empty() {
            continue;
        }
        let parsed = src.parser.parse(&src.buf);
        if let Some(r) = accept(src, parsed, rejected, args)? {
            let req = Request {
                client: r.client,
                logged_ms: r.logged_ms,
                time_is: r.time_is,
                duration_ms: r.duration_ms,
                method: "GET",
                path: "",
                status: r.status,
                bytes: r.bytes,
                user_agent: None,
            };
            return Ok(Some(Owned {
                req,
                path: r.path.to_string(),
            }));
        }
    }
    Ok(None)
}

fn print_summary(
    runs: &[(String, Report)],
    rejected: &Rejected,
    sources: &[Source],
    lines: u64,
    elapsed: f64,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let mut o = std::io::stdout().lock();
    let formats: Vec<String> = sources
        .iter()
        .map(|s| format!("{} ({})", s.name, s.format))
        .collect();
    writeln!(
        o,
        "replayed {lines} lines from {} in {elapsed:.2} s ({:.0} lines/s); {} malformed",
        formats.join(", "),
        lines as f64 / elapsed.max(1e-9),
        rejected.count
    )?;
    for e in &rejected.first {
        writeln!(o, "  malformed: {e}")?;
    }
    for (label, report) in runs {
        let s = &report.stats;
        let j = report.summary_json();
        writeln!(
            o,
            "\n== {label}: {} .. {} (step {} s)",
            j.start, j.end, j.step_s
        )?;
        writeln!(
            o,
            "routed {} requests: {} spilled over, {} over capacity, {} with no site, {} late",
            s.requests, s.spilled, s.over_capacity, s.no_site, s.late
        )?;
        writeln!(
            o,
            "{:<6} {:<16} {:>10} {:>10} {:>11} {:>11} {:>10} {:>12}",
            "kind", "name", "requests", "GB", "peak Mb/s", "p95 Mb/s", "spill GB", "cost"
        )?;
        for (sum, _) in report
            .all()
            .filter(|(s, _)| s.requests > 0 || s.kind == routecast_replay::Kind::Site)
        {
            let cost = sum.cost.map_or("-".to_string(), |c| format!("{c:.2}"));
            writeln!(
                o,
                "{:<6} {:<16} {:>10} {:>10.2} {:>11.1} {:>11.1} {:>10.2} {:>12}",
                sum.kind.as_str(),
                sum.name,
                sum.requests,
                sum.gb,
                sum.peak_mbps,
                sum.p95_mbps,
                sum.spill_gb,
                cost
            )?;
        }
    }
    if let Some(dir) = out {
        writeln!(o, "\nwrote {}/report.html", dir.display())?;
    }
    Ok(())
}
