//! `routecast simulate`: replay request logs through the engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use routecast_accesslog::{Format, Layout, Log, LogError, LogFormat};
use routecast_engine::Mbps;
use routecast_replay::{
    parse_bitrates, parse_time_range, replay_merged, replay_parallel, Kind, LineRules, LinesRead,
    Parallel, Plausible, Replay, ReplayConfig, ReplayError, Report, Series, Summary,
};
use routecast_report::{config_labels, OutputDir, ReportInput};

use super::progress::ProgressDisplay;
use super::Failure;

/// Arguments of `routecast simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The platform configuration (routecast.toml). Give several to compare
    /// their policies on the same logs side by side: the first is the
    /// baseline the others are compared with (cost, distance to the
    /// serving site, share by the nearest site, spill-over).
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
    /// (sites.svg/png, groups.svg/png) and report.html (interactive charts,
    /// one file that opens from disk, with what was left out: malformed
    /// lines, requests no site serves by path prefix and reason, late
    /// lines); with several configurations, one subdirectory each (names
    /// made distinct) and a comparing report.html. Written whole into
    /// `.DIR.tmp-PID` beside it, then renamed into place: an old report
    /// directory is replaced whole; any other non-empty DIR is refused
    /// before the replay.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
    /// Bin width in seconds.
    #[arg(long, default_value_t = ReplayConfig::DEFAULT_STEP_S, value_name = "SECONDS")]
    step: u32,
    /// How far out of start-time order (seconds) lines may be and still be
    /// routed in order. nginx logs a request when it ends, so a download of
    /// an hour appears an hour after it started: the window should cover the
    /// longest requests. Memory grows with it (the lines it holds).
    #[arg(long, default_value_t = ReplayConfig::DEFAULT_WINDOW_S, value_name = "SECONDS")]
    window: u32,
    /// Bit rate for requests without a logged duration, by path prefix,
    /// e.g. /live/=5,/vod/=8 (Mbit/s).
    #[arg(long, value_name = "PREFIX=MBPS,...")]
    bitrate: Option<String>,
    /// Bit rate for any other request without a logged duration (Mbit/s).
    #[arg(long, default_value_t = ReplayConfig::DEFAULT_BITRATE.0, value_name = "MBPS")]
    default_bitrate: f64,
    /// The load sites report to capacity-aware policies is their traffic
    /// averaged over this many seconds (as a site's statistics would show).
    #[arg(long, default_value_t = ReplayConfig::DEFAULT_LOAD_WINDOW_S, value_name = "SECONDS")]
    load_window: u32,
    /// Bytes of each request in logs that carry no byte count (Traffic
    /// Router access logs record redirects, not deliveries): the size of
    /// what a redirected viewer then fetches, e.g. a segment or a session.
    #[arg(long, default_value_t = LineRules::DEFAULT_REQUEST_BYTES, value_name = "BYTES")]
    request_bytes: u64,
    /// Stop at the first malformed line (exit 65) instead of counting it.
    #[arg(long)]
    strict: bool,
    /// The longest line read, in bytes: a longer line is one malformed
    /// line (its length said), read past to its newline without being held
    /// in memory, however long (a gigabyte of zeros from a damaged gzip).
    #[arg(long, default_value_t = routecast_accesslog::blocks::MAX_LINE as u64, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_line_bytes: u64,
    /// How many malformed lines to list in the report.
    #[arg(long, default_value_t = LineRules::DEFAULT_SHOW_ERRORS, value_name = "N")]
    show_errors: usize,
    /// Lines dated outside FROM..TO (UTC dates, TO excluded) are malformed,
    /// with their reason: one line dated 9999 or 1970 would otherwise
    /// stretch the replay over centuries.
    #[arg(
        long,
        default_value = "1991-01-01..2100-01-01",
        value_name = "FROM..TO"
    )]
    time_range: String,
    /// Lines whose duration (`$request_time`, `%D`, `%T`) is longer than
    /// this are malformed, with their reason.
    #[arg(long, default_value_t = Plausible::DEFAULT_MAX_DURATION_MS / 1000, value_name = "SECONDS")]
    max_duration: u64,
    /// Lines whose byte count is larger than this (default 1 TiB) are
    /// malformed, with their reason; totals saturate rather than wrap.
    #[arg(long, default_value_t = Plausible::DEFAULT_MAX_REQUEST_BYTES, value_name = "BYTES")]
    max_request_bytes: u64,
    /// The most bins (series × steps from the first request to the last)
    /// the report may hold: a run that would hold more (about 300 bytes of
    /// CSV each) stops before writing anything (exit 65), saying how many
    /// and what to change (a larger --step, a narrower --time-range).
    #[arg(long, default_value_t = DEFAULT_MAX_BINS, value_name = "N")]
    max_bins: u64,
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

