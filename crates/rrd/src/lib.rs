//! Round-robin database files that the real rrdtool reads (`rrdtool info`,
//! `fetch`, `graph`, `dump`), written without its C library.
//!
//! Written by hand: no crate writes RRD files, and linking librrd would break
//! the rule that the default build needs no system C library. The layout is
//! rrdtool's format version `0003` as `rrd_format.h` defines it for 64-bit
//! little-endian machines (x86_64, aarch64), the machines it runs on:
//!
//! | section | size |
//! | --- | --- |
//! | `stat_head_t`: cookie `RRD\0`, version `0003\0`, float cookie 8.642135E130, counts, step | 128 |
//! | `ds_def_t` per data source: name, type, heartbeat, min, max | 120 each |
//! | `rra_def_t` per archive: consolidation function, rows, PDPs per row, xff | 120 each |
//! | `live_head_t`: time of the last update | 16 |
//! | `pdp_prep_t` per data source | 112 each |
//! | `cdp_prep_t` per archive and data source | 80 each |
//! | `rra_ptr_t` per archive: the current (newest) row | 8 each |
//! | values: per archive, row by row, one f64 per data source | 8 each |
//!
//! Files are complete archives, not live databases: every row is written at
//! once, the newest row last (`cur_row = rows − 1`), and the last update is
//! the time of the newest row. Row `j` of an archive of `n` rows with
//! `pdp_per_row × step = s` seconds per row covers `(T − s, T]` where
//! `T = last_update − (n − 1 − j) × s` (rrdtool stamps a row with the end of
//! its interval).
//!
//! # Example
//! ```
//! use routecast_rrd::{Archive, Cf, DataSource, Rrd};
//! let rrd = Rrd {
//!     step: 60,
//!     last_update: 1_795_600_800,
//!     data_sources: vec![DataSource::gauge("mbps", 120)],
//!     archives: vec![Archive { cf: Cf::Average, pdp_per_row: 1, xff: 0.5, rows: vec![vec![1.5], vec![2.5]] }],
//! };
//! let bytes = rrd.to_bytes()?;
//! assert_eq!(bytes.len(), 584 + 2 * 8);
//! # Ok::<(), routecast_rrd::RrdError>(())
//! ```

/// rrdtool's marker that a file was written with this machine's doubles.
pub const FLOAT_COOKIE: f64 = 8.642135E130;

/// The NaN rrdtool itself writes for "unknown" (`0.0 / 0.0` on x86_64), so
/// that `rrdtool fetch` prints our unknowns as it prints its own.
pub const UNKNOWN: f64 = f64::from_bits(0xFFF8_0000_0000_0000);

/// A consolidation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// Mean of the primary data points.
    Average,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Last value.
    Last,
}

impl Cf {
    fn name(self) -> &'static str {
        match self {
            Cf::Average => "AVERAGE",
            Cf::Min => "MIN",
            Cf::Max => "MAX",
            Cf::Last => "LAST",
        }
    }
}

/// A data source (only GAUGE: values are stored as given).
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// 1–19 characters of `[A-Za-z0-9_-]`.
    pub name: String,
    /// Seconds without an update before a value becomes unknown.
    pub heartbeat: u64,
    /// Lowest valid value (`None`: no limit, rrdtool's `U`).
    pub min: Option<f64>,
    /// Highest valid value (`None`: no limit).
    pub max: Option<f64>,
}

impl DataSource {
    /// A GAUGE that is never negative and has no maximum.
    pub fn gauge(name: &str, heartbeat: u64) -> Self {
        Self {
            name: name.to_string(),
            heartbeat,
            min: Some(0.0),
            max: None,
        }
    }
}

/// A round-robin archive: rows oldest first, one value per data source each.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// How rows consolidate primary data points.
    pub cf: Cf,
    /// Primary data points per row.
    pub pdp_per_row: u64,
    /// The fraction of unknown points that still gives a known row.
    pub xff: f64,
    /// Rows, oldest first; `rows[j][d]` is data source `d` (NaN: unknown).
    pub rows: Vec<Vec<f64>>,
}

