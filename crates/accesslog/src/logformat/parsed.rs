//! The fields of one line of a custom layout as they are read, and the
//! request they make.

use super::Field;
use crate::line::{parse_client, Client, LineError, Request, TimeIs};
use crate::time::TimestampParser;

/// Fields of one line as they are found.
#[derive(Default)]
pub(super) struct Parsed<'a> {
    client: Option<Client<'a>>,
    time_ms: Option<i64>,
    method: Option<&'a str>,
    path: Option<&'a [u8]>,
    status: Option<u16>,
    bytes: Option<u64>,
    duration_ms: Option<u64>,
    user_agent: Option<&'a [u8]>,
}

fn utf8(b: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(b).map_err(|_| LineError::Utf8)
}

fn digits(b: &[u8]) -> Option<u64> {
    (!b.is_empty() && b.len() <= 19).then_some(())?;
    b.iter().try_fold(0u64, |a, c| {
        c.is_ascii_digit().then(|| a * 10 + u64::from(c - b'0'))
    })
}

fn seconds_ms(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(b).ok()?;
    let v: f64 = s.parse().ok()?;
    (v.is_finite() && v >= 0.0 && !s.contains(['e', 'E', '+', '-']))
        .then(|| (v * 1000.0).round() as u64)
}

impl<'a> Parsed<'a> {
    pub(super) fn error_here(&self) -> LineError {
        if self.client.is_none() {
            LineError::Client
        } else if self.time_ms.is_none() {
            LineError::Time
        } else {
            LineError::Request
        }
    }

    pub(super) fn error_for(&self, f: Field) -> LineError {
        match f {
            Field::Client => LineError::Client,
            Field::TimeLocal | Field::TimeBracketed | Field::Msec => LineError::Time,
            Field::Status => LineError::Status,
            Field::Bytes => LineError::Bytes,
            Field::Seconds | Field::Micros | Field::WholeSeconds => LineError::Duration,
            Field::UserAgent => LineError::Quotes,
            _ => LineError::Request,
        }
    }

    pub(super) fn set(
        &mut self,
        f: Field,
        v: &'a [u8],
        clock: &mut TimestampParser,
    ) -> Result<(), LineError> {
        let bad = self.error_for(f);
        match f {
            Field::Client => self.client = Some(parse_client(v).ok_or(bad)?),
            Field::TimeLocal => self.time_ms = Some(clock.parse(v).ok_or(bad)?),
            Field::TimeBracketed => {
                let inner = v
                    .strip_prefix(b"[")
                    .and_then(|v| v.strip_suffix(b"]"))
                    .ok_or(bad)?;
                self.time_ms = Some(clock.parse(inner).ok_or(bad)?);
            }
            Field::Msec => self.time_ms = Some(seconds_ms(v).ok_or(bad)? as i64),
            Field::Request => {
                // The target is kept as bytes (see `Request::path`).
                let mut it = v.splitn(3, |b| *b == b' ');
                let (m, p) = (it.next().ok_or(bad)?, it.next().ok_or(bad)?);
                if m.is_empty() || !m.iter().all(u8::is_ascii_uppercase) || p.is_empty() {
                    return Err(bad);
                }
                self.method = Some(utf8(m)?);
                self.path = Some(p);
            }
            Field::Path => self.path = Some(v).filter(|p| !p.is_empty()).or(self.path),
            Field::Status => {
                self.status = Some(
                    u16::try_from(digits(v).ok_or(bad)?)
                        .ok()
                        .filter(|s| (100..1000).contains(s))
                        .ok_or(bad)?,
                )
            }
            Field::Bytes => self.bytes = Some(if v == b"-" { 0 } else { digits(v).ok_or(bad)? }),
            Field::Seconds => {
                self.duration_ms = if v == b"-" {
                    None
                } else {
                    Some(seconds_ms(v).ok_or(bad)?)
                }
            }
            Field::Micros => {
                self.duration_ms = if v == b"-" {
                    None
                } else {
                    Some(digits(v).ok_or(bad)? / 1000)
                }
            }
            Field::WholeSeconds => {
                self.duration_ms = if v == b"-" {
                    None
                } else {
                    Some(digits(v).ok_or(bad)? * 1000)
                }
            }
            Field::UserAgent => self.user_agent = Some(v),
            Field::Skip => {}
        }
        Ok(())
    }

    pub(super) fn finish(self, time_is: TimeIs) -> Result<Request<'a>, LineError> {
        Ok(Request {
            client: self.client.ok_or(LineError::Client)?,
            logged_ms: self.time_ms.ok_or(LineError::Time)?,
            time_is,
            duration_ms: self.duration_ms,
            method: self.method.unwrap_or("GET"),
            path: self.path.ok_or(LineError::Request)?,
            status: self.status.unwrap_or(200),
            bytes: self.bytes.ok_or(LineError::Bytes)?,
            user_agent: self.user_agent,
        })
    }
}
