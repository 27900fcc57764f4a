//! Judging a redirector's `/status` and `/metrics` answers against the
//! thresholds: sites up, sites down, and the mean decision time of the
//! last minute (left out when there were no decisions).

use super::perfdata::{perfdata_number, PerfdataItem, Unit};
use super::{ServiceState, Thresholds, Verdict};

/// The gauge of the mean decision time over the last minute, seconds.
const RECENT_SECONDS: &str = "routecast_decision_recent_seconds";
/// The gauge of the decisions that mean is over.
const RECENT_DECISIONS: &str = "routecast_decision_recent_decisions";

/// What a redirector's admin listener answered: the bodies of its
/// `/status` (JSON) and `/metrics` (Prometheus text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// The `/status` body.
    pub status: String,
    /// The `/metrics` body.
    pub metrics: String,
}

/// Why the answers cannot be judged (the plugin's UNKNOWN).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// `/status` is not JSON.
    #[error("the /status answer is not JSON: {source}")]
    StatusNotJson {
        /// serde_json's reason.
        source: serde_json::Error,
    },
    /// `/status` has no `sites` array.
    #[error("the /status answer has no sites")]
    NoSites,
    /// `/metrics` lacks a gauge the check needs.
    #[error("/metrics has no {name} (a routecast older than this check?)")]
    MissingMetric {
        /// The gauge's name.
        name: &'static str,
    },
}

/// What the answers say, before thresholds.
struct Reading<'a> {
    /// The sites `/status` has.
    total: f64,
    /// The names of the sites out of rotation.
    down: Vec<&'a str>,
    /// The mean decision time of the last minute, ms; `None` without
    /// decisions.
    latency_ms: Option<f64>,
    /// The decisions of the last minute.
    decisions: f64,
}

impl Reading<'_> {
    /// The sites in rotation.
    fn up(&self) -> f64 {
        self.total - self.down.len() as f64
    }
}

/// Judges the answers: the worst state of the three measures, and the
/// plugin's text with its performance data.
pub fn judge(answers: &Answers, thresholds: &Thresholds) -> Result<Verdict, AnswerError> {
    let status: serde_json::Value = serde_json::from_str(&answers.status)
        .map_err(|source| AnswerError::StatusNotJson { source })?;
    let reading = read(&status, &answers.metrics)?;
    let t = thresholds;
    let state = [
        ServiceState::judge(reading.up(), t.warning_up, t.critical_up),
        ServiceState::judge(reading.down.len() as f64, t.warning_down, t.critical_down),
        reading.latency_ms.map_or(ServiceState::Ok, |ms| {
            ServiceState::judge(ms, t.warning_latency, t.critical_latency)
        }),
    ]
    .into_iter()
    .max()
    .unwrap_or(ServiceState::Ok);
    let text = format!("{} | {}", summary(&reading), perfdata(&reading, t));
    Ok(Verdict { state, text })
}

/// The measures in the answers.
fn read<'a>(status: &'a serde_json::Value, metrics: &str) -> Result<Reading<'a>, AnswerError> {
    let sites = status["sites"].as_array().ok_or(AnswerError::NoSites)?;
    let down = sites
        .iter()
        .filter(|s| s["up"] == false)
        .filter_map(|s| s["site"].as_str())
        .collect();
    let mean_s = metric(metrics, RECENT_SECONDS).ok_or(AnswerError::MissingMetric {
        name: RECENT_SECONDS,
    })?;
    let decisions = metric(metrics, RECENT_DECISIONS).unwrap_or(0.0);
    Ok(Reading {
        total: sites.len() as f64,
        down,
        latency_ms: (decisions > 0.0).then_some(mean_s * 1000.0),
        decisions,
    })
}

/// `name value` of a metric line without labels.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The human part of the line: sites up (and which are down), latency.
fn summary(r: &Reading<'_>) -> String {
    let sites = if r.down.is_empty() {
        format!("{}/{} sites up", r.up(), r.total)
    } else {
        let down = r.down.join(", ");
        format!("{}/{} sites up, sites down: {down}", r.up(), r.total)
    };
    match r.latency_ms {
        Some(ms) => format!(
            "{sites}, mean decision {} ms over the last 60 s ({} decisions)",
            perfdata_number(ms),
            r.decisions
        ),
        None => format!("{sites}, no decisions in the last 60 s"),
    }
}

