//! Validation: [`PlatformConfig`] → [`Platform`], with every error placed.
//!
//! One file per part of the configuration: `sites` (sites, their costs and
//! states), `base_url` (the URLs of sites and playlist origins), `probes`
//! (health checks and load sources), `playlists`, `sessions`, `groups`
//! (configured groups and imported coverage zones) and `policies` (chains of
//! steps); this file assembles the platform and keeps the checks they share.

use std::collections::HashMap;

use toml::Spanned;

use crate::config::{CoordinatesConfig, PlatformConfig};
use crate::error::{ConfigError, Source};
use crate::ids::SiteId;
use crate::location::Coordinates;
use crate::platform::{GeoIpFiles, Platform};

mod base_url;
mod groups;
mod playlists;
mod policies;
mod probes;
mod sessions;
mod sites;

pub use groups::{parse_cidr, CoverageZone, ImportedZones};

use groups::build_groups;
use playlists::build_playlists;
use policies::build_policies;
use sessions::build_sessions;
use sites::{build_sites, class_sites};

impl Platform {
    /// Validates a parsed configuration together with the coverage zones
    /// imported for its `[[coverage_zones]]` entries.
    pub fn build(
        config: &PlatformConfig,
        imported: &[ImportedZones],
    ) -> Result<Platform, ConfigError> {
        let src = &config.source;
        let sites = build_sites(src, &config.sites)?;
        let site_ids = name_index(sites.iter().map(|s| s.name.as_str()));
        let (groups, table) = build_groups(config, imported, &site_ids)?;
        let group_ids = name_index(groups.iter().map(|g| g.name.as_str()));
        let policies = build_policies(src, config, &site_ids, &group_ids, sites.len())?;
        let playlists = build_playlists(src, &config.playlists, &sites)?;
        let sessions = build_sessions(src, &config.sessions)?;
        let uniform_weights = sites.windows(2).all(|w| w[0].weight == w[1].weight);
        let currency = build_currency(src, config.currency.as_ref())?;
        Ok(Platform {
            currency,
            class_sites: class_sites(&sites),
            playlists,
            sessions,
            uniform_weights,
            sites,
            groups,
            policies,
            table,
            geoip: GeoIpFiles {
                city: config.geoip.city.as_ref().map(|s| s.get_ref().clone()),
                asn: config.geoip.asn.as_ref().map(|s| s.get_ref().clone()),
            },
        })
    }
}

/// The currency of the prices: three capital letters (ISO 4217), or none.
fn build_currency(
    src: &Source,
    currency: Option<&Spanned<String>>,
) -> Result<Option<String>, ConfigError> {
    match currency {
        Some(c)
            if c.get_ref().len() == 3 && c.get_ref().bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            Ok(Some(c.get_ref().clone()))
        }
        Some(c) => Err(err(
            src,
            c,
            format!(
                "currency {:?} is not an ISO 4217 code (three capital letters, e.g. EUR)",
                c.get_ref()
            ),
        )),
        None => Ok(None),
    }
}

/// Each name's position in declaration order.
fn name_index<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    names.enumerate().map(|(i, n)| (n.to_string(), i)).collect()
}

/// An error at the place of `at`.
fn err<T>(src: &Source, at: &Spanned<T>, message: impl Into<String>) -> ConfigError {
    src.error(at.span(), message)
}

/// A site, group or policy name: 1-64 letters, digits, `-`, `_`, `.`.
fn check_name(src: &Source, name: &Spanned<String>, what: &str) -> Result<(), ConfigError> {
    let n = name.get_ref();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(err(src, name, format!(
            "{what} name {n:?} is not valid (expected 1-64 characters: letters, digits, '-', '_', '.')"
        )))
    }
}

/// A content prefix: starts with `/`.
fn content_prefix(src: &Source, p: &Spanned<String>) -> Result<String, ConfigError> {
    if p.get_ref().starts_with('/') {
        Ok(p.get_ref().clone())
    } else {
        Err(err(
            src,
            p,
            format!("content prefix {:?} must start with '/'", p.get_ref()),
        ))
    }
}

/// Coordinates in range.
fn coordinates(src: &Source, c: &Spanned<CoordinatesConfig>) -> Result<Coordinates, ConfigError> {
    Coordinates::new(c.get_ref().lat, c.get_ref().lon).map_err(|m| err(src, c, m))
}

/// The site a name refers to.
fn site_ref(
    src: &Source,
    sites: &HashMap<String, usize>,
    name: &Spanned<String>,
) -> Result<SiteId, ConfigError> {
    sites
        .get(name.get_ref())
        .and_then(|i| u16::try_from(*i).ok())
        .map(SiteId)
        .ok_or_else(|| {
            err(
                src,
                name,
                format!(
                    "no site is named {:?} (expected one of the [[sites]] names)",
                    name.get_ref()
                ),
            )
        })
}

#[cfg(test)]
mod currency_tests {
    const SITE: &str = "[[sites]]\nname = \"ams\"\nurls = [\"https://ams.example.net\"]\nlocation = { lat = 0, lon = 0 }\n";

    #[test]
    fn a_currency_is_an_iso_4217_code() {
        let text = format!("currency = \"EUR\"\n{SITE}");
        let config = crate::PlatformConfig::parse("routecast.toml", &text).expect("parses");
        let p = crate::Platform::build(&config, &[]).expect("valid");
        assert_eq!(p.currency(), Some("EUR"));
        let text = format!("currency = \"euro\"\n{SITE}");
        let config = crate::PlatformConfig::parse("routecast.toml", &text).expect("parses");
        let Err(e) = crate::Platform::build(&config, &[]) else {
            panic!("\"euro\" was taken for a currency");
        };
        assert_eq!(
            e.to_string(),
            "routecast.toml:1:12: currency \"euro\" is not an ISO 4217 code (three capital letters, e.g. EUR)"
        );
    }
}