/// A whole RRD file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rrd {
    /// Seconds per primary data point.
    pub step: u64,
    /// Unix time of the newest row (a multiple of every archive's row length).
    pub last_update: i64,
    /// The data sources.
    pub data_sources: Vec<DataSource>,
    /// The archives.
    pub archives: Vec<Archive>,
}

/// Why a file could not be written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RrdError {
    /// A data source name rrdtool would refuse.
    #[error("data source name {0:?} is not 1-19 characters of A-Z, a-z, 0-9, _ and -")]
    Name(String),
    /// No data source or no archive, or an archive with no rows.
    #[error("an RRD needs at least one data source and one archive with rows")]
    Empty,
    /// A row with the wrong number of values.
    #[error("archive {archive} row {row} has {got} values for {want} data sources")]
    Row {
        /// Archive index.
        archive: usize,
        /// Row index.
        row: usize,
        /// Values in the row.
        got: usize,
        /// Data sources.
        want: usize,
    },
    /// A zero step, PDP count or heartbeat, or an update time before 1980.
    #[error("invalid step, heartbeat, rows per point or last update time")]
    Timing,
}

fn put_str(out: &mut Vec<u8>, s: &str, len: usize) {
    let b = s.as_bytes();
    out.extend_from_slice(&b[..b.len().min(len - 1)]);
    out.resize(out.len() + len - b.len().min(len - 1), 0);
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn zeros(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, 0);
}

impl Rrd {
    /// Size of everything before the values.
    pub fn header_size(&self) -> usize {
        let (d, a) = (self.data_sources.len(), self.archives.len());
        128 + 120 * d + 120 * a + 16 + 112 * d + 80 * d * a + 8 * a
    }

    fn validate(&self) -> Result<(), RrdError> {
        if self.data_sources.is_empty()
            || self.archives.is_empty()
            || self.archives.iter().any(|a| a.rows.is_empty())
        {
            return Err(RrdError::Empty);
        }
        for ds in &self.data_sources {
            let ok = (1..=19).contains(&ds.name.len())
                && ds
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                return Err(RrdError::Name(ds.name.clone()));
            }
            if ds.heartbeat == 0 {
                return Err(RrdError::Timing);
            }
        }
        // rrdtool refuses start times before 1980 (315360000).
        if self.step == 0
            || self.last_update < 315_360_000
            || self.archives.iter().any(|a| a.pdp_per_row == 0)
        {
            return Err(RrdError::Timing);
        }
        let want = self.data_sources.len();
        for (ai, a) in self.archives.iter().enumerate() {
            if let Some((row, r)) = a.rows.iter().enumerate().find(|(_, r)| r.len() != want) {
                return Err(RrdError::Row {
                    archive: ai,
                    row,
                    got: r.len(),
                    want,
                });
            }
        }
        Ok(())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, RrdError> {
        self.validate()?;
        let values: usize = self
            .archives
            .iter()
            .map(|a| a.rows.len() * self.data_sources.len())
            .sum();
        let mut out = Vec::with_capacity(self.header_size() + 8 * values);
        self.stat_head(&mut out);
        for ds in &self.data_sources {
            put_str(&mut out, &ds.name, 20);
            put_str(&mut out, "GAUGE", 20);
            put_u64(&mut out, ds.heartbeat);
            put_f64(&mut out, ds.min.unwrap_or(UNKNOWN));
            put_f64(&mut out, ds.max.unwrap_or(UNKNOWN));
            zeros(&mut out, 7 * 8);
        }
        for a in &self.archives {
            put_str(&mut out, a.cf.name(), 20);
            zeros(&mut out, 4);
            put_u64(&mut out, a.rows.len() as u64);
            put_u64(&mut out, a.pdp_per_row);
            put_f64(&mut out, a.xff);
            zeros(&mut out, 9 * 8);
        }
        // live_head: last update, microseconds.
        out.extend_from_slice(&self.last_update.to_le_bytes());
        zeros(&mut out, 8);
        for _ in &self.data_sources {
            // pdp_prep: last_ds "U", unknown seconds, PDP value unknown.
            put_str(&mut out, "U", 30);
            zeros(&mut out, 2);
            put_u64(
                &mut out,
                self.last_update.rem_euclid(self.step as i64) as u64,
            );
            put_f64(&mut out, UNKNOWN);
            zeros(&mut out, 8 * 8);
        }
        for _ in &self.archives {
            for _ in &self.data_sources {
                // cdp_prep: CDP value unknown, no unknown PDPs pending.
                put_f64(&mut out, UNKNOWN);
                zeros(&mut out, 9 * 8);
            }
        }
        for a in &self.archives {
            put_u64(&mut out, a.rows.len() as u64 - 1);
        }
        for a in &self.archives {
            for row in &a.rows {
                for v in row {
                    put_f64(&mut out, if v.is_nan() { UNKNOWN } else { *v });
                }
            }
        }
        Ok(out)
    }

