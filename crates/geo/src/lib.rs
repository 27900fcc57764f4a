//! Client location for routecast: MaxMind DB lookups, Apache Traffic Control
//! coverage-zone import, and loading a platform with everything it names.
//!
//! # Rules
//! * Implements the engine's [`Locator`](routecast_engine::Locator) trait; the
//!   engine itself never touches files.
//! * Lookups never fail: an address a database does not know, or a record it
//!   cannot decode, is simply an unknown location.
//! * Files that cannot be used are errors naming the file and the place that
//!   refers to it ([`routecast_engine::ConfigError`]).
//! * Coverage-zone files are read as Traffic Router reads them where that is
//!   safe (host bits masked, spaces, coordinates as strings, a network in
//!   two zones kept by the first), each leniency that changes what was
//!   written a [`czf::CzfWarning`] naming the file, line and column; where
//!   Traffic Router guesses silently (a number as a network, a host name),
//!   an error.
//!
//! # Example
//! The example platform (its GeoIP databases are MaxMind's test files, in
//! `tests/fixtures`): a London address watching live news goes to London.
//! ```
//! use routecast_engine::{Facts, Idle, Router};
//! // Doctests run in the crate's folder; the platform is the repository's example.
//! let loaded = routecast_geo::load(std::path::Path::new("../../examples/routecast.toml"))?;
//! let router = Router::new(loaded.platform.clone());
//! let address = "81.2.69.142".parse()?;
//! let facts = Facts {
//!     address,
//!     location: loaded.locator.locate(address),
//!     path: "/live/news/index.m3u8",
//!     user_agent: None,
//! };
//! assert_eq!(facts.location.country.map(|c| c.to_string()).as_deref(), Some("GB"));
//! let site = router.decide(&facts, &Idle).site.map(|s| &loaded.platform.site(s).name);
//! assert_eq!(site.map(String::as_str), Some("lon"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod czf;
mod load;
pub mod mmdb;

pub use load::{load, Loaded};
pub use mmdb::GeoIp;
