use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::*;
use crate::client::ClientResolver;
use crate::request::{handle, Reply};
use crate::testing::two_sites;

/// The site `GET /live/x` is sent to now.
fn site_now(state: &State) -> String {
    let request = hyper::Request::get("/live/x")
        .header("host", "tr.example.net")
        .body(())
        .expect("request");
    let Reply::Ready(r) = handle(state, "198.51.100.7".parse().expect("ip"), &request) else {
        panic!("a redirect is answered at once");
    };
    let site = r.headers().get("x-routecast-site").expect("a site");
    site.to_str().expect("text").to_string()
}

/// The number of reloads with this result, from `/metrics`.
fn reloads(state: &State, result: &str) -> usize {
    let snap = state.current();
    let text = state
        .metrics
        .render(snap.router.platform(), &snap.view.0, &[]);
    let line = format!("routecast_reloads_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line)?.parse().ok())
        .unwrap_or(0)
}

/// The configuration file, rewritten with a modification time of its own
/// (`age` seconds after the epoch: file systems keep coarse times, so two
/// quick writes could otherwise look unchanged).
fn rewrite(path: &Path, text: &str, age: u64) {
    std::fs::write(path, text).expect("write");
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    let mtime = UNIX_EPOCH + Duration::from_secs(1_700_000_000 + age);
    file.set_modified(mtime).expect("set mtime");
}

const BROKEN: &str = "\n[[sites]]\nname = 42\n";

#[tokio::test(start_paused = true)]
async fn changes_are_installed_at_the_next_watch_tick_and_bad_ones_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("routecast.toml");
    let a_first = two_sites("");
    let b_first = a_first.replace("[\"a\", \"b\"]", "[\"b\", \"a\"]");
    rewrite(&config, &a_first, 0);
    let loaded = routecast_geo::load(&config).expect("loads");
    let state = Arc::new(State::new(
        Snapshot::new(&loaded),
        ClientResolver::default(),
        None,
        None,
    ));
    let start = Instant::now();
    let at = |ms: u64| sleep_until(start + Duration::from_millis(ms));
    tokio::spawn(reload_loop(config.clone(), loaded.files, state.clone()));
    // Files are compared at 0, 2, 4, … s.
    at(500).await;
    rewrite(&config, &b_first, 10);
    at(1990).await;
    assert_eq!(
        (site_now(&state).as_str(), state.last_reload()),
        ("a", None)
    );
    at(2010).await;
    assert_eq!(site_now(&state), "b", "installed at the 2 s comparison");
    assert!(state.last_reload().is_some_and(|r| r.installed));
    // A broken file is refused at the next comparison; b stays.
    at(2500).await;
    rewrite(&config, &format!("{b_first}{BROKEN}"), 20);
    at(3990).await;
    assert_eq!(reloads(&state, "rejected"), 0);
    at(4010).await;
    let refused = state.last_reload().expect("an outcome");
    assert!(!refused.installed && refused.error.contains("routecast.toml:"));
    assert_eq!(
        (reloads(&state, "rejected"), site_now(&state).as_str()),
        (1, "b")
    );
    // Unchanged files are not loaded again, however long it runs.
    at(60_000).await;
    assert_eq!(reloads(&state, "rejected"), 1);
    assert_eq!(reloads(&state, "accepted"), 1);
    // Fixed: installed at the next comparison.
    rewrite(&config, &a_first, 30);
    at(62_010).await;
    assert_eq!(
        (reloads(&state, "accepted"), site_now(&state).as_str()),
        (2, "a")
    );
}

#[tokio::test(start_paused = true)]
async fn a_requested_reload_loads_at_once_even_unchanged_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("routecast.toml");
    rewrite(&config, &two_sites(""), 0);
    let loaded = routecast_geo::load(&config).expect("loads");
    let state = Arc::new(State::new(
        Snapshot::new(&loaded),
        ClientResolver::default(),
        None,
        None,
    ));
    let start = Instant::now();
    tokio::spawn(reload_loop(config.clone(), loaded.files, state.clone()));
    sleep_until(start + Duration::from_millis(500)).await;
    state.reload_requested.notify_one();
    // Between two comparisons: nothing else could have loaded it.
    sleep_until(start + Duration::from_millis(501)).await;
    assert_eq!(reloads(&state, "accepted"), 1);
    let generation = state.current().generation;
    sleep_until(start + Duration::from_millis(10_000)).await;
    assert_eq!(
        state.current().generation,
        generation,
        "nothing changed since"
    );
}

/// Site a checked every second against a port nobody answers on.
const CHECKED: &str = "health = { url = \"http://127.0.0.1:9/healthz\", interval_ms = 1000, timeout_ms = 500, rise = 2, fall = 2 }";

#[tokio::test(start_paused = true)]
async fn a_reload_keeps_a_down_site_out_of_rotation_and_a_drain_in_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("routecast.toml");
    let text = two_sites(CHECKED)
        + "\n[[sites]]\nname = \"c\"\nurls = [\"https://c.example.net\"]\nlocation = { lat = 0, lon = 0 }\n";
    let text = text.replace("sites = [\"a\", \"b\"]", "sites = [\"a\", \"b\", \"c\"]");
    rewrite(&config, &text, 0);
    let loaded = routecast_geo::load(&config).expect("loads");
    let state = Arc::new(State::new(
        Snapshot::new(&loaded),
        ClientResolver::default(),
        None,
        None,
    ));
    state.install(Snapshot::new(&loaded));
    let start = Instant::now();
    tokio::spawn(reload_loop(config.clone(), loaded.files, state.clone()));
    // Two failed checks (nothing listens on port 9): a is out.
    let down = crate::testing::within(start, 5_000, || site_now(&state) == "b").await;
    assert!(down.is_some(), "a left rotation");
    // The operator drains b too: c takes the requests.
    let b = state
        .current()
        .router
        .platform()
        .site_by_name("b")
        .expect("b");
    state
        .current()
        .view
        .0
        .set_state(b, Some(routecast_engine::SiteState::Draining));
    assert_eq!(site_now(&state), "c");
    for i in 0..10u64 {
        state.reload_requested.notify_one();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(reloads(&state, "accepted"), i as usize + 1);
        assert_eq!(site_now(&state), "c", "after reload {}", i + 1);
    }
}
