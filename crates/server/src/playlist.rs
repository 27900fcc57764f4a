//! HLS playlist rewriting (RFC 8216 and its second edition): a playlist
//! fetched from an origin becomes one that points at the site the engine
//! chose, and a multivariant playlist can be made steerable (HLS Content
//! Steering).
//!
//! Pure: text in, text out, no IO.
//!
//! # What changes
//! * Every URI line (segments, variant streams) and every `URI="…"`
//!   attribute of the tags that carry one (`EXT-X-MEDIA`, `EXT-X-KEY`,
//!   `EXT-X-MAP`, `EXT-X-I-FRAME-STREAM-INF`, `EXT-X-PART`,
//!   `EXT-X-PRELOAD-HINT`, `EXT-X-RENDITION-REPORT`, `EXT-X-SESSION-DATA`,
//!   `EXT-X-SESSION-KEY`) is resolved against the playlist's own URL. When it
//!   lies under one of the origin's base URLs it becomes the site's base URL
//!   followed by the same path, query and fragment — an absolute URL.
//! * With steering, a multivariant playlist gets
//!   `#EXT-X-CONTENT-STEERING:SERVER-URI="…",PATHWAY-ID="<site>"` after
//!   `#EXTM3U` (after `#EXT-X-VERSION` when it is the second line), its
//!   variants get `PATHWAY-ID="<site>"`, and one copy of every variant
//!   (`EXT-X-STREAM-INF` with its URI, `EXT-X-I-FRAME-STREAM-INF`) per other
//!   pathway is appended, pointing at that pathway's site. Rendition groups
//!   (`EXT-X-MEDIA`, except `CLOSED-CAPTIONS`, which have no URI) are copied
//!   too, as `GROUP-ID="<group>@<site>"`, and each pathway's variants name
//!   their own pathway's groups, so that a player that switches pathway
//!   switches its audio and subtitles as well (the layout of the Content
//!   Steering specification's example, and what hls.js expects). A playlist
//!   that already has `EXT-X-CONTENT-STEERING` or `PATHWAY-ID` steers
//!   itself: only its URIs are rewritten.
//!
//! # What does not
//! Everything else stays byte for byte: tags, comments, blank lines, line
//! order and each line's ending (LF or CRLF; added lines take the first
//! line's). URIs on other hosts, other schemes (`data:`, `skd:`, …), URIs
//! with variable references (`{$name}`), URIs that do not parse and the
//! lines of a malformed attribute list are left untouched: routecast never
//! invents a host, and every URI it writes starts with a configured site's
//! base URL. (An untouched relative URI resolves against routecast's own
//! URL, where it is redirected to a site like any other request.)
//!
//! # What is refused
//! A playlist that is not UTF-8, starts with a byte order mark, holds
//! control characters (tab excepted) or Unicode line separators, a carriage
//! return that does not end a line (players disagree on whether these end a
//! line: an injection), or whose first line is not `#EXTM3U`.
//!
//! # Example
//! ```
//! use routecast_server::playlist::{rewrite, BaseUrl, Pathway, Rewrite, Url};
//!
//! let origin = [BaseUrl::parse("http://packager.internal")?];
//! let site = BaseUrl::parse("https://ams.cdn.example.net")?;
//! let url = Url::parse("http://packager.internal/live/news/index.m3u8")?;
//! let how = Rewrite {
//!     playlist_url: &url,
//!     origins: &origin,
//!     pathways: &[Pathway { name: "ams", base: &site }],
//!     steering_uri: None,
//! };
//! let text = "#EXTM3U\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\nhttps://ads.example/x.ts\n";
//! assert_eq!(
//!     rewrite(text.as_bytes(), &how)?,
//!     "#EXTM3U\n#EXTINF:4,\nhttps://ams.cdn.example.net/live/news/seg1.ts\n#EXTINF:4,\nhttps://ads.example/x.ts\n"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// URLs as the WHATWG URL Standard parses them (the `url` crate), as
/// browsers and hls.js resolve playlist URIs.
pub use url::Url;

mod base;
mod steering;
#[cfg(test)]
mod tests;

pub use base::{BadBase, BaseUrl};
#[cfg(test)]
use routecast_hls::playlist::m3u8::attributes;
use routecast_hls::playlist::m3u8::{self, edit_attributes, quotable, Kind, Line};
use steering::{is_variant, pathway_copy, push_pathway, self_steered, steering_tag};

/// Why a playlist cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaylistError {
    /// The first line is not `#EXTM3U`.
    #[error("not an M3U8 playlist (the first line is not #EXTM3U)")]
    NotM3u8,
    /// Invalid UTF-8.
    #[error("the playlist is not UTF-8 (byte {offset})")]
    NotUtf8 {
        /// Where the invalid sequence starts.
        offset: usize,
    },
    /// A byte order mark, which playlists must not have.
    #[error("the playlist starts with a byte order mark")]
    ByteOrderMark,
    /// A control character other than tab, CR and LF.
    #[error("line {line} holds a control character")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
    },
    /// A CR not followed by LF.
    #[error("line {line} holds a carriage return that does not end the line")]
    LoneCarriageReturn {
        /// 1-based line number.
        line: usize,
    },
}

/// A site a playlist may point at: in Content Steering terms, a pathway.
#[derive(Debug, Clone, Copy)]
pub struct Pathway<'a> {
    /// The site's name (the `PATHWAY-ID`).
    pub name: &'a str,
    /// Where its content is: rewritten URIs start here.
    pub base: &'a BaseUrl,
}

