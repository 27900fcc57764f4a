//! `routecast route`: explain one routing decision.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use routecast_engine::{DecisionView, Facts, Mbps, Platform, Router, StaticLoad};

use super::Failure;

/// Arguments of `routecast route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The platform configuration (routecast.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// The client's IP address (IPv4 or IPv6).
    address: String,
    /// The request path, e.g. /live/news/index.m3u8 (query allowed).
    path: String,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
    /// Current load of sites, e.g. ams=1200,fra=300 (Mbit/s); others are idle.
    #[arg(long, value_name = "SITE=MBPS,...")]
    load: Option<String>,
    /// Sites to treat as down (failing health checks), e.g. ams,fra.
    #[arg(long, value_name = "SITE,...")]
    down: Option<String>,
    /// The client's User-Agent.
    #[arg(long, value_name = "UA")]
    user_agent: Option<String>,
}

/// Runs `routecast route`.
pub fn run(args: &RouteArgs) -> Result<(), Failure> {
    let address: IpAddr = args.address.trim().parse().map_err(|_| {
        Failure::Usage(format!(
            "{:?} is not an IP address (expected e.g. 192.0.2.1 or 2001:db8::1)",
            args.address
        ))
    })?;
    if !args.path.starts_with('/') {
        return Err(Failure::Usage(format!(
            "path {:?} must start with '/' (e.g. /live/news/index.m3u8)",
            args.path
        )));
    }
    let loaded = super::load_platform(&args.config)?;
    let platform = &loaded.platform;
    let view = load_view(platform, args.load.as_deref(), args.down.as_deref())?;
    let location = loaded.locator.locate(address);
    let facts = Facts {
        address,
        location,
        path: &args.path,
        user_agent: args.user_agent.as_deref(),
    };
    let decision = Router::new(platform.clone()).decide(&facts, &view);
    let shown = DecisionView::new(platform, &facts, &view, &decision);
    let mut out = std::io::stdout().lock();
    if args.json {
        // serde_json's error hides a closed pipe from `Failure`'s check: give
        // the io::Error back (`… | head` exits quietly).
        serde_json::to_writer_pretty(&mut out, &shown).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        write!(out, "{shown}")?;
    }
    Ok(())
}

/// Parses `--load` and `--down` into a load view.
fn load_view(p: &Platform, load: Option<&str>, down: Option<&str>) -> Result<StaticLoad, Failure> {
    let site = |name: &str| {
        p.site_by_name(name.trim()).ok_or_else(|| {
            let names: Vec<_> = p.sites().iter().map(|s| s.name.as_str()).collect();
            Failure::Usage(format!(
                "no site is named {name:?} (sites: {})",
                names.join(", ")
            ))
        })
    };
    let mut view = StaticLoad {
        load: vec![Mbps(0.0); p.sites().len()],
        down: Vec::new(),
    };
    for item in load
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        let (name, mbps) = item.split_once('=').ok_or_else(|| {
            Failure::Usage(format!(
                "--load item {item:?} is not SITE=MBPS (e.g. ams=1200)"
            ))
        })?;
        let mbps: f64 = mbps
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--load {item:?}: {mbps:?} is not a number of Mbit/s >= 0"
                ))
            })?;
        view.load[site(name)?.index()] = Mbps(mbps);
    }
    for name in down
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        view.down.push(site(name)?);
    }
    Ok(view)
}
