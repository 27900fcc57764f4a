//! The live channel behind `routecast segment`: one or several renditions
//! of a stream, each read from its inputs and segmented into its own
//! directory, with failover to a backup input, `--realtime` pacing and the
//! multivariant playlist.
//!
//! * [`input`]: where transport streams come from (file, standard input,
//!   UDP, HTTP that reconnects).
//! * `reader.rs` reads each input on a thread of its own, paced by the
//!   stream's PCR when asked (`pace.rs`).
//! * `follow.rs` is the loop of one rendition: the active input's packets
//!   into the [`Segmenter`], the [`failover`] watchdog deciding which input
//!   is active by the frames each yields (`probe.rs` demultiplexes the
//!   input that does not feed the segmenter), a stalled input's open
//!   segment published, useless network inputs reopened.
//! * [`renditions`]: names, backups and the multivariant playlist.
//! * [`clock`]: time is passed in ([`SystemClock`], or [`ManualClock`] for
//!   tests on virtual time).
//!
//! The channel prints nothing: what happens is told to an event callback
//! ([`ChannelEvent`]), and failures are [`ChannelError`]s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::cutter::{CutterConfig, CutterStats};
use crate::publish::Published;
use crate::segmenter::EncryptionConfig;
use crate::segmenter::{RenditionBoard, Segmenter, SegmenterConfig, SegmenterError, LIVE_PLAYLIST};
use follow::{follow, Context};
use input::{InputNotice, InputOpener, InputOptions, InputSpec, InputSpecError, NoticedInputs};
use reader::ReaderThreads;

pub use clock::{Clock, ManualClock, SystemClock};
pub use failover::{FailoverConfig, FailoverConfigError, Source};
pub use renditions::{
    is_rendition_name, multivariant_playlist, parse_renditions, write_master_playlist,
    MasterPlaylistError, RenditionInputs, RenditionsError, AUDIO_GROUP, MASTER_PLAYLIST,
};

pub mod clock;
pub mod failover;
mod follow;
pub mod input;
mod pace;
mod probe;
mod reader;
pub mod renditions;
#[cfg(test)]
mod tests;

/// Takes each state a rendition's segmenter publishes (e.g. an origin's).
pub type Publisher = Box<dyn FnMut(Published) + Send>;

/// How every rendition of the channel is segmented.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelConfig {
    /// The output directory: one rendition writes there, several each in
    /// a directory of their name, with the multivariant playlist at the top.
    pub out: PathBuf,
    /// Where to cut.
    pub cutter: CutterConfig,
    /// The live window, seconds.
    pub window_secs: f64,
    /// How long a segment stays on disk after it left the window, ms.
    pub grace_ms: u64,
    /// Keep every segment and list them all in `archive.m3u8`.
    pub archive: bool,
    /// AES-128 segment encryption (`None`: none).
    pub encryption: Option<EncryptionConfig>,
    /// Write I-frame playlists, and list them in a multivariant playlist
    /// (written for one rendition too).
    pub iframes: bool,
    /// Mark SCTE-35 ad breaks with `EXT-X-CUE-OUT`/`-CONT`/`CUE-IN` too.
    pub cue_tags: bool,
    /// Read inputs at the stream's own pace (by its PCR).
    pub realtime: bool,
    /// When a backup takes over, and when the primary takes back.
    pub failover: FailoverConfig,
    /// How inputs that can be lost (HTTP) give up, if ever.
    pub inputs: InputOptions,
}

/// What happens in the channel, for the caller to report.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChannelEvent<'a> {
    /// A rendition switched inputs.
    Switched {
        /// The rendition's primary input, as given.
        input: &'a str,
        /// The input now used.
        to: Source,
    },
    /// An input with a backup failed to read; the other goes on.
    ReadError {
        /// The input, as given.
        input: &'a str,
        /// Why.
        error: &'a std::io::Error,
    },
    /// An input yielded no frame (a lead-stream access unit with an
    /// advancing timestamp) for the failover time or longer, whatever
    /// bytes it sent. Told once per stall, and at each attempt to reopen it.
    Stalled {
        /// The input, as given.
        input: &'a str,
        /// How long it has yielded nothing, ms.
        silent_ms: u64,
        /// It is being reopened (a network input); else it is only waited for.
        reopening: bool,
    },
    /// The multivariant playlist could not be written (the renditions go on).
    MasterPlaylistFailed {
        /// The playlist's path.
        path: &'a std::path::Path,
        /// Why.
        error: &'a MasterPlaylistError,
    },
    /// A rendition's stream ended (and, when serving, it was told to stop).
    Finished(&'a RenditionSummary),
    /// An input failed an attempt (and when it retries), connected, or
    /// gave up (HTTP inputs).
    Input {
        /// The input, as given.
        input: &'a str,
        /// What happened.
        notice: &'a InputNotice,
    },
    /// A rendition's cutter decided something the operator should hear
    /// about when it happens: a raised target, a GOP longer than it, an
    /// open GOP (see [`CutNotice`](crate::cutter::CutNotice)).
    Cutting {
        /// The rendition's primary input, as given.
        input: &'a str,
        /// What happened.
        notice: &'a crate::cutter::CutNotice,
    },
}

