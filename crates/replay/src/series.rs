//! Binned time series: what one site or group did in each step of time.

/// One entity's accounts per bin. Bins are `step_ms` wide and numbered from
/// the Unix epoch (`bin = floor(t / step_ms)`); `base` is the first held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Bin number of index 0.
    pub base: i64,
    /// Bytes delivered in each bin.
    pub bytes: Vec<u64>,
    /// Requests that started in each bin.
    pub requests: Vec<u64>,
    /// Session time in each bin, ms (÷ step = mean concurrent sessions).
    pub session_ms: Vec<u64>,
    /// Bytes of requests sent away from their preferred site.
    pub spill_bytes: Vec<u64>,
    /// Bytes of requests no site had room for (sent over capacity, or to none).
    pub unserved_bytes: Vec<u64>,
}

/// A request's interval and the bins it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    step_ms: i64,
    start: i64,
    /// At least `start`.
    end: i64,
    first: i64,
    last: i64,
}

impl Span {
    /// `[start, end)` ms in bins of `step_ms` (an end before the start is
    /// taken as the start).
    pub fn new(step_ms: i64, start: i64, end: i64) -> Self {
        let end = end.max(start);
        let first = start.div_euclid(step_ms);
        let last = if end > start {
            (end - 1).div_euclid(step_ms)
        } else {
            first
        };
        Self {
            step_ms,
            start,
            end,
            first,
            last,
        }
    }
}

/// Which byte counters a request's bytes also go to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// Sent away from the preferred site by capacity.
    pub spilled: bool,
    /// No candidate had room.
    pub unserved: bool,
}

impl Series {
    /// Number of bins held.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when no bin is held.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Makes bins `first..=last` addressable, growing at either end.
    fn cover(&mut self, first: i64, last: i64) {
        if self.is_empty() {
            self.base = first;
        }
        if first < self.base {
            let n = (self.base - first) as usize;
            for v in self.columns_mut() {
                v.splice(0..0, std::iter::repeat_n(0, n));
            }
            self.base = first;
        }
        let need = (last - self.base + 1) as usize;
        if need > self.len() {
            for v in self.columns_mut() {
                v.resize(need, 0);
            }
        }
    }

    fn columns_mut(&mut self) -> [&mut Vec<u64>; 5] {
        [
            &mut self.bytes,
            &mut self.requests,
            &mut self.session_ms,
            &mut self.spill_bytes,
            &mut self.unserved_bytes,
        ]
    }

    /// Accounts a request of `bytes` over `[start, end)` ms, its bytes spread
    /// evenly in time. Integer arithmetic: the bins receive exactly `bytes`.
    pub fn add(&mut self, step_ms: i64, start: i64, end: i64, bytes: u64, flags: Flags) {
        self.add_span(&Span::new(step_ms, start, end), bytes, flags);
    }

    /// [`Series::add`] with the bins already worked out (a request goes to
    /// a group's series and a site's: one pair of divisions for both).
    pub fn add_span(&mut self, span: &Span, bytes: u64, flags: Flags) {
        let Span {
            step_ms,
            start,
            end,
            first,
            last,
        } = *span;
        self.cover(first, last);
        self.requests[(first - self.base) as usize] += 1;
        let span = (end - start) as u64;
        // Bytes delivered by time t: floor(bytes × (t − start) / span), in
        // 64 bits when the product fits (a 128-bit division is a call).
        let upto = |t: i64| -> u64 {
            if span == 0 {
                return bytes;
            }
            let elapsed = (t - start) as u64;
            match bytes.checked_mul(elapsed) {
                Some(p) => p / span,
                None => ((u128::from(bytes) * u128::from(elapsed)) / u128::from(span)) as u64,
            }
        };
        let mut sent = 0u64;
        for bin in first..=last {
            let i = (bin - self.base) as usize;
            let (lo, hi) = ((bin * step_ms).max(start), ((bin + 1) * step_ms).min(end));
            let now = if bin == last { bytes } else { upto(hi) };
            let share = now - sent;
            sent = now;
            self.bytes[i] += share;
            self.session_ms[i] += (hi - lo).max(0) as u64;
            if flags.spilled {
                self.spill_bytes[i] += share;
            }
            if flags.unserved {
                self.unserved_bytes[i] += share;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_request_across_three_bins_is_spread_by_time() {
        let mut s = Series::default();
        // 10 s to 130 s, 1200 bytes, 60 s bins: 50 s, 60 s, 10 s.
        s.add(60_000, 10_000, 130_000, 1200, Flags::default());
        assert_eq!(s.base, 0);
        assert_eq!(s.bytes, [500, 600, 100]);
        assert_eq!(s.session_ms, [50_000, 60_000, 10_000]);
        assert_eq!(s.requests, [1, 0, 0]);
        // An earlier request grows the series at the front.
        s.add(
            60_000,
            -60_000,
            -60_000,
            7,
            Flags {
                spilled: true,
                unserved: false,
            },
        );
        assert_eq!(s.base, -1);
        assert_eq!(s.bytes, [7, 500, 600, 100]);
        assert_eq!(s.spill_bytes, [7, 0, 0, 0]);
    }

    proptest! {
        /// Each bin gets floor(bytes × elapsed ÷ span) minus what earlier
        /// bins got, computed in 128 bits: the 64-bit shortcut changes
        /// nothing, for small byte counts and for ones whose product
        /// overflows 64 bits.
        #[test]
        fn bins_split_bytes_as_128_bit_arithmetic_does(
            start in -1_000_000i64..1_000_000,
            dur in 1i64..5_000_000,
            bytes in prop_oneof![0u64..10_000_000_000, any::<u64>()],
            step in 1_000i64..120_000,
        ) {
            let mut s = Series::default();
            s.add(step, start, start + dur, bytes, Flags::default());
            let (first, last) = (start.div_euclid(step), (start + dur - 1).div_euclid(step));
            let mut sent = 0u128;
            for bin in first..=last {
                let hi = ((bin + 1) * step).min(start + dur);
                let upto = u128::from(bytes) * (hi - start) as u128 / dur as u128;
                let got = s.bytes[(bin - s.base) as usize];
                prop_assert_eq!(u128::from(got), upto - sent, "bin {}", bin);
                sent = upto;
            }
        }

        #[test]
        fn bytes_are_conserved(
            reqs in proptest::collection::vec((-1_000_000i64..1_000_000, 0i64..500_000, 0u64..u64::MAX / 4096), 1..50),
            step in 1i64..120_000,
        ) {
            let mut s = Series::default();
            let mut total = 0u128;
            for (start, dur, bytes) in &reqs {
                s.add(step, *start, start + dur, *bytes, Flags { spilled: true, unserved: false });
                total += u128::from(*bytes);
            }
            let binned: u128 = s.bytes.iter().map(|b| u128::from(*b)).sum();
            let spilled: u128 = s.spill_bytes.iter().map(|b| u128::from(*b)).sum();
            prop_assert_eq!(binned, total);
            prop_assert_eq!(spilled, total);
            let session: u64 = s.session_ms.iter().sum();
            prop_assert_eq!(session, reqs.iter().map(|r| r.1 as u64).sum::<u64>());
            prop_assert_eq!(s.requests.iter().sum::<u64>(), reqs.len() as u64);
        }
    }
}
