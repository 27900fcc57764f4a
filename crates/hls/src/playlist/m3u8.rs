//! The M3U8 tokeniser: a playlist's text split into lines that keep their
//! endings, each line classified (blank, comment, tag, URI), and attribute
//! lists (`NAME=value,NAME="quoted value"`) read and edited in place.
//!
//! It is the project's one reading of M3U8 syntax: the segmenter's resume
//! parser ([`MediaPlaylist::parse`](super::MediaPlaylist::parse)) and the
//! redirector's playlist rewriter (`routecast-server`) both read through it,
//! each applying its own rules on top (what to refuse, what to rewrite).
//!
//! # Rules
//! * **Bytes are preserved.** Concatenating every [`Line`]'s `text` and
//!   `end` gives the input back, byte for byte; an edited attribute list
//!   differs from the original only inside the values that were edited.
//! * A line ends at `\n`; a `\r` right before it belongs to the ending
//!   (`"\r\n"`), and so does a `\r` that ends the whole text (`"\r"`, for
//!   the caller to judge); any other `\r` stays in the line's text.
//! * Nothing is validated beyond what the split needs: no UTF-8 check (the
//!   input is `&str`), no header check, no tag semantics. Never panics.
//!
//! # Example
//! ```
//! use routecast_hls::playlist::m3u8::{attributes, lines, Kind};
//!
//! let text = "#EXTM3U\r\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.bin\"\r\nseg1.ts";
//! let all: Vec<_> = lines(text).collect();
//! assert_eq!(all[1].end, "\r\n");
//! assert_eq!(all[2].end, "");
//! let Kind::Tag(name, Some(value)) = all[1].kind() else { panic!() };
//! assert_eq!(name, "EXT-X-KEY");
//! let attrs = attributes(value).expect("a well-formed list");
//! assert_eq!(attrs[1].0, "URI");
//! assert_eq!(&value[attrs[1].1.clone()], "\"k.bin\"");
//! assert_eq!(all[2].kind(), Kind::Uri);
//! assert_eq!(all.iter().map(|l| [l.text, l.end].concat()).collect::<String>(), text);
//! ```

use std::ops::Range;

/// One line and its ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line without its ending.
    pub text: &'a str,
    /// `"\n"` or `"\r\n"`; for the last line also `"\r"` (a text that
    /// ends in a carriage return) or `""` (unterminated).
    pub end: &'a str,
}

/// What a line is (RFC 8216 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// Empty or white space only.
    Blank,
    /// `#` not followed by `EXT`.
    Comment,
    /// `#EXT…`: the tag's name (without `#`) and its value after the first
    /// `:`, if there is one.
    Tag(&'a str, Option<&'a str>),
    /// Anything else: a URI.
    Uri,
}

impl<'a> Line<'a> {
    /// What this line is.
    pub fn kind(&self) -> Kind<'a> {
        let t = self.text;
        if t.trim().is_empty() {
            Kind::Blank
        } else if let Some(tag) = t.strip_prefix('#').filter(|r| r.starts_with("EXT")) {
            match tag.split_once(':') {
                Some((name, value)) => Kind::Tag(name, Some(value)),
                None => Kind::Tag(tag, None),
            }
        } else if t.starts_with('#') {
            Kind::Comment
        } else {
            Kind::Uri
        }
    }
}

/// The lines of `text`, in order, each with its ending.
pub fn lines(text: &str) -> Lines<'_> {
    Lines { rest: text }
}

/// The iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        let (line, next) = match rest.find('\n') {
            Some(i) if rest[..i].ends_with('\r') => (
                Line {
                    text: &rest[..i - 1],
                    end: &rest[i - 1..=i],
                },
                &rest[i + 1..],
            ),
            Some(i) => (
                Line {
                    text: &rest[..i],
                    end: &rest[i..=i],
                },
                &rest[i + 1..],
            ),
            None => match rest.strip_suffix('\r') {
                Some(text) => (Line { text, end: "\r" }, ""),
                None => (
                    Line {
                        text: rest,
                        end: "",
                    },
                    "",
                ),
            },
        };
        self.rest = next;
        Some(line)
    }
}

