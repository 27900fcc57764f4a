//! The accounts of a replay and their summaries (totals, peaks, 95th
//! percentiles, cost), and the summary document (`summary.json`).

use routecast_accesslog::time::iso8601;
use routecast_engine::{Cost, Platform};
use serde::Serialize;

use crate::proximity::{Proximity, ProximitySummary};
use crate::replay::ReplayStats;
use crate::series::{Bin, Series};
use crate::unserved::LeftOut;

/// Length of a burstable-billing sample (5 minutes), ms.
pub const BILLING_SAMPLE_MS: i64 = 300_000;

/// A 30-day month, ms: commits are priced per month and prorated.
pub const MONTH_MS: i64 = 30 * 86_400_000;

/// Whether a series is a site's or a client group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A site.
    Site,
    /// A client group.
    Group,
}

impl Kind {
    /// `site` or `group`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Site => "site",
            Kind::Group => "group",
        }
    }
}

/// One site's or group's totals over the replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Site or group.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// Requests started.
    pub requests: u64,
    /// Bytes delivered.
    pub bytes: u64,
    /// Gigabytes (10^9 bytes) delivered.
    pub gb: f64,
    /// Highest mean bit rate of any bin, Mbit/s.
    pub peak_mbps: f64,
    /// 95th percentile of the 5-minute mean bit rates, Mbit/s.
    pub p95_mbps: f64,
    /// Gigabytes sent away from the preferred site by capacity.
    pub spill_gb: f64,
    /// Gigabytes no candidate had room for.
    pub unserved_gb: f64,
    /// What the traffic cost (sites only): per GB, or commits prorated to
    /// the replayed span plus overage on the 95th percentile.
    pub cost: Option<f64>,
    /// Configured outbound capacity, Mbit/s (sites with one; absent in
    /// `summary.json` when unlimited or for groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_mbps: Option<f64>,
    /// How near the serving sites were to the clients: of the site's
    /// clients, or of the group's clients to the sites that served them.
    pub proximity: ProximitySummary,
}

/// Everything a replay measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Bin width, ms.
    pub step_ms: i64,
    /// First bin number (bins are numbered from the epoch).
    pub first_bin: i64,
    /// One past the last bin number.
    pub end_bin: i64,
    /// Per-site series and summaries, in site order.
    pub sites: Vec<(Summary, Series)>,
    /// Per-group series and summaries, in group order.
    pub groups: Vec<(Summary, Series)>,
    /// Counters.
    pub stats: ReplayStats,
    /// What was routed to no site, and why.
    pub left_out: LeftOut,
    /// How near the serving sites were, over all requests.
    pub proximity: ProximitySummary,
    /// The currency of the costs (ISO 4217), if the configuration says.
    pub currency: Option<String>,
}

fn mbps(bytes: u64, ms: i64) -> f64 {
    if ms <= 0 {
        return 0.0;
    }
    bytes as f64 * 8.0 / (ms as f64 * 1000.0)
}

/// Nearest-rank 95th percentile of the 5-minute mean rates of `s`, over
/// the windows from its first touched bin to its last (windows without a
/// held bin are zero: counted, not built).
pub fn p95_mbps(s: &Series, step_ms: i64) -> f64 {
    let window = BILLING_SAMPLE_MS.max(step_ms);
    let Some((first, end)) = s.bin_range() else {
        return 0.0;
    };
    let window_of = |bin: i64| (bin * step_ms).div_euclid(window);
    let mut samples: Vec<(i64, u64)> = Vec::new();
    for (bin, b) in s.held().filter(|(bin, _)| (first..end).contains(bin)) {
        let w = window_of(bin);
        match samples.last_mut() {
            Some((lw, sum)) if *lw == w => *sum = sum.saturating_add(b.bytes),
            _ => samples.push((w, b.bytes)),
        }
    }
    let all = (window_of(end - 1) - window_of(first) + 1) as usize;
    let zeros = all.saturating_sub(samples.len());
    let mut rates: Vec<f64> = samples.iter().map(|(_, b)| mbps(*b, window)).collect();
    rates.sort_by(f64::total_cmp);
    let rank = ((all as f64 * 0.95).ceil() as usize).clamp(1, all);
    match rank.checked_sub(zeros + 1) {
        Some(i) => rates.get(i).copied().unwrap_or(0.0),
        None => 0.0,
    }
}

