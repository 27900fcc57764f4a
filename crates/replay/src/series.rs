//! Binned time series: what one site or group did in each step of time.
//!
//! Bins are kept in pages of [`PAGE_BINS`] allocated when a request first
//! touches them, so memory follows the data, not its time span: ten years
//! of sparse lines at one-minute bins hold a page per busy stretch, not
//! five million bins.

/// Bins per page (a page is 32 × 40 bytes).
const PAGE_BINS: usize = 32;

/// log2 of [`PAGE_BINS`].
const PAGE_SHIFT: u32 = PAGE_BINS.trailing_zeros();

/// What one bin of a series holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bin {
    /// Bytes delivered in the bin.
    pub bytes: u64,
    /// Requests that started in the bin.
    pub requests: u64,
    /// Session time in the bin, ms (÷ step = mean concurrent sessions).
    pub session_ms: u64,
    /// Bytes of requests sent away from their preferred site.
    pub spill_bytes: u64,
    /// Bytes of requests no site had room for (sent over capacity, or to none).
    pub unserved_bytes: u64,
}

/// [`PAGE_BINS`] consecutive bins, from bin `number × PAGE_BINS`.
#[derive(Debug, Clone, PartialEq)]
struct Page {
    number: i64,
    bins: Box<[Bin; PAGE_BINS]>,
}

/// One entity's accounts per bin. Bins are `step_ms` wide and numbered from
/// the Unix epoch (`bin = floor(t / step_ms)`); only pages of bins that
/// requests touched are held, and every other bin is zero. Sums saturate
/// at `u64::MAX` rather than wrap.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Held pages, by number.
    pages: Vec<Page>,
    /// The index in `pages` of the page last touched (the next request
    /// most likely falls in it).
    last_page: usize,
    /// The first bin a request touched (`i64::MAX`: none yet).
    first_touched: i64,
    /// The last bin a request touched (`i64::MIN`: none yet); two plain
    /// fields, not an `Option`, to keep `add_span`'s update two `min`/`max`.
    last_touched: i64,
}

impl Default for Series {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            last_page: 0,
            first_touched: i64::MAX,
            last_touched: i64::MIN,
        }
    }
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
    /// Number of bins from the first a request touched to the last.
    pub fn len(&self) -> usize {
        self.bin_range()
            .map_or(0, |(first, end)| (end - first) as usize)
    }

    /// True when no request touched the series.
    pub fn is_empty(&self) -> bool {
        self.first_touched > self.last_touched
    }

    /// The first bin a request touched and one past the last (`None`:
    /// none).
    pub fn bin_range(&self) -> Option<(i64, i64)> {
        (!self.is_empty()).then(|| (self.first_touched, self.last_touched + 1))
    }

    /// Bin number `bin` (zero where no request went).
    pub fn at(&self, bin: i64) -> Bin {
        let (number, offset) = split(bin);
        self.pages
            .binary_search_by_key(&number, |p| p.number)
            .map_or(Bin::default(), |i| self.pages[i].bins[offset])
    }

    /// Bytes delivered in bin number `bin`.
    pub fn bytes_in(&self, bin: i64) -> u64 {
        self.at(bin).bytes
    }

    /// The held bins, in order, with their numbers: every bin a request
    /// touched is among them, and every bin not among them is zero.
    pub fn held(&self) -> impl Iterator<Item = (i64, &Bin)> + '_ {
        self.pages.iter().flat_map(|p| {
            let first = p.number << PAGE_SHIFT;
            (first..).zip(p.bins.iter())
        })
    }

    /// The bins of page `number`, allocated if it was not held.
    #[inline]
    fn page_mut(&mut self, number: i64) -> &mut [Bin; PAGE_BINS] {
        let i = match self.pages.get(self.last_page) {
            Some(p) if p.number == number => self.last_page,
            _ => self.page_index(number),
        };
        self.last_page = i;
        &mut self.pages[i].bins
    }

    /// The index of page `number`, inserted (zero) if it was not held.
    #[inline(never)]
    fn page_index(&mut self, number: i64) -> usize {
        // Requests mostly come in time order: the new page is the last.
        if self.pages.last().is_none_or(|p| p.number < number) {
            self.pages.push(Page::new(number));
            return self.pages.len() - 1;
        }
        match self.pages.binary_search_by_key(&number, |p| p.number) {
            Ok(i) => i,
            Err(i) => {
                self.pages.insert(i, Page::new(number));
                i
            }
        }
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
        self.first_touched = self.first_touched.min(first);
        self.last_touched = self.last_touched.max(last);
        if first == last {
            // Most requests fall in one bin: all their bytes and time go
            // to it (what the loop below does for one bin, without it).
            let (number, offset) = split(first);
            let b = &mut self.page_mut(number)[offset];
            b.requests = b.requests.saturating_add(1);
            b.bytes = b.bytes.saturating_add(bytes);
            b.session_ms = b.session_ms.saturating_add((end - start) as u64);
            if flags.spilled {
                b.spill_bytes = b.spill_bytes.saturating_add(bytes);
            }
            if flags.unserved {
                b.unserved_bytes = b.unserved_bytes.saturating_add(bytes);
            }
            return;
        }
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
        let mut bin = first;
        // Page by page: one page lookup for the bins a request covers in it
        // (most requests cover one or two bins of one page).
        while bin <= last {
            let (number, offset) = split(bin);
            let in_page = (last - bin).min((PAGE_BINS - 1 - offset) as i64) as usize;
            let page = self.page_mut(number);
            if bin == first {
                let opening = &mut page[offset];
                opening.requests = opening.requests.saturating_add(1);
            }
            for b in &mut page[offset..=offset + in_page] {
                let (lo, hi) = ((bin * step_ms).max(start), ((bin + 1) * step_ms).min(end));
                let now = if bin == last { bytes } else { upto(hi) };
                let share = now - sent;
                sent = now;
                b.bytes = b.bytes.saturating_add(share);
                b.session_ms = b.session_ms.saturating_add((hi - lo).max(0) as u64);
                if flags.spilled {
                    b.spill_bytes = b.spill_bytes.saturating_add(share);
                }
                if flags.unserved {
                    b.unserved_bytes = b.unserved_bytes.saturating_add(share);
                }
                bin += 1;
            }
        }
    }
}

