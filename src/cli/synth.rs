//! `routecast synth`: a synthetic day of streaming requests
//! ([`routecast_synth`]).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use routecast_report::write_atomically;
use routecast_synth::{parse_date, SyntheticDay};

use super::Failure;

/// Arguments of `routecast synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// About how many log lines to write: sessions arrive at the rate that
    /// makes this many lines on average over the whole day (the random
    /// sessions decide the exact count).
    #[arg(long, short = 'n', default_value_t = 1_000_000)]
    lines: u64,
    /// The day to simulate (UTC), YYYY-MM-DD, from 0000-01-01 to 9999-12-30.
    #[arg(long, default_value = "2026-11-24")]
    date: String,
    /// Random seed: the same seed writes the same log.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output file (gzip-compressed when it ends in .gz); standard output
    /// when absent.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `routecast synth`.
pub fn run(args: &SynthArgs) -> Result<(), Failure> {
    let date = parse_date(&args.date).map_err(|e| Failure::Usage(format!("--date {e}")))?;
    let day = SyntheticDay {
        lines: args.lines,
        date,
        seed: args.seed,
    };
    let Some(path) = &args.out else {
        return write(&day, &mut std::io::stdout().lock()).map_err(Failure::from);
    };
    let gzip = path.extension().is_some_and(|e| e == "gz");
    write_atomically(path, |w| {
        if !gzip {
            return write(&day, w);
        }
        let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
        write(&day, &mut gz)?;
        gz.finish().map(|_| ())
    })
    .map_err(|e| Failure::Other(e.into()))
}

/// Writes the day and says how many lines.
fn write(day: &SyntheticDay, w: &mut dyn Write) -> std::io::Result<()> {
    let written = day.write(w)?;
    eprintln!("routecast synth: wrote {written} lines");
    Ok(())
}
