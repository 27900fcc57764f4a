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

#[cfg(test)]
mod tests;

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
    fn rebase(&self, from: &BaseUrl, u: &Url) -> Option<String> {
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

/// One line and its ending (`"\n"`, `"\r\n"`, or `""` for the last).
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    end: &'a str,
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    Blank,
    Comment,
    /// `#EXT…`: the tag name and its value after `:`, if any.
    Tag(&'a str, Option<&'a str>),
    Uri,
}

impl<'a> Line<'a> {
    fn kind(&self) -> Kind<'a> {
        let t = self.text;
        if t.trim().is_empty() {
            Kind::Blank
        } else if t.starts_with("#EXT") {
            match t[1..].split_once(':') {
                Some((name, value)) => Kind::Tag(name, Some(value)),
                None => Kind::Tag(&t[1..], None),
            }
        } else if t.starts_with('#') {
            Kind::Comment
        } else {
            Kind::Uri
        }
    }
}

/// Checks the playlist's bytes and splits it into lines.
fn lines(bytes: &[u8]) -> Result<Vec<Line<'_>>, PlaylistError> {
    let text = std::str::from_utf8(bytes).map_err(|e| PlaylistError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if text.starts_with('\u{feff}') {
        return Err(PlaylistError::ByteOrderMark);
    }
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let line = out.len() + 1;
        let (body, end, next) = match rest.find('\n') {
            Some(i) if rest[..i].ends_with('\r') => {
                (&rest[..i - 1], &rest[i - 1..=i], &rest[i + 1..])
            }
            Some(i) => (&rest[..i], &rest[i..=i], &rest[i + 1..]),
            None => (rest, "", ""),
        };
        if body.contains('\r') {
            return Err(PlaylistError::LoneCarriageReturn { line });
        }
        if body
            .chars()
            .any(|c| (c.is_control() && c != '\t') || c == '\u{2028}' || c == '\u{2029}')
        {
            return Err(PlaylistError::ControlCharacter { line });
        }
        out.push(Line { text: body, end });
        rest = next;
    }
    match out.first() {
        Some(l) if l.text.trim_end_matches([' ', '\t']) == "#EXTM3U" => Ok(out),
        _ => Err(PlaylistError::NotM3u8),
    }
}

/// The attributes of an attribute list: each name and the byte range of
/// its value (quotes included). `None` when the list is malformed.
fn attributes(list: &str) -> Option<Vec<(&str, std::ops::Range<usize>)>> {
    let b = list.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_blank = |mut i: usize| {
        while b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
            i += 1;
        }
        i
    };
    while skip_blank(i) < b.len() {
        let start = skip_blank(i);
        let eq = start + list[start..].find('=')?;
        let name = list[start..eq].trim_end();
        if name.is_empty()
            || !name
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-')
        {
            return None;
        }
        let v = eq + 1;
        let end = if b.get(v) == Some(&b'"') {
            v + 2 + list[v + 1..].find('"')?
        } else {
            list[v..].find(',').map_or(b.len(), |c| v + c)
        };
        out.push((name, v..end));
        let after = skip_blank(end);
        match b.get(after) {
            None => break,
            Some(b',') => i = after + 1,
            Some(_) => return None,
        }
    }
    Some(out)
}

/// The list with some quoted values replaced: `edit(name, inner)` returns
/// the new inner text. `None` when the list is malformed.
fn edit_attributes(
    list: &str,
    mut edit: impl FnMut(&str, &str) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(list.len() + 32);
    let mut at = 0;
    for (name, range) in attributes(list)? {
        let value = &list[range.clone()];
        let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        if let Some(new) = edit(name, inner) {
            out.push_str(&list[at..range.start]);
            out.push('"');
            out.push_str(&new);
            out.push('"');
            at = range.end;
        }
    }
    out.push_str(&list[at..]);
    Some(out)
}

/// `s` made safe inside a quoted-string: quotes, controls, white space and
/// non-ASCII percent-encoded.
fn quotable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'"' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

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

fn is_variant(tag: &str) -> bool {
    tag == "EXT-X-STREAM-INF" || tag == "EXT-X-I-FRAME-STREAM-INF"
}

fn push_pathway(list: &mut String, name: &str) {
    if !list.trim().is_empty() {
        list.push(',');
    }
    list.push_str(&format!("PATHWAY-ID=\"{}\"", quotable(name)));
}

/// Whether the playlist steers itself already.
fn self_steered(lines: &[Line<'_>]) -> bool {
    lines.iter().any(|l| match l.kind() {
        Kind::Tag("EXT-X-CONTENT-STEERING", _) => true,
        Kind::Tag(name, Some(v)) if is_variant(name) => {
            attributes(v).is_none_or(|a| a.iter().any(|(n, _)| *n == "PATHWAY-ID"))
        }
        _ => false,
    })
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
            out.push_str(&format!(
                "#EXT-X-CONTENT-STEERING:SERVER-URI=\"{}\",PATHWAY-ID=\"{}\"{eol}",
                quotable(uri),
                quotable(chosen.name)
            ));
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

/// The `GROUP-ID` of an `EXT-X-MEDIA` line that pathways copy (all but
/// closed captions, which have no URI).
fn copied_group<'a>(l: &Line<'a>) -> Option<&'a str> {
    let Kind::Tag("EXT-X-MEDIA", Some(v)) = l.kind() else {
        return None;
    };
    let a = attributes(v)?;
    let get = |n: &str| a.iter().find(|(k, _)| *k == n).map(|(_, r)| &v[r.clone()]);
    if get("TYPE") == Some("CLOSED-CAPTIONS") {
        return None;
    }
    get("GROUP-ID").map(|g| g.trim_matches('"'))
}

/// Appends the variants and rendition groups of `lines` for pathway `p`.
fn pathway_copy(
    how: &Rewrite<'_>,
    lines: &[Line<'_>],
    p: &Pathway<'_>,
    eol: &str,
    out: &mut String,
) {
    let groups: Vec<&str> = lines.iter().filter_map(copied_group).collect();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        let Kind::Tag(name, Some(value)) = line.kind() else {
            continue;
        };
        let copy = match name {
            "EXT-X-MEDIA" if copied_group(line).is_some() => how.tag_value(value, p, Some(&groups)),
            "EXT-X-I-FRAME-STREAM-INF" | "EXT-X-STREAM-INF" => {
                how.tag_value(value, p, Some(&groups)).map(|mut v| {
                    push_pathway(&mut v, p.name);
                    v
                })
            }
            _ => None,
        };
        let Some(copy) = copy else { continue };
        if name == "EXT-X-STREAM-INF" {
            let next = lines[i..]
                .iter()
                .find(|l| matches!(l.kind(), Kind::Uri | Kind::Tag("EXT-X-STREAM-INF", _)));
            let Some(uri) = next.filter(|l| l.kind() == Kind::Uri) else {
                continue;
            };
            out.push_str(&format!(
                "#{name}:{copy}{eol}{}{eol}",
                how.line(uri, p, false)
            ));
        } else {
            out.push_str(&format!("#{name}:{copy}{eol}"));
        }
    }
}
