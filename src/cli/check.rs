//! `routecast check`: a Nagios/Icinga plugin that asks a running
//! redirector's admin listener how it is doing, following the Monitoring
//! Plugins development guidelines: one line `ROUTECAST STATUS: text |
//! perfdata`, perfdata `label=value[UOM];warn;crit;min;max`, thresholds as
//! ranges ([`range`]), exit 0 OK, 1 WARNING, 2 CRITICAL (also: the
//! redirector does not answer, or answers an error), 3 UNKNOWN (bad
//! arguments, an answer that cannot be read).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use routecast_http::FetchError;

mod range;

use range::{decimal, Range};

/// Arguments of `routecast check`. Thresholds are ranges in the Monitoring
/// Plugins syntax: `N` alerts above N, `N:` below N, `~:N` above N,
/// `M:N` outside M..N, `@M:N` inside M..N.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The redirector's admin URL (its --admin-listen), e.g. http://127.0.0.1:9099.
    #[arg(long, short = 'u', value_name = "URL")]
    url: String,
    /// WARNING when the number of sites up is outside RANGE (e.g. `6:`:
    /// fewer than 6).
    #[arg(long, value_name = "RANGE", value_parser = Range::parse)]
    warning_up: Option<Range>,
    /// CRITICAL when the number of sites up is outside RANGE (e.g. `5:`).
    #[arg(long, value_name = "RANGE", value_parser = Range::parse)]
    critical_up: Option<Range>,
    /// WARNING when the number of sites down is outside RANGE (`0`: any).
    #[arg(long, default_value = "0", value_name = "RANGE", value_parser = Range::parse)]
    warning_down: Range,
    /// CRITICAL when the number of sites down is outside RANGE (`1`: more
    /// than one).
    #[arg(long, default_value = "1", value_name = "RANGE", value_parser = Range::parse)]
    critical_down: Range,
    /// WARNING when the mean decision time over the last minute is outside
    /// RANGE, ms (`5`: above 5 ms).
    #[arg(long, default_value = "5", value_name = "RANGE", value_parser = Range::parse)]
    warning_latency: Range,
    /// CRITICAL when the mean decision time over the last minute is outside
    /// RANGE, ms.
    #[arg(long, default_value = "20", value_name = "RANGE", value_parser = Range::parse)]
    critical_latency: Range,
    /// Seconds to wait for the redirector in all (CRITICAL after that).
    #[arg(long, short = 't', default_value = "10", value_name = "SECONDS", value_parser = seconds)]
    timeout: Duration,
}

/// What `routecast check --help` adds after the options.
pub const AFTER_HELP: &str = "\
Output (Monitoring Plugins guidelines): one line
  ROUTECAST OK: 7/7 sites up, mean decision 0.011 ms over the last 60 s (5120 decisions) | \
sites_up=7;6:;5:;0;7 sites_down=0;0;1;0;7 decision=0.011ms;5;20;0; decisions=5120;;;0;
Exit: 0 OK, 1 WARNING, 2 CRITICAL (also: no answer, refused, timeout, an HTTP error status),
3 UNKNOWN (bad arguments, an answer that cannot be read).
Ranges: N alerts above N (or below 0), N: below N, ~:N above N, M:N outside M..N,
@M:N inside M..N; numbers >= 0, start <= end.
Example: routecast check -u http://127.0.0.1:9099 --warning-up 6: --critical-up 5: -t 5";

/// `--timeout`: a number of seconds above 0 (decimals allowed), at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds above 0 (at most 86400)"
        )),
    }
}

/// The plugin's verdict, its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }

    /// The level of `value` under a warning and a critical range.
    fn of(value: f64, warning: Option<&Range>, critical: Option<&Range>) -> Level {
        if critical.is_some_and(|r| r.alerts(value)) {
            Level::Critical
        } else if warning.is_some_and(|r| r.alerts(value)) {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

/// Prints the plugin's line and exits with its level.
fn verdict(level: Level, text: &str) -> ExitCode {
    println!("ROUTECAST {}: {text}", level.word());
    ExitCode::from(level as u8)
}

/// A usage mistake as the plugin reports it: UNKNOWN (3), not clap's 2
/// (which Nagios would take for CRITICAL); clap's full message on stderr.
pub fn usage_error(e: &clap::Error) -> ExitCode {
    let rendered = e.render().to_string();
    let _ = e.print();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad arguments");
    let mut said = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if said.ends_with(':') {
        // "the following required arguments were not provided:" and which.
        said = format!("{said} {}", lines.next().unwrap_or(""));
    }
    verdict(Level::Unknown, &format!("bad arguments: {said}"))
}

/// What the redirector said: its `/status` and `/metrics` texts.
struct Answers {
    status: String,
    metrics: String,
}

/// Runs the check; never fails with anything but a plugin status.
pub fn run(args: &CheckArgs) -> ExitCode {
    let base = args.url.trim_end_matches('/');
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return verdict(Level::Unknown, "cannot start the async runtime");
    };
    let answers = match runtime.block_on(ask(base, args.timeout)) {
        Ok(a) => a,
        Err(why) => return verdict(Level::Critical, &why),
    };
    match judge(args, &answers) {
        Ok((level, text)) => verdict(level, &text),
        Err(why) => verdict(Level::Unknown, &why),
    }
}

/// Both answers, within `timeout` in all; or why not, for CRITICAL.
async fn ask(base: &str, timeout: Duration) -> Result<Answers, String> {
    let get = |path: &'static str| async move {
        let url = format!("{base}{path}");
        match routecast_http::fetch(&url, timeout, 1 << 20).await {
            Ok(f) if f.status == 200 => Ok(String::from_utf8_lossy(&f.body).into_owned()),
            Ok(f) => Err(format!("{url} answered HTTP status {}", f.status)),
            Err(e) => Err(format!("no answer from {url}: {}", why(&e, timeout))),
        }
    };
    let both = async { tokio::join!(get("/status"), get("/metrics")) };
    let Ok((status, metrics)) = tokio::time::timeout(timeout, both).await else {
        return Err(format!(
            "no answer from {base}: timeout after {} s",
            decimal(timeout.as_secs_f64())
        ));
    };
    Ok(Answers {
        status: status?,
        metrics: metrics?,
    })
}

