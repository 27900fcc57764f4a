//! One rendition, live: its inputs' bytes into its segmenter, with
//! failover from the primary input to the backup and back.
//!
//! Both inputs are read all the time (the watchdog needs to know whether
//! each is alive); only the active one's packets reach the segmenter. Every
//! arrival, or 100 ms without one, the watchdog decides; a switch is a cut
//! at the new input's first keyframe after a discontinuity
//! ([`Segmenter::switch_input`]). Without a backup there is no watchdog,
//! and a read error ends the run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::clock::Clock;
use super::failover::{FailoverConfig, Source, Watchdog};
use super::reader::{slot, Arrival, Inputs};
use super::{ChannelError, ChannelEvent, RenditionSummary};
use crate::segmenter::{Segmenter, LIVE_PLAYLIST};
use crate::ts::{PacketReader, PACKET_SIZE};

/// How long the loop waits for an arrival before the watchdog decides anyway.
const TICK: Duration = Duration::from_millis(100);

/// What [`follow`] works with, besides the segmenter and the inputs.
pub(crate) struct Context<'a> {
    /// The primary and (if any) the backup input, as named by the user.
    pub(crate) names: [Option<&'a str>; 2],
    /// When to switch, if there is a backup.
    pub(crate) failover: FailoverConfig,
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
    watchdog: Option<Watchdog>,
    readers: [PacketReader; 2],
    ended: [bool; 2],
    active: Source,
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
        watchdog: has_backup.then(|| Watchdog::new(cx.failover, cx.clock.wall_ms())),
        readers: [PacketReader::new(), PacketReader::new()],
        ended: [false, !has_backup],
        active: Source::Primary,
    };
    let mut written = 0;
    while !cx.stopped() {
        let arrival = inputs.next(TICK);
        let now = cx.clock.wall_ms();
        if f.take(arrival, segmenter, inputs, now)? {
            break;
        }
        f.decide(segmenter, now);
        if segmenter.segments_written() != written {
            written = segmenter.segments_written();
            on_write(segmenter);
        }
    }
    f.finish(segmenter)?;
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
                if self.watchdog.is_none() {
                    let input = input.to_owned();
                    return Err(ChannelError::Read { input, error });
                }
                (self.cx.events)(ChannelEvent::ReadError {
                    input,
                    error: &error,
                });
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
    /// segmenter; the inactive one is read (its watchdog needs it) but
    /// dropped.
    fn chunk(
        &mut self,
        source: Source,
        chunk: &[u8],
        segmenter: &mut Segmenter,
        now: u64,
    ) -> Result<(), ChannelError> {
        if let Some(w) = &mut self.watchdog {
            w.yielded(source, now);
        }
        let active = source == self.active;
        let mut failed = None;
        self.readers[slot(source)].feed(chunk, |p| {
            if active && failed.is_none() {
                failed = segmenter.push(p, now).err();
            }
        });
        failed.map_or(Ok(()), |e| Err(ChannelError::Write(e)))
    }

    /// The watchdog's decision at `now`; a switch is a clean cut.
    fn decide(&mut self, segmenter: &mut Segmenter, now: u64) {
        let Some(w) = &mut self.watchdog else { return };
        let (next, switched) = w.decide(now);
        if switched {
            self.active = next;
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

    /// What the rendition did.
    fn summary(&self, segmenter: &Segmenter) -> RenditionSummary {
        RenditionSummary {
            input: self.cx.primary().to_owned(),
            playlist: segmenter.dir().join(LIVE_PLAYLIST),
            segments: segmenter.segments_written(),
            discontinuities: segmenter.discontinuities_written(),
            stats: segmenter.stats(),
            skipped_for_sync: self.readers[0].skipped() + self.readers[1].skipped(),
            switches: self.watchdog.as_ref().map_or(0, Watchdog::switches),
        }
    }
}
