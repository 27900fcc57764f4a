//! How a replay bins and orders time, and models requests the log gives
//! no duration.

use routecast_engine::Mbps;

/// How a replay bins and orders time, and models missing durations.
///
/// The defaults are `routecast simulate`'s: its flags take their default
/// values from the `DEFAULT_*` constants, so a program that links the
/// crates with [`ReplayConfig::default`] replays as the command does.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// Width of a bin, ms (default [`Self::DEFAULT_STEP_S`]).
    pub step_ms: i64,
    /// How far out of order (by start time) lines may arrive and still be
    /// routed in order, ms (default [`Self::DEFAULT_WINDOW_S`]).
    pub window_ms: i64,
    /// Bit rate by path prefix, for requests the log gives no duration
    /// (the first matching prefix wins).
    pub bitrates: Vec<(String, Mbps)>,
    /// Bit rate of any other request without a duration (default
    /// [`Self::DEFAULT_BITRATE`]).
    pub default_bitrate: Mbps,
    /// The load a site reports is its traffic averaged over this long, ms
    /// (default [`Self::DEFAULT_LOAD_WINDOW_S`]), as a site's statistics (a
    /// rate over the last half minute) would show it: a request adds
    /// `bytes ÷ max(duration, window)` to its site's load from its start for
    /// `max(duration, window)`. Without it, a 6-second HLS segment fetched
    /// in 0.2 s would count as a 30× burst. (The accounts always spread
    /// bytes over the request's own duration.)
    pub load_window_ms: i64,
}

impl Default for ReplayConfig {
    /// The `DEFAULT_*` constants, no bit rates by prefix.
    fn default() -> Self {
        Self {
            step_ms: seconds_ms(Self::DEFAULT_STEP_S),
            window_ms: seconds_ms(Self::DEFAULT_WINDOW_S),
            bitrates: Vec::new(),
            default_bitrate: Self::DEFAULT_BITRATE,
            load_window_ms: seconds_ms(Self::DEFAULT_LOAD_WINDOW_S),
        }
    }
}

/// `s` seconds in ms.
fn seconds_ms(s: u32) -> i64 {
    i64::from(s) * 1000
}

impl ReplayConfig {
    /// Default width of a bin, seconds: a minute.
    pub const DEFAULT_STEP_S: u32 = 60;
    /// Default reordering window, seconds: an hour. nginx logs a request
    /// when it ends, so a download of an hour appears an hour after it
    /// started: the window should cover the longest requests. Memory grows
    /// with it (the requests it holds).
    pub const DEFAULT_WINDOW_S: u32 = 3600;
    /// Default bit rate of a request without a duration: 5 Mbit/s.
    pub const DEFAULT_BITRATE: Mbps = Mbps(5.0);
    /// Default load window, seconds: half a minute.
    pub const DEFAULT_LOAD_WINDOW_S: u32 = 30;

    /// The modelled duration of `bytes` at the bit rate of `path` (bytes,
    /// as logged), ms.
    pub fn model_ms(&self, path: &[u8], bytes: u64) -> u64 {
        let rate = self
            .bitrates
            .iter()
            .find(|(p, _)| path.starts_with(p.as_bytes()))
            .map_or(self.default_bitrate, |(_, r)| *r);
        if rate.0 <= 0.0 {
            return 0;
        }
        (bytes as f64 * 8.0 / (rate.0 * 1000.0)) as u64
    }
}

/// A `--bitrate` list that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BitrateError {
    /// An item without `=`.
    #[error("item {item:?} is not PREFIX=MBPS (e.g. /live/=5)")]
    Item {
        /// The item.
        item: String,
    },
    /// A rate that is not a positive number.
    #[error("{item:?}: {rate:?} is not a positive number of Mbit/s")]
    Rate {
        /// The item.
        item: String,
        /// Its rate.
        rate: String,
    },
}

/// Bit rates by path prefix from `PREFIX=MBPS,...` (e.g. `/live/=5,/vod/=8`),
/// for [`ReplayConfig::bitrates`]; empty items are skipped.
pub fn parse_bitrates(list: &str) -> Result<Vec<(String, Mbps)>, BitrateError> {
    let mut out = Vec::new();
    for item in list.split(',').filter(|i| !i.trim().is_empty()) {
        let (prefix, rate) = item.split_once('=').ok_or_else(|| BitrateError::Item {
            item: item.to_string(),
        })?;
        let mbps: f64 = rate
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .ok_or_else(|| BitrateError::Rate {
                item: item.to_string(),
                rate: rate.to_string(),
            })?;
        out.push((prefix.trim().to_string(), Mbps(mbps)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults of `routecast simulate --help` (the baseline binary's:
    /// step 60, window 3600, default bitrate 5, load window 30).
    #[test]
    fn the_defaults_are_the_commands() {
        let c = ReplayConfig::default();
        assert_eq!(
            (c.step_ms, c.window_ms, c.load_window_ms),
            (60_000, 3_600_000, 30_000)
        );
        assert_eq!(c.default_bitrate, Mbps(5.0));
        assert!(c.bitrates.is_empty());
    }

    #[test]
    fn bitrates_read_by_prefix_and_errors_name_the_item() {
        let got = parse_bitrates(" /live/=5, ,/vod/= 8.5").expect("reads");
        assert_eq!(
            got,
            [
                ("/live/".to_string(), Mbps(5.0)),
                ("/vod/".to_string(), Mbps(8.5))
            ]
        );
        let e = parse_bitrates("/live/").expect_err("no =");
        assert_eq!(
            e.to_string(),
            r#"item "/live/" is not PREFIX=MBPS (e.g. /live/=5)"#
        );
        let e = parse_bitrates("/a=0").expect_err("not positive");
        assert_eq!(
            e.to_string(),
            r#""/a=0": "0" is not a positive number of Mbit/s"#
        );
        assert!(parse_bitrates("/a=inf").is_err() && parse_bitrates("/a=x").is_err());
        // 8 MB at 8 Mbit/s: 8 s.
        let config = ReplayConfig {
            bitrates: got,
            ..ReplayConfig::default()
        };
        assert_eq!(config.model_ms(b"/vod/a.mp4", 8_500_000), 8_000);
        assert_eq!(config.model_ms(b"/other", 5_000_000), 8_000);
    }
}
