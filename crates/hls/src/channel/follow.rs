//! One rendition, live: its inputs' bytes into its segmenter, with
//! failover from the primary input to the backup and back.
//!
//! Both inputs are read all the time (the watchdog needs to know whether
//! each yields frames); only the active one's packets reach the segmenter,
//! whose count of advancing lead frames is the active input's measure; the
//! other is demultiplexed by a [`LeadProbe`]. Every arrival, or 100 ms
//! without one, the watchdog decides; a switch is a cut at the new input's
//! first keyframe after a discontinuity ([`Segmenter::switch_input`]).
//!
//! When the active input has yielded nothing for the failover time, what
//! was received of the open segment is published at once
//! ([`Segmenter::close_stalled`]) rather than when the input returns. An
//! input (with a backup or not) that yields nothing for the failover time
//! is reopened if it is a network input, again after twice as long, up
//! to every 30 s, while it stays useless; each attempt is told
//! ([`ChannelEvent::Stalled`]). Without a backup, a read error ends the
//! run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::clock::Clock;
use super::failover::{FailoverConfig, Source, Watchdog};
use super::probe::LeadProbe;
use super::reader::{slot, Arrival, Inputs};
use super::{ChannelError, ChannelEvent, RenditionSummary};
use crate::segmenter::{Segmenter, LIVE_PLAYLIST};
use crate::ts::{PacketReader, PACKET_SIZE};

/// How long the loop waits for an arrival before the watchdog decides anyway.
const TICK: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reopen a useless input, ms.
const MAX_REOPEN_INTERVAL_MS: u64 = 30_000;

/// What [`follow`] works with, besides the segmenter and the inputs.
pub(crate) struct Context<'a> {
    /// The primary and (if any) the backup input, as named by the user.
    pub(crate) names: [Option<&'a str>; 2],
    /// When an input is useless, and when a backup takes over.
    pub(crate) failover: FailoverConfig,
    /// The cutter's timestamp jump limit, seconds (the probes' too).
    pub(crate) max_jump: f64,
    /// Time.
    pub(crate) clock: &'a dyn Clock,
    /// Set to end the run (the stream is finished properly).
    pub(crate) stop: &'a AtomicBool,
    /// Serving: once the input ended, wait for `stop` before returning.
    pub(crate) serving: bool,
    /// Told what happens.
    pub(crate) events: &'a (dyn Fn(ChannelEvent<'_>) + Sync),
}

impl Context<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The primary input's name (the rendition's, in messages).
    fn primary(&self) -> &str {
        self.names[0].unwrap_or_default()
    }
}

/// The loop's state.
struct Follower<'c, 'a> {
    cx: &'c Context<'a>,
    has_backup: bool,
    watchdog: Watchdog,
    readers: [PacketReader; 2],
    /// What each input yields while it does not feed the segmenter.
    probes: [LeadProbe; 2],
    ended: [bool; 2],
    active: Source,
    /// The active input's stall was published already.
    stall_closed: bool,
    /// Attempts to reopen each useless input.
    reopens: [Reopens; 2],
}

/// When a useless input is next reopened.
#[derive(Debug, Clone, Copy, Default)]
struct Reopens {
    /// The next attempt, ms (`None`: the input is not useless, or cannot
    /// be reopened).
    next_at: Option<u64>,
    /// The wait after the next attempt, ms.
    interval: u64,
    /// This stall was told.
    told: bool,
}

