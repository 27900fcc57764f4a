//! `--realtime`: reading a file at the stream's own pace, as if it were a
//! live source. A packet carrying a PCR waits until the clock has advanced
//! as much as the PCR since the first one.

use std::time::Duration;

use super::clock::Clock;
use crate::ts::{Packet, PACKET_SIZE};
use crate::Timestamp;

/// A PCR this far ahead of the first one (or behind it, which reads as
/// nearly 2^33 ticks ahead) starts the pacing over.
const RESTART_AHEAD: u64 = 3_600 * Timestamp::HZ;

/// Paces a stream by its PCR.
#[derive(Debug, Default)]
pub(crate) struct Pace {
    /// The first PCR and the monotonic time it was due.
    start: Option<(Timestamp, Duration)>,
}

impl Pace {
    /// Waits until the last PCR in `chunk` (whole or partial packets) is due.
    pub(crate) fn wait_chunk(&mut self, chunk: &[u8], clock: &dyn Clock) {
        let last = chunk
            .chunks_exact(PACKET_SIZE)
            .rev()
            .filter_map(|p| p.try_into().ok())
            .find_map(|p: &[u8; PACKET_SIZE]| Packet::parse(p).ok()?.pcr);
        if let Some(pcr) = last {
            self.wait(pcr, clock);
        }
    }

    /// Waits until a packet with `pcr` is due.
    pub(crate) fn wait(&mut self, pcr: Timestamp, clock: &dyn Clock) {
        let (first, at) = *self.start.get_or_insert((pcr, clock.monotonic()));
        let ahead = pcr.ticks_since(first);
        if ahead > RESTART_AHEAD {
            // A jump back or a huge gap: start pacing over from here.
            self.start = Some((pcr, clock.monotonic()));
            return;
        }
        let due = at + Duration::from_micros(ahead * 1_000_000 / Timestamp::HZ);
        if let Some(wait) = due.checked_sub(clock.monotonic()) {
            clock.sleep(wait);
        }
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
        // 0, 1, 2.5 s of stream, read at once: each waits for its time.
        for pcr in [0, SECOND, 5 * SECOND / 2] {
            pace.wait(Timestamp(pcr), &clock);
        }
        assert_eq!(clock.slept(), [ms(0), ms(1_000), ms(1_500)]);
        // Read late (the input stalled 3 s): no wait, no catching up.
        clock.advance(ms(3_000));
        pace.wait(Timestamp(3 * SECOND), &clock);
        assert_eq!(clock.slept().len(), 3);
        pace.wait(Timestamp(6 * SECOND), &clock);
        assert_eq!(clock.slept().last(), Some(&ms(500)));
    }

    #[test]
    fn a_chunk_waits_for_its_last_pcr() {
        use crate::testmux::Mux;
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        let mut m = Mux::default();
        for pcr in [0, SECOND / 2, 2 * SECOND] {
            m.pcr_packet(0x100, pcr);
        }
        pace.wait_chunk(&m.out[..PACKET_SIZE], &clock);
        // A trailing partial packet is no packet: its PCR is not read.
        pace.wait_chunk(&m.out[PACKET_SIZE..3 * PACKET_SIZE - 1], &clock);
        assert_eq!(clock.monotonic(), ms(500));
        pace.wait_chunk(&m.out, &clock);
        assert_eq!(clock.monotonic(), ms(2_000));
    }

    /// A backwards jump (an encoder restart) starts the pacing over from
    /// the new PCR: it waits for nothing, and what follows is paced from
    /// there.
    #[test]
    fn a_backwards_pcr_jump_starts_the_pacing_over() {
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        pace.wait(Timestamp(100 * SECOND), &clock);
        pace.wait(Timestamp(110 * SECOND), &clock);
        assert_eq!(clock.monotonic(), ms(10_000));
        pace.wait(Timestamp(0), &clock);
        assert_eq!(clock.monotonic(), ms(10_000));
        pace.wait(Timestamp(2 * SECOND), &clock);
        assert_eq!(clock.monotonic(), ms(12_000));
    }

    /// Today's behaviour, documented (issue 14 point 3 asks for better): a
    /// forward jump of less than an hour is waited out, so a stream whose
    /// PCR jumps 10 minutes ahead stops for 10 minutes; a jump of more than
    /// an hour starts the pacing over.
    #[test]
    fn today_a_forward_pcr_jump_under_an_hour_is_waited_out() {
        let clock = ManualClock::new(0);
        let mut pace = Pace::default();
        pace.wait(Timestamp(0), &clock);
        pace.wait(Timestamp(600 * SECOND), &clock);
        assert_eq!(clock.monotonic(), ms(600_000));
        pace.wait(Timestamp(600 * SECOND + 2 * RESTART_AHEAD), &clock);
        assert_eq!(clock.monotonic(), ms(600_000), "over an hour: started over");
    }
}
