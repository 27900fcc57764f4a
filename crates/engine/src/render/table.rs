//! The explanation table of `routecast route`: the client, its group and
//! policy, the decision and its fallbacks, then one row per site with its
//! load, capacity, every step's verdict and score, and its rank.

use std::fmt;

use crate::decide::{Decision, LoadView, Outcome, Verdict};
use crate::ids::SiteId;
use crate::location::Location;
use crate::platform::Platform;
use crate::policy::Policy;

use super::DecisionView;

/// What the table's footer says the scores are.
const LEGEND: &str =
    "Scores: closest = km, least_cost = price per GB, weighted/consistent_hash = key (lower first),
preference = position, capacity = utilisation; (step) = implicit. Ranks: lower first.
";

impl fmt::Display for DecisionView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.summary(f)?;
        writeln!(f)?;
        f.write_str(&columns(&self.rows()))?;
        writeln!(f)?;
        f.write_str(LEGEND)
    }
}

impl DecisionView<'_> {
    /// The lines above the table: client, location, group, policy,
    /// decision, fallbacks and where distances start.
    fn summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (p, d) = (self.platform, self.decision);
        let policy = p.policy(d.policy);
        let line =
            |f: &mut fmt::Formatter<'_>, k: &str, v: &dyn fmt::Display| writeln!(f, "{k:<10} {v}");
        line(f, "client", &self.facts.address)?;
        line(f, "geoip", &location_line(&self.facts.location))?;
        let group = p.group(d.group);
        line(
            f,
            "group",
            &format_args!("{} (matched by {})", group.name, d.matched_by),
        )?;
        let scope = policy_scope(p, policy);
        line(f, "policy", &format_args!("{} ({scope})", policy.name))?;
        line(f, "decision", &self.decision_line())?;
        line(f, "fallbacks", &self.fallbacks_line())?;
        if let Some(c) = d.explanation.client_coordinates {
            line(f, "distances", &format_args!("from {c} (km)"))?;
        }
        Ok(())
    }

    /// The chosen site and its URL, or that none can serve; how it ended.
    fn decision_line(&self) -> String {
        let outcome = outcome_word(self.decision.outcome);
        match (self.decision.site, self.url()) {
            (Some(site), Some(url)) => format!("{} -> {url} [{outcome}]", self.name(site)),
            _ if self.decision.outcome == Outcome::NotServed => {
                format!("no site is configured to serve this path [{outcome}]")
            }
            _ => format!("no site can serve this request [{outcome}]"),
        }
    }

    /// The fallbacks in order, or `none`.
    fn fallbacks_line(&self) -> String {
        let fallbacks = &self.decision.fallbacks;
        if fallbacks.is_empty() {
            return "none".to_string();
        }
        let names: Vec<&str> = fallbacks.iter().map(|s| self.name(*s)).collect();
        names.join(", ")
    }

    /// The header and one row per site.
    fn rows(&self) -> Vec<Vec<String>> {
        let (p, d) = (self.platform, self.decision);
        let policy = p.policy(d.policy);
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
        for (site, i) in p.sites().iter().zip(0u16..) {
            let id = SiteId(i);
            let mut row = vec![
                site.name.clone(),
                format!("{:.0}", LoadView::load(self.load, id).0),
                site.capacity.map_or("-".into(), |c| format!("{:.0}", c.0)),
            ];
            for step in 0..policy.steps.len() {
                let m = d.explanation.mark(step, id);
                row.push(cell(m.verdict, m.score));
            }
            row.push(rank_label(d, id));
            rows.push(row);
        }
        rows
    }
}

/// How the request ended, in one word.
fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Preferred => "preferred",
        Outcome::SpilledOver => "spilledover",
        Outcome::OverCapacity => "overcapacity",
        Outcome::LastResort => "lastresort",
        Outcome::NoSite => "nosite",
        Outcome::NotServed => "notserved",
    }
}

/// What GeoIP knows of the client, each part or `unknown`.
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

/// The groups and content a policy applies to.
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

/// One cell: the verdict (a kept site shows its score alone) and score.
fn cell(verdict: Verdict, score: Option<f64>) -> String {
    let v = match verdict {
        Verdict::Kept => "ok",
        Verdict::Dropped => "DROPPED",
        Verdict::Draining => "draining",
        Verdict::Spilled => "spilled",
        Verdict::Full => "FULL",
        Verdict::Skipped => "",
    };
    match score {
        Some(s) if verdict == Verdict::Kept => format_score(s),
        Some(s) => format!("{v} {}", format_score(s)),
        None => v.to_string(),
    }
}

/// A score: whole numbers from 100, four decimals below, `inf`.
fn format_score(s: f64) -> String {
    if s.is_infinite() {
        "inf".into()
    } else if s.abs() >= 100.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.4}")
    }
}

/// A site's place: `1 (chosen)`, its position among the fallbacks, or `-`.
fn rank_label(d: &Decision, s: SiteId) -> String {
    if d.site == Some(s) {
        "1 (chosen)".into()
    } else if let Some(i) = d.fallbacks.iter().position(|f| *f == s) {
        format!("{}", i + 2)
    } else {
        "-".into()
    }
}

/// Rows as left-aligned columns two spaces apart, trailing space trimmed.
fn columns(rows: &[Vec<String>]) -> String {
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
            .zip(&widths)
            .map(|(x, w)| format!("{x:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