/// The performance data: sites up and down, the recent mean decision time
/// (ms; left out without decisions) and the decisions it averages.
fn perfdata(r: &Reading<'_>, t: &Thresholds) -> String {
    let count = |label, value, warning, critical, max| PerfdataItem {
        label,
        value,
        unit: Unit::None,
        warning,
        critical,
        min: Some(0.0),
        max,
    };
    let mut items = vec![
        count(
            "sites_up",
            r.up(),
            t.warning_up,
            t.critical_up,
            Some(r.total),
        ),
        count(
            "sites_down",
            r.down.len() as f64,
            t.warning_down,
            t.critical_down,
            Some(r.total),
        ),
    ];
    if let Some(ms) = r.latency_ms {
        items.push(PerfdataItem {
            unit: Unit::Milliseconds,
            ..count("decision", ms, t.warning_latency, t.critical_latency, None)
        });
    }
    items.push(count("decisions", r.decisions, None, None, None));
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    items.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Range;

    fn range(text: &str) -> Option<Range> {
        Some(Range::parse(text).expect(text))
    }

    /// `routecast check`'s defaults, with warn below 2 up, crit below 1.
    fn thresholds() -> Thresholds {
        Thresholds {
            warning_up: range("2:"),
            critical_up: range("1:"),
            warning_down: range("0"),
            critical_down: range("1"),
            warning_latency: range("5"),
            critical_latency: range("20"),
        }
    }

    fn answers(sites: &str, metrics: &str) -> Answers {
        Answers {
            status: format!(r#"{{"sites": [{sites}]}}"#),
            metrics: metrics.into(),
        }
    }

    const A_UP: &str = r#"{"site": "a", "up": true}"#;
    const A_DOWN: &str = r#"{"site": "a", "up": false}"#;
    const B_DOWN: &str = r#"{"site": "b", "up": false}"#;
    const B_UP: &str = r#"{"site": "b", "up": true}"#;

    #[test]
    fn the_worst_measure_decides_and_the_line_says_which_sites_are_down() {
        let cases = [
            (
                format!("{A_UP}, {B_UP}"),
                "routecast_decision_recent_seconds 0.0000114\nroutecast_decision_recent_decisions 5120\n",
                ServiceState::Ok,
                "2/2 sites up, mean decision 0.0114 ms over the last 60 s (5120 decisions) | \
                 sites_up=2;2:;1:;0;2 sites_down=0;0;1;0;2 decision=0.0114ms;5;20;0; decisions=5120;;;0;",
            ),
            (
                format!("{A_DOWN}, {B_UP}"),
                "routecast_decision_recent_seconds 0.0062\nroutecast_decision_recent_decisions 12\n",
                ServiceState::Warning,
                "1/2 sites up, sites down: a, mean decision 6.2 ms over the last 60 s (12 decisions) | \
                 sites_up=1;2:;1:;0;2 sites_down=1;0;1;0;2 decision=6.2ms;5;20;0; decisions=12;;;0;",
            ),
            (
                format!("{A_DOWN}, {B_DOWN}"),
                "routecast_decision_recent_seconds 0.003\nroutecast_decision_recent_decisions 3\n",
                ServiceState::Critical,
                "0/2 sites up, sites down: a, b, mean decision 3 ms over the last 60 s (3 decisions) | \
                 sites_up=0;2:;1:;0;2 sites_down=2;0;1;0;2 decision=3ms;5;20;0; decisions=3;;;0;",
            ),
            (
                format!("{A_UP}, {B_UP}"),
                "routecast_decision_recent_seconds 0.03\nroutecast_decision_recent_decisions 3\n",
                ServiceState::Critical,
                "2/2 sites up, mean decision 30 ms over the last 60 s (3 decisions) | \
                 sites_up=2;2:;1:;0;2 sites_down=0;0;1;0;2 decision=30ms;5;20;0; decisions=3;;;0;",
            ),
            (
                A_UP.into(),
                "routecast_decision_recent_seconds 0.5\n",
                ServiceState::Warning,
                "1/1 sites up, no decisions in the last 60 s | \
                 sites_up=1;2:;1:;0;1 sites_down=0;0;1;0;1 decisions=0;;;0;",
            ),
        ];
        for (sites, metrics, state, text) in cases {
            let verdict = judge(&answers(&sites, metrics), &thresholds()).expect(&sites);
            assert_eq!((verdict.state, verdict.text.as_str()), (state, text));
        }
    }

    #[test]
    fn unreadable_answers_say_what_is_missing() {
        let metrics = "routecast_decision_recent_seconds 0\n";
        let cases = [
            (answers(A_UP, "other 1\n"), "/metrics has no routecast_decision_recent_seconds (a routecast older than this check?)"),
            (Answers { status: r#"{"x": 1}"#.into(), metrics: metrics.into() }, "the /status answer has no sites"),
            (Answers { status: "{oops".into(), metrics: metrics.into() }, "the /status answer is not JSON: key must be a string at line 1 column 2"),
        ];
        for (answers, why) in cases {
            let refused = judge(&answers, &thresholds()).expect_err(why);
            assert_eq!(refused.to_string(), why);
        }
    }
}