/// The attributes of an attribute list (RFC 8216 §4.2): each name and the
/// byte range of its value in `list` (quotes included). Blanks around
/// names, values and commas are allowed. `None` when the list is malformed:
/// a name that is not `[A-Z0-9-]+`, no `=`, an unclosed quote, or text after
/// a quoted value.
pub fn attributes(list: &str) -> Option<Vec<(&str, Range<usize>)>> {
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
/// the new inner text (without quotes), or `None` to keep the value.
/// Unquoted values are never edited. `None` when the list is malformed.
pub fn edit_attributes(
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
pub fn quotable(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_belong_to_their_line() {
        let got: Vec<(&str, &str)> = lines("a\r\nb\n\nc\rd\r\n\re")
            .map(|l| (l.text, l.end))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "\r\n"),
                ("b", "\n"),
                ("", "\n"),
                ("c\rd", "\r\n"),
                ("\re", "")
            ]
        );
        let last: Vec<(&str, &str)> = lines("a\nb\r\r").map(|l| (l.text, l.end)).collect();
        assert_eq!(last, [("a", "\n"), ("b\r", "\r")]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(lines("\n").map(|l| l.end).collect::<Vec<_>>(), ["\n"]);
    }

    #[test]
    fn kinds() {
        let kind = |text| Line { text, end: "" }.kind();
        assert_eq!(kind(" \t"), Kind::Blank);
        assert_eq!(kind("# EXT"), Kind::Comment);
        assert_eq!(kind("#EXTM3U"), Kind::Tag("EXTM3U", None));
        assert_eq!(kind("#EXTINF:4,a:b"), Kind::Tag("EXTINF", Some("4,a:b")));
        assert_eq!(
            kind("#EXT-X-ENDLIST:"),
            Kind::Tag("EXT-X-ENDLIST", Some(""))
        );
        assert_eq!(kind("seg.ts"), Kind::Uri);
    }

    #[test]
    fn attribute_lists() {
        let list = r#"BANDWIDTH=800000, CODECS="avc1.4d401f,mp4a.40.2" ,URI="a,b""#;
        let got: Vec<(&str, &str)> = attributes(list)
            .expect("well formed")
            .into_iter()
            .map(|(n, r)| (n, &list[r]))
            .collect();
        assert_eq!(
            got,
            [
                ("BANDWIDTH", "800000"),
                ("CODECS", "\"avc1.4d401f,mp4a.40.2\""),
                ("URI", "\"a,b\"")
            ]
        );
        for bad in ["uri=\"x\"", "URI", "URI=\"x", "URI=\"x\"y", "=1"] {
            assert_eq!(attributes(bad), None, "{bad:?}");
        }
        assert_eq!(attributes(""), Some(Vec::new()));
    }

    #[test]
    fn edits_touch_only_the_values_edited() {
        let list = r#"TYPE=AUDIO, GROUP-ID="aud",URI="en.m3u8""#;
        let edited = edit_attributes(list, |name, inner| {
            (name == "URI").then(|| format!("https://x/{inner}"))
        });
        assert_eq!(
            edited.as_deref(),
            Some(r#"TYPE=AUDIO, GROUP-ID="aud",URI="https://x/en.m3u8""#)
        );
        assert_eq!(quotable("a b\"é"), "a%20b%22%C3%A9");
    }

    proptest::proptest! {
        /// Lines put back together are the text, whatever the text.
        #[test]
        fn lines_give_the_text_back(text in "[a#\r\n \t\"=,]{0,40}") {
            let joined: String = lines(&text).map(|l| [l.text, l.end].concat()).collect();
            proptest::prop_assert_eq!(joined, text);
        }
    }
}