/// The sum of one field over the held bins, saturating at `u64::MAX`.
fn total(s: &Series, field: fn(&Bin) -> u64) -> u64 {
    let sum: u128 = s.held().map(|(_, b)| u128::from(field(b))).sum();
    u64::try_from(sum).unwrap_or(u64::MAX)
}

fn summarize(
    kind: Kind,
    name: &str,
    s: &Series,
    step_ms: i64,
    span_ms: i64,
    cost: Option<&Cost>,
) -> Summary {
    let bytes = total(s, |b| b.bytes);
    let gb = bytes as f64 / 1e9;
    let p95 = p95_mbps(s, step_ms);
    Summary {
        kind,
        name: name.to_string(),
        requests: total(s, |b| b.requests),
        bytes,
        gb,
        peak_mbps: s
            .held()
            .map(|(_, b)| mbps(b.bytes, step_ms))
            .fold(0.0, f64::max),
        p95_mbps: p95,
        spill_gb: total(s, |b| b.spill_bytes) as f64 / 1e9,
        unserved_gb: total(s, |b| b.unserved_bytes) as f64 / 1e9,
        cost: cost.map(|c| match *c {
            Cost::PerGb(p) => gb * p,
            Cost::Commit {
                mbps,
                price,
                overage_per_mbps,
            } => {
                let months = span_ms as f64 / MONTH_MS as f64;
                (price + overage_per_mbps * (p95 - mbps).max(0.0)) * months
            }
        }),
        capacity_mbps: None,
        proximity: ProximitySummary::default(),
    }
}

impl Report {
    /// Summarises the series of a finished replay.
    pub fn new(
        p: &Platform,
        step_ms: i64,
        sites: Vec<Series>,
        groups: Vec<Series>,
        stats: ReplayStats,
    ) -> Self {
        let ranges = sites.iter().chain(&groups).filter_map(Series::bin_range);
        let first_bin = ranges.clone().map(|r| r.0).min().unwrap_or(0);
        let end_bin = ranges.map(|r| r.1).max().unwrap_or(first_bin);
        let span_ms = (end_bin - first_bin) * step_ms;
        let sites = sites
            .into_iter()
            .zip(p.sites())
            .map(|(s, site)| {
                let mut summary = summarize(
                    Kind::Site,
                    &site.name,
                    &s,
                    step_ms,
                    span_ms,
                    Some(&site.cost),
                );
                summary.capacity_mbps = site.capacity.map(|c| c.0);
                (summary, s)
            })
            .collect();
        let groups = groups
            .into_iter()
            .zip(p.groups())
            .map(|(s, g)| {
                (
                    summarize(Kind::Group, &g.name, &s, step_ms, span_ms, None),
                    s,
                )
            })
            .collect();
        Report {
            step_ms,
            first_bin,
            end_bin,
            sites,
            groups,
            stats,
            left_out: LeftOut::default(),
            proximity: ProximitySummary::default(),
            currency: p.currency().map(str::to_string),
        }
    }

    /// Sets the proximity of each site and group (in platform order) and
    /// over all requests (the groups' together).
    pub fn add_proximity(&mut self, sites: &[Proximity], groups: &[Proximity]) {
        for ((s, _), p) in self.sites.iter_mut().zip(sites) {
            s.proximity = p.summary();
        }
        let mut all = Proximity::default();
        for ((s, _), p) in self.groups.iter_mut().zip(groups) {
            s.proximity = p.summary();
            all.merge(p);
        }
        self.proximity = all.summary();
    }

    /// Every series with its summary: sites first, then groups.
    pub fn all(&self) -> impl Iterator<Item = &(Summary, Series)> {
        self.sites.iter().chain(&self.groups)
    }

    /// The start of `bin`, ISO 8601 UTC; `None` when nothing was replayed
    /// (no bin, so no time: not 1970).
    fn bin_time(&self, bin: i64) -> Option<String> {
        (self.first_bin < self.end_bin).then(|| iso8601((bin * self.step_ms).div_euclid(1000)))
    }