/// A fetch's failure in the words an operator expects.
fn why(e: &FetchError, timeout: Duration) -> String {
    match e {
        FetchError::Connect { source }
            if source.kind() == std::io::ErrorKind::ConnectionRefused =>
        {
            "connection refused".into()
        }
        FetchError::Timeout { .. } => {
            format!("timeout after {} s", decimal(timeout.as_secs_f64()))
        }
        other => other.to_string(),
    }
}

/// `name value` of a metric line without labels.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The level and the line after `ROUTECAST LEVEL: `, or why the answers
/// cannot be read (UNKNOWN).
fn judge(args: &CheckArgs, answers: &Answers) -> Result<(Level, String), String> {
    let status: serde_json::Value = serde_json::from_str(&answers.status)
        .map_err(|e| format!("the /status answer is not JSON: {e}"))?;
    let sites = status["sites"]
        .as_array()
        .ok_or("the /status answer has no sites")?;
    let down: Vec<&str> = sites
        .iter()
        .filter(|s| s["up"] == false)
        .filter_map(|s| s["site"].as_str())
        .collect();
    let recent = "routecast_decision_recent_seconds";
    let mean_s = metric(&answers.metrics, recent).ok_or(format!(
        "/metrics has no {recent} (a routecast older than this check?)"
    ))?;
    let count = metric(&answers.metrics, "routecast_decision_recent_decisions").unwrap_or(0.0);
    let (total, down_n) = (sites.len() as f64, down.len() as f64);
    let up_n = total - down_n;
    let latency_ms = (count > 0.0).then_some(mean_s * 1000.0);
    let level = [
        Level::of(up_n, args.warning_up.as_ref(), args.critical_up.as_ref()),
        Level::of(down_n, Some(&args.warning_down), Some(&args.critical_down)),
        latency_ms.map_or(Level::Ok, |ms| {
            Level::of(
                ms,
                Some(&args.warning_latency),
                Some(&args.critical_latency),
            )
        }),
    ]
    .into_iter()
    .max()
    .unwrap_or(Level::Ok);
    let sites_text = if down.is_empty() {
        format!("{up_n}/{total} sites up")
    } else {
        format!("{up_n}/{total} sites up, sites down: {}", down.join(", "))
    };
    let latency_text = match latency_ms {
        Some(ms) => format!(
            "mean decision {} ms over the last 60 s ({count} decisions)",
            decimal(ms)
        ),
        None => "no decisions in the last 60 s".into(),
    };
    let perf = perfdata(args, (up_n, down_n, total), latency_ms, count);
    Ok((level, format!("{sites_text}, {latency_text} | {perf}")))
}

/// The performance data: sites up and down, the recent mean decision time
/// (ms; left out without decisions) and the decisions it averages.
fn perfdata(
    args: &CheckArgs,
    (up, down, total): (f64, f64, f64),
    ms: Option<f64>,
    n: f64,
) -> String {
    let range = |r: Option<&Range>| r.map(ToString::to_string).unwrap_or_default();
    let total = decimal(total);
    let mut perf = format!(
        "sites_up={};{};{};0;{total} sites_down={};{};{};0;{total}",
        decimal(up),
        range(args.warning_up.as_ref()),
        range(args.critical_up.as_ref()),
        decimal(down),
        args.warning_down,
        args.critical_down,
    );
    if let Some(ms) = ms {
        perf.push_str(&format!(
            " decision={}ms;{};{};0;",
            decimal(ms),
            args.warning_latency,
            args.critical_latency
        ));
    }
    perf.push_str(&format!(" decisions={};;;0;", decimal(n)));
    perf
}