/// Feeds `segmenter` from `inputs` until both end or `stop` is set, then
/// finishes the stream; `on_write` is called after each arrival that
/// completed a segment, and once at the end.
pub(crate) fn follow(
    cx: &Context<'_>,
    segmenter: &mut Segmenter,
    inputs: &mut impl Inputs,
    mut on_write: impl FnMut(&Segmenter),
) -> Result<RenditionSummary, ChannelError> {
    let has_backup = cx.names[1].is_some();
    let mut f = Follower {
        cx,
        has_backup,
        watchdog: Watchdog::new(cx.failover, cx.clock.wall_ms()),
        readers: [PacketReader::new(), PacketReader::new()],
        probes: [LeadProbe::new(cx.max_jump), LeadProbe::new(cx.max_jump)],
        ended: [false, !has_backup],
        active: Source::Primary,
        stall_closed: false,
        reopens: [Reopens::default(); 2],
    };
    let mut written = 0;
    while !cx.stopped() {
        let arrival = inputs.next(TICK);
        let now = cx.clock.wall_ms();
        if f.take(arrival, segmenter, inputs, now)? {
            break;
        }
        f.stalls(segmenter, inputs, now)?;
        f.decide(segmenter, now);
        f.tell_notices(segmenter);
        if segmenter.segments_written() != written {
            written = segmenter.segments_written();
            on_write(segmenter);
        }
    }
    f.finish(segmenter)?;
    f.tell_notices(segmenter);
    on_write(segmenter);
    if cx.serving {
        // The stream ended; viewers may still be fetching: serve on until
        // told to stop.
        while !cx.stopped() {
            cx.clock.sleep(TICK);
        }
    }
    Ok(f.summary(segmenter))
}

impl Follower<'_, '_> {
    /// Takes one arrival; whether the loop is over.
    fn take(
        &mut self,
        arrival: Arrival,
        segmenter: &mut Segmenter,
        inputs: &mut impl Inputs,
        now: u64,
    ) -> Result<bool, ChannelError> {
        match arrival {
            Arrival::End(source) => Ok(self.end(source)),
            Arrival::Chunk(source, chunk) => {
                self.chunk(source, &chunk, segmenter, now)?;
                inputs.give_back(source, chunk);
                Ok(false)
            }
            Arrival::Failed(source, error) => {
                let input = self.cx.names[slot(source)].unwrap_or(self.cx.primary());
                if !self.has_backup {
                    let input = input.to_owned();
                    return Err(ChannelError::Read { input, error });
                }
                (self.cx.events)(ChannelEvent::ReadError {
                    input,
                    error: &error,
                });
                self.watchdog.broken(source, self.cx.clock.wall_ms());
                Ok(self.end(source))
            }
            Arrival::Timeout => Ok(false),
            Arrival::Disconnected => Ok(true),
        }
    }

    /// An input ended; whether both have.
    fn end(&mut self, source: Source) -> bool {
        self.ended[slot(source)] = true;
        self.ended.iter().all(|e| *e)
    }

    /// Bytes from `source`: packets of the active input go to the
    /// segmenter; the inactive one's to its probe (the watchdog needs to
    /// know whether it yields frames). Either way the watchdog hears
    /// whether the chunk yielded one.
    fn chunk(
        &mut self,
        source: Source,
        chunk: &[u8],
        segmenter: &mut Segmenter,
        now: u64,
    ) -> Result<(), ChannelError> {
        let active = source == self.active;
        if active && self.watchdog.silent_for(source, now) > self.cx.failover.stall_ms() {
            // Frames may have been lost: the cutter looks at the next one.
            segmenter.note_stall();
        }
        if self.feed(source, chunk, segmenter, now)? {
            self.watchdog.yielded(source, now);
            self.reopens[slot(source)] = Reopens::default();
            self.stall_closed &= !active;
        }
        Ok(())
    }

    /// Feeds `chunk`'s packets to the segmenter (the active input) or the
    /// probe (the other); whether they yielded a frame.
    fn feed(
        &mut self,
        source: Source,
        chunk: &[u8],
        segmenter: &mut Segmenter,
        now: u64,
    ) -> Result<bool, ChannelError> {
        let active = source == self.active;
        let before = segmenter.lead_advances();
        let probe = &mut self.probes[slot(source)];
        let (mut probed, mut failed) = (false, None);
        let has_backup = self.has_backup;
        self.readers[slot(source)].feed(chunk, |p| {
            if !active {
                probed |= probe.push(p);
                return;
            }
            if has_backup {
                // Ready for when this input no longer feeds the segmenter.
                probe.watch_tables(p);
            }
            if failed.is_none() {
                failed = segmenter.push(p, now).err();
            }
        });
        match failed {
            Some(e) => Err(ChannelError::Write(e)),
            None => Ok(probed || (active && segmenter.lead_advances() != before)),
        }
    }

