//! Which files the origin serves, as what, and whether a file not on disk
//! yet is the hinted next one (worth holding the request for).
//!
//! Pure functions of the request path and the published state; the IO is in
//! the parent module.

use super::Published;

/// Longest file name served (the common file-system limit).
const MAX_NAME: usize = 255;

/// Why a request path names no file of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// Not one plain name, but harmless (`/`, `/a/b`): 404.
    NotFound,
    /// A dot-dot, percent-encoding or backslash: someone is trying to leave
    /// the directory, or to smuggle a separator past this check: 400.
    Suspicious,
}

/// The file name in a request path: `/name`, where `name` is ASCII letters,
/// digits, `.`, `_` and `-` only, does not start with a dot (no `..`, no
/// hidden or temporary files such as the store's `.name.tmp.*`) and is at
/// most 255 bytes. Nothing is percent-decoded: our file names never need it.
pub(crate) fn file_name(path: &str) -> Result<&str, BadPath> {
    if suspicious(path) {
        return Err(BadPath::Suspicious);
    }
    plain_name(path.strip_prefix('/').ok_or(BadPath::NotFound)?)
}

/// `path` with each percent-encoded unreserved character (letters, digits,
/// `-`, `.`, `_`, `~`) decoded: `/%69ndex.m3u8` is `/index.m3u8`, as
/// RFC 3986 §6.2.2.2 says they are equivalent (and nginx and every cache
/// treat them so). Any other percent-encoding stays as it is (and is then
/// refused by [`suspicious`]), and the decoded path goes through the same
/// checks as a plain one: `/%2e%2e/x` is `/../x`, 400. Hand-written: the
/// `percent-encoding` crate decodes every octet, not only these.
pub(crate) fn decode_unreserved(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('%') {
        return std::borrow::Cow::Borrowed(path);
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        match decoded {
            Some(b) => {
                out.push(char::from(b));
                i += 3;
            }
            None => {
                // A whole character: `path` is ASCII (hyper's URIs are).
                let len = path[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&path[i..i + len]);
                i += len;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A dot-dot, percent-encoding or backslash anywhere in the path.
pub(crate) fn suspicious(path: &str) -> bool {
    path.contains("..") || path.contains('%') || path.contains('\\')
}

/// `name` itself if it is a plain file name (the rules of [`file_name`],
/// without the leading slash).
pub(crate) fn plain_name(name: &str) -> Result<&str, BadPath> {
    let plain = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain {
        Ok(name)
    } else {
        Err(BadPath::NotFound)
    }
}

/// A media file the segmenter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// `seg{msn}.ts`.
    Segment(u64),
    /// `seg{msn}.{part}.ts`: part `part` (from 0) of segment `msn`.
    Part(u64, u64),
}

/// The media file `name` is, if it is one (numbers in canonical decimal,
/// as the segmenter writes them: `seg05.ts` is not segment 5).
pub(crate) fn media(name: &str) -> Option<Media> {
    let numbers = name.strip_prefix("seg")?.strip_suffix(".ts")?;
    match numbers.split_once('.') {
        None => Some(Media::Segment(canonical(numbers)?)),
        Some((msn, part)) => Some(Media::Part(canonical(msn)?, canonical(part)?)),
    }
}

fn canonical(digits: &str) -> Option<u64> {
    let n: u64 = digits.parse().ok()?;
    (n.to_string() == digits).then_some(n)
}

/// Whether `media`, not on disk, is the next part or segment the segmenter
/// will publish (at most one ahead of [`Published::last_part`] /
/// [`Published::last_segment`]): the resource an `EXT-X-PRELOAD-HINT` names.
///
/// * The next segment is `last_segment + 1` (with no segment yet, the one
///   whose parts are being published, else 0).
/// * The next part is `(m, i + 1)` after `last_part = (m, i)` while segment
///   `m` is still open, or part 0 of the segment after `m` (the cutter may
///   close segment `m` at any part boundary). With no part yet, part 0 of
///   the next segment.
/// * Nothing is upcoming once the input ended.
pub(crate) fn upcoming(media: Media, p: &Published) -> bool {
    if p.ended {
        return false;
    }
    let next_segment = match (p.last_segment, p.last_part) {
        (Some(s), _) => s.saturating_add(1),
        (None, Some((m, _))) => m,
        (None, None) => 0,
    };
    match (media, p.last_part) {
        (Media::Segment(m), _) => m == next_segment,
        (Media::Part(m, n), Some((pm, pi))) => {
            let open = p.last_segment.is_none_or(|s| s < pm);
            (open && m == pm && n == pi.saturating_add(1)) || (m == pm.saturating_add(1) && n == 0)
        }
        (Media::Part(m, n), None) => m == next_segment && n == 0,
    }
}

/// The `Content-Type` for a file name, by extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("m3u8") => super::PLAYLIST_TYPE,
        Some("ts") => "video/mp2t",
        Some("mp4" | "m4s") => "video/mp4",
        Some("aac") => "audio/aac",
        Some("vtt") => "text/vtt; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Range {
    /// No range, or one we answer with the whole file (several ranges, or
    /// a unit other than bytes, which RFC 9110 §14.2 lets a server ignore).
    Whole,
    /// Bytes `start..end` (end exclusive).
    Bytes {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// A byte range that lies beyond the end of the file: 416.
    Unsatisfiable,
}

/// Reads one `bytes=` range (`a-b`, `a-`, `-n`) against a file of `len`
/// bytes (RFC 9110 §14.1.2). A malformed header is ignored, as §14.2 says.
pub(crate) fn range(header: Option<&str>, len: u64) -> Range {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (number(first), number(last)) {
        // Suffix: the last n bytes.
        (None, Some(n)) if first.trim().is_empty() => match n {
            0 => Range::Unsatisfiable,
            n => Range::Bytes {
                start: len.saturating_sub(n),
                end: len,
            },
        },
        (Some(start), None) if last.trim().is_empty() => bounded(start, len, len),
        (Some(start), Some(last)) if last >= start => {
            bounded(start, last.saturating_add(1).min(len), len)
        }
        _ => Range::Whole,
    }
}

fn bounded(start: u64, end: u64, len: u64) -> Range {
    if start >= len {
        Range::Unsatisfiable
    } else {
        Range::Bytes { start, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Encoding any unreserved characters of a path (upper or lower
        /// case hex) decodes back to the plain path; every `%` left after
        /// decoding starts an encoding of a reserved or invalid octet.
        #[test]
        fn encoded_unreserved_decode_to_the_plain_path(
            plain in "/[A-Za-z0-9._~-]{0,20}",
            encode in proptest::collection::vec(proptest::bool::ANY, 21),
            upper in proptest::bool::ANY,
        ) {
            let encoded: String = plain
                .chars()
                .zip(encode.iter().chain(std::iter::repeat(&false)))
                .map(|(c, &e)| match (e && c != '/', upper) {
                    (true, true) => format!("%{:02X}", c as u32),
                    (true, false) => format!("%{:02x}", c as u32),
                    (false, _) => c.to_string(),
                })
                .collect();
            proptest::prop_assert_eq!(decode_unreserved(&encoded), plain);
        }

        #[test]
        fn decoding_never_panics_and_keeps_what_it_cannot_decode(path in "\\PC{0,24}") {
            let decoded = decode_unreserved(&path);
            proptest::prop_assert!(decoded.len() <= path.len());
            if !path.contains('%') {
                proptest::prop_assert_eq!(&decoded[..], &path[..]);
            }
        }
    }

    #[test]
    fn only_unreserved_octets_are_decoded() {
        for (path, decoded) in [
            ("/%69ndex.m3u8", "/index.m3u8"),
            ("/%7E%2D%2e%5f", "/~-._"),
            ("/%2F%25%20%3f", "/%2F%25%20%3f"),
            ("/%+6%6", "/%+6%6"),
            ("/%é%41", "/%éA"),
        ] {
            assert_eq!(decode_unreserved(path), decoded, "{path}");
        }
    }

    fn at(last_segment: Option<u64>, last_part: Option<(u64, u64)>) -> Published {
        Published {
            last_segment,
            last_part,
            target_duration: 2,
            ..Published::default()
        }
    }

    #[test]
    fn only_plain_names_pass() {
        assert_eq!(file_name("/index.m3u8"), Ok("index.m3u8"));
        assert_eq!(file_name("/seg12.3.ts"), Ok("seg12.3.ts"));
        assert_eq!(file_name("/archive_1-a.m3u8"), Ok("archive_1-a.m3u8"));
        for suspicious in [
            "/../secret",
            "/..",
            "/a/../b",
            "/..%2fsecret",
            "/%2e%2e/secret",
            "/seg%31.ts",
            "/a\\b",
        ] {
            assert_eq!(
                file_name(suspicious),
                Err(BadPath::Suspicious),
                "{suspicious}"
            );
        }
        let long = format!("/{}", "a".repeat(256));
        for missing in [
            "/",
            "",
            "//etc/passwd",
            "/a/b",
            "/.hidden",
            "/.index.m3u8.tmp.1.2",
            "/a b",
            "/é.ts",
            long.as_str(),
        ] {
            assert_eq!(file_name(missing), Err(BadPath::NotFound), "{missing}");
        }
    }

    #[test]
    fn media_names_are_canonical() {
        assert_eq!(media("seg0.ts"), Some(Media::Segment(0)));
        assert_eq!(media("seg17.3.ts"), Some(Media::Part(17, 3)));
        for not in [
            "seg.ts",
            "seg05.ts",
            "seg5.01.ts",
            "seg-1.ts",
            "seg+1.ts",
            "seg1.2.3.ts",
            "seg1.ts.ts",
            "index.m3u8",
            "seg99999999999999999999.ts",
        ] {
            assert_eq!(media(not), None, "{not}");
        }
    }

    #[test]
    fn only_the_next_part_or_segment_is_upcoming() {
        // Segment 5 complete, parts of 6 under way: (6, 1) is the last part.
        let p = at(Some(5), Some((6, 1)));
        assert!(upcoming(Media::Part(6, 2), &p));
        assert!(upcoming(Media::Part(7, 0), &p), "6 may close at any part");
        assert!(upcoming(Media::Segment(6), &p));
        for not in [
            Media::Part(6, 1),
            Media::Part(6, 3),
            Media::Part(7, 1),
            Media::Part(8, 0),
            Media::Segment(5),
            Media::Segment(7),
        ] {
            assert!(!upcoming(not, &p), "{not:?}");
        }
        // Segment 6 just completed with part 1 as its last: no part 2 of 6.
        let closed = at(Some(6), Some((6, 1)));
        assert!(!upcoming(Media::Part(6, 2), &closed));
        assert!(upcoming(Media::Part(7, 0), &closed));
        assert!(upcoming(Media::Segment(7), &closed));
        // Nothing published: segment 0 and its first part.
        let empty = at(None, None);
        assert!(upcoming(Media::Segment(0), &empty));
        assert!(upcoming(Media::Part(0, 0), &empty));
        assert!(!upcoming(Media::Part(0, 1), &empty));
        // Without low latency: the next segment only.
        let plain = at(Some(3), None);
        assert!(upcoming(Media::Segment(4), &plain));
        assert!(!upcoming(Media::Segment(5), &plain));
        // Ended: nothing more comes.
        let ended = Published {
            ended: true,
            ..at(Some(3), None)
        };
        assert!(!upcoming(Media::Segment(4), &ended));
    }

    #[test]
    fn ranges() {
        assert_eq!(range(None, 10), Range::Whole);
        assert_eq!(
            range(Some("bytes=2-5"), 10),
            Range::Bytes { start: 2, end: 6 }
        );
        assert_eq!(
            range(Some("bytes=2-"), 10),
            Range::Bytes { start: 2, end: 10 }
        );
        assert_eq!(
            range(Some("bytes=-3"), 10),
            Range::Bytes { start: 7, end: 10 }
        );
        assert_eq!(
            range(Some("bytes=-30"), 10),
            Range::Bytes { start: 0, end: 10 }
        );
        assert_eq!(
            range(Some("bytes=8-100"), 10),
            Range::Bytes { start: 8, end: 10 }
        );
        assert_eq!(range(Some("bytes=10-"), 10), Range::Unsatisfiable);
        assert_eq!(range(Some("bytes=-0"), 10), Range::Unsatisfiable);
        for ignored in [
            "bytes=5-2",
            "bytes=a-b",
            "bytes=1-2,4-5",
            "items=1-2",
            "bytes=-",
            "bytes=+1-2",
        ] {
            assert_eq!(range(Some(ignored), 10), Range::Whole, "{ignored}");
        }
    }
}
