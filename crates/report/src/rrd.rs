//! `rrd/*.rrd`: one round-robin database per site and client group, for
//! rrdtool and the tools built on it (Cacti, Munin, collectd's graphs).

use routecast_replay::{Report, Series};
use routecast_rrd::{Archive, Cf, DataSource, Rrd, RrdError};

use crate::timeseries::mbps;

/// The RRD of one series of `report`: data sources `mbps`, `requests` and
/// `sessions` (GAUGE), one AVERAGE archive row per bin. A bin
/// `[T, T + step)` is rrdtool's row stamped `T + step`. A report with no
/// bins (nothing replayed) has no RRD: the writer's error, which
/// [`write_dir`](crate::write_dir) avoids by writing no file then.
pub fn series_rrd(report: &Report, series: &Series) -> Result<Vec<u8>, RrdError> {
    let step_s = (report.step_ms / 1000).max(1);
    let step = report.step_ms;
    let rows = (report.first_bin..report.end_bin)
        .map(|bin| {
            let b = series.at(bin);
            vec![
                mbps(b.bytes, step),
                b.requests as f64,
                b.session_ms as f64 / step as f64,
            ]
        })
        .collect();
    let rrd = Rrd {
        step: step_s as u64,
        last_update: report.end_bin * step_s,
        data_sources: ["mbps", "requests", "sessions"]
            .iter()
            .map(|n| DataSource::gauge(n, 2 * step_s as u64))
            .collect(),
        archives: vec![Archive {
            cf: Cf::Average,
            pdp_per_row: 1,
            xff: 0.5,
            rows,
        }],
    };
    rrd.to_bytes()
}
