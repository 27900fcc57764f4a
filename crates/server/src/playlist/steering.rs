//! Content Steering: the pathway copies of a multivariant playlist's
//! variants and rendition groups, one set per other site, and how a playlist
//! that steers itself is recognised.

use super::{Pathway, Rewrite};
use routecast_hls::playlist::m3u8::{attributes, quotable, Kind, Line};

/// Whether `tag` is a variant stream (`EXT-X-STREAM-INF`,
/// `EXT-X-I-FRAME-STREAM-INF`).
pub(super) fn is_variant(tag: &str) -> bool {
    tag == "EXT-X-STREAM-INF" || tag == "EXT-X-I-FRAME-STREAM-INF"
}

/// Appends `PATHWAY-ID="<name>"` to an attribute list.
pub(super) fn push_pathway(list: &mut String, name: &str) {
    if !list.trim().is_empty() {
        list.push(',');
    }
    list.push_str(&format!("PATHWAY-ID=\"{}\"", quotable(name)));
}

/// The `EXT-X-CONTENT-STEERING` line (with its ending) that makes a
/// multivariant playlist steerable from `uri`, starting on `pathway`.
pub(super) fn steering_tag(uri: &str, pathway: &str, eol: &str) -> String {
    format!(
        "#EXT-X-CONTENT-STEERING:SERVER-URI=\"{}\",PATHWAY-ID=\"{}\"{eol}",
        quotable(uri),
        quotable(pathway)
    )
}

/// Whether the playlist steers itself already.
pub(super) fn self_steered(lines: &[Line<'_>]) -> bool {
    lines.iter().any(|l| match l.kind() {
        Kind::Tag("EXT-X-CONTENT-STEERING", _) => true,
        Kind::Tag(name, Some(v)) if is_variant(name) => {
            attributes(v).is_none_or(|a| a.iter().any(|(n, _)| *n == "PATHWAY-ID"))
        }
        _ => false,
    })
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
pub(super) fn pathway_copy(
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