    /// Inputs that yielded nothing for the failover time: the active one's
    /// open segment is published; network inputs are reopened.
    fn stalls(
        &mut self,
        segmenter: &mut Segmenter,
        inputs: &mut impl Inputs,
        now: u64,
    ) -> Result<(), ChannelError> {
        let silence = self.cx.failover.silence_ms;
        if !self.stall_closed && self.watchdog.silent_for(self.active, now) >= silence {
            self.stall_closed = true;
            segmenter.close_stalled(now).map_err(ChannelError::Write)?;
        }
        for source in [Source::Primary, Source::Backup] {
            let silent_ms = self.watchdog.silent_for(source, now);
            if !self.ended[slot(source)] && silent_ms >= silence {
                self.reopen(source, inputs, silent_ms, now);
            }
        }
        Ok(())
    }

    /// `source` has yielded nothing for `silent_ms`: reopened when due (and
    /// told), or told once if it cannot be.
    fn reopen(&mut self, source: Source, inputs: &mut impl Inputs, silent_ms: u64, now: u64) {
        let r = &mut self.reopens[slot(source)];
        let due = r.next_at.is_none_or(|t| now >= t);
        if !due || (r.told && r.next_at.is_none()) {
            return;
        }
        let reopening = inputs.reopen(source);
        let interval = r.interval.max(self.cx.failover.silence_ms);
        r.next_at = reopening.then_some(now + interval);
        r.interval = (interval * 2).min(MAX_REOPEN_INTERVAL_MS);
        r.told = true;
        (self.cx.events)(ChannelEvent::Stalled {
            input: self.cx.names[slot(source)].unwrap_or_default(),
            silent_ms,
            reopening,
        });
    }

    /// The watchdog's decision at `now`; a switch is a clean cut.
    fn decide(&mut self, segmenter: &mut Segmenter, now: u64) {
        let (next, switched) = self.watchdog.decide(now);
        if switched {
            // The input that fed the segmenter is watched by its probe
            // again, from scratch.
            self.probes[slot(self.active)].restart();
            self.active = next;
            self.stall_closed = false;
            segmenter.switch_input();
            (self.cx.events)(ChannelEvent::Switched {
                input: self.cx.primary(),
                to: next,
            });
        }
    }

    /// Ends the stream: what the active input's reader still holds (unless
    /// interrupted), then the last segment and ENDLIST.
    fn finish(&mut self, segmenter: &mut Segmenter) -> Result<(), ChannelError> {
        let now = self.cx.clock.wall_ms();
        let interrupted = self.cx.stopped();
        let reader = &mut self.readers[slot(self.active)];
        while let Some(p) = reader.next_packet(true).filter(|_| !interrupted) {
            let p: [u8; PACKET_SIZE] = *p;
            // A broken packet is counted in the stats, not fatal.
            let _ = segmenter.push(&p, now).map_err(ChannelError::Write)?;
        }
        let finished = if interrupted {
            segmenter.finish_interrupted(self.cx.clock.wall_ms())
        } else {
            segmenter.finish(self.cx.clock.wall_ms())
        };
        finished.map_err(ChannelError::Write)
    }

    /// Tells what the cutter decided since the last call, as it happens.
    fn tell_notices(&self, segmenter: &mut Segmenter) {
        while let Some(notice) = segmenter.pop_notice() {
            (self.cx.events)(ChannelEvent::Cutting {
                input: self.cx.primary(),
                notice: &notice,
            });
        }
    }

    /// What the rendition did.
    fn summary(&self, segmenter: &Segmenter) -> RenditionSummary {
        RenditionSummary {
            input: self.cx.primary().to_owned(),
            playlist: segmenter.dir().join(LIVE_PLAYLIST),
            segments: segmenter.segments_written(),
            discontinuities: segmenter.discontinuities_written(),
            stats: segmenter.stats(),
            skipped_for_sync: self.readers[0].skipped() + self.readers[1].skipped(),
            switches: self.watchdog.switches(),
            target_duration: segmenter.announced_target(),
        }
    }
}
