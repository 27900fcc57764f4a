//! routecast's routing engine: the platform model, policies, and explained
//! decisions.
//!
//! Every front end — the redirector (`routecast serve`), the log replayer
//! (`routecast simulate`) and `routecast route` — reaches routing only
//! through [`Router::decide`], so a decision replayed from a log is the one
//! the server would have made.
//!
//! # Rules
//! * **Pure.** No IO, no clock, no async, no global random number generator.
//!   Load comes in as an argument ([`LoadView`]); the engine reads no clock
//!   and no decision depends on the time. Weighted and hashed choices draw
//!   their randomness from hashes of the facts ([`hash`]). Equal inputs give
//!   equal decisions.
//! * **Parse, don't validate.** [`PlatformConfig`] mirrors the TOML with the
//!   place of every value; [`Platform::build`] turns it into typed values or a
//!   [`ConfigError`] that names `file:line:column`. Downstream code trusts
//!   the [`Platform`].
//! * **Explained.** A [`Decision`] carries every site's verdict and score at
//!   every step ([`Explanation`]).
//! * **Safe by construction.** Every chain starts with `available` and ends
//!   with a `capacity` step, written or implicit: no decision picks a down or
//!   disabled site, nor a full site while a candidate has room.
//! * **Memos are exact.** Callers that route millions of requests (the
//!   simulator) may remember work with [`PrepareMemo`] (a client's group and
//!   position, a path class's policy) and [`RouteMemo`] (a route by request
//!   and the sites' load verdicts); each gives what the plain call gives,
//!   bit for bit (property-tested), never an approximation. A view that
//!   keeps loads as integer bit/s ([`IntegerView`]) is compared with integer
//!   thresholds worked out once, exactly equivalent to comparing its Mbit/s.
//!
//! # Layout
//! * The model: [`ids`] (site, group and policy ids, below everything),
//!   [`platform`] (sites, playlist rules, the [`Platform`]), [`groups`]
//!   (client groups and the table that matches a client to one), [`policy`]
//!   (policies and their steps), [`location`] (what is known of a client's
//!   place), [`prefix`] (longest-prefix match), [`hash`] (the engine's only
//!   randomness).
//! * The configuration: [`config`] (the TOML as written) and `build/` (its
//!   validation into the model: `sites`, `probes`, `playlists`, `groups`,
//!   `policies`), errors in [`ConfigError`].
//! * Routing, `decide/`: the load views (`load`: [`LoadView`], [`Idle`],
//!   [`StaticLoad`], [`IntegerView`]), facts and preparation (`prepare`:
//!   [`Facts`], [`Prepared`]), step evaluation (`evaluate`), ordering keys
//!   (`order`), the capacity spill-over (`capacity`), what comes out
//!   (`decision`: [`Decision`], [`Explanation`], [`Route`]), the [`Router`]
//!   itself, and the exact memos (`memo`, `prepare_memo`).
//! * Rendering, `render/`: [`DecisionView`] (the explanation table of
//!   `routecast route` as `Display`, its JSON as `Serialize`) and
//!   [`RedirectView`] (the JSON answer of `routecast serve`).
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use routecast_engine::{
//!     DecisionView, Facts, Location, Platform, PlatformConfig, Router, StaticLoad,
//! };
//!
//! let toml = r#"
//! [[sites]]
//! name = "ams"
//! urls = ["https://ams.example.net"]
//! location = { lat = 52.37, lon = 4.90 }
//!
//! [[sites]]
//! name = "nyc"
//! urls = ["https://nyc.example.net"]
//! location = { lat = 40.71, lon = -74.01 }
//!
//! [[policies]]
//! name = "nearest"
//! steps = [{ step = "closest" }]
//! "#;
//! let config = PlatformConfig::parse("routecast.toml", toml)?;
//! let platform = Arc::new(Platform::build(&config, &[])?);
//! let router = Router::new(platform.clone());
//! let mut location = Location::default();
//! location.coordinates = Some(routecast_engine::Coordinates::new(48.85, 2.35)?);
//! let facts = Facts {
//!     address: "192.0.2.1".parse()?,
//!     location,
//!     path: "/live/news/index.m3u8",
//!     user_agent: None,
//! };
//! let load = StaticLoad::default(); // every site idle and up
//! let decision = router.decide(&facts, &load);
//! assert_eq!(decision.site.map(|s| platform.site(s).name.as_str()), Some("ams"));
//! // As `routecast route` shows it: a table, or JSON.
//! let shown = DecisionView::new(&platform, &facts, &load, &decision);
//! assert!(shown.to_string().contains("decision   ams -> https://ams.example.net/live/news/index.m3u8"));
//! assert!(serde_json::to_string(&shown)?.contains(r#""site":"ams""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod build;
pub mod config;
mod continents;
mod decide;
mod error;
pub mod groups;
pub mod hash;
pub mod ids;
pub mod location;
pub mod platform;
pub mod policy;
pub mod prefix;
mod render;

pub use build::{parse_cidr, CoverageZone, ImportedZones};
pub use config::PlatformConfig;
pub use decide::{
    Decision, Explanation, Facts, Idle, IntegerView, LoadView, Mark, Outcome, PrepareMemo,
    Prepared, Route, RouteMemo, Router, Scratch, SiteView, StaticLoad, Verdict,
};
pub use error::{ConfigError, Source};
pub use groups::{GroupMatch, GroupTable};
pub use ids::{GroupId, PolicyId, SiteId};
pub use location::{
    Continent, Coordinates, CountryCode, Location, LocationCache, Locator, NoLocator,
};
pub use platform::{
    ClientGroup, Cost, HealthCheck, LoadReading, LoadSource, Mbps, Platform, PlaylistFallback,
    PlaylistOrigin, PlaylistRule, SessionClass, Site, SiteState,
};
pub use policy::{Bands, Policy, Step};
pub use render::{DecisionView, RedirectView};