/// Runs `routecast simulate`.
pub fn run(args: &SimulateArgs) -> Result<(), Failure> {
    let (config, threads) = settings(args)?;
    let rules = line_rules(args)?;
    let mut replays = Vec::with_capacity(args.config.len());
    for path in &args.config {
        let loaded = super::load_platform(path)?;
        let (platform, locator) = (loaded.platform.clone(), loaded.locator.clone());
        replays.push(Replay::new(platform, locator, config.clone()));
    }
    let layout = layout(args)?;
    let mut logs = args
        .logs
        .iter()
        .map(|p| {
            let mut log = Log::open(p, layout.clone()).map_err(log_failure)?;
            log.set_max_line(usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX));
            Ok::<_, Failure>(log)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let labels = config_labels(&args.config);
    // The output is checked (and its temporary sibling made) before the
    // replay, so that a run never fails for its output after the work.
    let out = match &args.out {
        Some(dir) => Some(OutputDir::prepare(dir, &labels).map_err(|e| Failure::Other(e.into()))?),
        None => None,
    };
    let started = Instant::now();
    let read = replay(&mut logs, &mut replays, args, rules, threads).map_err(replay_failure)?;
    let elapsed = started.elapsed().as_secs_f64();
    let finished: Vec<(String, Report)> = labels
        .into_iter()
        .zip(replays.into_iter().map(Replay::finish))
        .collect();
    if let Some(out) = out {
        check_size(&finished, args.max_bins)?;
        let inputs: Vec<ReportInput<'_>> = finished
            .iter()
            .map(|(label, report)| ReportInput { label, report })
            .collect();
        out.write(&inputs, &read.rejected, read.damaged.as_ref())
            .map_err(|e| Failure::Other(e.into()))?;
    }
    if !args.quiet {
        print_summary(&finished, &read, &logs, elapsed, args.out.as_deref())?;
    }
    damage_failure(&read)
}

/// A log damaged part way (exit 65, EX_DATAERR), after its report of the
/// lines before the damage is written: `FILE:LINE: read error: …
/// (incomplete: …)`, as a log that cannot be read says it.
fn damage_failure(read: &LinesRead) -> Result<(), Failure> {
    match &read.damaged {
        Some(d) => Err(Failure::Data(format!(
            "{d} (incomplete: the results cover the lines before it)"
        ))),
        None => Ok(()),
    }
}

/// The replay's settings and the parsing threads (a bad `--step`,
/// `--threads` or bit rate is a usage error, in that order).
fn settings(args: &SimulateArgs) -> Result<(ReplayConfig, usize), Failure> {
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
        bitrates: parse_bitrates(args.bitrate.as_deref().unwrap_or(""))
            .map_err(|e| Failure::Usage(format!("--bitrate {e}")))?,
        default_bitrate: Mbps(args.default_bitrate),
        load_window_ms: i64::from(args.load_window) * 1000,
    };
    Ok((config, threads))
}

/// `--log-format`, `--format`, or detection.
fn layout(args: &SimulateArgs) -> Result<Layout, Failure> {
    Ok(match (&args.log_format, args.format) {
        (Some(custom), _) => Layout::Custom(
            LogFormat::compile(custom).map_err(|e| Failure::Usage(format!("--log-format: {e}")))?,
        ),
        (None, Some(format)) => Layout::Format(format),
        (None, None) => Layout::Detect,
    })
}

/// What to make of a log's lines (a bad `--time-range` is a usage error).
fn line_rules(args: &SimulateArgs) -> Result<LineRules, Failure> {
    let (from_ms, to_ms) = parse_time_range(&args.time_range)
        .map_err(|e| Failure::Usage(format!("--time-range {e}")))?;
    Ok(LineRules {
        request_bytes: args.request_bytes,
        strict: args.strict,
        show_errors: args.show_errors,
        plausible: Plausible {
            from_ms,
            to_ms,
            max_duration_ms: args.max_duration.saturating_mul(1000),
            max_request_bytes: args.max_request_bytes,
        },
    })
}

/// Default of `--max-bins`: ten million (about 3 GB of CSV).
const DEFAULT_MAX_BINS: u64 = 10_000_000;

/// Stops before writing a report that would hold more than `--max-bins`
/// bins, saying how many, over what, and what to change.
fn check_size(finished: &[(String, Report)], max_bins: u64) -> Result<(), Failure> {
    for (label, report) in finished {
        let steps = report.end_bin.saturating_sub(report.first_bin).max(0) as u64;
        let series = (report.sites.len() + report.groups.len()) as u64;
        let bins = steps.saturating_mul(series);
        if bins > max_bins {
            let json = report.summary_json();
            let whose = match finished.len() {
                1 => String::new(),
                _ => format!("{label}: "),
            };
            return Err(Failure::Data(format!(
                "{whose}the report would hold {bins} bins ({series} series × {steps} bins of {} s, \
                 {} to {}), over the limit of --max-bins {max_bins}: nothing written; \
                 use a larger --step, a narrower --time-range, or raise --max-bins",
                report.step_ms as f64 / 1000.0,
                json.start.as_deref().unwrap_or("-"),
                json.end.as_deref().unwrap_or("-")
            )));
        }
    }
    Ok(())
}

