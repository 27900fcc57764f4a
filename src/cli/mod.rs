//! Command-line definitions and dispatch; one module per subcommand.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod config;
mod progress;
mod route;
mod segment;
mod serve;
mod simulate;
mod synth;

/// Exit status for bad usage (sysexits.h EX_USAGE).
pub const EX_USAGE: u8 = 64;
/// Exit status for bad input data (sysexits.h EX_DATAERR).
pub const EX_DATAERR: u8 = 65;
/// Exit status for a source that could not be reached (sysexits.h
/// EX_UNAVAILABLE).
pub const EX_UNAVAILABLE: u8 = 69;
/// Exit status for bad configuration (sysexits.h EX_CONFIG).
pub const EX_CONFIG: u8 = 78;

/// routecast: route viewers of a streaming platform to the right site.
#[derive(Debug, Parser)]
#[command(name = "routecast", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain where one request would be sent, and why.
    Route(route::RouteArgs),
    /// Redirect viewers: answer each request with a 302 to the chosen site
    /// (or, under a `[[playlists]]` rule, with the HLS playlist rewritten for it).
    Serve(serve::ServeArgs),
    /// Nagios/Icinga plugin: ask a running redirector (its admin listener)
    /// for sites up and down and the last minute's decision latency; exit
    /// 0/1/2/3 (3, UNKNOWN, for bad arguments too).
    #[command(after_help = check::AFTER_HELP)]
    Check(check::CheckArgs),
    /// Replay request logs through the engine and account bandwidth per
    /// site and client group over time.
    Simulate(simulate::SimulateArgs),
    /// Generate a synthetic day of streaming requests (nginx combined +
    /// $request_time), for demos and benchmarks.
    Synth(synth::SynthArgs),
    /// Cut a live MPEG transport stream into HLS: keyframe-aligned segments,
    /// a live sliding-window playlist, optionally an archive playlist.
    #[command(after_help = segment::EXAMPLES)]
    Segment(segment::SegmentArgs),
    /// Work with platform configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration and everything it names, then exit
    /// (0 when valid, 78 with `file:line:column: problem` when not; what
    /// was read leniently, as Traffic Router reads coverage-zone files, is
    /// a `routecast: warning:` line on stderr).
    Check {
        /// The platform configuration (routecast.toml), as the other
        /// subcommands take it.
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
        /// The platform configuration, given without `-c`.
        #[arg(
            value_name = "FILE",
            conflicts_with = "config",
            required_unless_present = "config"
        )]
        file: Option<PathBuf>,
    },
}

/// An error that ends the program, and the status it exits with.
#[derive(Debug)]
pub enum Failure {
    /// Bad command-line usage (exit 64).
    Usage(String),
    /// Bad configuration (exit 78).
    Config(routecast_engine::ConfigError),
    /// Bad input data, e.g. a malformed line with --strict (exit 65).
    Data(String),
    /// A source that could not be reached, e.g. an input given up (exit 69).
    Unavailable(String),
    /// Anything else (exit 1).
    Other(anyhow::Error),
}

impl From<routecast_engine::ConfigError> for Failure {
    fn from(e: routecast_engine::ConfigError) -> Self {
        Failure::Config(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

/// Parses the command line, runs the subcommand, maps the result to a status.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && is_check() => return check::usage_error(&e),
        Err(e) => {
            let usage = e.use_stderr();
            // Help and version go to stdout with status 0; mistakes exit 64.
            let _ = e.print();
            return if usage {
                ExitCode::from(EX_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Command::Check(args) = &cli.command {
        return check::run(args);
    }
    let result = match cli.command {
        Command::Route(args) => route::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Check(_) => Ok(()),
        Command::Simulate(args) => simulate::run(&args),
        Command::Synth(args) => synth::run(&args),
        Command::Segment(args) => segment::run(&args),
        Command::Config(ConfigCommand::Check { config, file }) => {
            // clap requires exactly one of the two.
            match config.or(file) {
                Some(path) => config::check(&path),
                None => Err(Failure::Usage("config check needs -c FILE".into())),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report(f),
    }
}

/// Loads the platform at `path` (see [`routecast_geo::load`]) and prints
/// what was accepted leniently to stderr, one `routecast: warning: …` line
/// each.
pub fn load_platform(path: &std::path::Path) -> Result<routecast_geo::Loaded, Failure> {
    let loaded = routecast_geo::load(path)?;
    let mut err = std::io::stderr().lock();
    for w in &loaded.warnings {
        let _ = writeln!(err, "routecast: warning: {w}");
    }
    Ok(loaded)
}

/// Whether the command line is `routecast check …`, whose usage mistakes
/// are a plugin's UNKNOWN (3), not EX_USAGE.
fn is_check() -> bool {
    std::env::args_os().nth(1).is_some_and(|a| a == "check")
}

fn report(f: Failure) -> ExitCode {
    let mut err = std::io::stderr().lock();
    match f {
        Failure::Usage(m) => {
            let _ = writeln!(err, "routecast: {m}");
            ExitCode::from(EX_USAGE)
        }
        Failure::Config(e) => {
            let _ = writeln!(err, "{e}");
            ExitCode::from(EX_CONFIG)
        }
        Failure::Data(m) => {
            let _ = writeln!(err, "routecast: {m}");
            ExitCode::from(EX_DATAERR)
        }
        Failure::Unavailable(m) => {
            let _ = writeln!(err, "routecast: {m}");
            ExitCode::from(EX_UNAVAILABLE)
        }
        Failure::Other(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(err, "routecast: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A closed pipe (`routecast route … | head`) is not an error (as in ripgrep).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// TLS with each of `certs` paired with the key at its position
/// (`--tls-cert FILE --tls-key FILE`, repeated); `None` without any.
fn tls_files(
    certs: &[std::path::PathBuf],
    keys: &[std::path::PathBuf],
) -> Result<Option<std::sync::Arc<routecast_http::tls::Tls>>, Failure> {
    if certs.len() != keys.len() {
        return Err(Failure::Usage(format!(
            "--tls-cert and --tls-key come in pairs: {} certificates, {} keys",
            certs.len(),
            keys.len()
        )));
    }
    if certs.is_empty() {
        return Ok(None);
    }
    let files = certs
        .iter()
        .zip(keys)
        .map(|(cert, key)| routecast_http::tls::CertFiles {
            cert: cert.clone(),
            key: key.clone(),
        })
        .collect();
    let tls = routecast_http::tls::Tls::load(files)
        .map_err(|e| Failure::Other(anyhow::anyhow!("TLS: {e}")))?;
    Ok(Some(std::sync::Arc::new(tls)))
}
