//! JSON lines: one object per line, as nginx writes with
//! `log_format … escape=json '{"time_local":"$time_local", …}'`.
//!
//! Recognised keys (the first present wins): time `time_local`
//! (`dd/Mon/yyyy:HH:MM:SS +zone`), `msec` or `timestamp` (Unix seconds,
//! number or string); client `remote_addr`, `client`, `ip`; request
//! `request` (`METHOD target PROTOCOL`) or `request_uri`, `uri`, `path`;
//! `status`; bytes `body_bytes_sent`, `bytes_sent`, `bytes`; duration
//! `request_time` (seconds). The time is the end of the request, as nginx
//! logs it. Other keys are ignored.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::line::{parse_client, Client, LineError, Request, TimeIs};
use crate::time::TimestampParser;

/// Parses JSON-lines logs.
#[derive(Debug, Clone, Default)]
pub struct JsonLines {
    clock: TimestampParser,
}

/// The client of a JSON text: an address, or a host name (which, being
/// letters, digits, hyphens and dots, is never escaped and so borrowed).
fn client(text: Cow<'_, str>) -> Option<Client<'_>> {
    match text {
        Cow::Borrowed(s) => parse_client(s.as_bytes()),
        Cow::Owned(s) => s.parse().ok().map(Client::Ip),
    }
}

fn text<'a>(v: &'a RawValue) -> Option<Cow<'a, str>> {
    let raw = v.get();
    if raw.starts_with('"') {
        // Borrow when there is nothing to unescape.
        let inner = &raw[1..raw.len().checked_sub(1)?];
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(raw))
    }
}

fn first<'a>(map: &HashMap<&'a str, &'a RawValue>, keys: &[&str]) -> Option<&'a RawValue> {
    keys.iter().find_map(|k| map.get(k).copied())
}

fn borrowed(c: Cow<'_, str>) -> Option<&str> {
    match c {
        Cow::Borrowed(s) => Some(s),
        Cow::Owned(_) => None,
    }
}

impl JsonLines {
    /// Parses one line (without its newline).
    pub fn parse<'a>(&mut self, line: &'a [u8]) -> Result<Request<'a>, LineError> {
        let s = std::str::from_utf8(line).map_err(|_| LineError::Utf8)?;
        let map: HashMap<&'a str, &'a RawValue> =
            serde_json::from_str(s).map_err(|_| LineError::Request)?;
        let client = first(&map, &["remote_addr", "client", "ip"])
            .and_then(text)
            .and_then(client)
            .ok_or(LineError::Client)?;
        let logged_ms = match first(&map, &["time_local"]).and_then(text) {
            Some(t) => self.clock.parse(t.as_bytes()).ok_or(LineError::Time)?,
            None => first(&map, &["msec", "timestamp"])
                .and_then(text)
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|t| t.is_finite())
                .map(|t| (t * 1000.0).round() as i64)
                .ok_or(LineError::Time)?,
        };
        let (method, path) = match first(&map, &["request"]) {
            Some(r) => {
                let r = borrowed(text(r).ok_or(LineError::Request)?).ok_or(LineError::Request)?;
                let mut it = r.splitn(3, ' ');
                let (m, p) = (
                    it.next().unwrap_or(""),
                    it.next().ok_or(LineError::Request)?,
                );
                (m, p)
            }
            None => {
                let p = first(&map, &["request_uri", "uri", "path"])
                    .and_then(text)
                    .ok_or(LineError::Request)?;
                ("GET", borrowed(p).ok_or(LineError::Request)?)
            }
        };
        if path.is_empty() {
            return Err(LineError::Request);
        }
        let status = match first(&map, &["status"]) {
            Some(v) => text(v)
                .and_then(|t| t.parse::<u16>().ok())
                .ok_or(LineError::Status)?,
            None => 200,
        };
        let bytes = first(&map, &["body_bytes_sent", "bytes_sent", "bytes"])
            .and_then(text)
            .and_then(|t| if t == "-" { Some(0) } else { t.parse().ok() })
            .ok_or(LineError::Bytes)?;
        let duration_ms = match first(&map, &["request_time"]).and_then(text) {
            None => None,
            Some(t) if t == "-" || t.is_empty() => None,
            Some(t) => Some(
                t.parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| (d * 1000.0).round() as u64)
                    .ok_or(LineError::Duration)?,
            ),
        };
        let user_agent = first(&map, &["http_user_agent", "user_agent"])
            .and_then(text)
            .and_then(borrowed)
            .map(str::as_bytes);
        Ok(Request {
            client,
            logged_ms,
            time_is: TimeIs::End,
            duration_ms,
            method,
            path: path.as_bytes(),
            status,
            bytes,
            user_agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_escape_json_lines() {
        let mut p = JsonLines::default();
        let line = br#"{"time_local":"25/Nov/2026:10:00:02 +0000","remote_addr":"81.2.69.142","request":"GET /live/a.ts HTTP/1.1","status": 200,"body_bytes_sent":3750000,"request_time":"0.300","http_user_agent":"VLC \"3\""}"#;
        let r = p.parse(line).expect("parses");
        assert_eq!(
            (r.path, r.status, r.bytes, r.duration_ms),
            (&b"/live/a.ts"[..], 200, 3_750_000, Some(300))
        );
        assert_eq!(r.interval(0), (1_795_600_802_000 - 300, 1_795_600_802_000));
        assert_eq!(r.user_agent, None, "escaped text is not borrowed");
        let line = br#"{"msec":1795600802.25,"ip":"2001:db8::1","uri":"/vod/x.mp4","bytes":"5"}"#;
        let r = p.parse(line).expect("parses");
        assert_eq!(
            (r.logged_ms, r.path, r.bytes, r.status),
            (1_795_600_802_250, &b"/vod/x.mp4"[..], 5, 200)
        );
    }

    #[test]
    fn missing_or_broken_fields_are_named() {
        let mut p = JsonLines::default();
        assert_eq!(p.parse(b"{").map(|_| ()), Err(LineError::Request));
        assert_eq!(
            p.parse(br#"{"remote_addr":"x"}"#).map(|_| ()),
            Err(LineError::Client)
        );
        assert_eq!(
            p.parse(br#"{"remote_addr":"1.2.3.4"}"#).map(|_| ()),
            Err(LineError::Time)
        );
        assert_eq!(
            p.parse(br#"{"remote_addr":"1.2.3.4","msec":1,"uri":"/a"}"#)
                .map(|_| ()),
            Err(LineError::Bytes)
        );
        assert_eq!(
            p.parse(
                br#"{"remote_addr":"1.2.3.4","msec":1,"uri":"/a","bytes":1,"request_time":"x"}"#
            )
            .map(|_| ()),
            Err(LineError::Duration)
        );
    }
}
