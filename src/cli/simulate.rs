//! `routecast simulate`: replay request logs through the engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use routecast_accesslog::{Format, LogFormat};
use routecast_engine::Mbps;
use routecast_replay::{Replay, ReplayConfig, Report};

use super::merge::replay_merged;
use super::parallel;
use super::progress::Progress;
use super::source::Source;
use super::{output, Failure};
use routecast_accesslog::blocks;

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
    /// it among the first few; with `--strict`, it is the error instead.
    pub fn record(&mut self, place: String, rules: LineRules) -> Result<(), Failure> {
        if rules.strict {
            return Err(Failure::Data(place));
        }
        self.count += 1;
        if self.first.len() < rules.show_errors {
            self.first.push(place);
        }
        Ok(())
    }
}

/// What to make of a log's lines.
#[derive(Debug, Clone, Copy)]
pub struct LineRules {
    /// Bytes of each request when the format logs none (`--request-bytes`).
    pub request_bytes: u64,
    /// Stop at the first malformed line (`--strict`).
    pub strict: bool,
    /// How many malformed lines to list (`--show-errors`).
    pub show_errors: usize,
}

impl LineRules {
    fn of(args: &SimulateArgs) -> Self {
        Self {
            request_bytes: args.request_bytes,
            strict: args.strict,
            show_errors: args.show_errors,
        }
    }
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
        _ => {
            let mut replays: Vec<&mut Replay> = runs.iter_mut().map(|r| &mut r.replay).collect();
            replay_merged(&mut sources, &mut replays, LineRules::of(args), args.quiet)?
        }
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
        rules: LineRules::of(args),
    };
    let mut replays: Vec<&mut Replay> = runs.iter_mut().map(|r| &mut r.replay).collect();
    let lines = parallel::replay_log(log, &mut replays, settings, &mut rejected, &progress);
    progress.finish();
    Ok((lines?, rejected))
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