/// How to rewrite one playlist.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite<'a> {
    /// The URL the playlist was fetched from; relative URIs resolve against it.
    pub playlist_url: &'a Url,
    /// Base URLs whose URIs are rewritten (the origin's).
    pub origins: &'a [BaseUrl],
    /// The chosen site first, then the other pathways for steering, best
    /// first. Without any, the playlist is only checked.
    pub pathways: &'a [Pathway<'a>],
    /// The steering manifest's URI (usually relative, on routecast):
    /// multivariant playlists become steerable. `None`: URIs only.
    pub steering_uri: Option<&'a str>,
}

/// Tags whose `URI` attribute is a URI to rewrite.
const URI_TAGS: [&str; 9] = [
    "EXT-X-MEDIA",
    "EXT-X-KEY",
    "EXT-X-MAP",
    "EXT-X-I-FRAME-STREAM-INF",
    "EXT-X-PART",
    "EXT-X-PRELOAD-HINT",
    "EXT-X-RENDITION-REPORT",
    "EXT-X-SESSION-DATA",
    "EXT-X-SESSION-KEY",
];

/// Variant attributes that name a rendition group.
const GROUP_REFS: [&str; 3] = ["AUDIO", "VIDEO", "SUBTITLES"];

impl Rewrite<'_> {
    /// `uri` pointed at pathway `p`, when it lies under an origin base.
    fn target(&self, uri: &str, p: &Pathway<'_>) -> Option<String> {
        if uri.contains("{$") {
            return None;
        }
        let u = self.playlist_url.join(uri.trim()).ok()?;
        self.origins.iter().find_map(|o| p.base.rebase(o, &u))
    }

    /// One tag's value with its `URI` attributes pointed at `p` and, for
    /// pathway copies, its rendition groups renamed.
    fn tag_value(&self, value: &str, p: &Pathway<'_>, groups: Option<&[&str]>) -> Option<String> {
        edit_attributes(value, |name, inner| match name {
            "URI" => self.target(inner, p),
            "GROUP-ID" => groups.map(|_| format!("{inner}@{}", quotable(p.name))),
            n if GROUP_REFS.contains(&n) => groups
                .filter(|g| g.contains(&inner))
                .map(|_| format!("{inner}@{}", quotable(p.name))),
            _ => None,
        })
    }

    /// One line of the playlist for the chosen site (`p`); `pathway_id`:
    /// variants get `PATHWAY-ID`.
    fn line(&self, line: &Line<'_>, p: &Pathway<'_>, pathway_id: bool) -> String {
        match line.kind() {
            Kind::Uri => self
                .target(line.text, p)
                .unwrap_or_else(|| line.text.to_string()),
            Kind::Tag(name, Some(value))
                if URI_TAGS.contains(&name) || name == "EXT-X-STREAM-INF" =>
            {
                let Some(mut v) = self.tag_value(value, p, None) else {
                    return line.text.to_string();
                };
                if pathway_id && is_variant(name) {
                    push_pathway(&mut v, p.name);
                }
                format!("#{name}:{v}")
            }
            _ => line.text.to_string(),
        }
    }
}

/// Rewrites a playlist (see the module documentation).
pub fn rewrite(bytes: &[u8], how: &Rewrite<'_>) -> Result<String, PlaylistError> {
    let lines = lines(bytes)?;
    let Some(chosen) = how.pathways.first() else {
        return Ok(lines.iter().map(|l| [l.text, l.end].concat()).collect());
    };
    let multivariant = lines
        .iter()
        .any(|l| matches!(l.kind(), Kind::Tag("EXT-X-STREAM-INF", _)));
    let steering = how
        .steering_uri
        .filter(|_| multivariant && !self_steered(&lines));
    // `lines` has checked that the first line is `#EXTM3U`: there is one.
    let eol = match lines[0].end {
        "" => "\n",
        e => e,
    };
    let insert_after = match lines.get(1) {
        Some(l) if matches!(l.kind(), Kind::Tag("EXT-X-VERSION", _)) => 1,
        _ => 0,
    };
    let mut out = String::with_capacity(bytes.len() * (1 + how.pathways.len()) + 128);
    for (i, line) in lines.iter().enumerate() {
        out.push_str(&how.line(line, chosen, steering.is_some()));
        out.push_str(line.end);
        if let (Some(uri), true) = (steering, i == insert_after) {
            if line.end.is_empty() {
                out.push_str(eol);
            }
            out.push_str(&steering_tag(uri, chosen.name, eol));
        }
    }
    if steering.is_some() {
        for p in &how.pathways[1..] {
            if !out.ends_with('\n') {
                out.push_str(eol);
            }
            pathway_copy(how, &lines, p, eol, &mut out);
        }
    }
    Ok(out)
}

/// Checks the playlist's bytes (the rules under "What is refused") and
/// splits it into lines with the project's one M3U8 tokeniser.
fn lines(bytes: &[u8]) -> Result<Vec<Line<'_>>, PlaylistError> {
    let text = std::str::from_utf8(bytes).map_err(|e| PlaylistError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if text.starts_with('\u{feff}') {
        return Err(PlaylistError::ByteOrderMark);
    }
    let mut out = Vec::new();
    for (l, line) in m3u8::lines(text).zip(1..) {
        if l.text.contains('\r') || l.end == "\r" {
            return Err(PlaylistError::LoneCarriageReturn { line });
        }
        if l.text
            .chars()
            .any(|c| (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}')
        {
            return Err(PlaylistError::ControlCharacter { line });
        }
        out.push(l);
    }
    match out.first() {
        Some(l) if l.text.trim_end_matches([' ', '\t']) == "#EXTM3U" => Ok(out),
        _ => Err(PlaylistError::NotM3u8),
    }
}
