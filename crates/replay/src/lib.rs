//! Virtual-time replay of request logs through routecast's engine.
//!
//! Each request is routed at its simulated start by the same
//! [`Router`](routecast_engine::Router) the server uses, with a load view
//! made of the replayed requests still in progress at that moment, so
//! capacity- and cost-aware policies behave as they would live. A request's
//! bytes are spread evenly over `[start, end]` into fixed-width bins per site
//! and per client group ([`Series`]), from which [`Report`] derives totals,
//! peaks, 95th percentiles of 5-minute samples and cost. The report also
//! says how near the serving sites were ([`ProximitySummary`]: mean km to
//! the serving site, share served by the nearest site) and what was routed
//! to no site and why ([`LeftOut`]: by path prefix, bounded).
//!
//! Logs come in through two pipelines: [`replay_parallel`] reads one log
//! and parses it on several threads (a block of lines each), and
//! [`replay_merged`] reads several logs (one per server) merged by logged
//! time. Both feed any number of replays (configurations compared on the
//! same logs), apply the [`LineRules`] to malformed lines, tell a
//! [`Progress`] callback after each block or batch, and stop with a
//! [`ReplayError`]. [`Replay::push`] takes requests one by one.
//!
//! # Rules
//! * **Bounded memory**: requests wait in a reordering window (lines out of
//!   order by up to `window_ms` are routed in start order; later ones are
//!   counted as late and routed at once) and in the in-progress queue; the
//!   log itself is never held. The window is a calendar queue, the
//!   in-progress set a FIFO plus a binary heap: no recursion, whatever the
//!   log length. Lines are prepared (GeoIP, group, policy) by a [`Preparer`],
//!   which can run on another thread; the replay holds no log text. A
//!   request waits as its interval, size and an id: its preparation, the
//!   same for a client's requests for a content class, is kept once.
//! * **Bounded by the data, not its span**: a line outside the
//!   [`Plausible`] bounds (time, duration, bytes) is malformed, with its
//!   reason, so one far-off line cannot stretch the run; bins are held in
//!   pages allocated when a request touches them ([`Series`]), so ten years
//!   of sparse lines hold a page per busy stretch; sums saturate rather
//!   than wrap.
//! * **Results do not depend on threads**: parsing threads prepare with
//!   exact memos and the calling thread replays in log order, so
//!   [`replay_parallel`] gives the same report whatever `threads` and
//!   block size (tested).
//! * **Conservation**: integer arithmetic puts exactly a request's bytes into
//!   the bins (property-tested).
//! * **Exact loads**: a site's load is a sum of integers (bit/s), so it does
//!   not depend on the order in which requests that end together leave.
//! * **Virtual time only**: no clock is read (banned by `clippy.toml`).
//! * **No work per line for the pipeline's sake**: no dynamic dispatch or
//!   allocation per line; progress is told per block.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use routecast_accesslog::{reader, Layout, Log};
//! use routecast_engine::{NoLocator, Platform, PlatformConfig};
//! use routecast_replay::{replay_parallel, LineRules, Parallel, Replay, ReplayConfig};
//!
//! let toml = r#"
//! [[sites]]
//! name = "ams"
//! urls = ["https://ams.example.net"]
//! location = { lat = 52.37, lon = 4.90 }
//!
//! [[policies]]
//! name = "nearest"
//! steps = [{ step = "closest" }]
//! "#;
//! let config = PlatformConfig::parse("routecast.toml", toml)?;
//! let platform = Arc::new(Platform::build(&config, &[])?);
//! let mut replays = [Replay::new(platform, Arc::new(NoLocator), ReplayConfig::default())];
//!
//! let text = "192.0.2.1 - - [24/Nov/2026:21:00:06 +0000] \"GET /live/a/seg1.ts HTTP/1.1\" 200 3750000 \"-\" \"VLC\" 0.200\n\
//!             not a log line\n";
//! let input = reader::wrap(Box::new(text.as_bytes()), None)?;
//! let mut log = Log::from_input("access.log", input, Layout::Detect)?;
//! let read = replay_parallel(&mut log, &mut replays, LineRules::default(), Parallel::new(2), |_| {})?;
//! assert_eq!((read.lines, read.rejected.count), (2, 1));
//! assert_eq!(
//!     read.rejected.first[0].to_string(),
//!     "access.log:2: client is neither an IP address nor a host name (format nginx)"
//! );
//! let [replay] = replays;
//! let report = replay.finish();
//! assert_eq!(report.sites[0].0.bytes, 3_750_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bounds;
mod config;
mod intern;
mod load;
mod merged;
mod parallel;
mod proximity;
mod queue;
mod reading;
mod replay;
mod series;
mod summary;
mod unserved;

pub use bounds::{parse_time_range, Plausible, TimeRangeError};
pub use config::{parse_bitrates, BitrateError, ReplayConfig};
pub use merged::replay_merged;
pub use parallel::{replay_parallel, Parallel};
pub use proximity::{Proximity, ProximitySummary};
pub use reading::{Damage, LineRules, LinesRead, Progress, Rejected, ReplayError};
pub use replay::{PreparedRequest, Preparer, Replay, ReplayStats};
pub use series::{Bin, Flags, Series, Span};
pub use summary::{p95_mbps, Kind, Report, Summary, SummaryJson, BILLING_SAMPLE_MS, MONTH_MS};
pub use unserved::{LeftOut, Tally, UnservedPrefix, LISTED_PREFIXES, MAX_PREFIXES};
