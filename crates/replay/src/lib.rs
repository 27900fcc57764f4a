//! Virtual-time replay of request logs through routecast's engine.
//!
//! Each request is routed at its simulated start by the same
//! [`Router`](routecast_engine::Router) the server uses, with a load view
//! made of the replayed requests still in progress at that moment, so
//! capacity- and cost-aware policies behave as they would live. A request's
//! bytes are spread evenly over `[start, end]` into fixed-width bins per site
//! and per client group ([`Series`]), from which [`Report`] derives totals,
//! peaks, 95th percentiles of 5-minute samples and cost.
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
//! * **Conservation**: integer arithmetic puts exactly a request's bytes into
//!   the bins (property-tested).
//! * **Exact loads**: a site's load is a sum of integers (bit/s), so it does
//!   not depend on the order in which requests that end together leave.
//! * **Virtual time only**: no clock is read (banned by `clippy.toml`).

mod intern;
mod merged;
mod parallel;
mod queue;
mod reading;
mod replay;
mod series;
mod summary;

pub use merged::replay_merged;
pub use parallel::{replay_parallel, Parallel};
pub use reading::{LineRules, LinesRead, Progress, Rejected, ReplayError};
pub use replay::{PreparedRequest, Preparer, Replay, ReplayConfig, ReplayStats};
pub use series::{Flags, Series, Span};
pub use summary::{p95_mbps, Kind, Report, Summary, SummaryJson, BILLING_SAMPLE_MS, MONTH_MS};
