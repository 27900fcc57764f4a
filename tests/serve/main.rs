//! `routecast serve` on loopback: redirects, JSON decisions, trusted
//! proxies, and hostile requests, through raw TCP and a real client (curl);
//! live load from a real nginx's stub_status (Debian's nginx is required:
//! scripts/test installs it, a missing one fails, never skips). One module
//! per area; what they share is in `support`.

#[path = "../common/certs.rs"]
mod certs;
#[path = "../common/nginx.rs"]
mod nginx;

mod accesslog;
mod admin;
mod check;
mod h2;
mod health;
mod host;
mod limits;
mod load;
mod playlists;
mod proxies;
mod redirects;
mod reload;
mod shutdown;
mod steering;
mod support;
mod targets;
mod tls;
