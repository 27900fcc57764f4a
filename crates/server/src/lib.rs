//! routecast's redirector: an HTTP/1.1 front end (tokio + hyper) over the
//! routing engine. Each request is checked ([`target`]), its client found
//! ([`client`], trusting forwarding headers only from configured proxies),
//! located, routed by [`Router`](routecast_engine::Router), and answered with
//! a `302` to the chosen site (or the decision as JSON).
//!
//! # Rules
//! * **Never an open redirect**: `Location` is always a configured site's
//!   base URL followed by a checked path; tricks get 400.
//! * **Bounded**: header size, header count, time to send the head and
//!   connections are limited ([`Limits`]).
//! * This first version routes with no load information (every site idle,
//!   up unless configured otherwise); health checks and live load follow.

pub mod client;
mod serve;
pub mod target;

pub use client::ClientResolver;
pub use serve::{handle, serve, Limits, State};
