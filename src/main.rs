//! `routecast`: one routing engine, three jobs (redirect, simulate, segment).
//! This binary is glue: it parses the command line and calls the library crates.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    cli::run()
}
