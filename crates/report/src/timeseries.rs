//! `timeseries.csv`: every bin of every site and client group, in long
//! format.

use std::io::{self, Write};

use routecast_accesslog::time::iso8601;
use routecast_replay::Report;

/// Writes the long-format CSV of `report`: `time,kind,name,metric,value`,
/// one row per bin, entity and metric (mbps, bytes, requests, sessions,
/// spill_mbps, unserved_mbps); every entity has a row for every bin of the
/// replay.
pub fn write_timeseries(report: &Report, mut w: impl Write) -> io::Result<()> {
    writeln!(w, "time,kind,name,metric,value")?;
    let step = report.step_ms;
    for (sum, s) in report.all() {
        for bin in report.first_bin..report.end_bin {
            let b = s.at(bin);
            let t = iso8601((bin * step).div_euclid(1000));
            let (k, n) = (sum.kind.as_str(), &sum.name);
            writeln!(w, "{t},{k},{n},mbps,{:.6}", mbps(b.bytes, step))?;
            writeln!(w, "{t},{k},{n},bytes,{}", b.bytes)?;
            writeln!(w, "{t},{k},{n},requests,{}", b.requests)?;
            writeln!(
                w,
                "{t},{k},{n},sessions,{:.6}",
                b.session_ms as f64 / step as f64
            )?;
            writeln!(w, "{t},{k},{n},spill_mbps,{:.6}", mbps(b.spill_bytes, step))?;
            writeln!(
                w,
                "{t},{k},{n},unserved_mbps,{:.6}",
                mbps(b.unserved_bytes, step)
            )?;
        }
    }
    Ok(())
}

/// The mean bit rate of `bytes` over `ms`, Mbit/s.
pub(crate) fn mbps(bytes: u64, ms: i64) -> f64 {
    if ms <= 0 {
        return 0.0;
    }
    bytes as f64 * 8.0 / (ms as f64 * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use routecast_replay::{Flags, Series};

    #[test]
    fn bins_outside_a_series_are_zero() {
        let mut s = Series::default();
        s.add(60_000, 600_000, 600_000, 5, Flags::default());
        s.add(60_000, 660_000, 660_000, 6, Flags::default());
        let got: Vec<u64> = (8..14).map(|b| s.bytes_in(b)).collect();
        assert_eq!(got, [0, 0, 5, 6, 0, 0]);
        // 7.5 MB in a minute: 1 Mbit/s.
        assert_eq!(mbps(7_500_000, 60_000), 1.0);
        assert_eq!(mbps(1, 0), 0.0);
    }
}
