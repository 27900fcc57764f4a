//! Apache Traffic Control Traffic Router access logs:
//!
//! ```text
//! 1446442214.685 qtype=HTTP chi=129.100.254.79 url="http://foo.cdn.com/live5.m3u8" cqhm=GET cqhv=HTTP/1.1 rtype=GEO rloc="-" rdtl=- rerr="-" pssc=302 ttms=3 rurl=http://edge.cdn.com/live5.m3u8 rh="-"
//! ```
//!
//! The first item is the time the request arrived (Unix seconds with
//! milliseconds); then `key=value` pairs, values optionally quoted. The
//! router only redirects, so its log has no byte counts: `bytes` is 0 and a
//! replay gives each request a size of its own choosing. DNS queries
//! (`qtype=DNS`) are not HTTP requests and are refused as such.

use memchr::memchr;

use crate::line::{Client, LineError, Request, TimeIs};

/// Parses Traffic Router access-log lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrafficRouter;

/// The next `key=value` pair and the rest of the line.
fn pair(s: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    if s.is_empty() {
        return None;
    }
    let eq = memchr(b'=', s)?;
    let (key, rest) = (&s[..eq], &s[eq + 1..]);
    if let Some(q) = rest.strip_prefix(b"\"") {
        let end = memchr(b'"', q)?;
        Some((key, &q[..end], &q[end + 1..]))
    } else {
        let end = memchr(b' ', rest).unwrap_or(rest.len());
        Some((key, &rest[..end], &rest[end..]))
    }
}

impl TrafficRouter {
    /// Parses one line (without its newline).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Request<'a>, LineError> {
        let sp = memchr(b' ', line).ok_or(LineError::Time)?;
        let t = std::str::from_utf8(&line[..sp]).map_err(|_| LineError::Time)?;
        let secs: f64 = t
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or(LineError::Time)?;
        let (mut client, mut url, mut method, mut status, mut ttms, mut http) =
            (None, None, "GET", 302u16, None, false);
        let mut rest = &line[sp..];
        while let Some((k, v, r)) = pair(rest) {
            rest = r;
            match k {
                b"qtype" => http = v == b"HTTP",
                b"chi" => client = std::str::from_utf8(v).ok().and_then(|c| c.parse().ok()),
                b"url" => url = std::str::from_utf8(v).ok(),
                b"cqhm" => method = std::str::from_utf8(v).map_err(|_| LineError::Utf8)?,
                b"pssc" => {
                    status = std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or(LineError::Status)?
                }
                b"ttms" => {
                    ttms = std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse::<f64>().ok())
                        .filter(|d| d.is_finite() && *d >= 0.0)
                }
                _ => {}
            }
        }
        if !rest.iter().all(u8::is_ascii_whitespace) {
            return Err(LineError::Trailing);
        }
        if !http {
            return Err(LineError::Request);
        }
        let client = Client::Ip(client.ok_or(LineError::Client)?);
        let url = url.ok_or(LineError::Request)?;
        // http://host/path?query → /path?query
        let path = url
            .split_once("://")
            .map_or(url, |(_, r)| r.find('/').map_or("/", |i| &r[i..]));
        Ok(Request {
            client,
            logged_ms: (secs * 1000.0).round() as i64,
            time_is: TimeIs::Start,
            duration_ms: ttms.map(|d| d.round() as u64),
            method,
            path: path.as_bytes(),
            status,
            bytes: 0,
            user_agent: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_control_documentation_examples() {
        let mut p = TrafficRouter;
        let line = br#"1446442214.685 qtype=HTTP chi=129.100.254.79 url="http://foo.geo2.cdn.com/live5.m3u8" cqhm=GET cqhv=HTTP/1.1 rtype=GEO rloc="-" rdtl=- rerr="-" rgb="N6G:1:X:0:0" pssc=302 ttms=3 rurl=http://cent6-44.geo2.cdn.com/live5.m3u8 rh="-""#;
        let r = p.parse(line).expect("parses");
        assert_eq!(
            r.client,
            Client::Ip("129.100.254.79".parse::<std::net::IpAddr>().expect("ip"))
        );
        assert_eq!(
            (r.logged_ms, r.path, r.status, r.duration_ms),
            (1_446_442_214_685, &b"/live5.m3u8"[..], 302, Some(3))
        );
        let line = br#"144140678.000 qtype=HTTP chi=192.168.7.6 rhi=- url="http://example.com/index.html?foo=bar" cqhm=GET cqhv=HTTP/1.1 rtype=- rloc="-" rdtl=- rerr="-" rgb="-" rurl="-" rurls="-" uas="null" rh="-""#;
        assert_eq!(
            p.parse(line).map(|r| r.path),
            Ok(&b"/index.html?foo=bar"[..])
        );
        let dns = br#"144140678.000 qtype=DNS chi=192.168.10.11 ttms=789 rtype=CZ rloc="40.252611,58.439389" rdtl=- rerr="-""#;
        assert_eq!(p.parse(dns).map(|_| ()), Err(LineError::Request));
        assert_eq!(p.parse(b"x qtype=HTTP").map(|_| ()), Err(LineError::Time));
        assert_eq!(
            p.parse(br#"1.0 qtype=HTTP url="http://a/b""#).map(|_| ()),
            Err(LineError::Client)
        );
    }
}
