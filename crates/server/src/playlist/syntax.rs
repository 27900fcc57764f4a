//! The M3U8 syntax the rewriter reads: the playlist checked and split into
//! lines (each with its ending, so that what is not rewritten stays byte for
//! byte), what each line is, and attribute lists with quoted values.

use super::PlaylistError;

/// One line and its ending (`"\n"`, `"\r\n"`, or `""` for the last).
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    /// The line without its ending.
    pub text: &'a str,
    /// `"\n"`, `"\r\n"`, or `""` for an unterminated last line.
    pub end: &'a str,
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    /// Empty or white space only.
    Blank,
    /// `#` not followed by `EXT`.
    Comment,
    /// `#EXT…`: the tag name and its value after `:`, if any.
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
pub(super) fn lines(bytes: &[u8]) -> Result<Vec<Line<'_>>, PlaylistError> {
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
pub(super) fn attributes(list: &str) -> Option<Vec<(&str, std::ops::Range<usize>)>> {
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
pub(super) fn edit_attributes(
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
pub(super) fn quotable(s: &str) -> String {
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
