//! The day itself: viewers arrive, their players request playlists and
//! segments (or one progressive download), and the lines are written in
//! order of their end time, as nginx writes them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use routecast_engine::hash::SplitMix64;

use crate::date::{day_start_ms, Stamps};
use crate::workload::{intensity, Rng, Session};
use crate::SyntheticDay;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Writes the lines of `day` to `w`; how many.
pub(crate) fn write_day(day: &SyntheticDay, w: &mut dyn Write) -> io::Result<u64> {
    let day_ms = day_start_ms(day.date).map_err(io::Error::other)?;
    let mut g = Generator::new(day.seed, day_ms);
    let mut arrivals = Arrivals::new(day.lines, day_ms);
    let mut next_arrival = Some(day_ms);
    let mut written = 0u64;
    loop {
        let next_event = g.events.peek().map(|Reverse((t, _))| *t);
        let now = match (next_arrival, next_event) {
            (Some(a), Some(e)) if a <= e => {
                g.arrive(a, true);
                next_arrival = arrivals.next(&mut g.rng);
                a
            }
            (Some(a), None) => {
                g.arrive(a, false);
                next_arrival = arrivals.next(&mut g.rng);
                a
            }
            (_, Some(e)) => {
                g.next_event(e)?;
                e
            }
            (None, None) => break,
        };
        // Requests end at or after `now` from here on: earlier ends can be written.
        written += g.write_ended(Some(now), w)?;
    }
    written += g.write_ended(None, w)?;
    w.flush()?;
    Ok(written)
}

/// When viewers arrive: on the daily curve, at the rate that makes about
/// the asked number of lines.
struct Arrivals {
    day_ms: i64,
    mean_gap_s: f64,
    /// Seconds into the day of the last arrival.
    at_s: f64,
}

impl Arrivals {
    fn new(lines: u64, day_ms: i64) -> Self {
        // About 300 lines per session on average: spread N / 300 arrivals over the day.
        let sessions = (lines as f64 / 300.0).max(1.0);
        Self {
            day_ms,
            mean_gap_s: 86_400.0 * 0.625 / sessions, // 0.625 = mean intensity
            at_s: 0.0,
        }
    }

    /// The next arrival, ms since the epoch; `None` past the day.
    fn next(&mut self, rng: &mut Rng) -> Option<i64> {
        self.at_s += rng.exp(self.mean_gap_s) / intensity(self.at_s);
        (self.at_s < 86_400.0).then(|| self.day_ms + (self.at_s * 1000.0) as i64)
    }
}

struct Generator {
    rng: Rng,
    day_ms: i64,
    sessions: Vec<Option<Session>>,
    /// Slots of `sessions` that have ended.
    free: Vec<usize>,
    /// Next request time of each active session (index into `sessions`).
    events: BinaryHeap<Reverse<(i64, usize)>>,
    /// Finished requests waiting to be written in end-time order.
    out: BinaryHeap<Reverse<(i64, u64, String)>>,
    seq: u64,
    stamps: Stamps,
}

impl Generator {
    fn new(seed: u64, day_ms: i64) -> Self {
        Self {
            rng: Rng(SplitMix64::new(seed)),
            day_ms,
            sessions: Vec::new(),
            free: Vec::new(),
            events: BinaryHeap::new(),
            out: BinaryHeap::new(),
            seq: 0,
            stamps: Stamps::default(),
        }
    }

    /// A viewer arrives at `at`, in a free slot if `reuse` (the slot
    /// breaks ties between requests due at once: which is part of the
    /// log's bytes).
    fn arrive(&mut self, at: i64, reuse: bool) {
        let s = Session::arrive(&mut self.rng, at);
        let free = if reuse { self.free.pop() } else { None };
        let i = free.unwrap_or(self.sessions.len());
        if i == self.sessions.len() {
            self.sessions.push(None);
        }
        self.sessions[i] = Some(s);
        self.events.push(Reverse((at, i)));
    }

    /// The next session's requests, due at `t`.
    fn next_event(&mut self, t: i64) -> io::Result<()> {
        if let Some(Reverse((_, i))) = self.events.pop() {
            if !self.step(i, t)? {
                self.free.push(i);
            }
        }
        Ok(())
    }

    /// Writes the requests that ended by `now` (all with `None`); how many.
    fn write_ended(&mut self, now: Option<i64>, w: &mut dyn Write) -> io::Result<u64> {
        let mut written = 0;
        while self
            .out
            .peek()
            .is_some_and(|Reverse((end, _, _))| now.is_none_or(|now| *end <= now))
        {
            if let Some(Reverse((_, _, line))) = self.out.pop() {
                w.write_all(line.as_bytes())?;
                written += 1;
            }
        }
        Ok(written)
    }

    fn line(
        &mut self,
        s: &Session,
        start_ms: i64,
        path: &str,
        status: u16,
        bytes: u64,
        duration_ms: i64,
    ) -> io::Result<()> {
        let end = start_ms + duration_ms;
        let Some(time) = self.stamps.format(end) else {
            return Err(io::Error::other(format!("{end} ms is out of range")));
        };
        let line = format!(
            "{} - - [{time}] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"{}\" {}.{:03}\n",
            s.client,
            s.agent,
            duration_ms / 1000,
            duration_ms % 1000
        );
        self.seq += 1;
        self.out.push(Reverse((end, self.seq, line)));
        Ok(())
    }

    /// Emits the requests of session `i` due at `t`; true while it goes on.
    fn step(&mut self, i: usize, t: i64) -> io::Result<bool> {
        let Some(mut s) = self.sessions[i].take() else {
            return Ok(false);
        };
        if s.live {
            self.live_requests(&s, t)?;
        } else {
            let watch_ms = s.ends_ms - t;
            let bytes = s.kbps * watch_ms.max(0) as u64 / 8;
            self.line(&s, t, &s.path.clone(), 200, bytes, watch_ms.max(1))?;
        }
        let next = t + 6000;
        let go_on = s.live && next < s.ends_ms && next < self.day_ms + DAY_MS;
        if go_on {
            s.segment += 1;
            self.sessions[i] = Some(s);
            self.events.push(Reverse((next, i)));
        }
        Ok(go_on)
    }

    /// A live viewer's playlist reload and next segment, at `t`.
    fn live_requests(&mut self, s: &Session, t: i64) -> io::Result<()> {
        let playlist = format!("{}index.m3u8", s.path);
        let pl_ms = 5 + self.rng.below(40) as i64;
        let pl_bytes = 600 + self.rng.below(200);
        self.line(s, t, &playlist, 200, pl_bytes, pl_ms)?;
        let seg_bytes = s.kbps * 6000 / 8;
        let dl_mbps = 20.0 + self.rng.unit() * 80.0;
        let seg_ms = (seg_bytes as f64 * 8.0 / (dl_mbps * 1000.0)) as i64 + 1;
        let (status, bytes) = if self.rng.below(200) == 0 {
            (404, 153)
        } else {
            (200, seg_bytes)
        };
        let seg = format!("{}seg{}.ts", s.path, s.segment);
        self.line(s, t + pl_ms, &seg, status, bytes, seg_ms)
    }
}
