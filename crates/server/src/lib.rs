//! routecast's redirector: an HTTP front end (tokio + hyper; HTTP/1.1 and
//! HTTP/2, plain and over TLS by rustls) over the routing engine. Each request is checked ([`target`]), its client found
//! ([`client`], trusting forwarding headers only from configured proxies),
//! located, routed by [`Router`](routecast_engine::Router), and answered
//! ([`handle`]) with a `302` to the chosen site (or the decision as JSON).
//! Under a `[[playlists]]` rule, `.m3u8` requests are answered with the
//! playlist fetched from the origin (by [`routecast_http`], the one HTTP
//! client) and rewritten for the chosen site ([`playlist`], [`PlaylistJob`]);
//! `/.steering/<path>` answers HLS Content Steering manifests
//! ([`SteeringManifest`]).
//!
//! Where things live: [`State`] and its [`Snapshot`] (one configuration,
//! swapped whole on reload; [`reload`] reloads on SIGHUP, `POST /reload` and
//! file changes), the listeners ([`run`], [`serve`], [`serve_admin`],
//! [`Limits`], [`Public`]: plain or TLS, whose certificates
//! ([`State::tls`]) reload with the configuration),
//! the admin endpoints ([`admin()`], [`AdminToken`]), the refusals and whose
//! fault they are ([`ServeError`], [`Fault`]), [`health`] checks, [`load`]
//! polls, [`metrics`] and the [`accesslog`]. Every answer is counted and
//! logged in one place, whatever produced it. [`plugin`] is the other side
//! of the admin listener: a Nagios/Icinga check of a running redirector.
//!
//! # Rules
//! * **Never an open redirect**: `Location` is always a configured site's
//!   base URL followed by a checked path; tricks get 400. Every URI a
//!   rewritten playlist gets from routecast starts with a configured site's
//!   base URL; the origin's URIs to other hosts are left as they were.
//! * **The redirect path stays lean**: redirects are answered without
//!   awaiting anything or allocating beyond the answer itself; only
//!   playlist requests become a task that waits for the origin ([`Reply`]).
//! * **Bounded**: header size, header count, time to send the head (and
//!   to finish the TLS handshake), connections and HTTP/2 streams are
//!   limited ([`Limits`]); HTTP/2's rapid reset closes the connection.
//! * **One answer whatever the protocol**: HTTP/1.1, h2c and h2 over TLS
//!   reach the same [`handle`]; an HTTP/2 request's `:authority` is checked
//!   as a `Host` is.
//! * Sites with a `health` check leave rotation after `fall` failed checks
//!   and return after `rise` passes ([`health`]); sites with a `load` source
//!   report their bandwidth ([`load`]), to which routecast adds an estimate
//!   of each redirect for its session class's hold, until a poll includes
//!   it. All run on tokio's clock, so that they are tested on paused time.
//! * **Operational state outlives configurations**: a reload keeps each
//!   remaining site's health, check streak, admin override, polled figure
//!   and estimates ([`Health::carried`]); unchanged checks and polls keep
//!   running. Admin overrides are saved in a [`StateFile`] and restored at
//!   start.
//!
//! # Example
//! A platform of one site, and one request routed to it:
//! ```
//! use std::sync::Arc;
//! use routecast_engine::{NoLocator, Platform, PlatformConfig};
//! use routecast_server::{handle, ClientResolver, Reply, Snapshot, State};
//!
//! let config = PlatformConfig::parse(
//!     "routecast.toml",
//!     r#"
//!     [[sites]]
//!     name = "ams"
//!     urls = ["https://ams.cdn.example.net"]
//!     location = { lat = 52.37, lon = 4.90 }
//!
//!     [[policies]]
//!     name = "nearest"
//!     steps = [{ step = "closest" }]
//!     "#,
//! )?;
//! let platform = Arc::new(Platform::build(&config, &[])?);
//! let snapshot = Snapshot::with_locator(platform, Arc::new(NoLocator));
//! let state = State::new(snapshot, ClientResolver::default(), None, None);
//!
//! let request = hyper::Request::get("/live/news/index.m3u8?t=1")
//!     .header("host", "tr.example.net")
//!     .body(())?;
//! let Reply::Ready(answer) = handle(&state, "198.51.100.7".parse()?, &request) else {
//!     panic!("a redirect is answered at once");
//! };
//! assert_eq!(answer.status(), 302);
//! assert_eq!(
//!     answer.headers()["location"],
//!     "https://ams.cdn.example.net/live/news/index.m3u8?t=1"
//! );
//! assert_eq!(answer.headers()["x-routecast-site"], "ams");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod accesslog;
mod admin;
pub mod client;
mod error;
mod estimate;
pub mod health;
pub mod host;
mod listeners;
pub mod load;
pub mod metrics;
pub mod playlist;
pub mod plugin;
mod probes;
mod record;
mod relay;
pub mod reload;
mod request;
mod response;
mod state;
mod statefile;
mod steering;
pub mod target;
#[cfg(test)]
mod testing;

pub use accesslog::{AccessLog, AccessLogError};
pub use admin::{admin, AdminToken, TokenError};
pub use client::ClientResolver;
pub use error::{Fault, ServeError, UpstreamError};
pub use health::{Health, ServerView, ViewAt};
pub use listeners::{run, serve, serve_admin, shutdown_signal, Limits, Public, DRAIN_TIME};
pub use metrics::Metrics;
pub use relay::{PlaylistJob, MAX_PLAYLIST_BYTES};
pub use request::{handle, Head, Reply};
pub use response::Body;
pub use state::{ReloadOutcome, Snapshot, State};
pub use statefile::{StateFile, StateFileError};
pub use steering::{steering_uri, SteeringManifest, STEERING_PREFIX};
