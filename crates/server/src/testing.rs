//! Test fixtures shared by the crate's unit tests: small platforms written
//! as configuration text, and a state serving them.

use std::sync::Arc;

use http_body_util::BodyExt;
use routecast_engine::{NoLocator, Platform, PlatformConfig};

use crate::client::ClientResolver;
use crate::response::Body;
use crate::state::{Snapshot, State};

/// The platform a configuration text describes (no coverage zones).
pub(crate) fn platform(toml: &str) -> Arc<Platform> {
    let config = PlatformConfig::parse("test.toml", toml).expect("a valid test configuration");
    Arc::new(Platform::build(&config, &[]).expect("a valid test platform"))
}

/// Sites `a` and `b`, preferred in that order; `extra` is appended to site
/// `a` (a `health` or `load` line).
pub(crate) fn two_sites(extra: &str) -> String {
    format!(
        "[[sites]]\nname = \"a\"\nurls = [\"https://a.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\ncapacity_mbps = 100\n{extra}\n\n\
         [[sites]]\nname = \"b\"\nurls = [\"https://b.example.net\"]\nlocation = {{ lat = 0, lon = 0 }}\n\n\
         [[policies]]\nname = \"p\"\nsteps = [{{ step = \"preference\", sites = [\"a\", \"b\"] }}, {{ step = \"capacity\", headroom = 0.0 }}]\n"
    )
}

/// A state serving the platform of `toml`, clients unlocated, trusting
/// `trusted` (CIDR).
pub(crate) fn state(toml: &str, trusted: &[&str]) -> State {
    let trusted = trusted.iter().map(|c| c.parse().expect("CIDR")).collect();
    let snapshot = Snapshot::with_locator(platform(toml), Arc::new(NoLocator));
    State::new(snapshot, ClientResolver::new(trusted), None, None)
}

/// An answer's whole body as text (in memory already: no runtime needed).
pub(crate) fn body_text(body: Body) -> String {
    use std::future::Future as _;
    let mut collect = std::pin::pin!(body.collect());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(Ok(whole)) = collect.as_mut().poll(&mut cx) else {
        panic!("a body in memory is ready at once");
    };
    String::from_utf8(whole.to_bytes().to_vec()).expect("UTF-8")
}

/// Checks `f` every 10 ms of tokio time from `start` until it holds (the
/// time it took) or `limit_ms` pass (`None`).
pub(crate) async fn within(
    start: tokio::time::Instant,
    limit_ms: u64,
    mut f: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let limit = start + std::time::Duration::from_millis(limit_ms);
    while tokio::time::Instant::now() < limit {
        if f() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    None
}
