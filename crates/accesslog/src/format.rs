//! Named log formats and their detection.

use std::fmt;
use std::str::FromStr;

use crate::blocks::without_cr;
use crate::line::{CombinedParser, Duration, TimeIs};
use crate::{JsonLines, LineParser, TrafficRouter};

/// A supported log layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// nginx `combined` followed by `$request_time`; the time is the end.
    Nginx,
    /// nginx `combined` without a duration; the time is the end.
    NginxCombined,
    /// Apache combined followed by `%D` (microseconds); the time is the start.
    ApacheMicros,
    /// Apache combined followed by `%T` (whole seconds); the time is the start.
    ApacheSeconds,
    /// Apache/NCSA combined without a duration; the time is the start.
    Combined,
    /// Common Log Format (no referer, no agent); the time is the start.
    Common,
    /// JSON lines (see [`JsonLines`](crate::JsonLines)); the time is the end.
    Json,
    /// Traffic Control Traffic Router access log (no byte counts).
    TrafficRouter,
}

impl Format {
    /// All formats, in the order `--format` lists them.
    pub const ALL: [Format; 8] = [
        Format::Nginx,
        Format::NginxCombined,
        Format::ApacheMicros,
        Format::ApacheSeconds,
        Format::Combined,
        Format::Common,
        Format::Json,
        Format::TrafficRouter,
    ];

    /// The `--format` name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nginx => "nginx",
            Format::NginxCombined => "nginx-combined",
            Format::ApacheMicros => "apache-micros",
            Format::ApacheSeconds => "apache-seconds",
            Format::Combined => "combined",
            Format::Common => "common",
            Format::Json => "json",
            Format::TrafficRouter => "traffic-router",
        }
    }

    /// A parser for this format.
    pub fn parser(self) -> LineParser {
        let (combined, duration, time_is) = match self {
            Format::Json => return LineParser::Json(JsonLines::default()),
            Format::TrafficRouter => return LineParser::TrafficRouter(TrafficRouter),
            Format::Nginx => (true, Duration::Seconds, TimeIs::End),
            Format::NginxCombined => (true, Duration::None, TimeIs::End),
            Format::ApacheMicros => (true, Duration::Micros, TimeIs::Start),
            Format::ApacheSeconds => (true, Duration::WholeSeconds, TimeIs::Start),
            Format::Combined => (true, Duration::None, TimeIs::Start),
            Format::Common => (false, Duration::None, TimeIs::Start),
        };
        LineParser::Combined(CombinedParser::new(combined, duration, time_is))
    }

    /// The format most of `sample` lines parse in: a trailing decimal number
    /// is nginx `$request_time`, a trailing integer Apache `%D`; without one,
    /// combined or common. Blank lines (empty or white space) are left out.
    /// `None` when no format parses half the lines (or there are none:
    /// see [`Format::detect_head`]).
    pub fn detect<'a>(sample: impl IntoIterator<Item = &'a [u8]>) -> Option<Format> {
        let lines: Vec<&[u8]> = sample
            .into_iter()
            .filter(|l| !is_blank(l))
            .take(100)
            .collect();
        let candidates = [
            Format::Nginx,
            Format::ApacheMicros,
            Format::Combined,
            Format::Common,
            Format::Json,
            Format::TrafficRouter,
        ];
        let score = |f: Format| {
            let mut p = f.parser();
            lines.iter().filter(|l| p.parse(l).is_ok()).count()
        };
        let (best, n) = candidates
            .into_iter()
            .map(|f| (f, score(f)))
            .max_by_key(|(_, n)| *n)?;
        (n > 0 && n * 2 >= lines.len()).then_some(best)
    }

    /// The format of a log from the first bytes of it (at most 50 lines
    /// that are not blank, as they will be parsed: without `\r\n`
    /// endings). The last piece may be a line the read cut, so it is left
    /// out when there are others.
    pub fn detect_head(head: &[u8]) -> Option<Format> {
        Format::detect(Format::head_sample(head))
    }

    /// Whether `head` (the first bytes of a log) holds nothing but blank
    /// lines: an empty log, whose format does not matter.
    pub fn is_blank_head(head: &[u8]) -> bool {
        is_blank(head)
    }

    /// The lines of `head` detection reads: the first 50 that are not
    /// blank, leaving out a last piece cut by the read.
    fn head_sample(head: &[u8]) -> Vec<&[u8]> {
        fn lines(text: &[u8]) -> Vec<&[u8]> {
            text.split(|b| *b == b'\n')
                .map(without_cr)
                .filter(|l| !is_blank(l))
                .take(50)
                .collect()
        }
        let whole = memchr::memrchr(b'\n', head).map_or(&[][..], |i| &head[..i]);
        match lines(whole) {
            // The piece after the last newline is all there is.
            none if none.is_empty() => lines(head),
            some => some,
        }
    }
}

