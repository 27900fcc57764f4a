//! `routecast check`: a Nagios/Icinga plugin that asks a running
//! redirector's admin listener how it is doing. The logic (ranges,
//! states, perfdata, asking and judging) is [`routecast_server::plugin`];
//! here: the arguments, usage mistakes as UNKNOWN, the line and the exit
//! code.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use routecast_server::plugin::{self, Range, ServiceState, Thresholds, Verdict};

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

impl CheckArgs {
    /// The thresholds the arguments give.
    fn thresholds(&self) -> Thresholds {
        Thresholds {
            warning_up: self.warning_up,
            critical_up: self.critical_up,
            warning_down: Some(self.warning_down),
            critical_down: Some(self.critical_down),
            warning_latency: Some(self.warning_latency),
            critical_latency: Some(self.critical_latency),
        }
    }
}

/// Prints the plugin's line and exits with its state.
fn print(verdict: &Verdict) -> ExitCode {
    println!("{verdict}");
    ExitCode::from(verdict.state.exit_code())
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
    print(&Verdict {
        state: ServiceState::Unknown,
        text: format!("bad arguments: {said}"),
    })
}

/// Runs the check; never fails with anything but a plugin state.
pub fn run(args: &CheckArgs) -> ExitCode {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return print(&Verdict {
            state: ServiceState::Unknown,
            text: "cannot start the async runtime".into(),
        });
    };
    let thresholds = args.thresholds();
    print(&runtime.block_on(plugin::check(&args.url, &thresholds, args.timeout)))
}
