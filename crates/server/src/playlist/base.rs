//! Base URLs: where a site's or the origin's content lives, and how a URI
//! under one is re-rooted at another.

use super::Url;

/// Why a base URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadBase {
    /// Not `http(s)://host[:port][/path]` without query, fragment,
    /// credentials, quotes or white space.
    #[error("{0:?} is not an http(s) base URL")]
    NotBase(String),
}

/// A base URL under which content lives: a site's or the origin's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// As written, without trailing `/`: what rewritten URIs start with.
    text: String,
    /// Parsed, for comparisons.
    url: Url,
    /// The parsed path without trailing `/` (`""` for the root).
    path: String,
}

impl BaseUrl {
    /// Parses `http(s)://host[:port][/path]`.
    pub fn parse(text: &str) -> Result<Self, BadBase> {
        let bad = || BadBase::NotBase(text.to_string());
        let text = text.trim_end_matches('/');
        let clean = !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_graphic() && !"?#@\"\\".contains(c));
        let url = Url::parse(text).map_err(|_| bad())?;
        if !clean || !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad());
        }
        let path = url.path().trim_end_matches('/').to_string();
        Ok(Self {
            text: text.to_string(),
            url,
            path,
        })
    }

    /// The base URL as written, without trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `u` re-rooted at this base when it lies under `from`: this base,
    /// then `u`'s path below `from`'s, its query and fragment.
    pub(super) fn rebase(&self, from: &BaseUrl, u: &Url) -> Option<String> {
        let same_server = u.scheme() == from.url.scheme()
            && u.host() == from.url.host()
            && u.port_or_known_default() == from.url.port_or_known_default();
        let rest = u.path().strip_prefix(from.path.as_str())?;
        if !same_server || !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let mut out = String::with_capacity(self.text.len() + u.as_str().len());
        out.push_str(&self.text);
        out.push_str(if rest.is_empty() { "/" } else { rest });
        if let Some(q) = u.query() {
            out.push('?');
            out.push_str(q);
        }
        if let Some(f) = u.fragment() {
            out.push('#');
            out.push_str(f);
        }
        Some(out)
    }
}