/// Whether `line` is empty or only white space.
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown log format {s:?} (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_layout() {
        let nginx =
            br#"192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "a" 0.004"#;
        let apache =
            br#"192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "a" 4000"#;
        let combined =
            br#"192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "a""#;
        let common = br#"192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5"#;
        assert_eq!(Format::detect([&nginx[..]]), Some(Format::Nginx));
        assert_eq!(Format::detect([&apache[..]]), Some(Format::ApacheMicros));
        assert_eq!(Format::detect([&combined[..]]), Some(Format::Combined));
        assert_eq!(Format::detect([&common[..]]), Some(Format::Common));
        let json = br#"{"msec":1,"remote_addr":"192.0.2.1","uri":"/a","bytes":5}"#;
        assert_eq!(Format::detect([&json[..]]), Some(Format::Json));
        assert_eq!(Format::detect([&b"not a log"[..]]), None);
        assert_eq!(
            "apache-seconds".parse::<Format>(),
            Ok(Format::ApacheSeconds)
        );
        assert!("ncsa".parse::<Format>().is_err());
    }

    #[test]
    fn the_head_of_a_log_shows_its_format_whatever_its_line_endings() {
        let line =
            r#"192.0.2.1 - - [25/Nov/2026:10:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "a" 0.004"#;
        let crlf = format!("{line}\r\n{line}\r\n");
        assert_eq!(Format::detect_head(crlf.as_bytes()), Some(Format::Nginx));
        // A line cut by the read is left out (it would not parse)...
        let cut = format!("{line}\n{line}\n{}", &line[..30]);
        assert_eq!(Format::detect_head(cut.as_bytes()), Some(Format::Nginx));
        // ...unless it is all there is.
        assert_eq!(Format::detect_head(line.as_bytes()), Some(Format::Nginx));
        assert_eq!(Format::detect_head(b""), None);
        assert_eq!(Format::detect_head(b"garbage\nmore garbage\n"), None);
    }

    #[test]
    fn host_names_and_requests_without_a_protocol_are_detected() {
        let common = "\n\r\n  \nin24.inetnebr.com - - [01/Aug/1995:00:00:01 -0400] \"GET /shuttle/missions/sts-68/news/sts-68-mcc-05.txt HTTP/1.0\" 200 1839\n\
            uplherc.upl.com - - [01/Aug/1995:00:00:07 -0400] \"GET /\" 304 0\n\
            ix-esc-ca2-07.ix.netcom.com - - [01/Aug/1995:00:00:09 -0400] \"GET /images/launch-logo.gif HTTP/1.0\" 200 1713\n";
        assert_eq!(Format::detect_head(common.as_bytes()), Some(Format::Common));
        let combined = "gw.example.co.il - - [01/Jul/2026:10:00:00 +0200] \"GET /~user/page.html\" 200 5 \"-\" \"Mozilla/4.08\"\n";
        assert_eq!(
            Format::detect_head(combined.as_bytes()),
            Some(Format::Combined)
        );
        assert!(Format::is_blank_head(b""));
        assert!(Format::is_blank_head(b"\n\r\n \t\n"));
        assert!(!Format::is_blank_head(common.as_bytes()));
    }
}
