//! `timeseries.csv`: every bin of every site and client group, in long
//! format.

use std::io::{self, Write};

use routecast_accesslog::time::iso8601;
use routecast_replay::{Report, Series};

/// Writes the long-format CSV of `report`: `time,kind,name,metric,value`,
/// one row per bin, entity and metric (mbps, bytes, requests, sessions,
/// spill_mbps, unserved_mbps); every entity has a row for every bin of the
/// replay.
pub fn write_timeseries(report: &Report, mut w: impl Write) -> io::Result<()> {
    writeln!(w, "time,kind,name,metric,value")?;
    let step = report.step_ms;
    for (sum, s) in report.all() {
        for bin in report.first_bin..report.end_bin {
            let at = |v: &[u64]| value_at(s, v, bin);
            let t = iso8601((bin * step).div_euclid(1000));
            let (k, n) = (sum.kind.as_str(), &sum.name);
            writeln!(w, "{t},{k},{n},mbps,{:.6}", mbps(at(&s.bytes), step))?;
            writeln!(w, "{t},{k},{n},bytes,{}", at(&s.bytes))?;
            writeln!(w, "{t},{k},{n},requests,{}", at(&s.requests))?;
            writeln!(
                w,
                "{t},{k},{n},sessions,{:.6}",
                at(&s.session_ms) as f64 / step as f64
            )?;
            writeln!(
                w,
                "{t},{k},{n},spill_mbps,{:.6}",
                mbps(at(&s.spill_bytes), step)
            )?;
            writeln!(
                w,
                "{t},{k},{n},unserved_mbps,{:.6}",
                mbps(at(&s.unserved_bytes), step)
            )?;
        }
    }
    Ok(())
}

/// The value of bin number `bin` of `values`, one of the vectors of
/// `series` (0 outside them).
pub(crate) fn value_at(series: &Series, values: &[u64], bin: i64) -> u64 {
    usize::try_from(bin - series.base)
        .ok()
        .and_then(|i| values.get(i).copied())
        .unwrap_or(0)
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

    #[test]
    fn bins_outside_a_series_are_zero() {
        let s = Series {
            base: 10,
            bytes: vec![5, 6],
            ..Series::default()
        };
        let got: Vec<u64> = (8..14).map(|b| value_at(&s, &s.bytes, b)).collect();
        assert_eq!(got, [0, 0, 5, 6, 0, 0]);
        // 7.5 MB in a minute: 1 Mbit/s.
        assert_eq!(mbps(7_500_000, 60_000), 1.0);
        assert_eq!(mbps(1, 0), 0.0);
    }
}