    fn stat_head(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"RRD\0");
        out.extend_from_slice(b"0003\0");
        zeros(out, 7);
        put_f64(out, FLOAT_COOKIE);
        put_u64(out, self.data_sources.len() as u64);
        put_u64(out, self.archives.len() as u64);
        put_u64(out, self.step);
        zeros(out, 10 * 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rrd {
        Rrd {
            step: 60,
            last_update: 1_795_600_800,
            data_sources: vec![
                DataSource::gauge("mbps", 120),
                DataSource::gauge("sessions", 120),
            ],
            archives: vec![Archive {
                cf: Cf::Average,
                pdp_per_row: 1,
                xff: 0.5,
                rows: vec![vec![1.0, 2.0], vec![f64::NAN, 4.0]],
            }],
        }
    }

    #[test]
    fn layout_matches_rrd_format_h() {
        let one = Rrd {
            data_sources: vec![DataSource::gauge("mbps", 120)],
            archives: vec![Archive {
                cf: Cf::Average,
                pdp_per_row: 1,
                xff: 0.5,
                rows: vec![vec![0.0]; 1440],
            }],
            ..sample()
        };
        let b = one.to_bytes().expect("valid");
        // rrdtool's own `create --step 60 DS:mbps:GAUGE:120:0:U RRA:AVERAGE:0.5:1:1440` is 12104 bytes.
        assert_eq!(one.header_size(), 584);
        assert_eq!(b.len(), 12_104);
        assert_eq!(&b[..9], b"RRD\x000003\x00");
        assert_eq!(
            f64::from_le_bytes(b[16..24].try_into().expect("8")),
            FLOAT_COOKIE
        );
        assert_eq!(
            u64::from_le_bytes(b[168..176].try_into().expect("8")),
            120,
            "heartbeat"
        );
        assert_eq!(&b[248..256], b"AVERAGE\0");
        assert_eq!(
            u64::from_le_bytes(b[272..280].try_into().expect("8")),
            1440,
            "rows"
        );
        assert_eq!(
            f64::from_le_bytes(b[288..296].try_into().expect("8")),
            0.5,
            "xff"
        );
        assert_eq!(
            i64::from_le_bytes(b[368..376].try_into().expect("8")),
            1_795_600_800,
            "last_up"
        );
        assert_eq!(
            u64::from_le_bytes(b[576..584].try_into().expect("8")),
            1439,
            "cur_row"
        );
    }

    #[test]
    fn unknowns_are_written_as_rrdtools_nan() {
        let b = sample().to_bytes().expect("valid");
        let h = sample().header_size();
        assert_eq!(&b[h + 16..h + 24], &UNKNOWN.to_le_bytes());
        assert_eq!(
            f64::from_le_bytes(b[h + 24..h + 32].try_into().expect("8")),
            4.0
        );
    }

    #[test]
    fn invalid_files_are_refused() {
        let mut r = sample();
        r.data_sources[0].name = "way-too-long-for-rrdtool".into();
        assert!(matches!(r.to_bytes(), Err(RrdError::Name(_))));
        let mut r = sample();
        r.archives[0].rows[1].pop();
        assert!(matches!(r.to_bytes(), Err(RrdError::Row { row: 1, .. })));
        let mut r = sample();
        r.last_update = 0;
        assert_eq!(r.to_bytes(), Err(RrdError::Timing));
    }
}
