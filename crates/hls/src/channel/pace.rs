//! `--realtime`: reading a file at the stream's own pace, as if it were a
//! live source. A packet carrying a PCR waits until the clock has advanced
//! as much as the PCR since the anchor (the first PCR, or the last jump).
//!
//! # Jumps
//! ISO/IEC 13818-1 §2.7.2 puts at most 0.1 s between two PCRs. A PCR that
//! moves back (an encoder restart, a file of two encodes concatenated) or
//! more than [`MAX_PCR_STEP`] ahead is a jump: the pacing starts over from
//! it, due when the PCR before it was due. So the media after a restart
//! is paced at 1× from where the stream was (nothing is "due already" and
//! burst out), and a forward jump is not slept through (the stream goes on
//! at once, as a live source whose encoder jumped would). Steps are
//! measured from the previous PCR of the stream, including the ones inside
//! a chunk that are not waited for.

use std::time::Duration;

use super::clock::Clock;
use crate::ts::{Packet, PACKET_SIZE};
use crate::Timestamp;

/// The largest step between consecutive PCRs paced as such: ten times the
/// standard's 0.1 s. A larger step, or any step back, is a jump.
pub(crate) const MAX_PCR_STEP: u64 = Timestamp::HZ;

/// How far from its anchor a PCR is paced before the anchor moves up to
/// it (well inside the 33-bit wrap of 26.5 hours).
const REANCHOR_AFTER: u64 = 3_600 * Timestamp::HZ;

/// Paces a stream by its PCR.
#[derive(Debug, Default)]
pub(crate) struct Pace {
    /// A PCR and the monotonic time it was due: later PCRs are due as much
    /// later as they are ahead of it.
    anchor: Option<(Timestamp, Duration)>,
    /// The last PCR seen and when it was due.
    last: Option<(Timestamp, Duration)>,
}

impl Pace {
    /// Waits until the last PCR in `chunk` (whole or partial packets) is due,
    /// taking every PCR of the chunk into account for jumps.
    pub(crate) fn wait_chunk(&mut self, chunk: &[u8], clock: &dyn Clock) {
        let mut due = None;
        for packet in chunk.chunks_exact(PACKET_SIZE) {
            let Ok(packet) = <&[u8; PACKET_SIZE]>::try_from(packet) else {
                continue;
            };
            if let Some(pcr) = Packet::parse(packet).ok().and_then(|p| p.pcr) {
                due = Some(self.due(pcr, clock));
            }
        }
        if let Some(due) = due {
            sleep_until(due, clock);
        }
    }

    /// Waits until a packet with `pcr` is due.
    #[cfg(test)]
    pub(crate) fn wait(&mut self, pcr: Timestamp, clock: &dyn Clock) {
        let due = self.due(pcr, clock);
        sleep_until(due, clock);
    }

    /// When `pcr` is due (monotonic time), counting it as the stream's
    /// latest PCR.
    fn due(&mut self, pcr: Timestamp, clock: &dyn Clock) -> Duration {
        let (anchor, at) = match (self.anchor, self.last) {
            (Some(anchor), Some((last, _))) if pcr.ticks_since(last) <= MAX_PCR_STEP => anchor,
            // A jump: this PCR is due when the last one was.
            (_, Some((_, last_due))) => (pcr, last_due),
            // The first PCR is due now.
            _ => (pcr, clock.monotonic()),
        };
        let ahead = pcr.ticks_since(anchor);
        let due = at + Duration::from_micros(ahead * 1_000_000 / Timestamp::HZ);
        self.anchor = Some(if ahead > REANCHOR_AFTER {
            (pcr, due)
        } else {
            (anchor, at)
        });
        self.last = Some((pcr, due));
        due
    }
}

