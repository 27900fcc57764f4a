//! Policies: which groups and content each applies to, and its chain of
//! steps, with the implicit filters (`available`, `serves_content`,
//! `allowed_for_group`) first and `capacity` last.

use std::collections::HashMap;

use toml::Spanned;

use crate::config::{PlatformConfig, StepConfig};
use crate::error::{ConfigError, Source};
use crate::ids::{GroupId, SiteId};
use crate::policy::{HashKey, Policy, PolicyStep, Step};

use super::{check_name, content_prefix, err};

/// Steps in one policy (explanations keep a 64-bit mask per policy).
const MAX_STEPS: usize = 62;

/// Every policy, checked, and the built-in catch-all when none is one.
pub(super) fn build_policies(
    src: &Source,
    config: &PlatformConfig,
    sites: &HashMap<String, usize>,
    groups: &HashMap<String, usize>,
    site_count: usize,
) -> Result<Vec<Policy>, ConfigError> {
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(config.policies.len() + 1);
    for p in &config.policies {
        check_name(src, &p.name, "policy")?;
        if seen.insert(p.name.get_ref().clone(), ()).is_some() {
            return Err(err(
                src,
                &p.name,
                format!("policy {:?} is defined twice", p.name.get_ref()),
            ));
        }
        let group_ids = p
            .groups
            .iter()
            .map(|g| {
                groups
                    .get(g.get_ref())
                    .map(|i| GroupId(*i as u32))
                    .ok_or_else(|| err(src, g, format!("no group is named {:?}", g.get_ref())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if p.steps.get_ref().is_empty() {
            return Err(err(src, &p.steps, "a policy needs at least one step"));
        }
        if p.steps.get_ref().len() > MAX_STEPS {
            return Err(err(
                src,
                &p.steps,
                format!("a policy has at most {MAX_STEPS} steps"),
            ));
        }
        let steps = p
            .steps
            .get_ref()
            .iter()
            .map(|s| build_step(src, s, sites, site_count))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Policy {
            name: p.name.get_ref().clone(),
            groups: (!group_ids.is_empty()).then_some(group_ids),
            content: p
                .content
                .iter()
                .map(|c| content_prefix(src, c))
                .collect::<Result<_, _>>()?,
            steps: with_implicit_steps(steps),
        });
    }
    if !out
        .iter()
        .any(|p| p.groups.is_none() && p.content.is_empty())
    {
        out.push(Policy {
            name: "built-in-default".into(),
            groups: None,
            content: Vec::new(),
            steps: with_implicit_steps(vec![
                Step::ServesContent,
                Step::AllowedForGroup,
                Step::closest(0.0),
            ]),
        });
    }
    if out.len() > usize::from(u16::MAX) {
        return Err(ConfigError::whole_file(src.name(), "too many policies"));
    }
    Ok(out)
}

/// The filters no chain can do without first (`available`,
/// `serves_content`, `allowed_for_group`: a viewer is never sent to a site
/// that is down, lacks the content, or that the viewer's group may not
/// use), and a `capacity` step last, unless the chain has them.
fn with_implicit_steps(steps: Vec<Step>) -> Vec<PolicyStep> {
    let mut out = Vec::with_capacity(steps.len() + 4);
    for filter in [Step::Available, Step::ServesContent, Step::AllowedForGroup] {
        if !steps.contains(&filter) {
            out.push(PolicyStep {
                step: filter,
                implicit: true,
            });
        }
    }
    let has_capacity = steps.iter().any(|s| matches!(s, Step::Capacity { .. }));
    out.extend(steps.into_iter().map(|step| PolicyStep {
        step,
        implicit: false,
    }));
    if !has_capacity {
        out.push(PolicyStep {
            step: Step::Capacity { headroom: 0.0 },
            implicit: true,
        });
    }
    out
}

/// One step, checked.
fn build_step(
    src: &Source,
    s: &Spanned<StepConfig>,
    sites: &HashMap<String, usize>,
    site_count: usize,
) -> Result<Step, ConfigError> {
    Ok(match s.get_ref() {
        StepConfig::Available => Step::Available,
        StepConfig::ServesContent => Step::ServesContent,
        StepConfig::AllowedForGroup => Step::AllowedForGroup,
        StepConfig::LeastCost => Step::LeastCost,
        StepConfig::Weighted => Step::Weighted,
        StepConfig::Capacity { headroom } => {
            let h = headroom.unwrap_or(0.1);
            if !(0.0..1.0).contains(&h) {
                return Err(err(
                    src,
                    s,
                    "capacity headroom must be at least 0 and below 1 (a fraction of capacity)",
                ));
            }
            Step::Capacity { headroom: h }
        }
        StepConfig::Closest { bucket_km } => {
            let b = bucket_km.unwrap_or(0.0);
            if !(b.is_finite() && b >= 0.0) {
                return Err(err(src, s, "bucket_km must be a number of km >= 0"));
            }
            Step::closest(b)
        }
        StepConfig::ConsistentHash { key } => Step::ConsistentHash {
            key: match key.as_deref() {
                None | Some("path") => HashKey::Path,
                Some("directory") => HashKey::Directory,
                Some(other) => {
                    return Err(err(
                        src,
                        s,
                        format!("consistent_hash key {other:?} is not one of path, directory"),
                    ))
                }
            },
        },
        StepConfig::Preference { sites: names } => {
            if names.is_empty() {
                return Err(err(src, s, "preference needs a list of sites"));
            }
            let last = u16::try_from(names.len()).unwrap_or(u16::MAX);
            let mut rank = vec![last; site_count];
            for (pos, n) in names.iter().enumerate() {
                let id = sites
                    .get(n)
                    .and_then(|i| u16::try_from(*i).ok())
                    .map(SiteId)
                    .ok_or_else(|| err(src, s, format!("preference names no site {n:?} (expected one of the [[sites]] names)")))?;
                rank[id.index()] = rank[id.index()].min(pos as u16);
            }
            Step::Preference { rank }
        }
    })
}
