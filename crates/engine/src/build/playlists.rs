//! Playlist rules: the content whose playlists `routecast serve` answers,
//! and where it fetches them.

use std::collections::HashMap;

use crate::config::PlaylistConfig;
use crate::error::{ConfigError, Source};
use crate::platform::{PlaylistOrigin, PlaylistRule, Site};

use super::sites::base_url;
use super::{content_prefix, err};

/// Longest time a playlist fetch may be given, ms.
const MAX_PLAYLIST_TIMEOUT_MS: u64 = 60_000;

/// Every playlist rule, checked; a prefix belongs to one rule.
pub(super) fn build_playlists(
    src: &Source,
    configs: &[PlaylistConfig],
    sites: &[Site],
) -> Result<Vec<PlaylistRule>, ConfigError> {
    let mut seen: HashMap<String, ()> = HashMap::new();
    let mut rules = Vec::with_capacity(configs.len());
    for c in configs {
        if c.content.get_ref().is_empty() {
            return Err(err(
                src,
                &c.content,
                "a playlist rule needs content = [\"/prefix/\", ...]",
            ));
        }
        let mut content = Vec::with_capacity(c.content.get_ref().len());
        for p in c.content.get_ref() {
            let prefix = content_prefix(src, p)?;
            if seen.insert(prefix.clone(), ()).is_some() {
                return Err(err(
                    src,
                    p,
                    format!("content prefix {prefix:?} is already in a playlist rule"),
                ));
            }
            content.push(prefix);
        }
        let origin = playlist_origin(src, c, &content, sites)?;
        let timeout_ms = match &c.timeout_ms {
            Some(t) if !(1..=MAX_PLAYLIST_TIMEOUT_MS).contains(t.get_ref()) => {
                return Err(err(
                    src,
                    t,
                    format!("playlist timeout_ms must be between 1 and {MAX_PLAYLIST_TIMEOUT_MS}"),
                ));
            }
            Some(t) => *t.get_ref(),
            None => 2000,
        };
        rules.push(PlaylistRule {
            content,
            origin,
            steering: c.steering.unwrap_or(false),
            timeout_ms,
            fallback: c.fallback.unwrap_or_default(),
        });
    }
    Ok(rules)
}

/// `"site"` (every site that may serve the content needs an `http://` URL to
/// fetch from) or the `http://` base URL of one origin.
fn playlist_origin(
    src: &Source,
    c: &PlaylistConfig,
    content: &[String],
    sites: &[Site],
) -> Result<PlaylistOrigin, ConfigError> {
    match &c.origin {
        Some(o) if o.get_ref() != "site" => {
            let url = base_url(o.get_ref()).map_err(|m| err(src, o, m))?;
            if url.starts_with("http://") {
                Ok(PlaylistOrigin::Url(url))
            } else {
                Err(err(src, o, format!(
                    "playlist origin {url:?} must be \"site\" or an http:// URL (https origins are not supported yet)"
                )))
            }
        }
        _ => {
            let overlaps = |site: &Site| {
                site.content.is_empty()
                    || site.content.iter().any(|s| {
                        content
                            .iter()
                            .any(|p| p.starts_with(s.as_str()) || s.starts_with(p.as_str()))
                    })
            };
            match sites.iter().find(|s| overlaps(s) && s.http_url().is_none()) {
                Some(s) => {
                    let message = format!(
                        "playlists with origin \"site\" are fetched over http://, but site {:?} has no http:// URL (add one to its urls, or set origin = \"http://...\")",
                        s.name
                    );
                    Err(match &c.origin {
                        Some(o) => err(src, o, message),
                        None => err(src, &c.content, message),
                    })
                }
                None => Ok(PlaylistOrigin::Site),
            }
        }
    }
}
