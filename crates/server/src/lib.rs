//! routecast's redirector: an HTTP/1.1 front end (tokio + hyper) over the
//! routing engine. Each request is checked ([`target`]), its client found
//! ([`client`], trusting forwarding headers only from configured proxies),
//! located, routed by [`Router`](routecast_engine::Router), and answered with
//! a `302` to the chosen site (or the decision as JSON). Under a
//! `[[playlists]]` rule, `.m3u8` requests are answered with the playlist
//! fetched from the origin ([`fetch`]) and rewritten for the chosen site
//! ([`playlist`]); `/.steering/<path>` answers HLS Content Steering
//! manifests.
//!
//! # Rules
//! * **Never an open redirect**: `Location` is always a configured site's
//!   base URL followed by a checked path; tricks get 400. Every URI a
//!   rewritten playlist gets from routecast starts with a configured site's
//!   base URL; the origin's URIs to other hosts are left as they were.
//! * **The redirect path stays lean**: redirects are answered without
//!   awaiting anything or allocating per request; only playlist requests
//!   become a task that waits for the origin ([`Reply`]).
//! * **Bounded**: header size, header count, time to send the head and
//!   connections are limited ([`Limits`]).
//! * Sites with a `health` check leave rotation after `fall` failed checks
//!   and return after `rise` passes ([`health`]); sites with a `load` source
//!   report their bandwidth, to which routecast adds the sessions it sent
//!   since the last poll ([`load`]).

pub mod accesslog;
pub mod client;
pub mod fetch;
pub mod health;
pub mod load;
pub mod metrics;
pub mod playlist;
mod relay;
mod serve;
pub mod target;

pub use accesslog::AccessLog;
pub use client::ClientResolver;
pub use health::{spawn_checks, Health, ServerView};
pub use metrics::Metrics;
pub use relay::{PlaylistJob, MAX_PLAYLIST_BYTES};
pub use serve::{
    admin, handle, serve, serve_admin, Limits, Reply, Snapshot, State, DRAIN_TIME, STEERING_PREFIX,
};
