//! `routecast check`: a Nagios/Icinga plugin that asks a running
//! redirector's admin listener how it is doing. One status line with
//! performance data; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// Arguments of `routecast check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The redirector's admin URL (its --admin-listen), e.g. http://127.0.0.1:9099.
    #[arg(long, short = 'u', value_name = "URL")]
    url: String,
    /// WARNING when at least this many sites are down.
    #[arg(long, default_value_t = 1, value_name = "N")]
    warning_down: usize,
    /// CRITICAL when at least this many sites are down.
    #[arg(long, default_value_t = 2, value_name = "N")]
    critical_down: usize,
    /// WARNING when decisions take this long on average (ms).
    #[arg(long, default_value_t = 5.0, value_name = "MS")]
    warning_latency: f64,
    /// CRITICAL when decisions take this long on average (ms).
    #[arg(long, default_value_t = 20.0, value_name = "MS")]
    critical_latency: f64,
    /// Seconds to wait for the redirector.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    timeout: u64,
}

/// The plugin's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

fn unknown(msg: &str) -> ExitCode {
    println!("ROUTECAST UNKNOWN - {msg}");
    ExitCode::from(Level::Unknown as u8)
}

/// `name value` of a metric line without labels.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Runs the check; never fails with anything but a plugin status.
pub fn run(args: &CheckArgs) -> ExitCode {
    let base = args.url.trim_end_matches('/');
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return unknown("cannot start the async runtime");
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (status, metrics) = runtime.block_on(async {
        let s = routecast_http::fetch_text(&format!("{base}/status"), timeout).await;
        let m = routecast_http::fetch_text(&format!("{base}/metrics"), timeout).await;
        (s, m)
    });
    let (Some((200, status)), Some((200, metrics))) = (status, metrics) else {
        return unknown(&format!("no answer from {base}/status and /metrics"));
    };
    let Ok(status) = serde_json::from_str::<serde_json::Value>(&status) else {
        return unknown("the /status answer is not JSON");
    };
    let Some(sites) = status["sites"].as_array() else {
        return unknown("the /status answer has no sites");
    };
    let down: Vec<&str> = sites
        .iter()
        .filter(|s| s["up"] == false)
        .filter_map(|s| s["site"].as_str())
        .collect();
    let (sum, count) = (
        metric(&metrics, "routecast_decision_seconds_sum"),
        metric(&metrics, "routecast_decision_seconds_count"),
    );
    let latency_ms = match (sum, count) {
        (Some(s), Some(c)) if c > 0.0 => s / c * 1000.0,
        _ => 0.0,
    };
    let by_down = if down.len() >= args.critical_down {
        Level::Critical
    } else if down.len() >= args.warning_down {
        Level::Warning
    } else {
        Level::Ok
    };
    let by_latency = if latency_ms >= args.critical_latency {
        Level::Critical
    } else if latency_ms >= args.warning_latency {
        Level::Warning
    } else {
        Level::Ok
    };
    let level = by_down.max(by_latency);
    let word = match level {
        Level::Ok => "OK",
        Level::Warning => "WARNING",
        Level::Critical => "CRITICAL",
        Level::Unknown => "UNKNOWN",
    };
    let what = if down.is_empty() {
        "all sites up".to_string()
    } else {
        format!("sites down: {}", down.join(", "))
    };
    println!(
        "ROUTECAST {word} - {}/{} sites up, {what}, mean decision {latency_ms:.3} ms | sites_up={};{};{};0;{} sites_down={};{};{};0;{} decision_ms={latency_ms:.4};{};{};0;",
        sites.len() - down.len(),
        sites.len(),
        sites.len() - down.len(),
        sites.len().saturating_sub(args.warning_down),
        sites.len().saturating_sub(args.critical_down),
        sites.len(),
        down.len(),
        args.warning_down,
        args.critical_down,
        sites.len(),
        args.warning_latency,
        args.critical_latency,
    );
    ExitCode::from(level as u8)
}