    /// The summary as a JSON value: span, counters, one object per site and group.
    pub fn summary_json(&self) -> SummaryJson<'_> {
        SummaryJson {
            start: self.bin_time(self.first_bin),
            end: self.bin_time(self.end_bin),
            step_s: self.step_ms as f64 / 1000.0,
            stats: &self.stats,
            left_out: &self.left_out,
            proximity: &self.proximity,
            currency: self.currency.as_deref(),
            sites: self.sites.iter().map(|(s, _)| s).collect(),
            groups: self.groups.iter().map(|(s, _)| s).collect(),
        }
    }
}

/// The summary document (`summary.json`).
#[derive(Debug, Serialize)]
pub struct SummaryJson<'a> {
    /// First bin start, ISO 8601 UTC (`null` when nothing was replayed).
    pub start: Option<String>,
    /// Last bin end, ISO 8601 UTC (`null` when nothing was replayed).
    pub end: Option<String>,
    /// Bin width, s.
    pub step_s: f64,
    /// Counters.
    pub stats: &'a ReplayStats,
    /// What was routed to no site, and why.
    pub left_out: &'a LeftOut,
    /// How near the serving sites were, over all requests.
    pub proximity: &'a ProximitySummary,
    /// The currency of the costs (ISO 4217), if configured.
    pub currency: Option<&'a str>,
    /// Per site.
    pub sites: Vec<&'a Summary>,
    /// Per group.
    pub groups: Vec<&'a Summary>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::Flags;

    /// Two byte counts of 2^63 − 1 and a few more bytes total u64::MAX,
    /// not the few bytes a 64-bit sum wraps to (bins saturate too).
    #[test]
    fn totals_saturate_rather_than_wrap() {
        let mut s = Series::default();
        for (start, bytes) in [
            (0, i64::MAX as u64),
            (3_600_000, i64::MAX as u64),
            (60_000, 5),
        ] {
            s.add(60_000, start, start, bytes, Flags::default());
        }
        let sum = summarize(Kind::Group, "g", &s, 60_000, 0, None);
        assert_eq!((sum.bytes, sum.requests), (u64::MAX, 3));
    }

    /// Requests a year apart: the 5-minute windows between count as zeros
    /// (105,121 windows, two of them busy: the 95th percentile is 0), and a
    /// series busy in 20 of 20 windows is unchanged by that counting.
    #[test]
    fn p95_counts_the_empty_windows_between_sparse_requests() {
        let mut s = Series::default();
        let year_ms = 365 * 86_400_000;
        s.add(60_000, 0, 300_000, 37_500_000, Flags::default());
        s.add(
            60_000,
            year_ms,
            year_ms + 300_000,
            37_500_000,
            Flags::default(),
        );
        assert_eq!(p95_mbps(&s, 60_000), 0.0);
        // 100 windows, 4 busy at 1 Mbit/s: rank 95 is a zero; 5 zeros
        // only (95 of 100 busy): rank 95 is busy.
        let mut s = Series::default();
        for k in [0i64, 10, 20, 99] {
            s.add(
                60_000,
                k * 300_000,
                (k + 1) * 300_000,
                37_500_000,
                Flags::default(),
            );
        }
        assert_eq!(p95_mbps(&s, 60_000), 0.0);
        let mut s = Series::default();
        for k in (0..100i64).filter(|k| k % 20 != 7) {
            s.add(
                60_000,
                k * 300_000,
                (k + 1) * 300_000,
                37_500_000,
                Flags::default(),
            );
        }
        assert!((p95_mbps(&s, 60_000) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn p95_is_the_nearest_rank_of_five_minute_means() {
        let mut s = Series::default();
        // 20 five-minute windows of 60 s bins; window k carries k × 37.5 MB,
        // i.e. k Mbit/s averaged over 300 s.
        for k in 1..=20i64 {
            let start = k * BILLING_SAMPLE_MS;
            s.add(
                60_000,
                start,
                start + BILLING_SAMPLE_MS,
                (k as u64) * 37_500_000,
                Flags::default(),
            );
        }
        // ceil(0.95 × 20) = 19th smallest = 19 Mbit/s.
        assert!(
            (p95_mbps(&s, 60_000) - 19.0).abs() < 1e-9,
            "{}",
            p95_mbps(&s, 60_000)
        );
    }
}