/// Sleeps until monotonic time `due`; not at all when it has passed (a
/// stream read late is not caught up with a burst beyond what is due).
fn sleep_until(due: Duration, clock: &dyn Clock) {
    if let Some(wait) = due.checked_sub(clock.monotonic()) {
        clock.sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::super::clock::ManualClock;
    use super::*;

    const SECOND: u64 = Timestamp::HZ;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pacing_follows_the_pcr() {
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        // 0, 0.5, 1.25 s of stream, read at once: each waits for its time.
        for pcr in [0, SECOND / 2, 5 * SECOND / 4] {
            pace.wait(Timestamp(pcr), &clock);
        }
        assert_eq!(clock.slept(), [ms(0), ms(500), ms(750)]);
        // Read late (the input stalled 3 s): no wait, no catching up.
        clock.advance(ms(3_000));
        for pcr in [2 * SECOND, 3 * SECOND, 4 * SECOND] {
            pace.wait(Timestamp(pcr), &clock);
        }
        assert_eq!(clock.slept().len(), 3);
        pace.wait(Timestamp(19 * SECOND / 4), &clock);
        assert_eq!(clock.slept().last(), Some(&ms(500)));
    }

    #[test]
    fn a_chunk_waits_for_its_last_pcr() {
        use crate::testmux::Mux;
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        let mut m = Mux::default();
        for pcr in [0, SECOND / 2, 3 * SECOND / 4, SECOND] {
            m.pcr_packet(0x100, pcr);
        }
        pace.wait_chunk(&m.out[..PACKET_SIZE], &clock);
        // A trailing partial packet is no packet: its PCR is not read.
        pace.wait_chunk(&m.out[PACKET_SIZE..3 * PACKET_SIZE - 1], &clock);
        assert_eq!(clock.monotonic(), ms(500));
        pace.wait_chunk(&m.out[2 * PACKET_SIZE..], &clock);
        assert_eq!(clock.monotonic(), ms(1_000));
    }

    /// `pcrs` every 40 ms of stream from `from` (ticks) for `secs`.
    fn every_frame(from: u64, secs: u64) -> impl Iterator<Item = Timestamp> {
        (0..secs * 25).map(move |k| Timestamp(from + k * SECOND / 25))
    }

    /// An encoder restart (the PCR goes back 30 s, as in two encodes
    /// concatenated): the media after it is paced at 1× from where the
    /// stream was, not burst out as "due already".
    #[test]
    fn a_backwards_pcr_jump_is_paced_at_one_x_without_a_burst() {
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        for pcr in every_frame(0, 30) {
            pace.wait(pcr, &clock);
        }
        let jump_at = clock.monotonic();
        assert_eq!(jump_at, ms(29_960));
        // The restart: the PCR 0 again, then 10 s of media.
        for pcr in every_frame(0, 10) {
            pace.wait(pcr, &clock);
        }
        // 10 s of media took 10 s less one frame interval (the first PCR
        // after the jump is due when the last before it was).
        assert_eq!(clock.monotonic() - jump_at, ms(9_960));
        // Every wait after the jump is one frame interval, none a burst.
        let after: Vec<Duration> = clock.slept()[751..].to_vec();
        assert!(after.iter().all(|&w| w == ms(40)), "{after:?}");
    }

    /// A forward jump (the PCR 10 minutes ahead) is not slept through: the
    /// stream goes on at once and is paced at 1× from there.
    #[test]
    fn a_forward_pcr_jump_is_not_slept_through() {
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        for pcr in every_frame(0, 2) {
            pace.wait(pcr, &clock);
        }
        let jump_at = clock.monotonic();
        for pcr in every_frame(600 * SECOND, 2) {
            pace.wait(pcr, &clock);
        }
        assert_eq!(clock.monotonic() - jump_at, ms(1_960));
        let longest = clock.slept().into_iter().max();
        assert_eq!(longest, Some(ms(40)));
    }

    /// A jump inside a chunk counts though only the chunk's last PCR is
    /// waited for: PCRs 0.5 s, then back to 0, then 0.5 s again in one
    /// chunk are due 0.5 s after the first.
    #[test]
    fn a_jump_inside_a_chunk_is_seen() {
        use crate::testmux::Mux;
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        pace.wait(Timestamp(0), &clock);
        let mut m = Mux::default();
        for pcr in [SECOND / 2, 0, SECOND / 2] {
            m.pcr_packet(0x100, pcr);
        }
        pace.wait_chunk(&m.out, &clock);
        assert_eq!(clock.monotonic(), ms(1_000));
    }

    /// Hours of stream: the anchor moves up, so the 33-bit wrap of the PCR
    /// (26.5 hours) is paced like any other step.
    #[test]
    fn pacing_goes_on_across_the_pcr_wrap() {
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        let mut pcr = Timestamp::WRAP - 2 * SECOND;
        for _ in 0..4 * 25 {
            pace.wait(Timestamp(pcr % Timestamp::WRAP), &clock);
            pcr += SECOND / 25;
        }
        assert_eq!(clock.monotonic(), ms(3_960));
    }

    /// The whole `--realtime` path on virtual time: `input` paced by its
    /// video DTS (the testmux writes no PCR; an encoder's PCR runs a fixed
    /// mux delay before it) into a segmenter stamping with the virtual wall
    /// clock. Each segment as (PDT, EXTINF, virtual ms it was listed at).
    fn realtime_run(input: &[u8]) -> Vec<(u64, u64, u64)> {
        use crate::segmenter::{Segmenter, SegmenterConfig};
        const T0: u64 = 1_764_000_000_000;
        let dir = tempfile::tempdir().expect("tmp");
        let config = SegmenterConfig {
            dir: dir.path().to_path_buf(),
            cutter: crate::cutter::CutterConfig::default(),
            window_secs: 600.0,
            grace_ms: 10_000,
            archive: false,
            encryption: None,
            iframes: false,
            cue_tags: false,
        };
        let clock = ManualClock::new(T0);
        let mut segmenter = Segmenter::open(config, T0).expect("open");
        let mut pace = Pace::default();
        let mut listed = Vec::new();
        for p in input.chunks_exact(PACKET_SIZE) {
            let p: &[u8; PACKET_SIZE] = p.try_into().expect("188");
            if let Some(dts) = video_dts(p) {
                pace.wait(dts, &clock);
            }
            let now = clock.wall_ms();
            segmenter.push(p, now).expect("io").expect("valid");
            let count = segmenter.live().segments().count();
            listed.resize(count, now);
        }
        segmenter
            .live()
            .segments()
            .zip(listed)
            .map(|(e, at)| {
                let pdt = e.program_date_time.expect("pdt").0;
                (pdt, e.duration.rounded_millis(), at)
            })
            .collect()
    }

    /// The decode time of a video PES starting in `packet`.
    fn video_dts(packet: &[u8; PACKET_SIZE]) -> Option<Timestamp> {
        let p = Packet::parse(packet).ok()?;
        if p.pid != crate::ts::Pid(crate::testmux::VIDEO_PID) || !p.payload_unit_start_indicator {
            return None;
        }
        crate::pes::parse_header(p.payload).ok()?.decode_time()
    }

    /// Paced PDTs after a jump: strictly increasing, never overlapping, and
    /// each segment's end (PDT + EXTINF) at the virtual time it was listed,
    /// to 100 ms (it is complete when the next keyframe is due).
    fn assert_on_the_wall_clock(segments: &[(u64, u64, u64)]) {
        assert!(segments.len() >= 7, "{segments:?}");
        for w in segments.windows(2) {
            assert!(w[1].0 >= w[0].0 + w[0].1, "PDTs overlap: {segments:?}");
        }
        for &(pdt, extinf, at) in segments {
            let end = pdt + extinf;
            assert!(
                end.abs_diff(at) <= 100,
                "end {end} listed at {at}: {segments:?}"
            );
        }
    }

    /// An encoder restart (two encodes concatenated, the second from the
    /// same PTS) read with `--realtime`: 48 s of media take 48 s, and the
    /// PDTs stay on the wall clock.
    #[test]
    fn a_restart_read_in_real_time_stays_on_the_wall_clock() {
        use crate::testmux::stream;
        let mut input = stream(600, 50, 0, true);
        input.extend(stream(600, 50, 0, true));
        assert_on_the_wall_clock(&realtime_run(&input));
    }

    /// The same with a forward jump of 100 s between the two encodes.
    #[test]
    fn a_forward_jump_read_in_real_time_stays_on_the_wall_clock() {
        use crate::testmux::stream;
        let mut input = stream(600, 50, 0, true);
        input.extend(stream(600, 50, 100 * SECOND, true));
        assert_on_the_wall_clock(&realtime_run(&input));
    }
}