impl Page {
    fn new(number: i64) -> Self {
        Self {
            number,
            bins: Box::new([Bin::default(); PAGE_BINS]),
        }
    }
}

/// A bin's page number and its offset in the page.
fn split(bin: i64) -> (i64, usize) {
    (bin >> PAGE_SHIFT, (bin & (PAGE_BINS as i64 - 1)) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One field of every bin from the first touched to the last.
    fn column(s: &Series, field: fn(&Bin) -> u64) -> Vec<u64> {
        let (first, end) = s.bin_range().unwrap_or((0, 0));
        (first..end).map(|b| field(&s.at(b))).collect()
    }

    #[test]
    fn a_request_across_three_bins_is_spread_by_time() {
        let mut s = Series::default();
        // 10 s to 130 s, 1200 bytes, 60 s bins: 50 s, 60 s, 10 s.
        s.add(60_000, 10_000, 130_000, 1200, Flags::default());
        assert_eq!(s.bin_range(), Some((0, 3)));
        assert_eq!(column(&s, |b| b.bytes), [500, 600, 100]);
        assert_eq!(column(&s, |b| b.session_ms), [50_000, 60_000, 10_000]);
        assert_eq!(column(&s, |b| b.requests), [1, 0, 0]);
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
        assert_eq!(s.bin_range(), Some((-1, 3)));
        assert_eq!(column(&s, |b| b.bytes), [7, 500, 600, 100]);
        assert_eq!(column(&s, |b| b.spill_bytes), [7, 0, 0, 0]);
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
                let got = s.bytes_in(bin);
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
            let binned: u128 = s.held().map(|(_, b)| u128::from(b.bytes)).sum();
            let spilled: u128 = s.held().map(|(_, b)| u128::from(b.spill_bytes)).sum();
            prop_assert_eq!(binned, total);
            prop_assert_eq!(spilled, total);
            let session: u64 = s.held().map(|(_, b)| b.session_ms).sum();
            prop_assert_eq!(session, reqs.iter().map(|r| r.1 as u64).sum::<u64>());
            prop_assert_eq!(s.held().map(|(_, b)| b.requests).sum::<u64>(), reqs.len() as u64);
            // Held bins are in order, and `at` reads what `held` lists.
            let numbers: Vec<i64> = s.held().map(|(n, _)| n).collect();
            prop_assert!(numbers.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(s.held().all(|(n, b)| s.at(n) == *b));
        }
    }
}

#[cfg(test)]
mod sparse_tests {
    use super::*;

    /// Requests ten years apart hold a page each, not the bins between
    /// (before, a series was dense from its first bin to its last: 5.26
    /// million bins of a minute); bins between read as zero.
    #[test]
    fn requests_years_apart_hold_a_page_each() {
        let mut s = Series::default();
        let year_ms = 365 * 86_400_000;
        for k in [0i64, 10, 3, 7] {
            s.add(
                60_000,
                k * year_ms,
                k * year_ms + 1000,
                100,
                Flags::default(),
            );
        }
        assert_eq!(s.held().count(), 4 * PAGE_BINS);
        assert_eq!(s.len() as i64, 10 * year_ms / 60_000 + 1);
        assert_eq!(s.bytes_in(5 * year_ms / 60_000), 0);
        assert_eq!(s.bytes_in(7 * year_ms / 60_000), 100);
        let total: u64 = s.held().map(|(_, b)| b.bytes).sum();
        assert_eq!(total, 400);
    }

    /// Two byte counts of 2^63 − 1 and two bytes more in one bin saturate
    /// at u64::MAX instead of wrapping to 0.
    #[test]
    fn sums_saturate_rather_than_wrap() {
        let mut s = Series::default();
        let flags = Flags {
            spilled: true,
            unserved: true,
        };
        s.add(60_000, 0, 0, i64::MAX as u64, flags);
        s.add(60_000, 0, 0, i64::MAX as u64, flags);
        s.add(60_000, 0, 0, 2, flags);
        assert_eq!(s.at(0).bytes, u64::MAX);
        assert_eq!(s.at(0).spill_bytes, u64::MAX);
        assert_eq!(s.at(0).unserved_bytes, u64::MAX);
    }
}
