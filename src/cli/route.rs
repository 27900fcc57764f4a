//! `routecast route`: explain one routing decision.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use routecast_engine::{
    Decision, Facts, Location, Mbps, Platform, Policy, Router, SiteId, StaticLoad, Verdict,
};

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
    let loaded = routecast_geo::load(&args.config)?;
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
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json(platform, &facts, &view, &decision);
        serde_json::to_writer_pretty(&mut out, &v).map_err(|e| Failure::Other(e.into()))?;
        writeln!(out)?;
    } else {
        write!(out, "{}", table(platform, &facts, &view, &decision))?;
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

fn redirect_url(p: &Platform, d: &Decision, path: &str) -> Option<String> {
    d.site.map(|s| format!("{}{}", p.site(s).urls[0], path))
}

fn location_line(l: &Location) -> String {
    let part =
        |name: &str, v: Option<String>| format!("{name} {}", v.unwrap_or_else(|| "unknown".into()));
    [
        part("country", l.country.map(|c| c.to_string())),
        part("continent", l.continent.map(|c| c.to_string())),
        part("ASN", l.asn.map(|a| a.to_string())),
        part("coordinates", l.coordinates.map(|c| c.to_string())),
    ]
    .join(", ")
}

fn policy_scope(p: &Platform, policy: &Policy) -> String {
    let groups = match &policy.groups {
        Some(g) => g
            .iter()
            .map(|g| p.group(*g).name.as_str())
            .collect::<Vec<_>>()
            .join(","),
        None => "any group".into(),
    };
    let content = if policy.content.is_empty() {
        "any content".into()
    } else {
        policy.content.join(",")
    };
    format!("{groups}; {content}")
}

fn cell(verdict: Verdict, score: Option<f64>) -> String {
    let v = match verdict {
        Verdict::Kept => "ok",
        Verdict::Dropped => "DROPPED",
        Verdict::Draining => "draining",
        Verdict::Spilled => "spilled",
        Verdict::Full => "FULL",
        _ => "",
    };
    match score {
        Some(s) if verdict == Verdict::Kept => format_score(s),
        Some(s) => format!("{v} {}", format_score(s)),
        None => v.to_string(),
    }
}

fn format_score(s: f64) -> String {
    if s.is_infinite() {
        "inf".into()
    } else if s.abs() >= 100.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.4}")
    }
}

fn rank_label(d: &Decision, s: SiteId) -> String {
    if d.site == Some(s) {
        "1 (chosen)".into()
    } else if let Some(i) = d.fallbacks.iter().position(|f| *f == s) {
        format!("{}", i + 2)
    } else {
        "-".into()
    }
}

/// The human-readable explanation.
fn table(p: &Platform, f: &Facts<'_>, view: &StaticLoad, d: &Decision) -> String {
    let policy = p.policy(d.policy);
    let mut s = String::new();
    let line = |s: &mut String, k: &str, v: String| s.push_str(&format!("{k:<10} {v}\n"));
    line(&mut s, "client", f.address.to_string());
    line(&mut s, "geoip", location_line(&f.location));
    line(
        &mut s,
        "group",
        format!("{} (matched by {})", p.group(d.group).name, d.matched_by),
    );
    line(
        &mut s,
        "policy",
        format!("{} ({})", policy.name, policy_scope(p, policy)),
    );
    let outcome = format!("{:?}", d.outcome).to_lowercase();
    match (d.site, redirect_url(p, d, f.path)) {
        (Some(site), Some(url)) => line(
            &mut s,
            "decision",
            format!("{} -> {url} [{outcome}]", p.site(site).name),
        ),
        _ => line(
            &mut s,
            "decision",
            format!("no site can serve this request [{outcome}]"),
        ),
    }
    let fallbacks: Vec<_> = d
        .fallbacks
        .iter()
        .map(|x| p.site(*x).name.as_str())
        .collect();
    line(
        &mut s,
        "fallbacks",
        if fallbacks.is_empty() {
            "none".into()
        } else {
            fallbacks.join(", ")
        },
    );
    if let Some(c) = d.explanation.client_coordinates {
        line(&mut s, "distances", format!("from {c} (km)"));
    }
    s.push('\n');
    let mut header = vec!["site".to_string(), "load".into(), "capacity".into()];
    header.extend(policy.steps.iter().map(|st| {
        if st.implicit {
            format!("({})", st.step)
        } else {
            st.step.to_string()
        }
    }));
    header.push("rank".into());
    let mut rows = vec![header];
    for (i, site) in p.sites().iter().enumerate() {
        let id = SiteId(i as u16);
        let mut row = vec![
            site.name.clone(),
            format!("{:.0}", view.load[i].0),
            site.capacity.map_or("-".into(), |c| format!("{:.0}", c.0)),
        ];
        for si in 0..policy.steps.len() {
            let m = d.explanation.mark(si, id);
            row.push(cell(m.verdict, m.score));
        }
        row.push(rank_label(d, id));
        rows.push(row);
    }
    s.push_str(&render(&rows));
    s.push_str("\nScores: closest = km, least_cost = price per GB, weighted/consistent_hash = key (lower first),\npreference = position, capacity = utilisation; (step) = implicit. Ranks: lower first.\n");
    s
}

fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |x| x.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, x)| format!("{x:<w$}", w = widths[c]))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The machine-readable explanation.
fn json(p: &Platform, f: &Facts<'_>, view: &StaticLoad, d: &Decision) -> serde_json::Value {
    use serde_json::json;
    let policy = p.policy(d.policy);
    let name = |s: SiteId| p.site(s).name.clone();
    let steps: Vec<_> = policy
        .steps
        .iter()
        .enumerate()
        .map(|(si, st)| {
            let sites: Vec<_> = (0..p.sites().len())
                .map(|i| {
                    let m = d.explanation.mark(si, SiteId(i as u16));
                    json!({ "site": p.sites()[i].name, "verdict": m.verdict, "score": m.score.filter(|s| s.is_finite()) })
                })
                .collect();
            json!({ "step": st.step.name(), "display": st.step.to_string(), "implicit": st.implicit, "sites": sites })
        })
        .collect();
    json!({
        "client": {
            "address": f.address.to_string(),
            "country": f.location.country.map(|c| c.to_string()),
            "continent": f.location.continent.map(|c| c.to_string()),
            "asn": f.location.asn,
            "coordinates": f.location.coordinates,
        },
        "path": f.path,
        "group": p.group(d.group).name,
        "matched_by": d.matched_by.to_string(),
        "policy": policy.name,
        "site": d.site.map(name),
        "url": redirect_url(p, d, f.path),
        "fallbacks": d.fallbacks.iter().map(|s| name(*s)).collect::<Vec<_>>(),
        "preferred": d.preferred.map(name),
        "outcome": d.outcome,
        "load_mbps": p.sites().iter().enumerate().map(|(i, s)| (s.name.clone(), json!(view.load[i].0))).collect::<serde_json::Map<_, _>>(),
        "down": view.down.iter().map(|s| name(*s)).collect::<Vec<_>>(),
        "steps": steps,
    })
}
