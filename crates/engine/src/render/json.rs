//! The JSON of the views. Fields are written in the order of their names,
//! as `routecast route --json` and `routecast serve` have always written
//! them; numbers as `serde_json` writes an `f64` (shortest round trip).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::decide::{LoadView, Outcome, Verdict};
use crate::ids::SiteId;
use crate::location::Coordinates;

use super::{DecisionView, RedirectView};

/// [`DecisionView`]'s JSON object.
#[derive(Serialize)]
struct DecisionJson<'a> {
    client: ClientJson,
    down: Vec<&'a str>,
    fallbacks: Vec<&'a str>,
    group: &'a str,
    load_mbps: BTreeMap<&'a str, f64>,
    matched_by: String,
    outcome: Outcome,
    path: &'a str,
    policy: &'a str,
    preferred: Option<&'a str>,
    site: Option<&'a str>,
    steps: Vec<StepJson<'a>>,
    url: Option<String>,
}

/// The client: its address and what GeoIP knows of it.
#[derive(Serialize)]
struct ClientJson {
    address: String,
    asn: Option<u32>,
    continent: Option<String>,
    coordinates: Option<Coordinates>,
    country: Option<String>,
}

/// One step of the policy and its verdict on every site.
#[derive(Serialize)]
struct StepJson<'a> {
    display: String,
    implicit: bool,
    sites: Vec<MarkJson<'a>>,
    step: &'static str,
}

/// One step's verdict on one site, and its score (null when it has none or
/// it is not finite).
#[derive(Serialize)]
struct MarkJson<'a> {
    score: Option<f64>,
    site: &'a str,
    verdict: Verdict,
}

impl<'a> DecisionView<'a> {
    fn json(&self) -> DecisionJson<'a> {
        let (p, f, d) = (self.platform, self.facts, self.decision);
        let names = |ids: &[SiteId]| ids.iter().map(|s| self.name(*s)).collect();
        DecisionJson {
            client: ClientJson {
                address: f.address.to_string(),
                asn: f.location.asn,
                continent: f.location.continent.map(|c| c.to_string()),
                coordinates: f.location.coordinates,
                country: f.location.country.map(|c| c.to_string()),
            },
            down: names(&self.load.down),
            fallbacks: names(&d.fallbacks),
            group: &p.group(d.group).name,
            load_mbps: self.loads(),
            matched_by: d.matched_by.to_string(),
            outcome: d.outcome,
            path: f.path,
            policy: &p.policy(d.policy).name,
            preferred: d.preferred.map(|s| self.name(s)),
            site: d.site.map(|s| self.name(s)),
            steps: self.steps(),
            url: self.url(),
        }
    }

    /// Each site's load by name.
    fn loads(&self) -> BTreeMap<&'a str, f64> {
        let sites = self.platform.sites().iter().zip(0u16..);
        sites
            .map(|(s, i)| (s.name.as_str(), LoadView::load(self.load, SiteId(i)).0))
            .collect()
    }

    /// Every step of the policy with its verdict on every site.
    fn steps(&self) -> Vec<StepJson<'a>> {
        let policy = self.platform.policy(self.decision.policy);
        let marks = |step: usize| {
            let sites = self.platform.sites().iter().zip(0u16..);
            sites
                .map(|(s, i)| {
                    let m = self.decision.explanation.mark(step, SiteId(i));
                    MarkJson {
                        score: m.score.filter(|s| s.is_finite()),
                        site: &s.name,
                        verdict: m.verdict,
                    }
                })
                .collect()
        };
        let steps = policy.steps.iter().enumerate();
        steps
            .map(|(i, st)| StepJson {
                display: st.step.to_string(),
                implicit: st.implicit,
                sites: marks(i),
                step: st.step.name(),
            })
            .collect()
    }
}

impl Serialize for DecisionView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
}

/// [`RedirectView`]'s JSON object.
#[derive(Serialize)]
struct RedirectJson<'a> {
    fallbacks: Vec<SiteJson<'a>>,
    group: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    matched_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a str>,
    site: Option<&'a str>,
    url: Option<String>,
}

/// A site and its URL for the request.
#[derive(Serialize)]
struct SiteJson<'a> {
    site: &'a str,
    url: String,
}

impl<'a> RedirectView<'a> {
    fn json(&self) -> RedirectJson<'a> {
        let (p, d) = (self.platform, self.decision);
        let chosen = d.site.map(|s| self.site(s));
        let fallbacks = d.fallbacks.iter().map(|s| {
            let (site, url) = self.site(*s);
            SiteJson { site, url }
        });
        RedirectJson {
            fallbacks: fallbacks.collect(),
            group: &p.group(d.group).name,
            matched_by: self.details.then(|| d.matched_by.to_string()),
            outcome: self.details.then_some(d.outcome),
            policy: self.details.then(|| p.policy(d.policy).name.as_str()),
            site: chosen.as_ref().map(|(name, _)| *name),
            url: chosen.map(|(_, url)| url),
        }
    }
}

impl Serialize for RedirectView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
}