/// What a rendition did, once finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionSummary {
    /// Its primary input, as given.
    pub input: String,
    /// Its live playlist.
    pub playlist: PathBuf,
    /// Segments written.
    pub segments: u64,
    /// `EXT-X-DISCONTINUITY` tags written, as in its playlists (what an
    /// operator compares with them; the cutter's timestamp jumps are in
    /// `stats`).
    pub discontinuities: u64,
    /// What its cutter saw.
    pub stats: CutterStats,
    /// Bytes its inputs' readers skipped to find sync.
    pub skipped_for_sync: u64,
    /// Input switches (failover and back).
    pub switches: u64,
    /// `EXT-X-TARGETDURATION` as announced (`None`: nothing was cut).
    pub target_duration: Option<u32>,
}

/// Why the channel stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// An input is not written as one.
    #[error(transparent)]
    Input(#[from] InputSpecError),
    /// An input cannot be opened.
    #[error("{spec:?}: cannot open: {error}")]
    Open {
        /// The input.
        spec: InputSpec,
        /// Why.
        error: std::io::Error,
    },
    /// A segmenter cannot start in its directory.
    #[error("{0}")]
    Setup(SegmenterError),
    /// Writing segments or playlists failed.
    #[error(transparent)]
    Write(SegmenterError),
    /// An input without a backup failed to read.
    #[error("{input}: read error: {error}")]
    Read {
        /// The input, as given.
        input: String,
        /// Why.
        error: std::io::Error,
    },
    /// The thread that writes the segment files could not be started.
    #[error("cannot start the thread that writes the segment files: {0}")]
    DiskThread(std::io::Error),
    /// A reader thread could not be started.
    #[error(transparent)]
    Thread(std::io::Error),
    /// The failover settings cannot be used.
    #[error(transparent)]
    Failover(#[from] FailoverConfigError),
    /// A rendition's thread panicked.
    #[error("a rendition panicked")]
    Panicked,
}

/// A live channel: its renditions, how they are segmented, and time.
///
/// Every decision that depends on time reads the [`Clock`]: pacing sleeps
/// on it, the failover watchdog measures silences with its monotonic time,
/// and `EXT-X-PROGRAM-DATE-TIME` is anchored on its wall time. Waiting for
/// the inputs themselves is not a decision: the reader threads hand over
/// data as it arrives, and the channel looks at the clock again at least
/// every 100 ms while none does (so a [`ManualClock`]
/// drives tests of the decisions, with the inputs replaced by the test's).
pub struct Channel {
    config: ChannelConfig,
    renditions: Vec<RenditionInputs>,
    clock: Arc<dyn Clock>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("config", &self.config)
            .field("renditions", &self.renditions)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// A channel of `renditions` (at least one) that ends its streams
    /// properly once `stop` is set.
    pub fn new(
        config: ChannelConfig,
        renditions: Vec<RenditionInputs>,
        clock: Arc<dyn Clock>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Self {
            config,
            renditions,
            clock,
            stop,
        }
    }

    /// Runs every rendition until its inputs end or `stop` is set; a
    /// rendition with a publisher (in the order of the renditions) returns
    /// only once `stop` is set. A rendition that fails sets `stop` (the
    /// others end their streams) and its error is returned.
    pub fn run(
        &self,
        mut publishers: Vec<Option<Publisher>>,
        events: &(dyn Fn(ChannelEvent<'_>) + Sync),
    ) -> Result<(), ChannelError> {
        self.config.failover.validate()?;
        if let [one] = self.renditions.as_slice() {
            let (dir, publish) = (self.config.out.clone(), publishers.pop().flatten());
            // With I-frame playlists, a multivariant playlist lists both;
            // without, one an earlier run left would name a playlist that
            // is gone.
            if !self.config.iframes {
                let stale = self.config.out.join(MASTER_PLAYLIST);
                if let Err(e) = std::fs::remove_file(&stale) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        let error = MasterPlaylistError::Store(crate::store::StoreError::Io {
                            operation: crate::store::Operation::Delete,
                            path: stale.clone(),
                            error: e,
                        });
                        (events)(ChannelEvent::MasterPlaylistFailed {
                            path: &stale,
                            error: &error,
                        });
                    }
                }
            }
            let measured = Mutex::new(vec![None]);
            return self.rendition(one, dir, (publish, None), events, |s| {
                if self.config.iframes {
                    self.measured(0, s, &measured, events);
                }
            });
        }
        self.run_many(publishers, events)
    }

    /// Several renditions: one thread each, in DIR/NAME, and
    /// DIR/master.m3u8 listing them once all are measured.
    fn run_many(
        &self,
        mut publishers: Vec<Option<Publisher>>,
        events: &(dyn Fn(ChannelEvent<'_>) + Sync),
    ) -> Result<(), ChannelError> {
        publishers.resize_with(self.renditions.len(), || None);
        let measured = Mutex::new(vec![None; self.renditions.len()]);
        let board = self.board();
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .renditions
                .iter()
                .zip(publishers)
                .enumerate()
                .map(|(i, (r, publish))| {
                    let measured = &measured;
                    let board = board.clone().map(|b| (b, i));
                    scope.spawn(move || {
                        let dir = self.config.out.join(&r.name);
                        let result = self.rendition(r, dir, (publish, board), events, |s| {
                            self.measured(i, s, measured, events);
                        });
                        // A rendition that fails ends the run: the others
                        // (and an origin) must not go on without it.
                        if result.is_err() {
                            self.stop.store(true, Ordering::Relaxed);
                        }
                        result
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(ChannelError::Panicked)))
                .collect::<Result<Vec<()>, ChannelError>>()
        })?;
        Ok(())
    }

    /// With low latency, the board on which the renditions report each
    /// other: each is `../NAME/index.m3u8` from any other's playlist.
    fn board(&self) -> Option<Arc<RenditionBoard>> {
        self.config.cutter.part_target?;
        let uris = self
            .renditions
            .iter()
            .map(|r| format!("../{}/{LIVE_PLAYLIST}", r.name))
            .collect();
        Some(Arc::new(RenditionBoard::new(uris)))
    }

    /// Rendition `i` wrote segments: the multivariant playlist is written
    /// again if its measure changed.
    fn measured(
        &self,
        i: usize,
        segmenter: &Segmenter,
        measured: &Mutex<Vec<Option<crate::segmenter::Rendition>>>,
        events: &(dyn Fn(ChannelEvent<'_>) + Sync),
    ) {
        let Some(r) = segmenter.rendition() else {
            return;
        };
        let mut m = measured.lock().unwrap_or_else(|p| p.into_inner());
        if m[i].as_ref() == Some(&r) {
            return;
        }
        m[i] = Some(r);
        let dir = &self.config.out;
        if let Err(error) = write_master_playlist(dir, &self.renditions, &m) {
            let path = dir.join(MASTER_PLAYLIST);
            (events)(ChannelEvent::MasterPlaylistFailed {
                path: &path,
                error: &error,
            });
        }
    }

    /// One rendition's work: its inputs (with the backup, if any) into
    /// `dir`, publishing to a publisher and reporting on a board if given,
    /// `on_write` told after each read that completed something.
    fn rendition(
        &self,
        r: &RenditionInputs,
        dir: PathBuf,
        (publish, board): (Option<Publisher>, Option<(Arc<RenditionBoard>, usize)>),
        events: &(dyn Fn(ChannelEvent<'_>) + Sync),
        on_write: impl FnMut(&Segmenter),
    ) -> Result<(), ChannelError> {
        let primary = InputSpec::parse(&r.primary)?;
        let backup = r.backup.as_deref().map(InputSpec::parse).transpose()?;
        let serving = publish.is_some();
        let mut segmenter = self.segmenter(dir, board, publish)?;
        let mut specs = vec![(Source::Primary, primary)];
        specs.extend(backup.map(|b| (Source::Backup, b)));
        let (opener, notices) = InputOpener::new(self.config.inputs);
        let readers = ReaderThreads::start(specs, self.config.realtime, &self.clock, &opener)?;
        let names = [Some(r.primary.as_str()), r.backup.as_deref()];
        let mut inputs = NoticedInputs {
            inputs: readers,
            notices,
            names,
            events,
        };
        let cx = Context {
            names,
            failover: self.config.failover,
            max_jump: self.config.cutter.max_jump,
            clock: &*self.clock,
            stop: &self.stop,
            serving,
            events,
        };
        let summary = follow(&cx, &mut segmenter, &mut inputs, on_write)?;
        (events)(ChannelEvent::Finished(&summary));
        Ok(())
    }

    /// A segmenter into `dir`, reporting on `board` and publishing to
    /// `publish` if given.
    fn segmenter(
        &self,
        dir: PathBuf,
        board: Option<(Arc<RenditionBoard>, usize)>,
        publish: Option<Publisher>,
    ) -> Result<Segmenter, ChannelError> {
        let c = &self.config;
        let rendition = (dir != c.out)
            .then(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
            .flatten();
        let config = SegmenterConfig {
            dir,
            cutter: c.cutter.clone(),
            window_secs: c.window_secs,
            grace_ms: c.grace_ms,
            archive: c.archive,
            // Several renditions: each its own keys, in a directory of its
            // name under the key directory when there is one.
            encryption: c.encryption.clone().map(|mut e| {
                if let Some(name) = &rendition {
                    e.key_prefix = format!("{name}/");
                }
                e
            }),
            iframes: c.iframes,
            cue_tags: c.cue_tags,
        };
        let mut segmenter =
            Segmenter::open(config, self.clock.wall_ms()).map_err(ChannelError::Setup)?;
        if let Some((board, index)) = board {
            // Before publishing: the first publication reports already.
            segmenter.report_to(board, index);
        }
        if let Some(publish) = publish {
            segmenter
                .on_publish(publish)
                .map_err(ChannelError::DiskThread)?;
        }
        Ok(segmenter)
    }
}
