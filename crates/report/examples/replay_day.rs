//! A day replayed without the CLI: load a platform, replay a log through
//! it on every core, write every output. What `routecast simulate -c
//! CONFIG LOG -o DIR` does, in a dozen lines of library calls: the same
//! defaults (the command's flags take theirs from [`ReplayConfig`],
//! [`LineRules`] and [`Parallel::per_core`]) and the same label, so the
//! directory it writes is the command's, byte for byte.
//!
//! ```text
//! cargo run --release -p routecast-report --example replay_day -- CONFIG LOG DIR
//! ```
//! (without arguments: the bundled example platform and log, into
//! `replay-day/`).

use std::path::PathBuf;

use routecast_accesslog::{Layout, Log};
use routecast_replay::{replay_parallel, LineRules, Parallel, Replay, ReplayConfig};
use routecast_report::{config_labels, write_dir, ReportInput};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let config = args.next().unwrap_or(examples.join("routecast.toml"));
    let log = args.next().unwrap_or(examples.join("access.log.gz"));
    let out = args.next().unwrap_or_else(|| PathBuf::from("replay-day"));

    let platform = routecast_geo::load(&config)?;
    let mut replays = [Replay::new(
        platform.platform.clone(),
        platform.locator.clone(),
        ReplayConfig::default(),
    )];
    let mut log = Log::open(&log, Layout::Detect)?;
    let read = replay_parallel(
        &mut log,
        &mut replays,
        LineRules::default(),
        Parallel::per_core(),
        |_| {},
    )?;
    let [replay] = replays;
    let report = replay.finish();
    // The command's label (the file's stem): config_labels gives one label
    // per configuration, so the first of one is there.
    let label = config_labels(&[&config]).remove(0);
    write_dir(
        &out,
        &[ReportInput {
            label: &label,
            report: &report,
        }],
        &read.rejected,
    )?;
    println!(
        "{} lines ({} malformed), {} requests routed: {}",
        read.lines,
        read.rejected.count,
        report.stats.requests,
        out.join("report.html").display()
    );
    Ok(())
}
