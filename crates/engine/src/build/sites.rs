//! Sites: names, URLs, capacity, weight, content, cost and state, each
//! checked; sites with equal content lists share a content class.

use std::collections::HashMap;

use toml::Spanned;

use crate::config::{CostConfig, SiteConfig};
use crate::error::{ConfigError, Source};
use crate::hash::hash_str;
use crate::ids::SiteId;
use crate::platform::{Cost, Mbps, Site, SiteState, MAX_CONTENT_CLASSES};

pub(super) use super::base_url::base_url;
use super::probes::{health_check, load_source};
use super::{check_name, content_prefix, coordinates, err};

/// Sites and groups are addressed by 16- and 32-bit ids.
const MAX_SITES: usize = u16::MAX as usize;

/// Every site, checked, with its content class.
pub(super) fn build_sites(src: &Source, configs: &[SiteConfig]) -> Result<Vec<Site>, ConfigError> {
    if configs.is_empty() {
        return Err(ConfigError::whole_file(
            src.name(),
            "no [[sites]] defined (expected at least one site)",
        ));
    }
    if configs.len() > MAX_SITES {
        return Err(ConfigError::whole_file(
            src.name(),
            format!("too many sites (at most {MAX_SITES})"),
        ));
    }
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let mut sites = Vec::with_capacity(configs.len());
    for c in configs {
        check_name(src, &c.name, "site")?;
        if seen.insert(c.name.get_ref(), ()).is_some() {
            return Err(err(
                src,
                &c.name,
                format!("site {:?} is defined twice", c.name.get_ref()),
            ));
        }
        sites.push(build_site(src, c)?);
    }
    // Dense content classes: sites with equal `content` lists share one, so
    // that a decision tests each distinct list once (a bit per class).
    let mut classes = 0u16;
    for i in 0..sites.len() {
        let class = match sites[..i].iter().find(|s| s.content == sites[i].content) {
            Some(s) => s.content_class,
            None => {
                classes += 1;
                classes - 1
            }
        };
        if usize::from(class) >= MAX_CONTENT_CLASSES {
            return Err(err(
                src,
                &configs[i].name,
                format!(
                    "more than {} different `content` lists among sites",
                    MAX_CONTENT_CLASSES
                ),
            ));
        }
        sites[i].content_class = class;
    }
    Ok(sites)
}

/// One site of each content class, by class (what a decision tests a path
/// against).
pub(super) fn class_sites(sites: &[Site]) -> Vec<SiteId> {
    let mut class_sites: Vec<SiteId> = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        if usize::from(site.content_class) == class_sites.len() {
            class_sites.push(SiteId(i as u16));
        }
    }
    class_sites
}

/// One site, checked.
fn build_site(src: &Source, c: &SiteConfig) -> Result<Site, ConfigError> {
    let name = c.name.get_ref().clone();
    if c.urls.get_ref().is_empty() {
        return Err(err(
            src,
            &c.urls,
            format!("site {name:?} has no URL (expected urls = [\"https://host\", ...])"),
        ));
    }
    let urls = c
        .urls
        .get_ref()
        .iter()
        .map(|u| base_url(u.get_ref()).map_err(|m| err(src, u, format!("site {name:?}: {m}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let capacity = match &c.capacity_mbps {
        Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
            return Err(err(
                src,
                v,
                "capacity_mbps must be a positive number of Mbit/s",
            ));
        }
        Some(v) => Some(Mbps(*v.get_ref())),
        None => None,
    };
    let weight = match &c.weight {
        Some(w) if !(w.get_ref().is_finite() && *w.get_ref() >= 0.0) => {
            return Err(err(src, w, "weight must be a number >= 0"));
        }
        Some(w) => *w.get_ref(),
        None => 1.0,
    };
    let content = c
        .content
        .iter()
        .map(|p| content_prefix(src, p))
        .collect::<Result<Vec<_>, _>>()?;
    let location = coordinates(src, &c.location)?;
    Ok(Site {
        xyz: location.unit_vector(),
        content_class: 0,
        location,
        cost: match &c.cost {
            Some(cost) => build_cost(src, cost)?,
            None => Cost::PerGb(0.0),
        },
        state: match &c.state {
            Some(s) => site_state(src, s)?,
            None => SiteState::Active,
        },
        health: c
            .health
            .as_ref()
            .map(|h| health_check(src, h))
            .transpose()?,
        load_source: c.load.as_ref().map(|l| load_source(src, l)).transpose()?,
        name_hash: hash_str(&name),
        name,
        urls,
        capacity,
        weight,
        content,
    })
}

/// `active`, `draining` or `disabled`.
fn site_state(src: &Source, s: &Spanned<String>) -> Result<SiteState, ConfigError> {
    match s.get_ref().as_str() {
        "active" => Ok(SiteState::Active),
        "draining" => Ok(SiteState::Draining),
        "disabled" => Ok(SiteState::Disabled),
        other => Err(err(
            src,
            s,
            format!("state {other:?} is not one of active, draining, disabled"),
        )),
    }
}

/// Metered per GB, or a commit with its price and overage.
fn build_cost(src: &Source, c: &Spanned<CostConfig>) -> Result<Cost, ConfigError> {
    let v = c.get_ref();
    let bad = |m: &str| Err(err(src, c, m.to_string()));
    let nonneg = |x: f64| x.is_finite() && x >= 0.0;
    match (v.per_gb, v.commit_mbps, v.commit_price, v.overage_per_mbps) {
        (Some(p), None, None, None) if nonneg(p) => Ok(Cost::PerGb(p)),
        (Some(_), None, None, None) => bad("per_gb must be a number >= 0"),
        (None, Some(m), p, o) if m.is_finite() && m > 0.0 => {
            let (price, over) = (p.unwrap_or(0.0), o.unwrap_or(0.0));
            if nonneg(price) && nonneg(over) {
                Ok(Cost::Commit { mbps: m, price, overage_per_mbps: over })
            } else {
                bad("commit_price and overage_per_mbps must be numbers >= 0")
            }
        }
        (None, Some(_), _, _) => bad("commit_mbps must be a positive number of Mbit/s"),
        _ => bad("cost must be either { per_gb = ... } or { commit_mbps = ..., commit_price = ..., overage_per_mbps = ... }"),
    }
}