/// Replays `logs`: one on `threads` threads, several merged by time.
fn replay(
    logs: &mut [Log],
    replays: &mut [Replay],
    args: &SimulateArgs,
    rules: LineRules,
    threads: usize,
) -> Result<LinesRead, ReplayError> {
    let total = logs.iter().map(Log::size).sum();
    let mut display = ProgressDisplay::start(total, args.quiet);
    let progress = |p| display.update(p);
    let read = match logs {
        [one] => replay_parallel(one, replays, rules, Parallel::new(threads), progress),
        _ => replay_merged(logs, replays, rules, progress),
    };
    display.finish();
    read
}

/// A log that cannot be opened (exit 1) or read (exit 65); when its
/// format cannot be told, the flag that tells it.
fn log_failure(e: LogError) -> Failure {
    match e {
        LogError::Open { .. } => Failure::Other(e.into()),
        LogError::UnknownFormat { .. } => {
            let names = Format::ALL.map(|f| f.name()).join(", ");
            Failure::Data(format!("{e} (use --format: {names})"))
        }
        _ => Failure::Data(e.to_string()),
    }
}

/// A replay stopped by its data (exit 65) or by a thread (exit 1).
fn replay_failure(e: ReplayError) -> Failure {
    match e {
        ReplayError::Log(e) => log_failure(e),
        ReplayError::Malformed(_) => Failure::Data(e.to_string()),
        _ => Failure::Other(e.into()),
    }
}

/// `--threads`, or one per core.
fn parsing_threads(threads: Option<usize>) -> Result<usize, Failure> {
    match threads {
        Some(0) => Err(Failure::Usage("--threads must be at least 1".into())),
        Some(n) => Ok(n),
        None => Ok(Parallel::per_core().threads),
    }
}

fn print_summary(
    runs: &[(String, Report)],
    read: &LinesRead,
    logs: &[Log],
    elapsed: f64,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let mut o = std::io::stdout().lock();
    let (lines, rejected) = (read.lines, &read.rejected);
    let formats: Vec<String> = logs
        .iter()
        .map(|l| format!("{} ({})", l.name(), l.format()))
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
    if let Some(d) = &read.damaged {
        writeln!(o, "incomplete: {d}")?;
    }
    if runs.iter().all(|(_, r)| r.stats.requests == 0) {
        writeln!(o, "no requests: nothing to replay")?;
    }
    for (label, report) in runs {
        print_replay(&mut o, label, report)?;
    }
    if let Some(dir) = out {
        writeln!(o, "\nwrote {}/report.html", dir.display())?;
    }
    Ok(())
}

/// One configuration's span, counters and table of sites and groups.
fn print_replay(o: &mut impl Write, label: &str, report: &Report) -> std::io::Result<()> {
    let s = &report.stats;
    let j = report.summary_json();
    if s.requests == 0 {
        writeln!(o, "\n== {label}: no requests (step {} s)", j.step_s)?;
    } else {
        writeln!(
            o,
            "\n== {label}: {} .. {} (step {} s)",
            j.start.as_deref().unwrap_or("-"),
            j.end.as_deref().unwrap_or("-"),
            j.step_s
        )?;
        // The span as rrdtool's times, so `rrdtool graph` draws the replay
        // (its default, the day before now, is empty for an older log).
        let seconds = |bin: i64| (bin * report.step_ms).div_euclid(1000);
        writeln!(
            o,
            "rrdtool: --start {} --end {}",
            seconds(report.first_bin),
            seconds(report.end_bin)
        )?;
    }
    writeln!(
        o,
        "routed {} requests: {} spilled over, {} over capacity, {} with no site, {} late",
        s.requests, s.spilled, s.over_capacity, s.no_site, s.late
    )?;
    if s.host_clients > 0 {
        writeln!(
            o,
            "{} requests from clients logged by host name ({} with a country domain; never resolved)",
            s.host_clients, s.host_clients_with_country
        )?;
    }
    print_left_out(o, report)?;
    writeln!(
        o,
        "{:<6} {:<16} {:>10} {:>10} {:>11} {:>11} {:>10} {:>12}",
        "kind", "name", "requests", "GB", "peak Mb/s", "p95 Mb/s", "spill GB", "cost"
    )?;
    let shown = |(s, _): &&(Summary, Series)| s.requests > 0 || s.kind == Kind::Site;
    for (sum, _) in report.all().filter(shown) {
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
    Ok(())
}

/// Why requests went to no site (the prefixes with the most bytes), and
/// how near the serving sites were.
fn print_left_out(o: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for p in report.left_out.not_served_prefixes.iter().take(5) {
        writeln!(
            o,
            "  no site: {} ({} requests, {:.3} GB): {}",
            p.prefix, p.requests, p.gb, p.reason
        )?;
    }
    let p = &report.proximity;
    if let (Some(km), Some(share)) = (p.mean_km, p.nearest_share) {
        writeln!(
            o,
            "mean distance to the serving site {km:.0} km, {:.1} % of bytes by the nearest site ({} requests without a client location left out)",
            share * 100.0,
            p.unlocated_requests
        )?;
    }
    Ok(())
}
